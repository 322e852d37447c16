#!/usr/bin/env node
// Compiles the `platform` command (cli/main.ts and everything it imports from core/, connections/, formats/ and plugins/) into one ES
// module, dist/cli/platform.mjs, so that a run does not compile TypeScript at start-up (tsx: ~0.3 s and ~40 MB
// for its loader thread). Packages stay external (node_modules). `cli/bin.mjs` rebuilds it when a source is newer.
// Usage: node scripts/build-cli.mjs
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isStale } from './stale.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_BUNDLE = join(ROOT, 'dist/cli/platform.mjs');
const SOURCES = ['cli', 'core', 'connections', 'formats', 'plugins'].map((dir) => join(ROOT, dir));

export async function buildCli() {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(ROOT, 'cli/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    tsconfig: join(ROOT, 'tsconfig.json'), // legacy decorators for inversify
    outfile: CLI_BUNDLE,
    sourcemap: 'linked',
    write: false,
    logLevel: 'silent',
  });
  await mkdir(dirname(CLI_BUNDLE), { recursive: true });
  // Several processes may build at once (tests start many): each writes its own file and renames it into place.
  for (const file of result.outputFiles) {
    const temporary = `${file.path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temporary, file.contents);
    await rename(temporary, file.path);
  }
  return result.outputFiles.map((file) => ({ path: file.path, bytes: file.contents.byteLength }));
}

/** The bundle, built first when missing or stale. */
export async function ensureCli() {
  if (isStale([CLI_BUNDLE], SOURCES, /\.(tsx?|json)$/)) await buildCli();
  return CLI_BUNDLE;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  for (const file of await buildCli())
    console.log(`${relative(ROOT, file.path).padEnd(28)} ${(file.bytes / 1024).toFixed(1).padStart(8)} KiB`);
  console.log(`built in ${Date.now() - started} ms`);
}
