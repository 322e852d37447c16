import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SqlClient } from '../core/sdk/index.ts';
import { LocalObjectStore } from '../connections/s3/index.ts';
import { expectManifestChecksPass, runOnce, tempStateDir, type PipelineRun } from '../tests/pipelines.ts';
import {
  expectedOf,
  HEADERS,
  keyOf,
  kpis,
  loaded,
  originalSheet,
  parseCsv,
  toCsv,
  type Sale,
} from './expectations/sales-etl.ts';
import { SAMPLE_WORKBOOK } from './expectations/economic-analytics.ts';

const BUCKET = 'sales-landing';
const env = {
  SALES_S3_ENDPOINT: 'embedded',
  SALES_KAFKA_BROKERS: 'embedded',
  SALES_PG_URL: 'embedded',
  SALES_SIMULATE: 'false',
};

/** The bucket of a state folder, as the pipeline's embedded store sees it, to drop objects in as a user would. */
function bucketOf(stateDir: string): LocalObjectStore {
  const store = new LocalObjectStore(join(stateDir, 's3'));
  void store.ensureBucket(BUCKET);
  return store;
}

/** A day's sheet of the original with the dirt a real sheet may have, as cells, line by line. */
function dirtySheet(date: string, seed: number): string[][] {
  const rows = originalSheet(date, 60, seed);
  const set = (row: string[], changes: Record<string, string>) => row.map((v, i) => changes[HEADERS[i]] ?? v);
  return [
    ...rows.slice(0, 30),
    set(rows[30], { 'Quantity Sold': '0', 'Unit Price': '-1', 'Payment Date': 'the 3rd' }),
    set(rows[31], { 'Sale ID': '', 'Gross Profit': 'NaN' }),
    set(rows[32], { 'Sale ID': rows[2][1], 'Unit Price': '999.0' }), // a Sale ID already used on line 4
    set(rows[33], { 'Discount (%)': '', 'Customer Rating': '', 'Gross Profit': '-12.5' }), // optional values empty, a loss: valid
    set(rows[34], { 'Total Value (with Discount)': '1,250.00', 'Customer Name': '  ' }),
    set(rows[35], { 'Sale Date': '2024-02-31', 'Quantity Sold': '2.5', 'Discount (%)': '120' }),
    ...rows.slice(36),
  ];
}

async function salesData(run: PipelineRun): Promise<Record<string, unknown>[]> {
  const db = await run.pipeline.connections.get<SqlClient>('sales-db');
  return db.query(`SELECT sale_id, to_char(sale_date, 'YYYY-MM-DD') AS sale_date, product_name, product_category, quantity_sold, total_value::float8 AS total_value,
    gross_profit::float8 AS gross_profit, sales_channel, sales_region, sales_rep, discount, to_char(payment_date, 'YYYY-MM-DD') AS payment_date,
    to_char(delivery_date, 'YYYY-MM-DD') AS delivery_date, source_key, source_line FROM sales_data ORDER BY sale_id`);
}

const asRows = (sales: Sale[]) => sales.map((s) => ({ ...s }));

