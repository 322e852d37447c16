import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Access, SqlClient, TriggerEvent, View } from '../../../core/sdk/index.ts';
import { createTestStep, type TestStep } from '../../../core/testing.ts';
import { fakeStatus, mountView, stepStats, testDuckDb, tokenAccess } from '../shared/testing.ts';
import { globeMartConfig, seedGlobeMart } from './fixtures.ts';
import dashboard from './index.ts';

const NOW = new Date();
const EVIL = '<script>window.__pwned=1</script>';

interface Setup {
  step: TestStep<View>;
  app: Hono;
  client: SqlClient;
  fired: { step: string; event: TriggerEvent }[];
  status: ReturnType<typeof fakeStatus>;
}

async function setup(
  config: Record<string, unknown>,
  options: { access?: Access; id?: string; seed?: boolean; root?: Hono } = {},
): Promise<Setup> {
  const fired: Setup['fired'] = [];
  const status = fakeStatus([
    stepStats('orders', { kind: 'source', recordsOut: 10 }),
    stepStats('warehouse', {
      from: ['orders'],
      recordsIn: 10,
      recordsOut: 10,
      lastCommitAt: NOW.toISOString(),
      watermark: '2024-05-01T00:00:00.000Z',
    }),
  ]);
  const id = options.id ?? 'revenue';
  const step = await createTestStep<View>(dashboard, 'view', config, {
    id,
    from: ['warehouse'],
    connection: 'warehouse',
    connections: { warehouse: { type: 'duckdb', path: ':memory:' } },
    services: {
      status,
      access: options.access ?? tokenAccess({}),
      triggers: {
        fire: async (target, event) => (fired.push({ step: target, event }), { records: 42, rejected: 2 }),
        targets: () => ['orders_file'],
      },
    },
  });
  const client = await step.services.connections.get<SqlClient>('warehouse');
  if (options.seed !== false) {
    await seedGlobeMart(client, NOW);
    await client.query(
      `INSERT INTO sales VALUES (now() - INTERVAL 5 MINUTE, 'DE', 'Berlin', 'EUR', 1, 'sku-x', 'cat-0', $1)`,
      [EVIL],
    );
  }
  await (step.services.deadLetters as unknown as { add(step: string, rejects: unknown[]): Promise<number> }).add(
    'orders',
    [{ record: { x: 1 }, reasons: ['bad'] }],
  );
  return { step, app: await mountView(step.plugin, id, options.root), client, fired, status };
}

