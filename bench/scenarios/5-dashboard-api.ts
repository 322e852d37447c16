// 5. Dashboard API: a widget query over a large table, p50/p95 latency and requests/s under 32 concurrent
// clients from a separate process (autocannon), next to the same query run directly in DuckDB; the same widget
// answered from a hand-written rollup (5c) and from the rollup the view derives from the query itself (5d, 5e).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbClient } from '../../connections/duckdb/index.ts';
import { startPlatform } from '../../tests/cli.ts';
import { buildSql, planRollup, ROLLUP_MIN_ROWS, sessionIsUtc } from '../../plugins/views/dashboard/rollup.ts';
import { median, percentile, scale, type Result } from '../lib.ts';
import { workDir } from '../pipeline.ts';

const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'JP', 'CA', 'AU', 'CN', 'BR', 'IN'];
const QUERY =
  'SELECT country, sum(amount) AS revenue, count(*) AS orders FROM sales {{where}} GROUP BY 1 ORDER BY 2 DESC';

/** Milliseconds each call of `work` took, one after the other. */
async function latencies<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (const item of items) {
    const t0 = performance.now();
    await work(item);
    out.push(performance.now() - t0);
  }
  return out;
}

const times = (n: number) => Array.from({ length: n }, (_, i) => i);
const fetchBody = async (url: string) => (await fetch(url)).arrayBuffer();

/** The dashboard of both manifests: the country filter and one widget running `query` (raw: no derived rollup). */
function salesView(query: string, rollup: 'auto' | 'off' = 'off'): string {
  return `views:
  sales:
    use: dashboard
    connection: warehouse
    with:
      filters:
        country: { type: multiSelect, column: country, options: [${COUNTRIES.join(', ')}] }
      widgets:
        - { id: by_country, type: bar, rollup: ${rollup}, query: "${query}" }
`;
}

const widgetUrl = (server: string, selection: string[]) =>
  `${server}/api/views/sales/by_country?${selection.map((c) => `country=${c}`).join('&')}`;

