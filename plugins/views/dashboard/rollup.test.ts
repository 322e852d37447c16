// Rollups the dashboard derives from its widgets' queries: every answer from a rollup equals the raw query's, for
// many filter combinations and after upstream appends, upserts and deletes; shapes that do not decompose keep the raw
// query; a rollup is never used while stale.
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient, View } from '../../../core/sdk/index.ts';
import { createTestStep, type TestStep } from '../../../core/testing.ts';
import { fakeStatus, mountView, stepStats, testDuckDb } from '../shared/testing.ts';
import { DashboardView } from './index.ts';
import dashboard from './index.ts';
import { NoRollup, planRollup } from './rollup.ts';

const COUNTRIES = ['US', 'DE', 'FR', 'JP', 'BR'];
const CHANNELS = ['web', 'store', 'phone'];

/** Each query once with `rollup: always` (id) and once with `rollup: off` (id_raw): the raw twin is the reference. */
const QUERIES: Record<string, string> = {
  by_country:
    'SELECT country, sum(amount) AS revenue, count(*) AS orders, avg(amount) AS mean, min(amount) AS low, max(amount) AS high, count(channel) AS with_channel, sum(qty) AS units FROM sales {{where}} GROUP BY 1 ORDER BY 1 NULLS LAST',
  per_day:
    "SELECT date_trunc('day', ts) AS day, sum(qty) AS units, max(ts::DATE) AS last_day FROM sales {{where}} GROUP BY 1 ORDER BY 1",
  total: 'SELECT sum(amount) AS value, count(*) AS n, avg(qty) AS mean_qty FROM sales {{where}}',
  by_channel:
    "SELECT s.channel, sum(s.amount) * 2 AS doubled, count(*) AS n FROM sales AS s WHERE s.country <> 'XX' {{and}} GROUP BY ALL HAVING count(*) > 0 ORDER BY 2 DESC NULLS LAST, 1",
  top_param:
    'SELECT country, sum(qty) AS units FROM sales WHERE (:channel IS NULL OR channel = :channel) {{and}} GROUP BY 1 ORDER BY units DESC, country LIMIT 3',
};
// "count(*) FILTER_FREE" is count(*) with the alias FILTER_FREE (no FILTER clause).

function widgets(mode: 'always' | 'auto') {
  return Object.entries(QUERIES).flatMap(([id, query]) => [
    { id, type: 'table', query, rollup: mode },
    { id: `${id}_raw`, type: 'table', query, rollup: 'off' },
  ]);
}

const FILTERS = {
  country: { type: 'multiSelect', column: 'country', options: [...COUNTRIES, 'XX'] },
  channel: { type: 'select', column: 'channel', options: CHANNELS },
  day: { type: 'dateRange', column: 'ts' },
};

interface Setup {
  step: TestStep<View>;
  app: Hono;
  client: SqlClient;
  view: DashboardView;
}

async function setup(mode: 'always' | 'auto', extraWidgets: Record<string, unknown>[] = []): Promise<Setup> {
  const status = fakeStatus([stepStats('warehouse', { kind: 'sink' })]);
  const step = await createTestStep<View>(
    dashboard,
    'view',
    { filters: FILTERS, widgets: [...widgets(mode), ...extraWidgets] },
    {
      id: 'rolled',
      from: ['warehouse'],
      connection: 'warehouse',
      connections: { warehouse: { type: 'duckdb', path: ':memory:' } },
      services: { status },
    },
  );
  const client = await step.services.connections.get<SqlClient>('warehouse');
  // 2,000 rows over 40 days: NULL countries, channels and amounts among them; amounts are DECIMAL, quantities INTEGER.
  await client.exec(`CREATE TABLE sales AS SELECT i AS id,
      CASE WHEN i % 17 = 0 THEN NULL ELSE ['US','DE','FR','JP','BR'][1 + i % 5] END AS country,
      CASE WHEN i % 11 = 0 THEN NULL ELSE ['web','store','phone'][1 + i % 3] END AS channel,
      CASE WHEN i % 13 = 0 THEN NULL ELSE CAST((i * 7919 % 10000) / 100.0 AS DECIMAL(12,2)) END AS amount,
      CAST(1 + i % 7 AS INTEGER) AS qty,
      TIMESTAMPTZ '2024-03-01 00:00:00+00' + to_seconds(i * 1728) AS ts
    FROM range(2000) t(i)`);
  const app = await mountView(step.plugin, 'rolled');
  return { step, app, client, view: step.plugin as DashboardView };
}

type Answer = { data: Record<string, unknown>[]; meta: { rollup?: boolean }; error?: string };

