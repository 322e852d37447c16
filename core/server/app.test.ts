import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  injectable,
  pluginModule,
  type Batch,
  type Row,
  type Sink,
  type Source,
  type View,
  type ViewMount,
} from '../sdk/index.ts';
import { builtinConnectionModules } from '../../connections/index.ts';
import { loadManifest } from '../manifest/index.ts';
import { PluginCatalog } from '../sdk/container.ts';
import { MemoryLogger } from '../sdk/logger.ts';
import { Pipeline } from '../runtime/pipeline.ts';
import { corePages } from '../../cli/pages.ts';
import { createServer } from './app.ts';

@injectable()
class Two implements Source {
  async *read(): AsyncIterable<Batch> {
    yield {
      records: [{ a: 1 }, { a: 2 }],
      rejects: [{ record: '<script>x</script>', reasons: ['not JSON'], origin: 'two:3' }],
      checkpoint: 2,
    };
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
  pluginModule(
    { kind: 'sink', name: 'nowhere', summary: '', stability: 'stable', config: { type: 'object' } },
    Nowhere,
  ),
  pluginModule({ kind: 'view', name: 'hello', summary: '', stability: 'stable', config: { type: 'object' } }, Hello),
];

async function serverFor(extra = '', env: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'server-'));
  const file = join(dir, 'm.yaml');
  writeFileSync(
    file,
    `name: s
connections:
  wh: { type: duckdb, path: ":memory:" }
sources:
  src: { use: two }
sinks:
  out: { use: nowhere, from: src }
views:
  hello: { use: hello, from: [out] }
${extra}`,
  );
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
    const graph = (await (await app.request('/api/pipeline')).json()) as {
      steps: { id: string; recordsIn: number; recordsOut: number; rejected: number; lastCommitAt: string | null }[];
    };
    expect(graph.steps.map((s) => [s.id, s.recordsIn, s.recordsOut, s.rejected])).toEqual([
      ['src', 0, 2, 1],
      ['out', 2, 2, 0],
      ['hello', 0, 0, 0],
    ]);
    expect(graph.steps[1].lastCommitAt).not.toBeNull();
    await pipeline.stop();
  });

  it('serves dead letters by step, views at their mount points, and OpenAPI', async () => {
    const { app, pipeline } = await serverFor();
    const dead = (await (await app.request('/api/dead-letter?steps=src')).json()) as {
      total: number;
      entries: { reasons: string[]; origin: string; record: string }[];
    };
    expect(dead.total).toBe(1);
    expect(dead.entries[0]).toMatchObject({ reasons: ['not JSON'], origin: 'two:3', record: '<script>x</script>' });
    expect(((await (await app.request('/api/dead-letter?steps=out')).json()) as { total: number }).total).toBe(0);
    expect(await (await app.request('/views/hello')).text()).toBe('<h1>hello</h1>');
    expect(await (await app.request('/api/views/hello/greeting')).json()).toEqual({ hello: 'world' });
    const openapi = (await (await app.request('/api/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(openapi.openapi).toBe('3.1.0');
    // Every route of the server: core's, and each view's (tests/contract.test.ts checks what they answer).
    expect(Object.keys(openapi.paths)).toEqual([
      '/healthz',
      '/readyz',
      '/metrics',
      '/api/openapi.json',
      '/api/pipeline',
      '/api/pipeline/events',
      '/api/pipeline/steps/{step}',
      '/api/dead-letter',
      '/api/dead-letter/replay',
      '/',
      '/pipeline',
      '/dead-letter',
      '/assets/views/{file}',
      '/api/views/hello/greeting',
    ]);
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
    const { app, pipeline } = await serverFor(
      'access:\n  roles:\n    viewer: { token: "${VIEWER_TOKEN}" }\n    admin: { token: adm1n, includes: [viewer] }\n',
      { VIEWER_TOKEN: 's3cret' },
    );
    expect((await app.request('/api/pipeline')).status).toBe(401);
    expect((await app.request('/api/pipeline', { headers: { authorization: 'Bearer nope' } })).status).toBe(403);
    expect((await app.request('/api/pipeline', { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    expect((await app.request('/api/dead-letter', { headers: { authorization: 'Bearer adm1n' } })).status).toBe(200);
    expect((await app.request('/api/dead-letter', { headers: { cookie: 'a=b; platform_token=s3cret' } })).status).toBe(
      200,
    );
    await pipeline.stop();
  });

  it('has every per-step counter from the start, at 0 (increase() sees the first reject)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'server-'));
    const file = join(dir, 'm.yaml');
    writeFileSync(
      file,
      'name: s\nsources:\n  src: { use: two }\nsinks:\n  out: { use: nowhere, from: src }\nviews:\n  hello: { use: hello, from: [out] }\n',
    );
    const catalog = new PluginCatalog([...builtinConnectionModules, ...modules]);
    const pipeline = new Pipeline(await loadManifest(file, catalog, {}), catalog, {
      stateDir: dir,
      logger: new MemoryLogger(),
    });
    await pipeline.start();
    const metrics = await (await (await createServer(pipeline)).request('/metrics')).text();
    for (const step of ['src', 'out']) {
      expect(metrics).toContain(`platform_records_rejected_total{step="${step}"} 0`);
      expect(metrics).toContain(`platform_errors_total{step="${step}"} 0`);
      expect(metrics).toContain(`platform_records_out_total{step="${step}"} 0`);
    }
    expect(metrics).toContain('platform_records_in_total{step="out"} 0');
    expect(metrics).not.toContain('step="hello"');
    await pipeline.stop();
  });

  it('signs in with a token: an HttpOnly, SameSite cookie, back to the page asked for; a refused browser is sent there', async () => {
    const { pipeline } = await serverFor(
      'access:\n  roles:\n    viewer: { token: v1ew }\n    admin: { token: adm1n, includes: [viewer] }\n  dead-letter: admin\n',
    );
    const app = await createServer(pipeline, corePages);
    const page = await app.request('/dead-letter?steps=src', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/sign-in?next=%2Fdead-letter%3Fsteps%3Dsrc');
    const form = await app.request('/sign-in?next=%2Fdead-letter%3Fsteps%3Dsrc');
    expect(form.status).toBe(200);
    const html = await form.text();
    expect(html).toContain('<form class="token" method="post" action="/sign-in">');
    expect(html).toContain('name="next" value="/dead-letter?steps=src"');
    const signIn = (token: string, next = '/dead-letter?steps=src', headers: Record<string, string> = {}) =>
      app.request('/sign-in', {
        method: 'POST',
        body: new URLSearchParams({ token, next }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      });
    const wrong = await signIn('nope');
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('This token is not valid for any role of this pipeline.');
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const ok = await signIn('adm1n');
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/dead-letter?steps=src');
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^platform_token=adm1n; Max-Age=604800; Path=\/; HttpOnly; SameSite=Lax$/);
    expect((await app.request('/dead-letter?steps=src', { headers: { cookie: cookie.split(';')[0] } })).status).toBe(
      200,
    );
    // The viewer's cookie does not open the admin's dead letters: the sign-in page says so.
    const viewer = await app.request('/dead-letter', {
      headers: { cookie: 'platform_token=v1ew', accept: 'text/html' },
    });
    expect(viewer.headers.get('location')).toBe('/sign-in?next=%2Fdead-letter');
    expect(
      await (await app.request('/sign-in?next=%2Fdead-letter', { headers: { cookie: 'platform_token=v1ew' } })).text(),
    ).toContain('You are signed in as viewer, which does not open that page');
    // Never back to another site; never a sign-in posted by another site's page; https gets a Secure cookie.
    expect((await signIn('adm1n', '//evil.example/x')).headers.get('location')).toBe('/');
    expect((await signIn('adm1n', 'https://evil.example/x')).headers.get('location')).toBe('/');
    expect((await signIn('adm1n', '/', { origin: 'https://evil.example', host: 'localhost' })).status).toBe(403);
    expect((await signIn('adm1n', '/', { 'x-forwarded-proto': 'https' })).headers.get('set-cookie')).toContain(
      '; Secure',
    );
    const out = await app.request('/sign-out', { method: 'POST' });
    expect(out.headers.get('set-cookie')).toMatch(/^platform_token=; Max-Age=0; Path=\//);
    await pipeline.stop();
  });

  it('names the role of each core area; a role nobody declares opens nothing; probes stay open', async () => {
    const { app, pipeline } = await serverFor('access:\n  roles:\n    ops: { token: 0ps }\n  metrics: ops\n');
    expect((await app.request('/metrics')).status).toBe(401);
    expect((await app.request('/metrics', { headers: { authorization: 'Bearer 0ps' } })).status).toBe(200);
    // pipeline and dead-letter default to viewer, which this manifest does not declare: closed to everyone.
    const closed = await app.request('/api/pipeline', { headers: { authorization: 'Bearer 0ps' } });
    expect(closed.status).toBe(403);
    expect(await closed.json()).toEqual({
      error: 'this needs the viewer role, which the manifest does not declare (access.roles): nobody can open it',
    });
    expect((await app.request('/api/dead-letter')).status).toBe(403);
    expect((await app.request('/healthz')).status).toBe(200);
    expect(await (await app.request('/readyz')).json()).toEqual({
      status: 'ready',
      connections: [{ name: 'wh', ok: true }],
    });
    expect(pipeline.access.banner().map((b) => `${b.level} ${b.message}`)).toEqual([
      'warn access: /, /api/pipeline, /api/openapi.json need role viewer, which is not declared: nobody can open them (name a role with access.pipeline)',
      'warn access: /dead-letter, /api/dead-letter need role viewer, which is not declared: nobody can open them (name a role with access.dead-letter)',
      'info access: /metrics need role ops',
    ]);
    await pipeline.stop();
  });

  it.each([
    ['limit=0', 'limit', 'limit must be an integer from 1 to 1000 (got "0")'],
    ['limit=abc', 'limit', 'limit must be an integer from 1 to 1000 (got "abc")'],
    ['limit=1001', 'limit', 'limit must be an integer from 1 to 1000 (got "1001")'],
    [
      'offset=99999999999999999999',
      'offset',
      'offset must be an integer from 0 to 9007199254740991 (got "99999999999999999999")',
    ],
    ['offset=-1', 'offset', 'offset must be an integer from 0 to 9007199254740991 (got "-1")'],
  ])('answers /api/dead-letter?%s with 400 naming the parameter', async (query, parameter, error) => {
    const { app, pipeline } = await serverFor();
    const response = await app.request(`/api/dead-letter?${query}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error, parameter });
    expect((await app.request(`/dead-letter?${query}`)).status).toBe(400);
    await pipeline.stop();
  });

  it('treats a malformed cookie as no token (401), never a server error', async () => {
    const { app, pipeline } = await serverFor('access:\n  roles:\n    viewer: { token: v1ew }\n');
    for (const cookie of ['platform_token=%E0%A4%A', 'platform_token=%', 'platform_token', '=;;; platform_token=']) {
      expect((await app.request('/api/pipeline', { headers: { cookie } })).status, cookie).toBe(401);
    }
    await pipeline.stop();
  });
});