export async function dashboardApi(): Promise<Result[]> {
  const rows = Math.round(10_000_000 * scale);
  const dir = workDir('api');
  const path = join(dir, 'sales.duckdb');
  const db = await DuckDbClient.open(path);
  await db.exec(`CREATE TABLE sales AS SELECT i AS id, ['US','GB','DE','FR','JP','CA','AU','CN','BR','IN'][1 + i % 10] AS country,
    (i * 7919 % 100000) / 100.0 AS amount, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i % 31536000) AS at FROM range(${rows}) t(i)`);
  const sql = QUERY.replace('{{where}}', "WHERE country IN ('US', 'DE')");
  const direct = await latencies(times(50), () => db.query(sql));
  // 50 distinct country selections: every request a cache miss (the view caches answers until a commit).
  const selections = Array.from({ length: 50 }, (_, i) =>
    COUNTRIES.filter((_, bit) => ((((i * 37) % 1023) + 1) >> bit) & 1),
  );
  const directDistinct = await latencies(selections, (selection) =>
    db.query(QUERY.replace('{{where}}', `WHERE country IN (${selection.map((c) => `'${c}'`).join(', ')})`)),
  );
  // The aggregate a rollup step runs after each commit to the table: its cost is what a rollup trades for fast misses.
  const rollupRuns = await latencies(times(3), () => db.query(ROLLUP));
  db.close();

  const manifest = join(dir, 'api.yaml');
  writeFileSync(
    manifest,
    `name: bench-api
connections:
  warehouse: { type: duckdb, path: "${path}" }
${salesView(QUERY)}`,
  );
  const server = await startPlatform(['run', manifest, '--port', '0', '--state-dir', join(dir, 'state')]);
  try {
    const url = widgetUrl(server.url, ['US', 'DE']);
    const check = (await (await fetch(url)).json()) as { data: { country: string; orders: number }[] };
    if (check.data.reduce((n, r) => n + r.orders, 0) !== rows / 5)
      throw new Error(`API returned ${JSON.stringify(check.data)}`);
    const sequential = await latencies(times(50), () => fetchBody(url));
    const distinct = await latencies(selections, (selection) => fetchBody(widgetUrl(server.url, selection)));
    const duration = scale < 0.1 ? 2 : 10;
    const out = execFileSync(
      process.execPath,
      ['node_modules/autocannon/autocannon.js', '-c', '32', '-d', String(duration), '-j', url],
      { encoding: 'utf8', maxBuffer: 1 << 26 },
    );
    const report = JSON.parse(out) as {
      latency: { p50: number; p97_5: number; p99: number };
      requests: { average: number };
      non2xx: number;
      errors: number;
    };
    if (report.non2xx || report.errors)
      throw new Error(`autocannon: ${report.non2xx} non-2xx, ${report.errors} errors`);
    const p95Seq = percentile(sequential, 0.95);
    await server.stop();
    const rollup = await overRollup(dir, path, rows, selections, percentile(distinct, 0.95), median(rollupRuns));
    const derived = await overDerivedRollup(dir, path, rows, selections, percentile(distinct, 0.95));
    return [
      {
        id: '5',
        title: `Dashboard API: widget query over ${rows.toLocaleString('en-US')} rows, one client, a different filter each request (no cache hit), the raw query (rollup: off)`,
        ours: percentile(distinct, 0.95),
        limit: percentile(directDistinct, 0.95),
        unit: 'ms p95',
        ratio: percentile(directDistinct, 0.95) / percentile(distinct, 0.95),
        target: 'p95 < 50 ms',
        met: percentile(distinct, 0.95) < 50,
        note: `p50 ${median(distinct).toFixed(1)} ms via HTTP vs ${median(directDistinct).toFixed(1)} ms for the same 50 queries in DuckDB directly`,
      },
      {
        id: '5a',
        title:
          "Dashboard API: the same request repeated, one client (answered from the view's cache until an upstream commit)",
        ours: p95Seq,
        limit: percentile(direct, 0.95),
        unit: 'ms p95',
        ratio: percentile(direct, 0.95) / p95Seq,
        target: 'p95 < 50 ms',
        met: p95Seq < 50,
        note: `p50 ${median(sequential).toFixed(1)} ms via HTTP vs ${median(direct).toFixed(1)} ms for the query in DuckDB directly`,
      },
      {
        id: '5b',
        title: 'Dashboard API under 32 concurrent clients, the same request (autocannon, separate process)',
        ours: report.latency.p97_5,
        limit: null,
        unit: 'ms p97.5',
        ratio: null,
        target: 'p95 < 50 ms',
        met: report.latency.p97_5 < 50,
        note: `${Math.round(report.requests.average)} req/s, p50 ${report.latency.p50} ms, p99 ${report.latency.p99} ms (autocannon reports p97.5, not p95)`,
      },
      rollup,
      ...derived,
    ];
  } finally {
    await server.stop();
  }
}

/** The per-country rollup (a duckdb source feeding a replaced table), and the widget query over it. */
const ROLLUP = 'SELECT country, sum(amount) AS revenue, count(*) AS orders FROM sales GROUP BY 1';
const ROLLUP_QUERY =
  'SELECT country, sum(revenue) AS revenue, sum(orders) AS orders FROM sales_by_country {{where}} GROUP BY 1 ORDER BY 2 DESC';

/**
 * 5c: the same widget and the same 50 distinct filters, answered from a rollup the pipeline maintains — what the
 * README recommends for dashboards over very large tables — next to the raw query's p95 measured in this run.
 */