async function ask(app: Hono, widget: string, query: string): Promise<Answer> {
  const response = await app.request(`/api/views/rolled/${widget}?${query}`);
  const body = (await response.json()) as Answer;
  expect(response.status, `${widget}?${query}: ${JSON.stringify(body)}`).toBe(200);
  return body;
}

/** Equal values; doubles (avg, and sums re-added in another order) to 1e-9 relative. */
function expectSame(actual: Record<string, unknown>[], expected: Record<string, unknown>[], label: string): void {
  expect(actual.length, label).toBe(expected.length);
  actual.forEach((row, i) => {
    expect(Object.keys(row), label).toEqual(Object.keys(expected[i]));
    for (const [key, value] of Object.entries(row)) {
      const want = expected[i][key];
      if (typeof value === 'number' && typeof want === 'number' && !Number.isInteger(want))
        expect(Math.abs(value - want), `${label} row ${i} ${key}`).toBeLessThanOrEqual(1e-9 * Math.abs(want));
      else expect(value, `${label} row ${i} ${key}`).toEqual(want);
    }
  });
}

/** Filter selections: none, single and multi-select (with a value no row has), NULL-free channels, date ranges. */
const SELECTIONS = [
  '',
  'country=US',
  'country=US&country=DE',
  'country=XX',
  'country=JP&country=BR&country=FR&country=US&country=DE',
  'channel=web',
  'channel=phone&country=FR',
  'day=2024-03-05..2024-03-05',
  'day=2024-03-10..2024-03-20&country=DE',
  'day=2024-03-01..',
  'day=..2024-03-02&channel=store',
  'day=2024-05-01..2024-05-09',
  'day=2024-03-03..2024-03-31&channel=store&country=US&country=JP',
];

/** Every widget under every selection: the rolled-up answer equals its raw twin's (and came from the rollup, if `rolled`). */
async function expectAllEqual(app: Hono, rolled?: boolean): Promise<void> {
  for (const selection of SELECTIONS)
    for (const id of Object.keys(QUERIES)) {
      const [over, raw] = await Promise.all([ask(app, id, selection), ask(app, `${id}_raw`, selection)]);
      expect(raw.meta.rollup, `${id}_raw`).toBeUndefined();
      if (rolled !== undefined) expect(over.meta.rollup ?? false, `${id}?${selection} from the rollup`).toBe(rolled);
      expectSame(over.data, raw.data, `${id}?${selection}`);
    }
}

describe('dashboard rollups', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup('always');
  });
  afterAll(async () => {
    await s?.step.close();
  });

  it('answers every widget from its rollup exactly as the raw query, for many filter combinations', async () => {
    // The first request of a widget starts its rollup's build and the raw query answers it.
    expect((await ask(s.app, 'by_country', '')).meta.rollup).toBeUndefined();
    await expectAllEqual(s.app);
    await s.view.rollups.settled();
    await expectAllEqual(s.app, true);
    // The rollups are much smaller than the table: grouped by country, channel and day (ts cut to the day).
    const [{ n }] = await s.client.query(`SELECT count(*) AS n FROM ${s.view.rollups.tableName('by_country')}`);
    expect(Number(n)).toBeLessThanOrEqual(6 * 4 * 41);
    expect(s.step.logs.join('\n')).toMatch(
      /widget "by_country": answered from a rollup of sales by country, channel, ts/,
    );
  });

  it('after appends, upserts and deletes upstream: the raw query answers until the rollup is rebuilt, then equal again', async () => {
    const changes = [
      `INSERT INTO sales SELECT 10000 + i, ['US', NULL, 'XX'][1 + i % 3], 'web', 12.34, 3, TIMESTAMPTZ '2024-03-07 12:00:00+00' FROM range(50) t(i)`,
      `UPDATE sales SET amount = amount + 1, channel = 'store' WHERE id % 9 = 0`,
      `DELETE FROM sales WHERE country = 'DE' AND id % 2 = 0`,
      `DELETE FROM sales`,
    ];
    for (const change of changes) {
      await s.client.exec(change);
      s.step.services.events.emit({ type: 'commit', step: 'warehouse', records: 1, at: new Date() });
      // Stale: never answered from the old rollup, whatever it holds.
      const stale = await ask(s.app, 'by_country', 'country=US');
      expect(stale.meta.rollup, change).toBeUndefined();
      await s.view.rollups.settled();
      await expectAllEqual(s.app, true);
    }
  });

  it('in a session zone other than UTC, days are cut in that zone as the raw query cuts them', async () => {
    await s.client.exec(
      `INSERT INTO sales SELECT 20000 + i, 'US', 'web', 1.5, 1, TIMESTAMPTZ '2024-03-09 18:00:00+00' + to_minutes(i * 7) FROM range(300) t(i)`,
    );
    await s.client.exec("SET GLOBAL TimeZone = 'Asia/Kolkata'");
    try {
      s.step.services.events.emit({ type: 'commit', step: 'warehouse', records: 300, at: new Date() });
      for (const id of Object.keys(QUERIES)) await ask(s.app, id, '');
      await s.view.rollups.settled();
      await expectAllEqual(s.app, true);
    } finally {
      await s.client.exec("SET GLOBAL TimeZone = 'UTC'");
    }
  });
});

