import { describe, expect, it } from 'vitest';
import type { SqlClient } from '../core/sdk/index.ts';
import type { ObjectStore } from '../core/connections/s3/index.ts';
import { expectManifestChecksPass, runOnce, tempStateDir, type PipelineRun } from '../tests/pipelines.ts';
import { expectedOf, keyOf, summary } from './expectations/sales-etl.ts';

const BUCKET = 'sales-landing';
const ROWS_PER_DAY = 300;
const env = { SALES_S3_ENDPOINT: 'embedded', SALES_KAFKA_BROKERS: 'embedded', SALES_PG_URL: 'embedded', SALES_SIMULATE: 'true', SALES_ROWS_PER_DAY: String(ROWS_PER_DAY) };


async function sheet(run: PipelineRun, date: string): Promise<string> {
  const store = await run.pipeline.connections.get<ObjectStore>('landing');
  return (await store.get(BUCKET, keyOf(date))).toString('utf8');
}

async function db(run: PipelineRun) {
  return run.pipeline.connections.get<SqlClient>('sales-db');
}

async function salesOf(run: PipelineRun, date?: string) {
  const client = await db(run);
  return client.query<{ sale_id: string; category: string; product: string; quantity: number; amount: number; source_key: string; source_line: number; loaded_at: Date }>(
    `SELECT sale_id, category, product, quantity, amount, source_key, source_line, loaded_at FROM sales ${date ? 'WHERE sale_date = $1' : ''} ORDER BY sale_id`, date ? [date] : []);
}

