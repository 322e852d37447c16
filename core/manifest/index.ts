import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import type { ContainerModule } from 'inversify';
import type { PluginCatalog } from '../runtime/container.ts';
import { loadYaml, ManifestError } from './load.ts';
import { validateManifest, type Manifest } from './validate.ts';

export { ManifestError, formatIssue, loadYaml } from './load.ts';
export type { Manifest, StepDeclaration } from './validate.ts';
export { parseDuration } from './duration.ts';

/**
 * Loads, interpolates and validates a manifest. Plugin packages named under `plugins:` are imported first
 * (resolved from the manifest's folder, then the working directory) so their specs take part in validation.
 */
export async function loadManifest(file: string, catalog: PluginCatalog, env: NodeJS.ProcessEnv = process.env): Promise<Manifest> {
  const yaml = loadYaml(file, env);
  const packages = Array.isArray(yaml.value.plugins) ? (yaml.value.plugins as unknown[]).filter((p): p is string => typeof p === 'string') : [];
  for (const [index, name] of packages.entries()) {
    try {
      catalog.load(await importPluginPackage(name, dirname(resolve(file))));
    } catch (error) {
      const { line, col } = yaml.locate(['plugins', index]);
      throw new ManifestError([{ file, line, col, path: `plugins.${index}`, message: `cannot load plugin package "${name}": ${(error as Error).message}` }]);
    }
  }
  return validateManifest(yaml, catalog);
}

/** A plugin package's default export is a ContainerModule or a list of them. */
export async function importPluginPackage(name: string, fromDir: string): Promise<ContainerModule[]> {
  let resolved: string;
  try {
    resolved = createRequire(resolve(fromDir, 'noop.js')).resolve(name);
  } catch {
    resolved = createRequire(resolve(process.cwd(), 'noop.js')).resolve(name);
  }
  const module = (await import(pathToFileURL(resolved).href)) as { default?: unknown };
  const exported = module.default;
  const modules = Array.isArray(exported) ? exported : [exported];
  if (modules.length === 0 || modules.some((m) => !m || typeof (m as { load?: unknown }).load !== 'function')) {
    throw new Error('its default export must be an inversify ContainerModule or an array of them');
  }
  return modules as ContainerModule[];
}
