import { appendFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import { systemClock } from '../../../core/sdk/clock.ts';
import type { BatchIdentity, SinkContext } from '../../../core/sdk/index.ts';
import csv, { type FileSink } from './index.ts';

const folder = () => mkdtempSync(join(tmpdir(), 'csv-sink-'));
const clock = { ...systemClock, now: () => new Date('2024-03-04T05:06:07Z') };
/** The context of batch `n` of a source with positions (what the runtime gives sinks); none for `undefined`. */
const batch = (n?: number): SinkContext => ({
  reject: () => undefined,
  ...(n === undefined
    ? {}
    : { batch: { id: `${n}`.repeat(32), writer: 'w'.repeat(32), origin: `files a.csv#${n}` } satisfies BatchIdentity }),
});

describe('csv sink', () => {
  it('overwrites an export atomically with a header, quoting and ISO UTC timestamps', async () => {
    const dir = folder();
    const step = await createTestStep<FileSink>(csv, 'sink', { path: join(dir, 'kpis.csv'), mode: 'overwrite' });
    await step.plugin.write([{ at: new Date('2024-01-01T10:05:00Z'), n: 1, note: 'a, "b"' }]);
    expect(readFileSync(join(dir, 'kpis.csv'), 'utf8')).toBe('at,n,note\n2024-01-01T10:05:00.000Z,1,"a, ""b"""\n');
    await step.plugin.write([{ at: new Date('2024-01-01T10:10:00.250Z'), n: 2, note: null }]);
    expect(readFileSync(join(dir, 'kpis.csv'), 'utf8')).toBe('at,n,note\n2024-01-01T10:10:00.250Z,2,\n');
    expect(readdirSync(dir)).toEqual(['kpis.csv']);
    await step.close();
  });

  it('overwrites an export with a whole result of several pages, and leaves only the header when the result is empty', async () => {
    const dir = folder();
    const file = join(dir, '{YYYY}/kpis.csv');
    const step = await createTestStep<FileSink>(
      csv,
      'sink',
      { path: file, mode: 'overwrite' },
      { services: { clock } },
    );
    const ctx = (first: boolean, last: boolean) => ({ reject: () => undefined, snapshot: { first, last } });
    await step.plugin.write([{ k: 'a', n: 1 }], ctx(true, false));
    await step.plugin.write([{ k: 'b', n: 2 }], ctx(false, true));
    expect(readFileSync(join(dir, '2024/kpis.csv'), 'utf8')).toBe('k,n\na,1\nb,2\n');
    await step.plugin.write([], ctx(true, true));
    expect(readFileSync(join(dir, '2024/kpis.csv'), 'utf8')).toBe('k,n\n');
    expect(readdirSync(join(dir, '2024'))).toEqual(['kpis.csv']);
    await step.close();
  });

  it('writes a new file per batch and partition of partitionBy, never overwriting earlier batches', async () => {
    const dir = folder();
    const step = await createTestStep<FileSink>(
      csv,
      'sink',
      { path: join(dir, '{YYYY}/{MM}/{DD}/orders.csv'), partitionBy: 'at' },
      { connections: { warehouse: { type: 'duckdb', path: ':memory:' } }, connection: 'warehouse' },
    );
    await step.plugin.write([
      { id: 1, at: new Date('2024-01-01T23:59:59Z') },
      { id: 2, at: new Date('2024-01-02T00:00:00Z') },
      { id: 3, at: 'not a time' },
    ]);
    await step.plugin.write([{ id: 4, at: new Date('2024-01-01T08:00:00Z') }]);
    const day1 = readdirSync(join(dir, '2024/01/01')).sort();
    expect(day1).toHaveLength(2);
    expect(day1.every((f) => /^orders-\d+-[0-9a-f]{8}\.csv$/.test(f))).toBe(true);
    expect(day1.map((f) => readFileSync(join(dir, '2024/01/01', f), 'utf8')).sort()).toEqual([
      'id,at\n1,2024-01-01T23:59:59.000Z\n',
      'id,at\n4,2024-01-01T08:00:00.000Z\n',
    ]);
    expect(readdirSync(join(dir, '2024/01/02'))).toHaveLength(1);
    expect(
      readFileSync(join(dir, 'unknown/unknown/unknown', readdirSync(join(dir, 'unknown/unknown/unknown'))[0]), 'utf8'),
    ).toBe('id,at\n3,not a time\n');
    await step.close();
  });

  it("appends to the file of the clock's date, the header once, later batches following its columns", async () => {
    const dir = folder();
    const step = await createTestStep<FileSink>(
      csv,
      'sink',
      { path: join(dir, 'log-{YYYY}{MM}{DD}.csv'), mode: 'append' },
      { services: { clock } },
    );
    await step.plugin.write([
      { a: 1, b: 'x' },
      { a: 2, b: 'y' },
    ]);
    await step.plugin.write([{ b: 'z', c: true }]);
    expect(readdirSync(dir)).toEqual(['log-20240304.csv']);
    expect(readFileSync(join(dir, 'log-20240304.csv'), 'utf8')).toBe('a,b\n1,x\n2,y\n,z\n');
    await step.close();
  });

  it('partitions by a YYYYMMDD date key and names files by a {field} placeholder (one file per raw file)', async () => {
    const dir = folder();
    const step = await createTestStep<FileSink>(csv, 'sink', {
      path: join(dir, '{YYYY}/{MM}/{DD}/cleaned_{raw_name}.csv'),
      partitionBy: 'date_key',
      mode: 'overwrite',
    });
    await step.plugin.write([
      { id: 1, date_key: 20240301, raw_name: 'transactions' },
      { id: 2, date_key: 20240301, raw_name: 'branch-b' },
      { id: 3, date_key: '20240302', raw_name: 'transactions' },
      { id: 4, date_key: 20240231, raw_name: '../x' },
    ]);
    expect(readFileSync(join(dir, '2024/03/01/cleaned_transactions.csv'), 'utf8')).toBe(
      'id,date_key,raw_name\n1,20240301,transactions\n',
    );
    expect(readFileSync(join(dir, '2024/03/01/cleaned_branch-b.csv'), 'utf8')).toBe(
      'id,date_key,raw_name\n2,20240301,branch-b\n',
    );
    expect(readFileSync(join(dir, '2024/03/02/cleaned_transactions.csv'), 'utf8')).toBe(
      'id,date_key,raw_name\n3,20240302,transactions\n',
    );
    expect(readdirSync(join(dir, 'unknown/unknown/unknown'))).toEqual(['cleaned___x.csv']);
    await step.close();
  });

  it('appends a batch with an identity once: again after a crash it is skipped, and the tail of an append a crash cut short is removed', async () => {
    const dir = folder();
    const file = join(dir, 'log.csv');
    const step = await createTestStep<FileSink>(csv, 'sink', { path: file, mode: 'append' }, { services: { clock } });
    await step.plugin.write([{ n: 1 }, { n: 2 }], batch(1));
    await step.plugin.write([{ n: 3 }], batch(2));
    await step.plugin.write([{ n: 3 }], batch(2)); // written, then the process died before the checkpoint: delivered again
    expect(readFileSync(file, 'utf8')).toBe('n\n1\n2\n3\n');
    appendFileSync(file, '4\n5'); // batch 3's append, cut short by a crash
    await step.plugin.write([{ n: 4 }, { n: 5 }, { n: 6 }], batch(3));
    expect(readFileSync(file, 'utf8')).toBe('n\n1\n2\n3\n4\n5\n6\n');
    expect(readdirSync(dir).sort()).toEqual(['.log.csv.batches', 'log.csv']);
    // A file someone replaced with a shorter one starts a new ledger; batches without identity are appended each time.
    writeFileSync(file, 'n\n');
    await step.plugin.write([{ n: 7 }], batch(1));
    await step.plugin.write([{ n: 8 }], batch());
    await step.plugin.write([{ n: 8 }], batch());
    expect(readFileSync(file, 'utf8')).toBe('n\n7\n8\n8\n');
    await step.close();
  });

  it('mode new: a batch written again after a crash gets the same file names, so it replaces its first copy', async () => {
    const dir = folder();
    const step = await createTestStep<FileSink>(csv, 'sink', {
      path: join(dir, '{YYYY}/{MM}/{DD}/orders.csv'),
      partitionBy: 'at',
    });
    const rows = [
      { id: 1, at: '2024-01-01' },
      { id: 2, at: '2024-01-02' },
    ];
    await step.plugin.write(rows, batch(1));
    await step.plugin.write(rows, batch(1));
    await step.plugin.write([{ id: 3, at: '2024-01-01' }], batch(2));
    const day1 = readdirSync(join(dir, '2024/01/01')).sort();
    expect(day1).toEqual([`orders-${'1'.repeat(16)}.csv`, `orders-${'2'.repeat(16)}.csv`]);
    expect(readdirSync(join(dir, '2024/01/02'))).toEqual([`orders-${'1'.repeat(16)}.csv`]);
    await step.close();
  });
});
