// The browser bundle: built on demand when missing or older than its sources (a fresh checkout works), served once
// per server at /assets/views/<file>, gzip-compressed, cacheable forever when the URL carries the content version.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../../core/paths.ts';
import { gzipSync } from 'node:zlib';
import type { Hono } from 'hono';
import { ASSET_PREFIX, defaultAssets, type Assets } from '../ui/document.ts';

const FILES: Record<string, string> = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8', 'theme.js': 'text/javascript; charset=utf-8' };

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  gzip: Uint8Array<ArrayBuffer>;
  type: string;
}

let loading: Promise<{ assets: Map<string, Asset>; version: string }> | undefined;

async function load(): Promise<{ assets: Map<string, Asset>; version: string }> {
  const script = pathToFileURL(join(repoRoot, 'scripts/build-client.mjs')).href;
  const { ensureClient } = (await import(script)) as { ensureClient: () => Promise<string> };
  const dist = await ensureClient();
  const assets = new Map<string, Asset>();
  const hash = createHash('sha256');
  for (const [name, type] of Object.entries(FILES)) {
    const body = new Uint8Array(readFileSync(join(dist, name)));
    hash.update(body);
    assets.set(name, { body, gzip: new Uint8Array(gzipSync(body, { level: 9 })), type });
  }
  return { assets, version: hash.digest('hex').slice(0, 12) };
}

/** Builds (once per process) and loads the bundle. */
export function bundle(): Promise<{ assets: Map<string, Asset>; version: string }> {
  loading ??= load().catch((error) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

/** Versioned URLs of the bundle, for the pages. */
export async function assetUrls(): Promise<Assets> {
  return defaultAssets((await bundle()).version);
}

const mounted = new WeakSet<Hono>();

/** Serves the bundle at /assets/views/* on the server root; safe to call for every view (mounts once). */
export function mountAssets(root: Hono): void {
  if (mounted.has(root)) return;
  mounted.add(root);
  void bundle().catch(() => undefined); // warm up: build while the server starts
  root.get(`${ASSET_PREFIX}/:file`, async (c) => {
    const { assets, version } = await bundle();
    const asset = assets.get(c.req.param('file'));
    if (!asset) return c.notFound();
    const gzip = /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
    const headers: Record<string, string> = {
      'content-type': asset.type,
      'cache-control': c.req.query('v') === version ? 'public, max-age=31536000, immutable' : 'no-cache',
      etag: `"${version}"`,
      vary: 'accept-encoding',
    };
    if (c.req.header('if-none-match') === headers.etag) return c.body(null, 304, headers);
    if (gzip) headers['content-encoding'] = 'gzip';
    return c.body(gzip ? asset.gzip : asset.body, 200, headers);
  });
}