const json = async (app: Hono, url: string, init?: RequestInit) => {
  const response = await app.request(url, init);
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

describe('dashboard view over HTTP', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup(
      globeMartConfig({ widgets: [{ id: 'broken', type: 'table', query: 'SELECT * FROM no_such_table' }] }),
    );
  });
  afterAll(() => s.step.close());

  it('renders the page on the server, with data escaped and the model embedded safely', async () => {
    const response = await s.app.request('/views/revenue');
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<title>GlobeMart revenue · test</title>');
    expect(html).toMatch(/<link rel="stylesheet" href="\/assets\/views\/app\.css\?v=[0-9a-f]{12}">/);
    expect(html).toContain('data-widget="by_country"');
    expect(html).not.toContain(EVIL);
    expect(html).toContain('&lt;script>window.__pwned=1&lt;/script>');
    const model = JSON.parse(html.match(/<script type="application\/json" id="view-model">([^<]*)<\/script>/)![1]);
    expect(model.widgets.map((w: { id: string }) => w.id)).toContain('recent');
    expect(model.results.recent.data.some((r: { note: string }) => r.note === EVIL)).toBe(true);
    expect(model.filters.find((f: { id: string }) => f.id === 'period')).toMatchObject({
      value: '7d',
      options: [{ value: '12h', label: 'Last 12 hours' }, { value: '24h' }, { value: '7d' }],
    });
    expect(model.freshness).toMatchObject({
      steps: ['warehouse', 'orders', 'orders_file'],
      lastCommitAt: NOW.toISOString(),
      rejected: 1,
    });
  });

  it('redirects the page URL with a trailing slash', async () => {
    const response = await s.app.request('/views/revenue/?country=DE');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/views/revenue?country=DE');
  });

  it('answers a widget as { data, statistics, meta } with freshness', async () => {
    const { status, body } = await json(s.app, '/api/views/revenue/by_country');
    expect(status).toBe(200);
    expect(body.data).toHaveLength(5);
    expect(body.data[0]).toEqual({ country: expect.any(String), revenue: expect.any(Number) });
    expect(body.statistics).toEqual({ rows: 5, elapsedMs: expect.any(Number) });
    expect(body.meta.columns).toEqual([
      { name: 'country', type: 'string' },
      { name: 'revenue', type: 'number' },
    ]);
    expect(body.meta.freshness).toEqual({
      steps: ['warehouse', 'orders'],
      producer: 'warehouse',
      producers: ['warehouse'],
      lastCommitAt: NOW.toISOString(),
      watermark: '2024-05-01T00:00:00.000Z',
      rejected: 1,
      rejectedRun: 0,
      delivered: 10,
    });
  });

  it('applies filters as bound conditions: select, multiSelect, time ranges', async () => {
    const all = (await json(s.app, '/api/views/revenue/orders?period=7d')).body.data[0].value;
    const de = (await json(s.app, '/api/views/revenue/by_country?country=DE')).body.data;
    expect(de.map((r: { country: string }) => r.country)).toEqual(['DE']);
    const eurGbp = (await json(s.app, '/api/views/revenue/by_currency?currency=EUR&currency=GBP')).body.data;
    expect(eurGbp.map((r: { currency: string }) => r.currency).sort()).toEqual(['EUR', 'GBP']);
    const last12h = (await json(s.app, '/api/views/revenue/orders?period=12h')).body.data[0].value;
    expect(last12h).toBe(12 * 5 + 1);
    expect(all).toBe(7 * 24 * 5 + 1);
    const injected = (await json(s.app, `/api/views/revenue/orders?country=${encodeURIComponent("DE' OR '1'='1")}`))
      .body.data[0].value;
    expect(injected).toBe(0);
  });

  it('computes KPI deltas over the previous equal period and sparklines', async () => {
    const { body } = await json(s.app, '/api/views/revenue/orders?period=24h');
    expect(body.data[0].value).toBe(24 * 5 + 1);
    expect(body.meta.previous).toEqual({ value: 24 * 5 });
    expect(Date.parse(body.meta.period.to) - Date.parse(body.meta.period.from)).toBe(86_400_000);
    expect(body.meta.period.previousTo).toBe(body.meta.period.from);
    const revenue = (await json(s.app, '/api/views/revenue/revenue?period=24h')).body;
    expect(revenue.meta.sparkline).toHaveLength(12);
    const sum = revenue.meta.sparkline.reduce((n: number, p: [string, number]) => n + p[1], 0);
    expect(sum).toBeCloseTo(revenue.data[0].value, 6);
  });

  it('evaluates alert rules: status and every reason', async () => {
    const { status, body } = await json(s.app, '/api/views/revenue/health?period=12h');
    expect(status).toBe(200);
    expect(body.status).toBe('WARN');
    expect(body.reasons).toEqual([expect.stringMatching(/^revenue €[\d,]+\.\d\d below target$/)]); // in the column's format
  });

  it('reports a failing query per widget', async () => {
    const { status, body } = await json(s.app, '/api/views/revenue/broken');
    expect(status).toBe(500);
    expect(body.error).toMatch(/no_such_table/);
    const html = await (await s.app.request('/views/revenue')).text();
    expect(html).toContain('This card could not be loaded');
  });

  it('pages with limit/offset and says when more rows exist', async () => {
    const page1 = (await json(s.app, '/api/views/revenue/recent?limit=3')).body;
    const page2 = (await json(s.app, '/api/views/revenue/recent?limit=3&offset=3')).body;
    expect(page1.data).toHaveLength(3);
    expect(page1.meta.truncated).toBe(true);
    expect(page2.data[0]).not.toEqual(page1.data[0]);
    expect((await json(s.app, '/api/views/revenue/recent?limit=10000')).status).toBe(200);
  });

  it.each([
    ['limit=0', 'limit', 'limit must be between 1 and 10000 (got 0)'],
    ['limit=10001', 'limit', 'limit must be between 1 and 10000 (got 10001)'],
    ['offset=-1', 'offset', 'offset must be at least 0 (got -1)'],
    [
      'offset=99999999999999999999&format=parquet',
      'offset',
      'offset is out of range (got 99999999999999999999; at most 9007199254740991)',
    ],
    ['format=xml', 'format', 'format must be one of json, csv, parquet (got "xml")'],
    ['period=5h', 'period', 'period must be one of 12h, 24h, 7d (got "5h")'],
    ['currency=XXX', 'currency', 'currency must be one of EUR, USD, GBP, JPY (got "XXX")'],
    ['country=DE&country=FR', 'country', 'country must be given once (got 2 values)'],
    [
      'colour=red',
      'colour',
      'unknown parameter "colour" (expected: period, region, country, currency, format, limit, offset)',
    ],
    [
      'sort=country',
      'sort',
      'unknown parameter "sort" (expected: period, region, country, currency, format, limit, offset)',
    ],
  ])('answers 400 naming the parameter for %s', async (query, parameter, error) => {
    const { status, body } = await json(s.app, `/api/views/revenue/by_country?${query}`);
    expect(status).toBe(400);
    expect(body).toEqual({ error, parameter });
  });

  it('answers 404 for an unknown widget', async () => {
    const { status, body } = await json(s.app, '/api/views/revenue/nope');
    expect(status).toBe(404);
    expect(body.error).toMatch(/no widget "nope"/);
  });

  it('exports CSV', async () => {
    const response = await s.app.request('/api/views/revenue/by_country?format=csv&country=FR');
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="by_country.csv"');
    expect(await response.text()).toMatch(/^country,revenue\r\nFR,[\d.]+\r\n$/);
  });

  it('exports Parquet through DuckDB', async () => {
    const response = await s.app.request('/api/views/revenue/by_country?format=parquet&limit=2');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(new TextDecoder().decode(bytes.slice(0, 4))).toBe('PAR1');
    const file = join(tmpdir(), `views-test-${process.pid}.parquet`);
    await writeFile(file, bytes);
    const rows = await s.client.query(`SELECT * FROM read_parquet('${file}')`);
    expect(rows).toHaveLength(2);
    expect(Object.keys(rows[0])).toEqual(['country', 'revenue']);
  });

  it('narrows cascading filter options and drops a value no longer offered', async () => {
    expect((await json(s.app, '/api/views/revenue/filters/country?region=Asia')).body.options).toEqual([
      { value: 'JP', label: 'JP' },
    ]);
    expect((await json(s.app, '/api/views/revenue/filters/country')).body.options).toHaveLength(5);
    expect((await json(s.app, '/api/views/revenue/filters/country?bogus=1')).status).toBe(400);
    const html = await (await s.app.request('/views/revenue?region=Asia&country=DE')).text();
    const model = JSON.parse(html.match(/id="view-model">([^<]*)</)![1]);
    expect(model.filters.find((f: { id: string }) => f.id === 'country')).toMatchObject({
      value: null,
      options: [{ value: 'JP' }],
    });
  });

  it('ignores malformed parameters on the page, saying so', async () => {
    const html = await (await s.app.request('/views/revenue?period=99h&colour=red')).text();
    expect(html).toContain('Ignored in the address');
    expect(html).toContain('period must be one of 12h, 24h, 7d');
  });

  it('describes every endpoint in OpenAPI with typed parameters', () => {
    const paths = s.step.plugin.openapi!() as Record<string, any>;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        '/api/views/revenue/revenue',
        '/api/views/revenue/by_country',
        '/api/views/revenue/recent',
        '/api/views/revenue/upload/orders_upload',
        '/api/views/revenue/filters/{filter}',
        '/api/views/revenue/events',
      ]),
    );
    const get = paths['/api/views/revenue/by_country'].get;
    const param = (name: string) => get.parameters.find((p: { name: string }) => p.name === name);
    expect(param('period').schema).toEqual({ type: 'string', enum: ['12h', '24h', '7d'], default: '7d' });
    expect(param('currency')).toMatchObject({
      schema: { type: 'array', items: { type: 'string', enum: ['EUR', 'USD', 'GBP', 'JPY'] } },
      explode: true,
    });
    expect(param('country').schema).toEqual({ type: 'string' });
    expect(param('limit').schema).toEqual({ type: 'integer', minimum: 1, maximum: 10000, default: 1000 });
    expect(param('format').schema.enum).toEqual(['json', 'csv', 'parquet']);
    expect(param('region').description).toMatch(/does not change this widget/); // accepted, but by_country does not respond to region
    expect(Object.keys(get.responses)).toEqual(['200', '304', '400', '401', '403', '500']);
    expect(paths['/api/views/revenue/upload/orders_upload'].post.requestBody.content).toHaveProperty(
      'multipart/form-data',
    );
  });

  it('streams commits of upstream steps as server-sent events', async () => {
    const response = await s.app.request('/api/views/revenue/events');
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) text += decoder.decode((await reader.read()).value);
    };
    await readUntil('event: hello');
    s.step.services.events.emit({ type: 'commit', step: 'elsewhere', records: 1, at: new Date() });
    s.step.services.events.emit({
      type: 'commit',
      step: 'warehouse',
      records: 3,
      at: new Date('2024-06-01T00:00:00Z'),
    });
    await readUntil('event: commit');
    await reader.cancel();
    const commit = JSON.parse(text.split('event: commit\ndata: ')[1].split('\n')[0]);
    expect(commit).toMatchObject({
      type: 'commit',
      step: 'warehouse',
      records: 3,
      at: '2024-06-01T00:00:00.000Z',
      freshness: { rejected: 1, producers: expect.arrayContaining(['warehouse', 'orders_file']) },
    });
    expect(text).not.toContain('elsewhere');
  });

  it('serves the bundle once on the root, gzip-compressed and cacheable when versioned', async () => {
    const html = await (await s.app.request('/views/revenue')).text();
    const src = html.match(/src="(\/assets\/views\/app\.js\?v=[0-9a-f]+)"/)![1];
    const response = await s.app.request(src, { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(response.headers.get('cache-control')).toContain('immutable');
    expect((await s.app.request('/assets/views/app.css')).headers.get('cache-control')).toBe('no-cache');
    expect((await s.app.request('/assets/views/nope.js')).status).toBe(404);
  });
});