describe('sales ETL pipeline (embedded)', () => {
  it('validates, and passes its own cleaning and validation cases (platform test)', async () => {
    await expectManifestChecksPass('sales-etl');
  }, 60_000);

  it("loads the original's 24-column sheets dropped in the bucket: each row checked as its pydantic model, bad rows to dead-letter with key, line and reasons; KPIs equal an independent computation", async () => {
    const stateDir = tempStateDir('sales-etl');
    const store = bucketOf(stateDir);
    const days = ['2024-01-01', '2024-01-02', '2024-01-03'];
    const csvs = days.map((date, i) =>
      toCsv(i === 0 ? dirtySheet(date, 11) : originalSheet(date, 50 + i * 13, 11 + i)),
    );
    for (const [i, date] of days.entries()) await store.put(BUCKET, keyOf(date), csvs[i]);
    const run = await runOnce('sales-etl', env, stateDir);
    expect(run.ok, run.logs.filter((l) => /ERROR|WARN/.test(l)).join('\n')).toBe(true);

    const objects = days.map((date, i) => expectedOf(keyOf(date), csvs[i]));
    const sales = loaded(objects.map((o) => o.valid));
    expect(objects[0].invalid.size).toBe(5);
    expect(await salesData(run)).toEqual(asRows(sales));

    // Every refused line: its object key, its line, a reason for each field at fault, quoting the value.
    const dead = await run.pipeline.deadLetters.list({ steps: ['valid-sales'], limit: 1000 });
    expect(
      new Map(
        dead.entries.map((e) => {
          const record = e.record as { source_key: string; source_line: number };
          return [
            `${record.source_key}:${record.source_line}`,
            e.reasons
              .join('; ')
              .split('; ')
              .map((r) => r.split(':')[0])
              .sort(),
          ];
        }),
      ),
    ).toEqual(
      new Map(
        objects.flatMap((o, i) =>
          [...o.invalid].map(([line, fields]) => [`${keyOf(days[i])}:${line}`, [...fields].sort()]),
        ),
      ),
    );
    const reasons = dead.entries.flatMap((e) => e.reasons).join('\n');
    expect(reasons).toContain(
      'Quantity Sold: must be >= 1 (got 0); Unit Price: must be >= 0 (got -1); Payment Date: "the 3rd" is not a date (YYYY-MM-DD)',
    );
    expect(reasons).toContain(`Sale ID: ${parseCsv(csvs[0])[2].row['Sale ID']} is already on line 4`);
    expect(reasons).toContain(
      'Sale Date: "2024-02-31" is not a date (YYYY-MM-DD); Quantity Sold: "2.5" is not a whole number; Discount (%): must be between 0 and 100 (got 120)',
    );
    expect(reasons).toContain('Total Value (with Discount): "1,250.00" is not a number');

    // The original's dashboard: its five KPIs and its charts (the reps' chart really the top 10).
    const want = kpis(sales);
    const app = await run.app();
    const widget = async (id: string, query = '') => {
      const response = await app.request(`/api/views/dashboard/${id}${query}`);
      expect(response.status, id).toBe(200);
      return ((await response.json()) as { data: Record<string, unknown>[] }).data;
    };
    expect((await widget('total_revenue'))[0].value).toBe(want.totalRevenue);
    expect((await widget('gross_profit_margin'))[0].value).toBeCloseTo(want.grossProfitMargin, 12);
    expect((await widget('total_quantity'))[0].value).toBe(want.totalQuantity);
    expect((await widget('avg_quantity'))[0].value).toBeCloseTo(want.averageQuantity!, 12);
    expect((await widget('avg_order_value'))[0].value).toBeCloseTo(want.averageOrderValue!, 10);
    expect((await widget('not_loaded'))[0].value).toBe(objects.reduce((n, o) => n + o.invalid.size, 0));
    expect((await widget('revenue_by_category')).map((r) => [r.product_category, r.revenue])).toEqual(
      want.revenueByCategory,
    );
    expect((await widget('top_reps')).map((r) => [r.sales_rep, r.quantity_sold])).toEqual(want.topReps);
    expect(want.topReps).toHaveLength(10);
    expect((await widget('value_by_region')).map((r) => [r.sales_region, r.total_value])).toEqual(want.valueByRegion);
    expect((await widget('sales_trend')).map((r) => [r.day, r.revenue])).toEqual(want.byDay);
    // Filtered: one category over two days; no sales at all gives a margin of 0.
    const dairy = kpis(sales.filter((s) => s.product_category === 'Dairy Products' && s.sale_date >= '2024-01-02'));
    expect((await widget('total_revenue', '?dates=2024-01-02..2024-01-03&category=Dairy%20Products'))[0].value).toBe(
      dairy.totalRevenue,
    );
    expect(
      (await widget('gross_profit_margin', '?dates=2024-01-02..2024-01-03&category=Dairy%20Products'))[0].value,
    ).toBeCloseTo(dairy.grossProfitMargin, 12);
    expect((await widget('gross_profit_margin', '?dates=2025-01-01..2025-01-31'))[0].value).toBe(0);
    expect(await (await app.request('/views/dashboard')).text()).toContain('Interactive Sales KPI Dashboard');
    await run.pipeline.stop();
  }, 90_000);

  it('one object it cannot use never blocks the later ones: another layout, a PDF, garbage, then good sheets, all handled and the good ones loaded', async () => {
    const stateDir = tempStateDir('sales-etl');
    const store = bucketOf(stateDir);
    // First the bad objects alone: a run handles them (to dead-letter) and ends well.
    await store.put(
      BUCKET,
      'CSV/a-old-layout.csv',
      'sale_id,sold_at,product,category,quantity,unit_price\nS-1,2024-05-01T10:00:00Z,Laptop,Electronics,1,999.5\nS-2,2024-05-01T11:00:00Z,Novel,Books,2,12.5\n',
    );
    await store.put(BUCKET, 'CSV/b-notes.pdf', '%PDF-1.4 not a sheet');
    await store.put(BUCKET, 'CSV/c-workbook-saved-as.csv', readFileSync(SAMPLE_WORKBOOK)); // an .xlsx named .csv
    const first = await runOnce('sales-etl', env, stateDir);
    expect(first.ok, first.logs.filter((l) => /ERROR|WARN/.test(l)).join('\n')).toBe(true);
    const shapes = await first.pipeline.deadLetters.list({ steps: ['sheet-shape'] });
    expect(
      shapes.entries.map((e) => [
        (e.record as Record<string, unknown>).source_key,
        (e.record as Record<string, unknown>).source_line,
      ]),
    ).toEqual(
      expect.arrayContaining([
        ['CSV/a-old-layout.csv', 2],
        ['CSV/a-old-layout.csv', 3],
      ]),
    );
    expect(shapes.entries[0].reasons).toContain('missing required property "Gross Profit"');
    const unreadable = await first.pipeline.deadLetters.list({ steps: ['sheets'] });
    expect(Object.fromEntries(unreadable.entries.map((e) => [e.origin, e.reasons.join('; ')]))).toEqual({
      [`s3://${BUCKET}/CSV/b-notes.pdf`]: `s3://${BUCKET}/CSV/b-notes.pdf: unknown file format (give format: csv, jsonl, json, parquet or xlsx)`,
      [`s3://${BUCKET}/CSV/c-workbook-saved-as.csv`]: expect.stringMatching(
        new RegExp(`^Invalid Input Error: Error when sniffing file "s3://${BUCKET}/CSV/c-workbook-saved-as.csv"\\.`),
      ),
    });
    await first.pipeline.stop();

    // Then good sheets arrive: they load, the bad objects are not read again.
    const good = toCsv(originalSheet('2024-05-02', 40, 5));
    await store.put(BUCKET, keyOf('2024-05-02'), good);
    const second = await runOnce('sales-etl', env, stateDir);
    expect(second.ok).toBe(true);
    const { valid } = expectedOf(keyOf('2024-05-02'), good);
    expect(await salesData(second)).toEqual(asRows(loaded([valid])));
    expect(second.pipeline.stats().find((s) => s.id === 'sheets')!.recordsOut).toBe(40);

    // The same sale in a later sheet is upserted (the newest wins); an identical copy changes nothing.
    const rows = originalSheet('2024-05-02', 40, 5);
    const corrected = [rows[0].map((v, i) => (HEADERS[i] === 'Quantity Sold' ? '9' : v)), rows[1]];
    await store.put(BUCKET, keyOf('2024-05-03'), toCsv(corrected));
    await second.pipeline.stop();
    const third = await runOnce('sales-etl', env, stateDir);
    expect(third.ok).toBe(true);
    const later = expectedOf(keyOf('2024-05-03'), toCsv(corrected));
    expect(await salesData(third)).toEqual(asRows(loaded([valid, later.valid])));
    expect((await salesData(third)).find((s) => s.sale_id === rows[0][1])).toMatchObject({
      quantity_sold: 9,
      source_key: keyOf('2024-05-03'),
      source_line: 2,
    });
    await third.pipeline.stop();
  }, 90_000);

  it("the generator is one optional producer: the day's sheet in the original's 24 columns under CSV/, never replacing an object there", async () => {
    const stateDir = tempStateDir('sales-etl');
    const store = bucketOf(stateDir);
    const mine = toCsv(originalSheet('2024-06-02', 12, 9));
    await store.put(BUCKET, keyOf('2024-06-02'), mine);
    const on = { ...env, SALES_SIMULATE: 'true', SALES_ROWS_PER_DAY: '80' };
    const run = await runOnce('sales-etl', on, stateDir, { date: '2024-06-01' });
    expect(run.ok).toBe(true);
    const sheet = (await store.get(BUCKET, keyOf('2024-06-01'))).toString('utf8');
    expect(sheet.slice(0, sheet.indexOf('\n'))).toBe(HEADERS.join(','));
    const { valid, invalid } = expectedOf(keyOf('2024-06-01'), sheet);
    expect(valid.length + invalid.size).toBeGreaterThanOrEqual(80);
    expect(valid.every((s) => s.sale_date === '2024-06-01')).toBe(true);
    // Its own formulas hold: total = qty × price × (1 − discount), profit = total − qty × unit cost.
    for (const { row } of parseCsv(sheet).slice(0, 20)) {
      const [q, p, d, c] = ['Quantity Sold', 'Unit Price', 'Discount (%)', 'Unit Cost'].map((h) => Number(row[h]));
      if (q < 1) continue;
      expect(Number(row['Total Value (with Discount)'])).toBeCloseTo(q * p * (1 - d / 100), 1);
      expect(Number(row['Gross Profit'])).toBeCloseTo(
        Number(row['Total Value (with Discount)']) - Math.round(q * c * 100) / 100,
        1,
      );
    }
    const db = await run.pipeline.connections.get<SqlClient>('sales-db');
    expect(await db.query("SELECT count(*)::int AS n FROM sales_data WHERE sale_date = '2024-06-01'")).toEqual([
      { n: loaded([valid]).length },
    ]);
    await run.pipeline.stop();

    // The same day again: the object is there, so nothing is put, nothing changes. A user's day is never replaced.
    const again = await runOnce('sales-etl', on, stateDir, { date: '2024-06-01' });
    expect((await store.get(BUCKET, keyOf('2024-06-01'))).toString('utf8')).toBe(sheet);
    await again.pipeline.stop();
    const theirs = await runOnce('sales-etl', on, stateDir, { date: '2024-06-02' });
    expect((await store.get(BUCKET, keyOf('2024-06-02'))).toString('utf8')).toBe(mine);
    expect(await salesData(theirs)).toEqual(
      expect.arrayContaining(asRows(expectedOf(keyOf('2024-06-02'), mine).valid)),
    );
    await theirs.pipeline.stop();
  }, 90_000);
});
