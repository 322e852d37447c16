import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import { DuckDbClient } from '../../../core/connections/duckdb/index.ts';
import csv, { type FileSink } from './index.ts';
import parquet from '../parquet/index.ts';

describe('csv and parquet sinks', () => {
  it('overwrites an export atomically with a header and ISO timestamps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    const step = await createTestStep<FileSink>(csv, 'sink', { path: join(dir, 'kpis.csv'), mode: 'overwrite' });
    await step.plugin.write([{ at: new Date('2024-01-01T10:05:00Z'), n: 1, note: 'a, "b"' }]);
    await step.plugin.write([{ at: new Date('2024-01-01T10:10:00Z'), n: 2, note: null }]);
    expect(readFileSync(join(dir, 'kpis.csv'), 'utf8')).toBe('at,n,note\n2024-01-01T10:10:00.000Z,2,\n');
    expect(readdirSync(dir)).toEqual(['kpis.csv']);
    await step.close();
  });

  it('writes Parquet partitioned by a date field, one new file per batch, readable by DuckDB', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    const step = await createTestStep<FileSink>(parquet, 'sink', { path: join(dir, '{YYYY}/{MM}/{DD}/part-{uuid}.parquet'), partitionBy: 'at' });
    await step.plugin.write([{ id: 1, at: new Date('2024-01-01T10:00:00Z') }, { id: 2, at: new Date('2024-01-02T10:00:00Z') }]);
    await step.plugin.write([{ id: 3, at: new Date('2024-01-01T11:00:00Z') }]);
    expect(readdirSync(join(dir, '2024/01/01'))).toHaveLength(2);
    expect(existsSync(join(dir, '2024/01/02'))).toBe(true);
    const db = await DuckDbClient.open(':memory:');
    expect(await db.query(`SELECT id FROM read_parquet('${dir}/**/*.parquet') ORDER BY id`)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    db.close();
    await step.close();
  });
});