describe('dashboard uploads and access', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup(
      globeMartConfig({
        widgets: [{ id: 'tiny', type: 'upload', target: 'orders_file', accept: '.csv', maxBytes: 10 }],
      }),
      {
        access: tokenAccess({ uploader: 'up-secret', viewer: 'view-secret' }),
      },
    );
  });
  afterAll(() => s.step.close());

  const form = (name: string, content: string) => {
    const body = new FormData();
    body.append('file', new File([content], name));
    return body;
  };
  const post = (widget: string, body: FormData, headers: Record<string, string> = {}) =>
    s.app.request(`/api/views/revenue/upload/${widget}`, { method: 'POST', body, headers });

  it('needs the viewer role for pages and data', async () => {
    // A browser without a token is sent to the sign-in page, and back to the dashboard after it.
    const page = await s.app.request('/views/revenue?period=24h');
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/sign-in?next=%2Fviews%2Frevenue%3Fperiod%3D24h');
    expect((await s.app.request('/api/views/revenue/orders')).status).toBe(401);
    expect(
      (await s.app.request('/api/views/revenue/orders', { headers: { authorization: 'Bearer nope' } })).status,
    ).toBe(403);
    expect(
      (await s.app.request('/api/views/revenue/orders', { headers: { authorization: 'Bearer view-secret' } })).status,
    ).toBe(200);
    expect((await s.app.request('/views/revenue', { headers: { cookie: 'platform_token=view-secret' } })).status).toBe(
      200,
    );
  });

  it('refuses uploads without the uploader token (401) or with another (403)', async () => {
    const none = await post('orders_upload', form('orders.csv', 'a,b\n1,2\n'));
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({
      error: 'this needs the uploader role: sign in, or send Authorization: Bearer <token>',
    });
    expect((await post('orders_upload', form('orders.csv', 'a'), { authorization: 'Bearer view-secret' })).status).toBe(
      403,
    );
    expect(s.fired).toHaveLength(0);
  });

  it('saves the file under <StateDir>/uploads and fires the target', async () => {
    const response = await post('orders_upload', form('../../Orders 2024.csv', 'a,b\n1,2\n'), {
      authorization: 'Bearer up-secret',
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { records: number; rejected: number; file: string; deadLetter: string };
    expect(body).toEqual({
      records: 42,
      rejected: 2,
      file: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T[\d-]+Z-Orders_2024\.csv$/),
      deadLetter: '/dead-letter?steps=orders_file',
    });
    expect(s.fired).toHaveLength(1);
    const event = s.fired[0].event as Extract<TriggerEvent, { type: 'upload' }>;
    expect(s.fired[0].step).toBe('orders_file');
    expect(event).toMatchObject({ type: 'upload', filename: '../../Orders 2024.csv', view: 'revenue' });
    expect(event.file).toBe(join(s.step.services.stateDir, 'uploads', body.file));
    expect(readFileSync(event.file, 'utf8')).toBe('a,b\n1,2\n');
  });

  it('checks the extension, the size and the origin', async () => {
    const auth = { authorization: 'Bearer up-secret' };
    expect((await post('orders_upload', form('run.exe', 'MZ'), auth)).status).toBe(415);
    expect((await post('tiny', form('big.csv', 'x'.repeat(11)), auth)).status).toBe(413);
    expect((await post('orders_upload', new FormData(), auth)).status).toBe(400);
    expect((await post('nope', form('a.csv', 'a'), auth)).status).toBe(404);
    const crossSite = await post('orders_upload', form('a.csv', 'a'), {
      cookie: 'platform_token=up-secret',
      origin: 'https://evil.example',
    });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.json()).toEqual({ error: 'cross-site upload refused' });
    expect(
      (
        await post('orders_upload', form('a.csv', 'a'), {
          cookie: 'platform_token=up-secret',
          origin: 'http://localhost',
        })
      ).status,
    ).toBe(200);
  });

  it('serves a public view without a token', async () => {
    const pub = await setup(globeMartConfig(), {
      access: tokenAccess({ viewer: 'view-secret' }, ['open']),
      id: 'open',
      seed: false,
    });
    expect((await pub.app.request('/api/views/open/orders')).status).toBe(500); // public, but the table is missing in this database
    await pub.step.close();
  });
});

