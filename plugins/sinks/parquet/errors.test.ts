// The parquet sink's two error classes: a record that cannot be written (nested 10,000 deep) goes to dead-letter
// alone while the batch is written; a path that cannot be written to is infrastructure.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestStep, expectErrorClass, writeLikeRuntime } from '../../../core/testing.ts';
import { DuckDbClient } from '../../../connections/duckdb/index.ts';
import plugin from './index.ts';
import type { FileSink } from '../shared/file-sink.ts';

describe('parquet sink errors', () => {
  it('data: rejects a record nested too deeply to write; writes the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parquet-errors-'));
    const step = await createTestStep<FileSink>(plugin, 'sink', { path: join(dir, 'part-{uuid}.parquet') });
    const deep = { id: 2, note: JSON.parse(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`) };
    const rejects = await writeLikeRuntime(step.plugin, [{ id: 1, note: 'a' }, deep, { id: 3, note: 'c' }]);
    expect(rejects.map((r) => r.record)).toEqual([deep]);
    const db = await DuckDbClient.open(':memory:');
    const files = readdirSync(dir)
      .map((f) => `'${join(dir, f)}'`)
      .join(', ');
    expect(await db.query(`SELECT id, note FROM read_parquet([${files}]) ORDER BY id`)).toEqual([
      { id: 1, note: 'a' },
      { id: 3, note: 'c' },
    ]);
    db.close();
    await step.close();
  });

  it('infrastructure: a path that cannot be written (a file where its folder should be)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parquet-errors-'));
    writeFileSync(join(dir, 'taken'), '');
    const step = await createTestStep<FileSink>(plugin, 'sink', { path: join(dir, 'taken', 'x.parquet') });
    await expectErrorClass(writeLikeRuntime(step.plugin, [{ id: 1 }]), 'infrastructure');
    await step.close();
  });
});