describe('sales ETL pipeline (embedded)', () => {
  it('validates, and passes its own cleaning and validation cases (platform test)', async () => {
    await expectManifestChecksPass('sales-etl');
  }, 60_000);

  it('loads exactly the valid rows of a day\'s sheet, rejects the others with key, line and reasons; re-runs change nothing; another day adds its rows', async () => {
    const stateDir = tempStateDir('sales-etl');
    const first = await runOnce('sales-etl', env, stateDir, { date: '2024-05-01' });
    expect(first.ok).toBe(true);
    // The sheet is in the bucket under its day's key, and holds the day's sales with a few dirty rows.
    const store = await first.pipeline.connections.get<ObjectStore>('landing');
    expect((await store.list(BUCKET, 'sales/')).objects.map((o) => o.key)).toEqual([keyOf('2024-05-01')]);
    const csv = await sheet(first, '2024-05-01');
    const { valid, invalid } = expectedOf(csv);
    expect(valid.length + invalid.size).toBe(ROWS_PER_DAY);
    expect(invalid.size).toBeGreaterThan(0);

    // PostgreSQL holds exactly the valid rows, each with the key and line it came from.
    const rows = await salesOf(first);
    expect(rows.map((r) => [r.sale_id, r.source_key, r.source_line, r.quantity, r.amount])).toEqual(
      [...valid].sort((a, b) => (a.sale_id < b.sale_id ? -1 : 1)).map((s) => [s.sale_id, keyOf('2024-05-01'), s.line, s.quantity, s.amount]));
    const expected = summary(valid);
    const client = await db(first);
    expect(await client.query('SELECT category, sum(amount) AS sales FROM sales GROUP BY 1 ORDER BY 1')).toEqual(
      Object.entries(expected.byCategory).sort().map(([category, sales]) => ({ category, sales })));
    expect((await client.query('SELECT product FROM sales GROUP BY 1 ORDER BY sum(quantity) DESC, 1 LIMIT 1'))[0].product).toBe(expected.top[0][0]);

    // Every bad line is in the dead-letter with its object key, its line and a reason for each field at fault.
    const dead = await first.pipeline.deadLetters.list({ steps: ['valid-sales'], limit: 1000 });
    expect(dead.total).toBe(invalid.size);
    const got = new Map(dead.entries.map((e) => {
      const record = e.record as { source_key: string; source_line: number };
      expect(record.source_key).toBe(keyOf('2024-05-01'));
      return [record.source_line, e.reasons.map((r) => r.split(':')[0]).sort()];
    }));
    expect(got).toEqual(new Map([...invalid].map(([line, fields]) => [line, [...fields].sort()])));
    expect(dead.entries.some((e) => e.reasons.some((r) => /^quantity: must be >= 1$|^unit_price: must be > 0$/.test(r)))).toBe(true);
    await first.pipeline.stop();

    // The same day again: the same sheet is put again (same ETag, not read twice), nothing changes.
    const again = await runOnce('sales-etl', env, stateDir, { date: '2024-05-01' });
    expect(again.ok).toBe(true);
    expect(await sheet(again, '2024-05-01')).toBe(csv);
    expect(again.pipeline.stats().find((s) => s.id === 'sheets')!.recordsOut).toBe(0);
    expect(await salesOf(again)).toEqual(rows);
    expect((await again.pipeline.deadLetters.list({ steps: ['valid-sales'] })).total).toBe(invalid.size);
    await again.pipeline.stop();

    // Another day adds its own rows, under its own key, and leaves the first day's alone.
    const next = await runOnce('sales-etl', env, stateDir, { date: '2024-05-02' });
    expect(next.ok).toBe(true);
    const second = expectedOf(await sheet(next, '2024-05-02'));
    expect((await salesOf(next, '2024-05-02')).map((r) => r.sale_id)).toEqual(second.valid.map((s) => s.sale_id).sort());
    expect(await salesOf(next, '2024-05-01')).toEqual(rows);
    expect((await salesOf(next)).length).toBe(valid.length + second.valid.length);
    await next.pipeline.stop();
  }, 60_000);

  it('serves the KPIs equal to an independent computation from the sheet, with date and category filters', async () => {
    const stateDir = tempStateDir('sales-etl');
    const run = await runOnce('sales-etl', env, stateDir, { date: '2024-06-10' });
    expect(run.ok).toBe(true);
    const { valid, invalid } = expectedOf(await sheet(run, '2024-06-10'));
    const expected = summary(valid);
    const app = await run.app();
    const widget = async (id: string, query = 'dates=2024-06-10..2024-06-10') => {
      const response = await app.request(`/api/views/dashboard/${id}?${query}`);
      expect(response.status).toBe(200);
      return ((await response.json()) as { data: Record<string, unknown>[] }).data;
    };
    expect((await widget('total_sales'))[0].value).toBe(expected.total);
    expect((await widget('transactions'))[0].value).toBe(expected.count);
    expect((await widget('avg_transaction'))[0].value).toBeCloseTo(expected.average, 6);
    expect((await widget('not_loaded'))[0].value).toBe(invalid.size);
    expect((await widget('top_products'))[0]).toEqual({ product: expected.top[0][0], units: expected.top[0][1] });
    expect(await widget('by_category')).toEqual(Object.entries(expected.byCategory).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([category, sales]) => ({ category, sales })));
    const hourly = await widget('hourly');
    expect(hourly.reduce((n, h) => n + (h.transactions as number), 0)).toBe(expected.count);
    expect(Math.round(hourly.reduce((n, h) => n + (h.sales as number), 0) * 100) / 100).toBe(expected.total);
    expect(await widget('daily')).toEqual([{ day: '2024-06-10', sales: expected.total }]);
    // Filters: one category; a date range without the day.
    const books = summary(valid.filter((s) => s.category === 'Books'));
    expect((await widget('total_sales', 'dates=2024-06-10..2024-06-10&category=Books'))[0].value).toBe(books.total);
    expect((await widget('transactions', 'category=Books&category=Home'))[0].value).toBe(valid.filter((s) => ['Books', 'Home'].includes(s.category)).length);
    expect((await widget('total_sales', 'dates=2024-06-11..2024-06-30'))[0].value).toBe(0);
    expect((await widget('not_loaded', 'dates=2024-06-11..2024-06-30'))[0].value).toBe(0);
    expect((await app.request('/api/views/dashboard/total_sales?dates=2024-06-31..')).status).toBe(400);
    expect(await (await app.request('/views/dashboard')).text()).toContain('Sales KPIs');
    await run.pipeline.stop();
  }, 60_000);
});