describe('dashboard auto mode', () => {
  it('generates widgets from the table, waiting for it when it does not exist yet', async () => {
    const s = await setup({ title: 'Sales', tables: ['sales'] }, { seed: false });
    const before = await (await s.app.request('/views/revenue')).text();
    expect(before).toContain('The table sales does not exist yet. It appears after the first commit of warehouse.');
    await seedGlobeMart(s.client, NOW);
    const html = await (await s.app.request('/views/revenue')).text();
    for (const id of ['rows', 'total_amount', 'over_time', 'by_country', 'by_currency', 'records'])
      expect(html).toContain(`data-widget="${id}"`);
    const { body } = await json(s.app, '/api/views/revenue/by_currency?country=DE');
    expect(body.data).toEqual([{ currency: 'EUR', amount: expect.any(Number) }]);
    expect((await json(s.app, '/api/views/revenue/rows?period=24h')).body.data[0].value).toBe(24 * 5);
    await s.step.close();
  });

  it('mounts the assets once for several views on one server', async () => {
    const root = new Hono();
    const a = await setup({ tables: ['sales'] }, { id: 'a', root, seed: false });
    const b = await setup({ tables: ['sales'] }, { id: 'b', root, seed: false });
    expect(root.routes.filter((r) => r.path === '/assets/views/*')).toHaveLength(1);
    await a.step.close();
    await b.step.close();
  });

  it('refuses configs that cannot work, naming the widget', async () => {
    const make = (config: Record<string, unknown>) => setup(config, { seed: false });
    await expect(make({ widgets: [{ id: 'a', type: 'kpi', query: 'SELECT :nope' }] })).rejects.toThrow(
      /widget "a" uses :nope/,
    );
    await expect(make({ widgets: [{ id: 'a', type: 'kpi', query: 'SELECT 1', filters: ['ghost'] }] })).rejects.toThrow(
      /widget "a" lists an unknown filter "ghost"/,
    );
    await expect(make({ widgets: [{ id: 'events', type: 'text', text: 'x' }] })).rejects.toThrow(/reserved/);
    await expect(make({ widgets: [{ id: 'u', type: 'upload' }] })).rejects.toThrow(/needs a target/);
    await expect(
      make({
        filters: { a: { type: 'select', dependsOn: ['b'] }, b: { type: 'select', dependsOn: ['a'] } },
        widgets: [{ id: 't', type: 'text' }],
      }),
    ).rejects.toThrow(/cycle/);
    await expect(make({ title: 'x' })).rejects.toThrow(/give widgets, or tables/);
    // A filter's default is a value, a "from..to" text or a list of values; an object used to pass the schema.
    await expect(
      make({ filters: { a: { type: 'select', default: { v: 1 } } }, widgets: [{ id: 't', type: 'text' }] }),
    ).rejects.toThrow(/with\.filters\.a\.default: must be/);
  });
});

