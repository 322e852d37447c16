import { PluginCatalog } from '../core/sdk/container.ts';
import { builtinConnectionModules } from '../connections/index.ts';
import { builtinPluginModules } from '../plugins/builtin.ts';

/** The built-in plugins and connection types; a manifest's `plugins:` add to it when it is loaded. */
export function createCatalog(): PluginCatalog {
  return new PluginCatalog([...builtinConnectionModules, ...builtinPluginModules]);
}
