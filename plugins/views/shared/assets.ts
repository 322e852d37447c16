// The browser code: built on demand when missing or older than its sources (a fresh checkout works), served once
// per server at /assets/views/<file> (entries and their chunks), each compressed (brotli and gzip) once, when first asked
// for, off the main thread (not at start: brotli at quality 11 of every asset took ~0.3 s of a server's start),
// cacheable forever when the URL carries the content version (entries) or the name carries it (chunks).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Hono } from 'hono';
import { ASSET_PREFIX, defaultAssets, type Assets } from '../ui/document.ts';

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  /** The body compressed, by encoding: made on first request. */
  encoded: Partial<Record<Encoding, Promise<Uint8Array<ArrayBuffer>>>>;
  type: string;
  /** Chunks carry their content hash in their name. */
  hashed: boolean;
}

type Encoding = 'br' | 'gzip';
const compress: Record<Encoding, (body: Uint8Array) => Promise<Buffer>> = {
  gzip: (body) => promisify(gzip)(body, { level: 9 }),
  br: (body) =>
    promisify(brotliCompress)(body, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
    }),
};

function encodedBody(asset: Asset, encoding: Encoding): Promise<Uint8Array<ArrayBuffer>> {
  return (asset.encoded[encoding] ??= compress[encoding](asset.body).then((data) => new Uint8Array(data)));
}

let loading: Promise<{ assets: Map<string, Asset>; version: string }> | undefined;

/** scripts/build-client.mjs, found upwards from this module (plugins/views/shared, or dist/cli in the compiled command). */
function clientBuilder(dir: string): string {
  const script = join(dir, 'scripts/build-client.mjs');
  if (existsSync(script)) return script;
  if (dirname(dir) === dir) throw new Error("views: cannot find scripts/build-client.mjs above the views' code");
  return clientBuilder(dirname(dir));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

async function load(): Promise<{ assets: Map<string, Asset>; version: string }> {
  const script = pathToFileURL(clientBuilder(dirname(fileURLToPath(import.meta.url)))).href;
  const { ensureClient } = (await import(script)) as { ensureClient: () => Promise<string> };
  const dist = await ensureClient();
  const assets = new Map<string, Asset>();
  const hash = createHash('sha256');
  for (const path of filesUnder(dist).sort()) {
    const name = relative(dist, path).split('\\').join('/');
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    if (!type || name.endsWith('.tmp')) continue;
    const body = new Uint8Array(readFileSync(path));
    hash.update(name).update(body);
    assets.set(name, { body, type, hashed: name.startsWith('chunks/'), encoded: {} });
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
  root.get(`${ASSET_PREFIX}/*`, async (c) => {
    const { assets, version } = await bundle();
    const name = new URL(c.req.url).pathname.slice(ASSET_PREFIX.length + 1);
    const asset = assets.get(name);
    if (!asset) return c.text(`no asset ${name}`, 404);
    const accepts = c.req.header('accept-encoding') ?? '';
    const encoding = /\bbr\b/.test(accepts) ? 'br' : /\bgzip\b/.test(accepts) ? 'gzip' : null;
    const immutable = asset.hashed || c.req.query('v') === version;
    const headers: Record<string, string> = {
      'content-type': asset.type,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      etag: `"${version}"`,
      vary: 'accept-encoding',
    };
    if (c.req.header('if-none-match') === headers.etag) return c.body(null, 304, headers);
    if (encoding) headers['content-encoding'] = encoding;
    return c.body(encoding ? await encodedBody(asset, encoding) : asset.body, 200, headers);
  });
}
