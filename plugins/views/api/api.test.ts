import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient, View } from '../../../core/sdk/index.ts';
import { createTestStep, type TestStep } from '../../../core/testing.ts';
import { fakeStatus, mountView, stepStats, tokenAccess } from '../shared/testing.ts';
import api from './index.ts';

const config = {
  health: { path: '/health', maxAge: '10m' },
  endpoints: [
    {
      path: 'kpis/latest',
      alias: '/api/kpis/latest',
      description: 'The latest KPI rows, newest first',
      query: 'SELECT ts, revenue, failure_rate, p95_ms FROM kpis ORDER BY ts DESC LIMIT :limit',
      params: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
      rules: [
        {
          when: { field: 'failure_rate', op: '>', value: 0.05 },
          state: 'CRIT',
          reason: 'failure rate {failure_rate} above 5%',
        },
        { when: { field: 'p95_ms', op: '>', value: 800 }, state: 'WARN', reason: 'p95 {p95_ms} ms above 800 ms' },
        { when: { field: 'revenue', op: 'isNull' }, state: 'WARN', reason: 'no revenue' },
      ],
    },
    {
      path: 'kpis/day',
      query: 'SELECT count(*) AS n FROM kpis WHERE ts >= :day::DATE AND ts < :day::DATE + INTERVAL 1 DAY',
      params: { day: { type: 'date', required: true } },
      formats: ['json', 'csv', 'parquet'],
    },
    {
      path: 'broken',
      query: 'SELECT * FROM missing',
      rules: [{ when: { field: 'x', op: '>', value: 1 }, state: 'WARN' }],
    },
  ],
};

