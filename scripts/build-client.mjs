#!/usr/bin/env node
// Builds the views' browser code: plugins/views/ui → dist/client/. Two entries, split so that a page loads only
// what it uses: app.js (dashboards) and pipeline.js (the pipeline page) share chunks/; the time-series chart code
// (uPlot) is a chunk of its own, loaded by pages that draw a time chart. Styles go to app.css, theme.js stays a
// small synchronous script.
// Usage: node scripts/build-client.mjs [--dev]   (also imported by the views to build on demand)
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isStale } from './stale.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist/client');
/** The entry files it writes, which plugins/views/shared/assets.ts serves (with the chunks next to them). */
const CLIENT_FILES = ['app.js', 'pipeline.js', 'app.css', 'theme.js'];

/** Writes through a temporary file and a rename, so a concurrent reader never sees half a bundle. */
async function writeAtomic(path, contents) {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

/** The bundle, built first when missing or older than its sources; returns its folder. */
export async function ensureClient() {
  if (
    isStale(
      CLIENT_FILES.map((file) => join(DIST, file)),
      [join(ROOT, 'plugins/views/ui')],
      /\.(tsx?|css|js)$/,
    )
  )
    await buildClient();
  return DIST;
}

export async function buildClient({ root = ROOT, outdir = join(root, 'dist/client'), minify = true } = {}) {
  const esbuild = await import('esbuild');
  const ui = join(root, 'plugins/views/ui');
  const common = {
    bundle: true,
    minify,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  };
  const scripts = await esbuild.build({
    ...common,
    entryPoints: { app: join(ui, 'client.tsx'), pipeline: join(ui, 'pipeline-client.tsx') },
    splitting: true,
    format: 'esm',
    chunkNames: 'chunks/[name]-[hash]',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir,
    metafile: true,
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const styles = await esbuild.build({
    ...common,
    entryPoints: [join(ui, 'styles.css')],
    outfile: join(outdir, 'app.css'),
  });
  const theme = await esbuild.build({
    ...common,
    bundle: false,
    entryPoints: [join(ui, 'theme.js')],
    outfile: join(outdir, 'theme.js'),
  });
  // Chunks are named by content: the old ones go, so the folder holds exactly one build.
  await rm(join(outdir, 'chunks'), { recursive: true, force: true });
  const files = [...scripts.outputFiles, ...styles.outputFiles, ...theme.outputFiles];
  for (const file of files) await writeAtomic(file.path, file.contents);
  return files.map((file) => ({ path: file.path, bytes: file.contents.byteLength }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  const { gzipSync, brotliCompressSync } = await import('node:zlib');
  const { readFileSync } = await import('node:fs');
  const files = await buildClient({ minify: !process.argv.includes('--dev') });
  for (const file of files) {
    const body = readFileSync(file.path);
    console.log(
      `${relative(ROOT, file.path).padEnd(44)} ${(file.bytes / 1024).toFixed(1).padStart(8)} KiB  gzip ${(gzipSync(body, { level: 9 }).length / 1024).toFixed(1).padStart(6)} KiB  br ${(brotliCompressSync(body).length / 1024).toFixed(1).padStart(6)} KiB`,
    );
  }
  console.log(`built in ${Date.now() - started} ms`);
}
