// Every built-in plugin, one ContainerModule each. Third-party plugins come from the manifest's `plugins:`.
import type { ContainerModule } from 'inversify';

export const builtinPluginModules: ContainerModule[] = [];
