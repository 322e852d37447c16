#!/usr/bin/env node
// Compiles the `platform` command (cli/main.ts and everything it imports from core/, connections/, formats/ and plugins/)
// into dist/cli/platform.mjs, so that a run does not compile TypeScript at start-up (tsx: ~0.3 s and ~40 MB for its
// loader thread). `cli/bin.mjs` rebuilds it when a source is newer.
//
// What a start costs is what it loads, so (issue 18, bench 13):
// - Code split: every `await import(...)` of the sources is a chunk of its own (dist/cli/chunks/), loaded when
//   reached: a built-in plugin only when a manifest uses it (plugins/builtin.ts), the server (its pages) only for a
//   server, a connection type's client library (kafkajs, pg, the AWS SDK, mongodb, PGlite) only when a connection of
//   that type opens.
// - The pure-JavaScript packages every start loads are bundled in (BUNDLED): Node resolves, reads and links each file
//   of a package separately (inversify alone is ~400 ES modules: ~0.15 s); one bundle is read and parsed lazily.
//   Packages with native code or files of their own (DuckDB, esbuild, tsx, exceljs…) and the ones loaded on demand
//   stay external, in node_modules.
// Usage: node scripts/build-cli.mjs
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isStale } from './stale.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'dist/cli');
export const CLI_BUNDLE = join(OUT_DIR, 'platform.mjs');
const SOURCES = ['cli', 'core', 'connections', 'formats', 'plugins'].map((dir) => join(ROOT, dir));

/** Packages compiled into the command: pure JavaScript, loaded by every start. */
const BUNDLED = [
  'inversify',
  '@inversifyjs/',
  'reflect-metadata',
  'yaml',
  'ajv',
  'ajv-formats',
  'fast-uri',
  'fast-deep-equal',
  'json-schema-traverse',
  'require-from-string',
  'croner',
  'prom-client',
  '@opentelemetry/api',
  'tdigest',
  'bintrees',
  'hono',
  '@hono/node-server',
];
const bundled = (path) =>
  BUNDLED.some((name) => (name.endsWith('/') ? path.startsWith(name) : path === name || path.startsWith(`${name}/`)));

/** Keeps every other package external (loaded from node_modules at run time). */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('node:') || bundled(args.path) ? undefined : { path: args.path, external: true },
    );
  },
};

export async function buildCli() {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: { platform: join(ROOT, 'cli/main.ts') },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    plugins: [externalPackages],
    // The bundled CommonJS packages require Node's modules.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    tsconfig: join(ROOT, 'tsconfig.json'), // legacy decorators for inversify
    outdir: OUT_DIR,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: 'linked',
    sourcesContent: false, // stack traces need the mappings, not the sources' text (~16 MB less at start)
    write: false,
    logLevel: 'silent',
  });
  await mkdir(join(OUT_DIR, 'chunks'), { recursive: true });
  // Several processes may build at once (tests start many): each writes its own file and renames it into place; the
  // chunks (named by their content) before the entry that imports them.
  const files = [...result.outputFiles].sort((a, b) => Number(a.path === CLI_BUNDLE) - Number(b.path === CLI_BUNDLE));
  for (const file of files) {
    const temporary = `${file.path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temporary, file.contents);
    await rename(temporary, file.path);
  }
  await removeOldChunks(new Set(files.map((file) => basename(file.path))));
  return files.map((file) => ({ path: file.path, bytes: file.contents.byteLength }));
}

/** Chunks of earlier builds, once no process started a minute ago can still be loading them. */
async function removeOldChunks(current) {
  const dir = join(OUT_DIR, 'chunks');
  for (const name of await readdir(dir).catch(() => [])) {
    if (current.has(name.replace(/\.map$/, ''))) continue;
    const path = join(dir, name);
    const { mtimeMs } = await stat(path).catch(() => ({ mtimeMs: Date.now() }));
    if (Date.now() - mtimeMs > 60_000) await rm(path, { force: true });
  }
}

/** The bundle, built first when missing or stale. */
export async function ensureCli() {
  if (isStale([CLI_BUNDLE], SOURCES, /\.(tsx?|json)$/)) await buildCli();
  return CLI_BUNDLE;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  for (const file of await buildCli())
    if (!file.path.endsWith('.map'))
      console.log(`${relative(ROOT, file.path).padEnd(40)} ${(file.bytes / 1024).toFixed(1).padStart(8)} KiB`);
  console.log(`built in ${Date.now() - started} ms`);
}
