// 5. Dashboard API: a widget query over a large table, p50/p95 latency and requests/s under 32 concurrent
// clients from a separate process (autocannon), next to the same query run directly in DuckDB.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbClient } from '../../connections/duckdb/index.ts';
import { startPlatform } from '../../tests/cli.ts';
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

/** The dashboard of both manifests: the country filter and one widget running `query`. */
function salesView(query: string): string {
  return `views:
  sales:
    use: dashboard
    connection: warehouse
    with:
      filters:
        country: { type: multiSelect, column: country, options: [${COUNTRIES.join(', ')}] }
      widgets:
        - { id: by_country, type: bar, query: "${query}" }
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
    return [
      {
        id: '5',
        title: `Dashboard API: widget query over ${rows.toLocaleString('en-US')} rows, one client, a different filter each request (no cache hit)`,
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