describe('dashboard rollups, when they are not derived', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup('auto', [
      {
        id: 'distinct',
        type: 'table',
        rollup: 'always',
        query: 'SELECT country, count(DISTINCT channel) AS channels FROM sales {{where}} GROUP BY 1 ORDER BY 1',
      },
      {
        id: 'median',
        type: 'table',
        rollup: 'always',
        query: 'SELECT median(amount) AS middle FROM sales {{where}}',
      },
    ]);
  });
  afterAll(async () => {
    await s?.step.close();
  });

  it('keeps the raw query for an aggregate that does not decompose, and says why in the log', async () => {
    for (const id of ['distinct', 'median']) await ask(s.app, id, 'country=US');
    await s.view.rollups.settled();
    const distinct = await ask(s.app, 'distinct', 'country=US&country=DE');
    expect(distinct.meta.rollup).toBeUndefined();
    expect(distinct.data).toEqual([
      { country: 'DE', channels: 3 },
      { country: 'US', channels: 3 },
    ]);
    expect((await ask(s.app, 'median', '')).meta.rollup).toBeUndefined();
    const logs = s.step.logs.join('\n');
    expect(logs).toMatch(
      /widget "distinct": no rollup, the raw query answers: count\(DISTINCT …\) is not decomposable/,
    );
    expect(logs).toMatch(/widget "median": no rollup, the raw query answers: median\(\) is not decomposable/);
  });

  it('auto derives one over a large table when it is much smaller, and none when it would keep most rows', async () => {
    await s.client.exec(
      "CREATE TABLE big AS SELECT i AS id, ['US','DE','FR'][1 + i % 3] AS country, i % 100 AS x FROM range(150000) t(i)",
    );
    const view = await createTestStep<View>(
      dashboard,
      'view',
      {
        filters: { country: { type: 'multiSelect', column: 'country', options: ['US', 'DE', 'FR'] } },
        widgets: [
          { id: 'small', type: 'table', query: 'SELECT country, sum(x) AS x FROM big {{where}} GROUP BY 1 ORDER BY 1' },
          { id: 'fine', type: 'table', query: 'SELECT sum(x) AS x FROM big WHERE id > 10 {{and}}' },
        ],
      },
      {
        id: 'sized',
        connection: 'warehouse',
        services: { connections: s.step.services.connections, status: fakeStatus([]) },
      },
    );
    try {
      const app = await mountView(view.plugin, 'sized');
      const get = async (widget: string) =>
        (await (await app.request(`/api/views/sized/${widget}?country=DE`)).json()) as Answer;
      await Promise.all([get('small'), get('fine')]);
      await (view.plugin as DashboardView).rollups.settled();
      const small = await get('small');
      expect(small.meta.rollup).toBe(true);
      expect(small.data).toEqual([{ country: 'DE', x: 50000 * 49.5 }]);
      expect((await get('fine')).meta.rollup).toBeUndefined();
      expect(view.logs.join('\n')).toMatch(
        /widget "small": answered from a rollup of big by country \(3 of 150000 rows\)/,
      );
      expect(view.logs.join('\n')).toMatch(
        /widget "fine": no rollup: grouped by id, country it would keep 150000 of 150000 rows, which does not pay/,
      );
      // Refused for as long as its query is: after a commit only "small" builds its rollup again.
      const built: string[] = [];
      const exec = s.client.exec.bind(s.client);
      s.client.exec = (async (sql: string) => (built.push(sql), exec(sql))) as typeof s.client.exec;
      try {
        view.services.events.emit({ type: 'commit', step: 'warehouse', records: 1, at: new Date() });
        await Promise.all([get('small'), get('fine')]);
        await (view.plugin as DashboardView).rollups.settled();
      } finally {
        s.client.exec = exec;
      }
      const rollups = (view.plugin as DashboardView).rollups;
      expect(built.some((sql) => sql.includes(rollups.tableName('small')))).toBe(true);
      expect(built.some((sql) => sql.includes(rollups.tableName('fine')))).toBe(false);
    } finally {
      await view.plugin.close?.();
    }
  });

  it('auto derives none over a small table (it would not pay), and says so', async () => {
    await ask(s.app, 'by_country', '');
    await s.view.rollups.settled();
    expect((await ask(s.app, 'by_country', 'country=US')).meta.rollup).toBeUndefined();
    expect(s.step.logs.join('\n')).toMatch(
      /widget "by_country": no rollup while sales has fewer than 100000 rows \(2000\)/,
    );
  });
});

