// The duckdb sink's two error classes: a record whose value does not fit, or cannot be stored at all (nested
// 10,000 deep), goes to dead-letter alone while the batch is written; a batch none of whose fields is a column goes
// whole (its shape); a database file that cannot be opened is infrastructure.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestStep, expectErrorClass, writeLikeRuntime } from '../../../core/testing.ts';
import type { DuckDbClient } from '../../../connections/duckdb/index.ts';
import plugin, { type DuckDbSink } from './index.ts';

const warehouse = (init: string[]) => ({
  connections: { warehouse: { type: 'duckdb', path: ':memory:', init } },
  connection: 'warehouse',
  id: 'sales',
});

describe('duckdb sink errors', () => {
  it('data: rejects a value that does not convert and one that cannot be stored, writes the rest', async () => {
    const step = await createTestStep<DuckDbSink>(
      plugin,
      'sink',
      { table: 't' },
      warehouse(['CREATE TABLE t (id INTEGER NOT NULL, amount DOUBLE, note VARCHAR)']),
    );
    const deep = { id: 3, amount: 3, note: JSON.parse(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`) };
    const rejects = await writeLikeRuntime(step.plugin, [
      { id: 1, amount: 1 },
      { id: 2, amount: 'two' },
      deep,
      { id: null, amount: 4 },
      { id: 5, amount: 5, note: 'ok' },
    ]);
    expect(rejects.map((r) => [(r.record as { id: number }).id, r.reasons])).toEqual([
      [3, ['note: the value cannot be stored (nested too deeply to store)']],
      [2, ['amount: cannot convert two to DOUBLE']],
      [null, ['id: must not be null']],
    ]);
    const db = await step.services.connections.get<DuckDbClient>('warehouse');
    expect(await db.query('SELECT id, amount, note FROM t ORDER BY id')).toEqual([
      { id: 1, amount: 1, note: null },
      { id: 5, amount: 5, note: 'ok' },
    ]);
    await step.close();
  });

  it('data: a batch none of whose fields is a column of the table is refused whole (not bisected)', async () => {
    const step = await createTestStep<DuckDbSink>(
      plugin,
      'sink',
      { table: 't' },
      warehouse(['CREATE TABLE t (id INTEGER)']),
    );
    const rejects = await writeLikeRuntime(step.plugin, [{ x: 1 }, { x: 2 }, { x: 3 }]);
    expect(rejects.map((r) => r.reasons[0])).toEqual(
      Array(3).fill('sales: writing 3 record(s) to t failed: none of the fields (x) is a column of t'),
    );
    await step.close();
  });

  it('infrastructure: a database file that cannot be opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duckdb-errors-'));
    writeFileSync(join(dir, 'not-a-folder'), '');
    const step = await createTestStep<DuckDbSink>(
      plugin,
      'sink',
      { table: 't', createTable: true },
      {
        connections: { warehouse: { type: 'duckdb', path: join(dir, 'not-a-folder', 'w.duckdb') } },
        connection: 'warehouse',
      },
    );
    await expectErrorClass(writeLikeRuntime(step.plugin, [{ id: 1 }]), 'infrastructure');
    await step.close();
  });
});
