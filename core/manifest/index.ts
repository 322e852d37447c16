import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import type { ContainerModule } from 'inversify';
import type { PluginCatalog } from '../sdk/container.ts';
import { loadYaml, ManifestError } from './load.ts';
import { validateManifest, type Manifest } from './validate.ts';
import { repoRoot } from '../paths.ts';

export { ManifestError, formatIssue, loadYaml } from './load.ts';
export type { Manifest, StepDeclaration } from './validate.ts';
export { parseDuration } from '../sdk/duration.ts';

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
  const module = await importTypeScriptToo(pathToFileURL(resolved).href);
  const exported = module.default;
  const modules = Array.isArray(exported) ? exported : [exported];
  if (modules.length === 0 || modules.some((m) => !m || typeof (m as { load?: unknown }).load !== 'function')) {
    throw new Error('its default export must be an inversify ContainerModule or an array of them');
  }
  return modules as ContainerModule[];
}

/** Set once a TypeScript loader is registered in this process (cli/bin.mjs sets it when running the sources). */
const TYPESCRIPT_LOADER = Symbol.for('platform.typescript-loader');

/**
 * Imports a plugin package, which may be TypeScript or import some (the SDK, `@platform/sdk`, is TypeScript). The
 * compiled command has no TypeScript loader: tsx's is registered (with the project's tsconfig: legacy decorators)
 * before the first plugin package is imported.
 */
async function importTypeScriptToo(url: string): Promise<{ default?: unknown }> {
  const registry = globalThis as { [TYPESCRIPT_LOADER]?: boolean };
  if (!registry[TYPESCRIPT_LOADER]) {
    registry[TYPESCRIPT_LOADER] = true;
    const { register } = await import('tsx/esm/api');
    register({ tsconfig: join(repoRoot, 'tsconfig.json') });
  }
  return (await import(url)) as { default?: unknown };
}
