// The browser bundle as served: each encoding decompresses to the very body served plain (compressed on first request).
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { mountAssets } from './assets.ts';

describe('assets', () => {
  it('serves every asset plain, gzip and brotli, the encodings decompressing to the plain body, the same on every request', async () => {
    const app = new Hono();
    mountAssets(app);
    const get = async (encoding?: string) => {
      const response = await app.request('/assets/views/app.js', {
        headers: encoding ? { 'accept-encoding': encoding } : {},
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-encoding')).toBe(encoding ?? null);
      return Buffer.from(await response.arrayBuffer());
    };
    const plain = await get();
    expect(plain.length).toBeGreaterThan(1000);
    const gzip = await get('gzip');
    const br = await get('br');
    expect(gzip.length).toBeLessThan(plain.length);
    expect(br.length).toBeLessThan(plain.length);
    expect(gunzipSync(gzip).equals(plain)).toBe(true);
    expect(brotliDecompressSync(br).equals(plain)).toBe(true);
    expect((await get('br')).equals(br)).toBe(true);
  });
});
