// The dashboard's query cache in a real pipeline: a file source → duckdb sink commits, the view answers from the
// warehouse. Queries are counted on the real DuckDB client the view uses.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createCatalog } from '../cli/catalog.ts';
import type { DuckDbClient } from '../connections/duckdb/index.ts';
import { loadManifest } from '../core/manifest/index.ts';
import { MemoryLogger } from '../core/sdk/logger.ts';
import { Pipeline } from '../core/runtime/pipeline.ts';
import { createServer } from '../core/server/app.ts';

const dir = mkdtempSync(join(tmpdir(), 'dash-cache-'));
const MANIFEST = `name: cache-test
connections:
  warehouse: { type: duckdb, path: "${join(dir, 'w.duckdb')}", init: ["CREATE TABLE IF NOT EXISTS orders (country VARCHAR, amount DOUBLE)"] }
sources:
  files: { use: file, with: { path: "${join(dir, 'in')}/*.csv" } }
sinks:
  stored: { use: duckdb, from: files, connection: warehouse, with: { table: orders } }
views:
  sales:
    use: dashboard
    from: [stored]
    connection: warehouse
    with:
      refresh: 1h
      filters:
        country: { type: multiSelect, column: country, options: [US, DE, FR] }
      widgets:
        # rollup off: the rollup planner's own queries (once per widget) would blur this count of the cache's.
        - { id: by_country, type: bar, rollup: 'off', query: "SELECT country, sum(amount) AS revenue, count(*) AS orders FROM orders {{where}} GROUP BY 1 ORDER BY 1" }
`;

function csv(name: string, rows: [string, number][]) {
  writeFileSync(join(dir, 'in', name), ['country,amount', ...rows.map(([c, a]) => `${c},${a}`)].join('\n'));
}

/** What the widget must show for these rows (filtered to `countries`), computed here independently. */
function expected(rows: [string, number][], countries: string[]) {
  const out = new Map<string, { revenue: number; orders: number }>();
  for (const [country, amount] of rows) {
    if (!countries.includes(country)) continue;
    const r = out.get(country) ?? { revenue: 0, orders: 0 };
    r.revenue += amount;
    r.orders += 1;
    out.set(country, r);
  }
  return [...out].sort(([a], [b]) => a.localeCompare(b)).map(([country, r]) => ({ country, ...r }));
}

describe('dashboard query cache', () => {
  let pipeline: Pipeline;
  let app: Hono;
  let queries = 0;
  const first: [string, number][] = [
    ['US', 10],
    ['DE', 5],
    ['US', 2.5],
    ['FR', 7],
  ];
  const second: [string, number][] = [
    ['US', 100],
    ['FR', 1],
  ];

  beforeAll(async () => {
    writeFileSync(join(dir, 'm.yaml'), MANIFEST);
    mkdirSync(join(dir, 'in'));
    csv('a.csv', first);
    const catalog = createCatalog();
    pipeline = new Pipeline(await loadManifest(join(dir, 'm.yaml'), catalog), catalog, {
      once: true,
      stateDir: join(dir, 'state'),
      logger: new MemoryLogger(),
    });
    await pipeline.start();
    expect((await pipeline.run()).ok).toBe(true);
    // Count every query the view sends to the real client (the call goes through unchanged).
    const client = await pipeline.connections.get<DuckDbClient>('warehouse');
    const query = client.query.bind(client);
    client.query = ((sql: string, params?: unknown[]) => (queries++, query(sql, params))) as DuckDbClient['query'];
    app = await createServer(pipeline);
  });
  afterAll(() => pipeline.stop());

  const get = async (countries: string[]) => {
    const response = await app.request(`/api/views/sales/by_country?${countries.map((c) => `country=${c}`).join('&')}`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { data: unknown[] }).data;
  };

  it('answers a repeated request without the database, shares concurrent identical ones, and reads anew after a commit', async () => {
    const before = queries;
    expect(await get(['US', 'DE'])).toEqual(expected(first, ['US', 'DE']));
    const perRequest = queries - before;
    expect(perRequest).toBeGreaterThan(0);

    expect(await get(['US', 'DE'])).toEqual(expected(first, ['US', 'DE']));
    expect(queries - before).toBe(perRequest);

    // Five identical requests at once, with parameters not seen yet: one query's worth.
    const together = await Promise.all(Array.from({ length: 5 }, () => get(['FR'])));
    for (const data of together) expect(data).toEqual(expected(first, ['FR']));
    expect(queries - before).toBe(2 * perRequest);

    // New rows arrive through the pipeline: the sink's commit makes the next request read them.
    csv('b.csv', second);
    expect((await pipeline.run()).ok).toBe(true);
    expect(await get(['US', 'DE'])).toEqual(expected([...first, ...second], ['US', 'DE']));
    expect(queries - before).toBe(3 * perRequest);
    expect(await get(['FR'])).toEqual(expected([...first, ...second], ['FR']));
    expect(await get(['FR'])).toEqual(expected([...first, ...second], ['FR']));
    expect(queries - before).toBe(4 * perRequest);
  });
});