describe('planRollup', () => {
  let db: Awaited<ReturnType<typeof testDuckDb>>;
  beforeAll(async () => {
    db = await testDuckDb();
    await db.client.exec('CREATE TABLE t (k VARCHAR, ts TIMESTAMPTZ, d DATE, x DOUBLE, n INTEGER)');
    await db.client.exec('CREATE TABLE u (k VARCHAR, y DOUBLE)');
  });
  afterAll(async () => {
    await db?.close();
  });
  const plan = (sql: string, filters: { column: string; type: 'select' | 'dateRange' }[] = []) =>
    planRollup(db.client, sql, filters, 'r');

  it('groups by the columns read outside aggregates and the filter columns; a date range keeps whole days', async () => {
    const found = await plan("SELECT date_trunc('month', ts) AS m, sum(x) FROM t {{where}} GROUP BY 1", [
      { column: 'k', type: 'select' },
      { column: 'ts', type: 'dateRange' },
    ]);
    expect(found.dimensions).toEqual([{ name: 'ts', day: 'TIMESTAMP WITH TIME ZONE' }, { name: 'k' }]);
    expect(found.template).toBe(
      `SELECT date_trunc('month', ts) AS m, CAST(sum("_m0") AS DOUBLE) FROM r {{where}} GROUP BY 1`,
    );
    // Read as itself (not cut to a day or coarser) a timestamp stays whole.
    const exact = await plan('SELECT ts, sum(x) FROM t {{where}} GROUP BY 1', [{ column: 'ts', type: 'dateRange' }]);
    expect(exact.dimensions).toEqual([{ name: 'ts' }]);
  });

  it('refuses what a rollup cannot answer, naming it', async () => {
    const refused = async (sql: string) => {
      const error = await plan(sql).catch((e: unknown) => e);
      expect(error, sql).toBeInstanceOf(NoRollup);
      return (error as Error).message;
    };
    expect(await refused('SELECT k, count(DISTINCT x) FROM t GROUP BY 1')).toMatch(/count\(DISTINCT …\)/);
    expect(await refused('SELECT quantile_cont(x, 0.9) FROM t')).toMatch(/quantile_cont\(\) is not decomposable/);
    expect(await refused('SELECT k, sum(y) FROM t JOIN u USING (k) GROUP BY 1')).toMatch(/one table/);
    expect(await refused('SELECT k, sum(x) OVER () FROM t')).toMatch(/window/);
    expect(await refused('SELECT k, x FROM t {{where}}')).toMatch(/no aggregate/);
    expect(await refused('SELECT sum(x) FROM t WHERE k IN (SELECT k FROM u)')).toMatch(/subquery/);
    expect(await refused('SELECT sum(x) FILTER (WHERE n > 1) FROM t')).toMatch(/FILTER/);
    expect(await refused('SELECT sum(CASE WHEN n > :limit THEN x END) FROM t')).toMatch(/parameter/);
    expect(await refused('SELECT DISTINCT k, sum(x) FROM t GROUP BY 1')).toMatch(/DISTINCT/);
    expect(await refused('SELECT k, sum(x) FROM t GROUP BY ROLLUP (k)')).toMatch(/ROLLUP/);
    expect(await refused('WITH w AS (SELECT * FROM t) SELECT sum(x) FROM w')).toMatch(/WITH/);
    // A macro may hide an aggregate: geomean is one; a user's macro is not looked into.
    expect(await refused('SELECT k, geomean(x) FROM t GROUP BY 1')).toMatch(/geomean\(\) is a macro/);
    await db.client.exec('CREATE MACRO total(v) AS sum(v)');
    expect(await refused('SELECT k, total(x) FROM t GROUP BY 1')).toMatch(/total\(\) is a macro/);
    // nullif is a built-in scalar macro: allowed.
    await expect(plan("SELECT nullif(k, '') AS k, sum(x) FROM t GROUP BY 1")).resolves.toBeTruthy();
  });
});
