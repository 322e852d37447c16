import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import type { ContainerModule } from 'inversify';
import type { PluginCatalog } from '../sdk/container.ts';
import { loadYaml, ManifestError } from './load.ts';
import { SECTIONS, validateManifest, type Manifest } from './validate.ts';
import { repoRoot } from '../paths.ts';

export { ManifestError, formatIssue, loadYaml } from './load.ts';
export type { Manifest, StepDeclaration } from './validate.ts';
export { parseDuration } from '../sdk/duration.ts';

/**
 * Loads, interpolates and validates a manifest. Plugin packages named under `plugins:` are imported first
 * (resolved from the manifest's folder, then the working directory) so their specs take part in validation.
 */
export async function loadManifest(
  file: string,
  catalog: PluginCatalog,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Manifest> {
  const yaml = loadYaml(file, env);
  const packages = Array.isArray(yaml.value.plugins)
    ? (yaml.value.plugins as unknown[]).filter((p): p is string => typeof p === 'string')
    : [];
  for (const [index, name] of packages.entries()) {
    try {
      catalog.load(await importPluginPackage(name, dirname(resolve(file))));
    } catch (error) {
      const { line, col } = yaml.locate(['plugins', index]);
      throw new ManifestError([
        {
          file,
          line,
          col,
          path: `plugins.${index}`,
          message: `cannot load plugin package "${name}": ${(error as Error).message}`,
        },
      ]);
    }
  }
  await requireUsedPlugins(yaml.value, catalog);
  return validateManifest(yaml, catalog);
}

/** Imports the plugins the manifest's steps use (`use:`), of those contributed by name; the others stay unloaded. */
async function requireUsedPlugins(manifest: Record<string, unknown>, catalog: PluginCatalog): Promise<void> {
  const used: Promise<void>[] = [];
  for (const [section, kind] of Object.entries(SECTIONS)) {
    const steps = manifest[section];
    if (!steps || typeof steps !== 'object') continue;
    for (const step of Object.values(steps as Record<string, unknown>)) {
      const use = (step as { use?: unknown } | null)?.use;
      if (typeof use === 'string') used.push(catalog.require(kind, use));
    }
  }
  await Promise.all(used);
}

/** A plugin package's default export is a ContainerModule or a list of them. */
export async function importPluginPackage(name: string, fromDir: string): Promise<ContainerModule[]> {
  const resolved = resolvePluginPackage(name, fromDir);
  let module: { default?: unknown };
  try {
    module = await importTypeScriptToo(pathToFileURL(resolved).href);
  } catch (error) {
    // Typically its own dependencies (the SDK) are not installed next to it.
    const code = (error as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    throw new Error(
      `${(error as Error).message.split('\n')[0]} (run \`npm install\` in ${packageFolder(resolved) ?? dirname(resolved)})`,
      { cause: error },
    );
  }
  const exported = module.default;
  const modules = Array.isArray(exported) ? exported : [exported];
  if (modules.length === 0 || modules.some((m) => !m || typeof (m as { load?: unknown }).load !== 'function')) {
    throw new Error('its default export must be an inversify ContainerModule or an array of them');
  }
  return modules as ContainerModule[];
}

/**
 * The entry file of a plugin package named in `plugins:` — an npm name (installed where the manifest is, or in the
 * working directory) or a path relative to the manifest — or an error saying exactly what to run.
 */
function resolvePluginPackage(name: string, fromDir: string): string {
  const bases = [fromDir, process.cwd()];
  for (const base of bases) {
    try {
      return createRequire(join(base, 'noop.js')).resolve(name);
    } catch (error) {
      if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND') throw error;
    }
  }
  const byPath = name.startsWith('.') || isAbsolute(name);
  // The package is there but its entry is not: it is not built yet.
  const folders = byPath ? [resolve(fromDir, name)] : bases.map((base) => join(base, 'node_modules', name));
  for (const folder of folders.filter((f) => existsSync(join(f, 'package.json')))) {
    const main =
      (JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { main?: string }).main ?? 'index.js';
    const real = realpathSync(folder);
    const install = existsSync(join(real, 'node_modules')) ? '' : 'npm install && ';
    return missing(
      `${join(real, main)} (its main) does not exist: build the package with \`cd ${real} && ${install}npm run build\``,
    );
  }
  if (byPath) return missing(`no package at ${resolve(fromDir, name)} (a path is relative to the manifest's folder)`);
  return missing(
    `it is not installed in ${fromDir}${process.cwd() === fromDir ? '' : ` nor in ${process.cwd()}`}: run \`npm install <its folder or npm name>\` in ${fromDir}, or list it by path relative to the manifest (./…)`,
  );
}

function missing(message: string): never {
  throw new Error(message);
}

/** The folder of the package.json above a file. */
function packageFolder(file: string): string | undefined {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir))
    if (existsSync(join(dir, 'package.json'))) return dir;
  return undefined;
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