describe('api view', () => {
  let step: TestStep<View>;
  let app: Hono;
  let client: SqlClient;
  const status = fakeStatus([stepStats('kpis', { recordsIn: 600, lastCommitAt: new Date().toISOString() })], 'monitor');

  beforeAll(async () => {
    step = await createTestStep<View>(api, 'view', config, {
      id: 'monitor',
      from: ['kpis'],
      connection: 'warehouse',
      connections: { warehouse: { type: 'duckdb', path: ':memory:' } },
      services: { status, access: tokenAccess({ viewer: 'v' }, ['monitor']) },
    });
    client = await step.services.connections.get<SqlClient>('warehouse');
    await client.exec(`CREATE TABLE kpis AS SELECT TIMESTAMP '2024-03-01' + INTERVAL (i) MINUTE AS ts, 1000 + i AS revenue,
      CASE WHEN i = 599 THEN 0.08 ELSE 0.01 END AS failure_rate, CASE WHEN i = 599 THEN 950 ELSE 300 END AS p95_ms FROM range(600) t(i)`);
    app = await mountView(step.plugin, 'monitor');
  });
  afterAll(() => step.close());

  const get = async (url: string) => {
    const response = await app.request(url);
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it('answers with data, statistics, meta, and the rule status with every reason', async () => {
    const { status: code, body } = await get('/api/views/monitor/kpis/latest?limit=3');
    expect(code).toBe(200);
    expect(body.data).toHaveLength(3);
    expect(body.data[0]).toEqual({ ts: '2024-03-01T09:59:00.000Z', revenue: 1599, failure_rate: 0.08, p95_ms: 950 });
    expect(body.statistics.rows).toBe(3);
    expect(body.meta.columns.map((c: { name: string }) => c.name)).toEqual(['ts', 'revenue', 'failure_rate', 'p95_ms']);
    expect(body.meta.freshness.steps).toEqual(['kpis']);
    expect(body.status).toBe('CRIT');
    expect(body.reasons).toEqual(['failure rate 0.08 above 5%', 'p95 950 ms above 800 ms']);
  });

  it('defaults limit to 50 and answers at the legacy alias too', async () => {
    expect((await get('/api/views/monitor/kpis/latest')).body.data).toHaveLength(50);
    const alias = await get('/api/kpis/latest?limit=500');
    expect(alias.status).toBe(200);
    expect(alias.body.data).toHaveLength(500);
  });

  it.each([
    ['limit=0', { error: 'limit must be between 1 and 500 (got 0)', parameter: 'limit' }],
    ['limit=501', { error: 'limit must be between 1 and 500 (got 501)', parameter: 'limit' }],
    ['limit=abc', { error: 'limit must be an integer (got "abc")', parameter: 'limit' }],
    ['limit=5&sort=desc', { error: 'unknown parameter "sort" (expected: limit, format)', parameter: 'sort' }],
    ['format=parquet', { error: 'format must be one of json, csv (got "parquet")', parameter: 'format' }],
  ])('answers 400 for %s', async (query, error) => {
    expect(await get(`/api/kpis/latest?${query}`)).toEqual({ status: 400, body: error });
  });

  it('exports CSV when allowed', async () => {
    const response = await app.request('/api/kpis/latest?limit=2&format=csv');
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(await response.text()).toBe(
      'ts,revenue,failure_rate,p95_ms\r\n2024-03-01T09:59:00.000Z,1599,0.08,950\r\n2024-03-01T09:58:00.000Z,1598,0.01,300\r\n',
    );
  });

  it('binds typed parameters, requires required ones and exports Parquet', async () => {
    expect((await get('/api/views/monitor/kpis/day?day=2024-03-01')).body.data).toEqual([{ n: 600 }]);
    expect(await get('/api/views/monitor/kpis/day')).toEqual({
      status: 400,
      body: { error: 'day is required', parameter: 'day' },
    });
    const parquet = await app.request('/api/views/monitor/kpis/day?day=2024-03-01&format=parquet');
    expect(new TextDecoder().decode(new Uint8Array(await parquet.arrayBuffer()).slice(0, 4))).toBe('PAR1');
  });

  it('reports a failing query as Error with its message', async () => {
    const { status: code, body } = await get('/api/views/monitor/broken');
    expect(code).toBe(500);
    expect(body.status).toBe('Error');
    expect(body.reasons[0]).toMatch(/missing/);
  });

  it('answers a health check on the root', async () => {
    expect(await get('/health')).toMatchObject({
      status: 200,
      body: { status: 'ok', database: 'ok', pipeline: 'monitor', ageSeconds: expect.any(Number), steps: ['kpis'] },
    });
    status.stats[0].lastCommitAt = new Date(Date.now() - 3_600_000).toISOString();
    expect(await get('/health')).toMatchObject({ status: 503, body: { status: 'stale' } });
  });

  it('lists its endpoints and describes them in OpenAPI', async () => {
    expect((await get('/api/views/monitor')).body.endpoints.map((e: { path: string }) => e.path)).toEqual([
      '/api/views/monitor/kpis/latest',
      '/api/views/monitor/kpis/day',
      '/api/views/monitor/broken',
    ]);
    const paths = step.plugin.openapi!() as Record<string, any>;
    expect(Object.keys(paths)).toEqual([
      '/api/views/monitor',
      '/api/views/monitor/kpis/latest',
      '/api/kpis/latest',
      '/api/views/monitor/kpis/day',
      '/api/views/monitor/broken',
      '/health',
    ]);
    const latest = paths['/api/kpis/latest'].get;
    expect(latest.parameters).toEqual([
      {
        name: 'limit',
        in: 'query',
        required: false,
        schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
      },
      {
        name: 'format',
        in: 'query',
        required: false,
        schema: { type: 'string', enum: ['json', 'csv'], default: 'json' },
      },
    ]);
    expect(Object.keys(latest.responses['200'].content)).toEqual(['application/json', 'text/csv']);
    expect(paths['/api/views/monitor/kpis/day'].get.parameters[0]).toMatchObject({
      name: 'day',
      required: true,
      schema: { type: 'string', format: 'date' },
    });
  });

  it('needs the viewer role unless the view is public', async () => {
    const closed = await createTestStep<View>(api, 'view', config, {
      id: 'private',
      connection: 'warehouse',
      connections: { warehouse: { type: 'duckdb', path: ':memory:' } },
      services: { access: tokenAccess({ viewer: 'v' }) },
    });
    const root = await mountView(closed.plugin, 'private');
    expect((await root.request('/api/views/private/kpis/latest')).status).toBe(401);
    expect(
      (await root.request('/api/views/private/kpis/latest', { headers: { authorization: 'Bearer v' } })).status,
    ).toBe(500); // allowed; no kpis table here
    await closed.close();
  });

  it('judges the first row of rulesQuery when given (the rows may include a window still in progress)', async () => {
    const judged = await createTestStep<View>(
      api,
      'view',
      {
        endpoints: [
          {
            path: 'latest',
            query:
              'SELECT * FROM (VALUES (2, 900, true), (1, 100, false)) t(n, p95_ms, partial) ORDER BY n DESC LIMIT :limit',
            rulesQuery:
              'SELECT * FROM (VALUES (2, 900, true), (1, 100, false)) t(n, p95_ms, partial) WHERE NOT partial ORDER BY n DESC',
            params: { limit: { type: 'integer', default: 10 } },
            rules: [
              { when: { field: 'p95_ms', op: '>', value: 800 }, state: 'WARN', reason: 'p95 {p95_ms} of window {n}' },
            ],
          },
          {
            path: 'none',
            query: 'SELECT 1 AS n',
            rulesQuery: 'SELECT 1 AS n WHERE false',
            rules: [{ when: { field: 'n', op: '>', value: 0 }, state: 'WARN' }],
          },
        ],
      },
      {
        id: 'judged',
        connection: 'w',
        connections: { w: { type: 'duckdb', path: ':memory:' } },
        services: { access: tokenAccess({}, ['judged']) },
      },
    );
    const root = await mountView(judged.plugin, 'judged');
    const body = (await (await root.request('/api/views/judged/latest')).json()) as {
      data: unknown[];
      status: string;
      reasons: string[];
    };
    expect(body.data).toHaveLength(2);
    expect([body.status, body.reasons]).toEqual(['OK', []]);
    const none = (await (await root.request('/api/views/judged/none')).json()) as { data: unknown[]; status: string };
    expect([none.data.length, none.status]).toEqual([1, 'NoData']);
    await judged.close();
    await expect(
      createTestStep<View>(
        api,
        'view',
        { endpoints: [{ path: 'x', query: 'SELECT 1', rulesQuery: 'SELECT :n', params: { n: { type: 'integer' } } }] },
        {
          connection: 'w',
          connections: { w: { type: 'duckdb', path: ':memory:' } },
        },
      ),
    ).rejects.toThrow(/endpoint "x" has rulesQuery but no rules/);
  });

  it('refuses an endpoint using an undeclared parameter', async () => {
    await expect(
      createTestStep<View>(
        api,
        'view',
        { endpoints: [{ path: 'x', query: 'SELECT :n' }] },
        {
          connection: 'w',
          connections: { w: { type: 'duckdb', path: ':memory:' } },
        },
      ),
    ).rejects.toThrow(/endpoint "x" uses :n, which is not in its params/);
  });
});
