#!/usr/bin/env node
// Builds the views' browser bundle: plugins/views/ui/client.tsx → dist/client/app.js + app.css (+ theme.js).
// ECharts comes in through echarts/core with only the charts, components and canvas renderer used.
// Usage: node scripts/build-client.mjs [--dev]   (also imported by the views to build on demand)
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isStale } from './stale.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist/client');
/** The files it writes, which plugins/views/shared/assets.ts serves. */
const CLIENT_FILES = ['app.js', 'app.css', 'theme.js'];

/** Writes through a temporary file and a rename, so a concurrent reader never sees half a bundle. */
async function writeAtomic(path, contents) {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

/** The bundle, built first when missing or older than its sources; returns its folder. */
export async function ensureClient() {
  if (isStale(CLIENT_FILES.map((file) => join(DIST, file)), [join(ROOT, 'plugins/views/ui')], /\.(tsx?|css|js)$/)) await buildClient();
  return DIST;
}

export async function buildClient({ root = ROOT, outdir = join(root, 'dist/client'), minify = true } = {}) {
  const esbuild = await import('esbuild');
  const ui = join(root, 'plugins/views/ui');
  const result = await esbuild.build({
    entryPoints: { app: join(ui, 'client.tsx') },
    bundle: true,
    minify,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir,
    write: false,
    metafile: true,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  const theme = await esbuild.build({ entryPoints: [join(ui, 'theme.js')], minify, write: false, outfile: join(outdir, 'theme.js'), logLevel: 'silent' });
  await mkdir(outdir, { recursive: true });
  const files = [...result.outputFiles, ...theme.outputFiles];
  for (const file of files) await writeAtomic(file.path, file.contents);
  return files.map((file) => ({ path: file.path, bytes: file.contents.byteLength }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  const files = await buildClient({ minify: !process.argv.includes('--dev') });
  for (const file of files) console.log(`${relative(ROOT, file.path).padEnd(28)} ${(file.bytes / 1024).toFixed(1).padStart(8)} KiB`);
  console.log(`built in ${Date.now() - started} ms`);
}