describe('dashboard on a postgres connection', () => {
  it('answers 400 to format=parquet, which needs DuckDB', async () => {
    const db = await testDuckDb();
    await db.client.exec('CREATE TABLE t AS SELECT 1 AS a');
    const postgresLike: SqlClient = {
      ...db.client,
      dialect: 'postgres',
      query: (sql, params) => db.client.query(sql, params),
    } as SqlClient;
    const step = await createTestStep<View>(
      dashboard,
      'view',
      { widgets: [{ id: 'w', type: 'table', query: 'SELECT * FROM t' }] },
      {
        id: 'pg',
        connection: 'pg',
        services: { connections: { get: async <T>() => postgresLike as T, list: () => [] } },
      },
    );
    const app = await mountView(step.plugin, 'pg');
    expect((await json(app, '/api/views/pg/w')).body.data).toEqual([{ a: 1 }]);
    expect(await json(app, '/api/views/pg/w?format=parquet')).toEqual({
      status: 400,
      body: { error: 'format must be one of json, csv (got "parquet")', parameter: 'format' },
    });
    await step.close();
    await db.close();
  });
});

describe('dashboard without a connection', () => {
  it('serves an upload page', async () => {
    const fired: TriggerEvent[] = [];
    const step = await createTestStep<View>(
      dashboard,
      'view',
      {
        title: 'Upload sales workbooks',
        widgets: [
          { id: 'help', type: 'text', text: 'Drop the weekly Excel export here.' },
          { id: 'sales_file', type: 'upload', target: 'excel', accept: ['.xlsx'] },
        ],
      },
      {
        id: 'upload',
        services: {
          triggers: {
            fire: async (_, event) => (fired.push(event), { records: 3, rejected: 0 }),
            targets: () => ['excel'],
          },
        },
      },
    );
    const app = await mountView(step.plugin, 'upload');
    const html = await (await app.request('/views/upload')).text();
    expect(html).toContain('Drop the weekly Excel export here.');
    const body = new FormData();
    body.append('file', new File(['PK'], 'week 12.xlsx'));
    expect(
      await (await app.request('/api/views/upload/upload/sales_file', { method: 'POST', body })).json(),
    ).toMatchObject({ records: 3, rejected: 0 });
    expect(fired[0]).toMatchObject({ type: 'upload', filename: 'week 12.xlsx', view: 'upload' });
    await step.close();
  });

  it('fires several targets in order with the same file, sums what they loaded, and names the one that failed', async () => {
    const fired: { step: string; file: string }[] = [];
    const loaded: Record<string, { records: number; rejected: number }> = {
      products: { records: 3, rejected: 1 },
      clients: { records: 2, rejected: 0 },
    };
    const fire = async (step: string, event: TriggerEvent) => {
      fired.push({ step, file: (event as Extract<TriggerEvent, { type: 'upload' }>).file });
      if (!loaded[step]) throw new Error('no such sheet');
      return loaded[step];
    };
    const make = (target: string[]) =>
      createTestStep<View>(
        dashboard,
        'view',
        { widgets: [{ id: 'book', type: 'upload', target, accept: ['.xlsx'] }] },
        { id: 'upload', services: { triggers: { fire, targets: () => target } } },
      );
    const post = async (app: Awaited<ReturnType<typeof mountView>>) => {
      const body = new FormData();
      body.append('file', new File(['PK'], 'stock.xlsx'));
      return app.request('/api/views/upload/upload/book', { method: 'POST', body });
    };
    const step = await make(['products', 'clients']);
    const response = await post(await mountView(step.plugin, 'upload'));
    expect(await response.json()).toMatchObject({
      records: 5,
      rejected: 1,
      deadLetter: '/dead-letter?steps=products,clients',
    });
    expect(fired.map((f) => f.step)).toEqual(['products', 'clients']);
    expect(fired[0].file).toBe(fired[1].file);
    await step.close();

    fired.length = 0;
    const failing = await make(['products', 'invoices', 'clients']);
    const failed = await post(await mountView(failing.plugin, 'upload'));
    expect(failed.status).toBe(502);
    expect(((await failed.json()) as { error: string }).error).toMatch(
      /but invoices failed \(products loaded it\): no such sheet$/,
    );
    expect(fired.map((f) => f.step)).toEqual(['products', 'invoices']); // stops at the first failure
    await failing.close();
  });
});
