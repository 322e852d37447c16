import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { injectable, pluginModule, type Batch, type Row, type Sink, type Source, type View, type ViewMount } from '../sdk/index.ts';
import { builtinConnectionModules } from '../connections/index.ts';
import { loadManifest } from '../manifest/index.ts';
import { PluginCatalog } from '../runtime/container.ts';
import { MemoryLogger } from '../runtime/logger.ts';
import { Pipeline } from '../runtime/pipeline.ts';
import { createServer } from './app.ts';

@injectable()
class Two implements Source {
  async *read(): AsyncIterable<Batch> {
    yield { records: [{ a: 1 }, { a: 2 }], rejects: [{ record: '<script>x</script>', reasons: ['not JSON'], origin: 'two:3' }], checkpoint: 2 };
  }
}
@injectable()
class Nowhere implements Sink {
  async write(_records: Row[]) {}
}
@injectable()
class Hello implements View {
  mount({ pages, api }: ViewMount) {
    pages.get('/', (c) => c.html('<h1>hello</h1>'));
    api.get('/greeting', (c) => c.json({ hello: 'world' }));
  }
  openapi() {
    return { '/api/views/hello/greeting': { get: { summary: 'greeting', responses: { 200: { description: 'OK' } } } } };
  }
}

const modules = [
  pluginModule({ kind: 'source', name: 'two', summary: '', stability: 'stable', config: { type: 'object' } }, Two),
  pluginModule({ kind: 'sink', name: 'nowhere', summary: '', stability: 'stable', config: { type: 'object' } }, Nowhere),
  pluginModule({ kind: 'view', name: 'hello', summary: '', stability: 'stable', config: { type: 'object' } }, Hello),
];

async function serverFor(extra = '', env: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'server-'));
  const file = join(dir, 'm.yaml');
  writeFileSync(file, `name: s
connections:
  wh: { type: duckdb, path: ":memory:" }
sources:
  src: { use: two }
sinks:
  out: { use: nowhere, from: src }
views:
  hello: { use: hello, from: [out] }
${extra}`);
  const catalog = new PluginCatalog([...builtinConnectionModules, ...modules]);
  const manifest = await loadManifest(file, catalog, env);
  const pipeline = new Pipeline(manifest, catalog, { once: true, stateDir: dir, logger: new MemoryLogger() });
  await pipeline.start();
  await pipeline.run();
  return { app: await createServer(pipeline), pipeline };
}

describe('server', () => {
  it('answers health, readiness, metrics and the pipeline graph', async () => {
    const { app, pipeline } = await serverFor();
    expect(await (await app.request('/healthz')).json()).toEqual({ status: 'ok', pipeline: 's' });
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', connections: [{ name: 'wh', ok: true }] });
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toContain('platform_records_in_total{step="out"} 2');
    expect(metrics).toContain('platform_records_rejected_total{step="src"} 1');
    expect(metrics).toMatch(/platform_last_commit_timestamp_seconds\{step="out"\} \d+/);
    const graph = (await (await app.request('/api/pipeline')).json()) as { steps: { id: string; recordsIn: number; recordsOut: number; rejected: number; lastCommitAt: string | null }[] };
    expect(graph.steps.map((s) => [s.id, s.recordsIn, s.recordsOut, s.rejected])).toEqual([['src', 0, 2, 1], ['out', 2, 2, 0], ['hello', 0, 0, 0]]);
    expect(graph.steps[1].lastCommitAt).not.toBeNull();
    await pipeline.stop();
  });

  it('serves dead letters by step, views at their mount points, and OpenAPI', async () => {
    const { app, pipeline } = await serverFor();
    const dead = (await (await app.request('/api/dead-letter?steps=src')).json()) as { total: number; entries: { reasons: string[]; origin: string; record: string }[] };
    expect(dead.total).toBe(1);
    expect(dead.entries[0]).toMatchObject({ reasons: ['not JSON'], origin: 'two:3', record: '<script>x</script>' });
    expect((await (await app.request('/api/dead-letter?steps=out')).json() as { total: number }).total).toBe(0);
    expect(await (await app.request('/views/hello')).text()).toBe('<h1>hello</h1>');
    expect(await (await app.request('/api/views/hello/greeting')).json()).toEqual({ hello: 'world' });
    const openapi = (await (await app.request('/api/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths)).toEqual(['/api/pipeline', '/api/dead-letter', '/api/dead-letter/replay', '/api/views/hello/greeting']);
    const root = await app.request('/');
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/views/hello');
    await pipeline.stop();
  });

  it('keeps CORS closed by default and opens it only to listed origins', async () => {
    const closed = await serverFor();
    const res = await closed.app.request('/api/pipeline', { headers: { origin: 'https://evil.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    await closed.pipeline.stop();
    const open = await serverFor('server: { cors: ["https://ok.example"] }\n');
    const ok = await open.app.request('/api/pipeline', { headers: { origin: 'https://ok.example' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://ok.example');
    const evil = await open.app.request('/api/pipeline', { headers: { origin: 'https://evil.example' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    await open.pipeline.stop();
  });

  it('asks for the viewer token when the role has one', async () => {
    const { app, pipeline } = await serverFor('access:\n  roles:\n    viewer: { token: "${VIEWER_TOKEN}" }\n    admin: { token: adm1n, includes: [viewer] }\n', { VIEWER_TOKEN: 's3cret' });
    expect((await app.request('/api/pipeline')).status).toBe(401);
    expect((await app.request('/api/pipeline', { headers: { authorization: 'Bearer nope' } })).status).toBe(403);
    expect((await app.request('/api/pipeline', { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    expect((await app.request('/api/dead-letter', { headers: { authorization: 'Bearer adm1n' } })).status).toBe(200);
    expect((await app.request('/api/dead-letter', { headers: { cookie: 'a=b; platform_token=s3cret' } })).status).toBe(200);
    await pipeline.stop();
  });
});