async function overRollup(
  dir: string,
  path: string,
  rows: number,
  selections: string[][],
  rawP95: number,
  rollupMs: number,
): Promise<Result> {
  const manifest = join(dir, 'rollup.yaml');
  writeFileSync(
    manifest,
    `name: bench-rollup
connections:
  warehouse: { type: duckdb, path: "${path}" }
sources:
  by-country: { use: duckdb, connection: warehouse, with: { query: "${ROLLUP}" } }
sinks:
  sales_by_country: { use: duckdb, from: by-country, connection: warehouse, with: { table: sales_by_country, mode: replace, createTable: true } }
${salesView(ROLLUP_QUERY)}`,
  );
  const server = await startPlatform(['run', manifest, '--port', '0', '--state-dir', join(dir, 'state-rollup')]);
  try {
    // The rollup is built by the source's first run, after the server starts listening.
    for (let tries = 0; ; tries++) {
      const answer = (await (await fetch(widgetUrl(server.url, ['US', 'DE']))).json()) as {
        data?: { orders: number }[];
      };
      if ((answer.data ?? []).reduce((n, r) => n + Number(r.orders), 0) === rows / 5) break;
      if (tries > 600) throw new Error(`rollup not ready: ${JSON.stringify(answer)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const distinct = await latencies(selections, (selection) => fetchBody(widgetUrl(server.url, selection)));
    const p95 = percentile(distinct, 0.95);
    return {
      id: '5c',
      title:
        'Dashboard API: the same widget and 50 distinct filters over a per-country rollup the pipeline maintains (duckdb source → replaced table)',
      ours: p95,
      limit: rawP95,
      unit: 'ms p95',
      ratio: rawP95 / p95,
      target: 'p95 < 50 ms',
      met: p95 < 50,
      note: `p50 ${median(distinct).toFixed(1)} ms; limit column: row 5 (the raw 10M-row query via HTTP); the rollup costs one ${rollupMs.toFixed(0)} ms aggregate per commit to the table (median in DuckDB)`,
    };
  } finally {
    await server.stop();
  }
}

/** Per day over a date range and countries: the widget a sales dashboard has, its rollup cut to days. */
const BY_DAY =
  'SELECT date_trunc(\'day\', "at") AS day, sum(amount) AS revenue, count(*) AS orders FROM sales {{where}} GROUP BY 1 ORDER BY 1';

/** Widget answers of one request, via HTTP: the rows and whether the derived rollup answered. */
async function answer(url: string): Promise<{ data: Record<string, unknown>[]; rollup: boolean }> {
  const body = (await (await fetch(url)).json()) as { data?: Record<string, unknown>[]; meta?: { rollup?: boolean } };
  if (!body.data) throw new Error(`${url}: ${JSON.stringify(body)}`);
  return { data: body.data, rollup: Boolean(body.meta?.rollup) };
}

/**
 * 5d/5e: the widgets with nothing but their query (`rollup: auto`, the default): the view derives the rollup itself.
 * 5d asks row 5's 50 distinct filters; 5e a per-day widget with 50 distinct date ranges and country sets, next to the
 * same widget with `rollup: off` in the same server. The maintenance cost is the rebuild the view runs after a commit
 * to the table, timed in DuckDB (the same statement, median of 3).
 */
async function overDerivedRollup(
  dir: string,
  path: string,
  rows: number,
  selections: string[][],
  rawP95: number,
): Promise<Result[]> {
  // What a commit costs: the statements the view runs to rebuild each rollup (plans as the view makes them).
  const db = await DuckDbClient.open(path);
  const rebuild: Record<string, number> = {};
  try {
    await db.exec("ATTACH IF NOT EXISTS ':memory:' AS _rollups");
    for (const [id, query, filters] of [
      ['by_country', QUERY, [{ column: 'country', type: 'multiSelect' as const }]],
      [
        'by_day',
        BY_DAY,
        [
          { column: 'country', type: 'multiSelect' as const },
          { column: '"at"', type: 'dateRange' as const },
        ],
      ],
    ] as const) {
      const name = `_rollups.main.bench_${id}`;
      const plan = await planRollup(db, query, [...filters], name);
      const utc = await sessionIsUtc(db);
      rebuild[id] = median(await latencies(times(3), () => db.exec(buildSql(plan, name, utc))));
    }
  } finally {
    db.close();
  }

  const manifest = join(dir, 'derived.yaml');
  // `auto` (the default) derives no rollup below ROLLUP_MIN_ROWS: a smoke run's small table asks for one explicitly.
  const derived = rows < ROLLUP_MIN_ROWS ? ', rollup: always' : '';
  writeFileSync(
    manifest,
    `name: bench-derived
connections:
  warehouse: { type: duckdb, path: "${path}" }
views:
  sales:
    use: dashboard
    connection: warehouse
    with:
      filters:
        country: { type: multiSelect, column: country, options: [${COUNTRIES.join(', ')}] }
        day: { type: dateRange, column: '"at"' }
      widgets:
        - { id: by_country, type: bar, filters: [country]${derived}, query: "${QUERY}" }
        - { id: by_day, type: line${derived}, query: '${BY_DAY.replaceAll("'", "''")}' }
        - { id: by_day_raw, type: line, rollup: 'off', query: '${BY_DAY.replaceAll("'", "''")}' }
`,
  );
  const server = await startPlatform(['run', manifest, '--port', '0', '--state-dir', join(dir, 'state-derived')]);
  try {
    const url = (widget: string, selection: string[], range?: [number, number]) =>
      `${server.url}/api/views/sales/${widget}?${[
        ...selection.map((c) => `country=${c}`),
        ...(range ? [`day=${dayOf(range[0])}..${dayOf(range[1])}`] : []),
      ].join('&')}`;
    // The first request starts each build; wait until the rollups answer.
    for (let tries = 0; ; tries++) {
      const ready = await Promise.all(['by_country', 'by_day'].map((w) => answer(url(w, ['US', 'DE']))));
      if (ready.every((a) => a.rollup)) break;
      if (tries > 600) throw new Error('the derived rollups never answered');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const byCountry = await answer(url('by_country', ['US', 'DE']));
    if (byCountry.data.reduce((n, r) => n + Number(r.orders), 0) !== rows / 5)
      throw new Error(`the rollup answered ${JSON.stringify(byCountry.data)}`);
    const distinct = await latencies(selections, (selection) => fetchBody(url('by_country', selection)));
    // 50 date ranges (1–60 days) with a country set each; the raw twin answers the same requests.
    // The table's `at` advances a second a row: it spans rows / 86,400 days, which the ranges stay within.
    const span = Math.max(1, Math.floor(rows / 86_400));
    const ranges = selections.map((_, i): [number, number] => {
      const start = (i * 53) % span;
      return [start, Math.min(span - 1, start + ((i * 29) % 60))];
    });
    for (const i of [0, 7, 31]) {
      const [over, raw] = await Promise.all([
        answer(url('by_day', selections[i], ranges[i])),
        answer(url('by_day_raw', selections[i], ranges[i])),
      ]);
      if (!over.rollup || !sameRows(over.data, raw.data))
        throw new Error(`by_day: the rollup and the raw query disagree for request ${i}`);
    }
    const days = await latencies(times(50), (i) => fetchBody(url('by_day', selections[i], ranges[i])));
    const daysRaw = await latencies(times(50), (i) => fetchBody(url('by_day_raw', selections[i], ranges[i])));
    const p95 = percentile(distinct, 0.95);
    const dayP95 = percentile(days, 0.95);
    return [
      {
        id: '5d',
        title: `Dashboard API: row 5's widget with only its query (rollup: auto), 50 distinct filters, the rollup the view derives itself`,
        ours: p95,
        limit: rawP95,
        unit: 'ms p95',
        ratio: rawP95 / p95,
        target: 'p95 < 50 ms',
        met: p95 < 50,
        note: `p50 ${median(distinct).toFixed(1)} ms; limit column: row 5 (the raw query via HTTP); each commit to the table costs one rebuild of ${rebuild.by_country.toFixed(0)} ms (median in DuckDB), the raw query answering meanwhile`,
      },
      {
        id: '5e',
        title: `Dashboard API: revenue per day over 50 distinct date ranges and country sets, ${rows.toLocaleString('en-US')} rows, derived rollup (by day and country)`,
        ours: dayP95,
        limit: percentile(daysRaw, 0.95),
        unit: 'ms p95',
        ratio: percentile(daysRaw, 0.95) / dayP95,
        target: 'p95 < 50 ms',
        met: dayP95 < 50,
        note: `p50 ${median(days).toFixed(1)} ms; limit column: the same widget with rollup: off in the same server (p50 ${median(daysRaw).toFixed(1)} ms); answers checked equal; each commit costs one ${rebuild.by_day.toFixed(0)} ms rebuild (median in DuckDB)`,
      },
    ];
  } finally {
    await server.stop();
  }
}

/** Equal rows; doubles (sums added again in another order) to 1e-9 relative. */
function sameRows(a: Record<string, unknown>[], b: Record<string, unknown>[]): boolean {
  return (
    a.length === b.length &&
    a.every((row, i) =>
      Object.entries(row).every(([key, value]) => {
        const other = b[i][key];
        return typeof value === 'number' && typeof other === 'number'
          ? Math.abs(value - other) <= 1e-9 * Math.abs(other)
          : JSON.stringify(value) === JSON.stringify(other);
      }),
    )
  );
}

const dayOf = (offset: number) => new Date(Date.UTC(2024, 0, 1 + offset)).toISOString().slice(0, 10);
