import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import { systemClock } from '../../../core/sdk/clock.ts';
import { DuckDbClient } from '../../../connections/duckdb/index.ts';
import type { FileSink } from '../shared/file-sink.ts';
import parquet from './index.ts';

describe('parquet sink', () => {
  it('writes Parquet partitioned by a date field, one new file per batch, readable with its types', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parquet-sink-'));
    const step = await createTestStep<FileSink>(parquet, 'sink', {
      path: join(dir, '{YYYY}/{MM}/{DD}/part-{uuid}.parquet'),
      partitionBy: 'at',
    });
    await step.plugin.write([
      { id: 1, at: new Date('2024-01-01T10:00:00Z'), amount: 1.5, ok: true, tags: { a: 1 } },
      { id: 2, at: new Date('2024-01-02T10:00:00Z'), amount: 2, ok: false, tags: null },
    ]);
    await step.plugin.write([{ id: 3, at: new Date('2024-01-01T11:00:00Z'), amount: 3.25, ok: null, tags: null }]);
    const day1 = readdirSync(join(dir, '2024/01/01'));
    expect(day1).toHaveLength(2);
    expect(day1.every((f) => /^part-[0-9a-f-]{36}\.parquet$/.test(f))).toBe(true);
    expect(existsSync(join(dir, '2024/01/02'))).toBe(true);
    const db = await DuckDbClient.open(':memory:');
    expect(
      await db.query(`SELECT id, "at", amount, ok, tags FROM read_parquet('${dir}/**/*.parquet') ORDER BY id`),
    ).toEqual([
      { id: 1, at: new Date('2024-01-01T10:00:00Z'), amount: 1.5, ok: true, tags: '{"a":1}' },
      { id: 2, at: new Date('2024-01-02T10:00:00Z'), amount: 2, ok: false, tags: null },
      { id: 3, at: new Date('2024-01-01T11:00:00Z'), amount: 3.25, ok: null, tags: null },
    ]);
    db.close();
    await step.close();
  });

  it('gives a batch with an identity the same {uuid} each time: written again after a crash, it replaces its first copy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parquet-sink-'));
    const step = await createTestStep<FileSink>(parquet, 'sink', { path: join(dir, 'part-{uuid}.parquet') });
    const ctx = (n: number) => ({
      reject: () => undefined,
      batch: { id: `${n}`.repeat(32), writer: 'w'.repeat(32), origin: `files #${n}` },
    });
    await step.plugin.write([{ n: 1 }, { n: 2 }], ctx(1));
    await step.plugin.write([{ n: 1 }, { n: 2 }], ctx(1));
    await step.plugin.write([{ n: 3 }], ctx(2));
    expect(readdirSync(dir).sort()).toEqual([
      'part-11111111-1111-8111-9111-111111111111.parquet',
      'part-22222222-2222-8222-a222-222222222222.parquet',
    ]);
    const db = await DuckDbClient.open(':memory:');
    expect(await db.query(`SELECT n FROM read_parquet('${dir}/*.parquet') ORDER BY n`)).toEqual([
      { n: 1 },
      { n: 2 },
      { n: 3 },
    ]);
    db.close();
    await step.close();
  });

  it("partitions by the clock's date without partitionBy, adding a unique suffix when the path has no {uuid}", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parquet-sink-'));
    const clock = { ...systemClock, now: () => new Date('2024-02-29T23:00:00Z') };
    const step = await createTestStep<FileSink>(
      parquet,
      'sink',
      { path: join(dir, 'dt={YYYY}-{MM}-{DD}/events.parquet') },
      { services: { clock } },
    );
    await step.plugin.write([{ n: 1 }]);
    await step.plugin.write([{ n: 2 }]);
    const files = readdirSync(join(dir, 'dt=2024-02-29'));
    expect(files).toHaveLength(2);
    expect(files.every((f) => /^events-\d+-[0-9a-f]{8}\.parquet$/.test(f))).toBe(true);
    await step.close();
  });

  it('overwrites with a whole result of several pages, and keeps the schema without rows when the result is empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parquet-sink-'));
    const file = join(dir, 'winners.parquet');
    const step = await createTestStep<FileSink>(parquet, 'sink', { path: file, mode: 'overwrite' });
    const ctx = (first: boolean, last: boolean) => ({ reject: () => undefined, snapshot: { first, last } });
    await step.plugin.write([{ product: 'a', profit: 1.5 }], ctx(true, false));
    await step.plugin.write([{ product: 'b', profit: 2 }], ctx(false, true));
    const db = await DuckDbClient.open(':memory:');
    expect(await db.query(`SELECT * FROM read_parquet('${file}') ORDER BY product`)).toEqual([
      { product: 'a', profit: 1.5 },
      { product: 'b', profit: 2 },
    ]);
    await step.plugin.write([], ctx(true, true));
    expect(
      await db.query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`),
    ).toEqual([
      { column_name: 'product', column_type: 'VARCHAR' },
      { column_name: 'profit', column_type: 'DOUBLE' },
    ]);
    expect(await db.query(`SELECT count(*) AS n FROM read_parquet('${file}')`)).toEqual([{ n: 0 }]);
    expect(readdirSync(dir)).toEqual(['winners.parquet']);
    db.close();
    await step.close();
  });

  it('cannot append', async () => {
    await expect(createTestStep(parquet, 'sink', { path: 'x.parquet', mode: 'append' })).rejects.toThrow(
      'parquet.with.mode: must be one of "new", "overwrite"',
    );
  });

  it('writes declared column types (exact DECIMAL money), a declared column the batch lacks as a typed NULL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parquet-sink-'));
    const file = join(dir, 'processed.parquet');
    const step = await createTestStep<FileSink>(parquet, 'sink', {
      path: file,
      mode: 'overwrite',
      types: { amount: 'DECIMAL(10,2)', revenue: 'DECIMAL(10,2)', fee_percent: 'DECIMAL(5,2)', note: 'VARCHAR' },
    });
    // 13,904.50 × 1% = 139.045 → 139.05 (half-up), computed upstream exactly; here only carried as a JS number.
    await step.plugin.write([
      { id: 1, amount: 13904.5, fee_percent: 1, revenue: 139.05 },
      { id: 2, amount: 0.1, fee_percent: 2.5, revenue: 0 },
    ]);
    const db = await DuckDbClient.open(':memory:');
    expect(
      await db.query(
        `SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`,
      ),
    ).toEqual([
      { name: 'id', type: 'BIGINT' },
      { name: 'amount', type: 'DECIMAL(10,2)' },
      { name: 'fee_percent', type: 'DECIMAL(5,2)' },
      { name: 'revenue', type: 'DECIMAL(10,2)' },
      { name: 'note', type: 'VARCHAR' },
    ]);
    expect(
      await db.query(
        `SELECT CAST(amount AS VARCHAR) AS amount, CAST(revenue AS VARCHAR) AS revenue, note FROM read_parquet('${file}') ORDER BY id`,
      ),
    ).toEqual([
      { amount: '13904.50', revenue: '139.05', note: null },
      { amount: '0.10', revenue: '0.00', note: null },
    ]);
    db.close();
    await step.close();
  });

  it('mode create writes a file only when there is none, and never replaces one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parquet-sink-'));
    const step = await createTestStep<FileSink>(parquet, 'sink', {
      path: join(dir, '{YYYY}/{MM}/{DD}/day.parquet'),
      partitionBy: 'day',
      mode: 'create',
    });
    await step.plugin.write([{ day: '2024-01-01', n: 1 }]);
    await step.plugin.write([
      { day: '2024-01-01', n: 2 },
      { day: '2024-01-02', n: 3 },
    ]);
    const db = await DuckDbClient.open(':memory:');
    expect(await db.query(`SELECT n FROM read_parquet('${dir}/**/*.parquet') ORDER BY n`)).toEqual([
      { n: 1 },
      { n: 3 },
    ]);
    db.close();
    expect(step.logs.join('\n')).toContain('the file is there already: left as it is (mode create)');
    await step.close();
  });
});
