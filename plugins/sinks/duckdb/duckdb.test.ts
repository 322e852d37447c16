import { describe, expect, it } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import type { DuckDbClient } from '../../../core/connections/duckdb/index.ts';
import plugin, { type DuckDbSink } from './index.ts';

const warehouse = { connections: { wh: { type: 'duckdb', path: ':memory:' } }, connection: 'wh' };

async function sink(config: Record<string, unknown>, init?: string) {
  const step = await createTestStep<DuckDbSink>(plugin, 'sink', config, warehouse);
  const db = await step.services.connections.get<DuckDbClient>('wh');
  if (init) await db.exec(init);
  return { step, db, write: (rows: Record<string, unknown>[]) => step.plugin.write(rows) };
}

describe('duckdb sink', () => {
  it('appends, casting to the declared column types', async () => {
    const { step, db, write } = await sink({ table: 't' }, 'CREATE TABLE t (id INTEGER, amount DECIMAL(12,2), ts TIMESTAMPTZ, note VARCHAR)');
    await write([{ id: 1, amount: 10.5, ts: new Date('2024-01-01T00:00:00Z'), note: 'a' }]);
    await write([{ id: 2, amount: '3.25', ts: '2024-01-02T00:00:00Z' }]);
    expect(await db.query('SELECT * FROM t ORDER BY id')).toEqual([
      { id: 1, amount: 10.5, ts: new Date('2024-01-01T00:00:00Z'), note: 'a' },
      { id: 2, amount: 3.25, ts: new Date('2024-01-02T00:00:00Z'), note: null },
    ]);
    await step.close();
  });

  it('upserts by key: the same batch twice changes nothing, the last record of a key wins', async () => {
    const { step, db, write } = await sink({ table: 't', mode: 'upsert', key: ['id'] }, 'CREATE TABLE t (id VARCHAR PRIMARY KEY, v INTEGER)');
    const batch = [{ id: 'a', v: 1 }, { id: 'b', v: 2 }, { id: 'a', v: 3 }];
    await write(batch);
    await write(batch);
    await write([{ id: 'b', v: 20 }]);
    expect(await db.query('SELECT * FROM t ORDER BY id')).toEqual([{ id: 'a', v: 3 }, { id: 'b', v: 20 }]);
    await step.close();
  });

  it('replaces the whole table with each batch', async () => {
    const { step, db, write } = await sink({ table: 'agg', mode: 'replace', createTable: true, columns: { k: 'VARCHAR', n: 'BIGINT' } });
    await write([{ k: 'x', n: 1 }, { k: 'y', n: 2 }]);
    await write([{ k: 'z', n: 3 }]);
    expect(await db.query('SELECT * FROM agg')).toEqual([{ k: 'z', n: 3 }]);
    await step.close();
  });

  it('creates a missing table from inferred types when asked, and names the table when it may not', async () => {
    const { step, db, write } = await sink({ table: 'fresh', mode: 'upsert', key: ['id'], createTable: true });
    await write([{ id: 1, at: new Date('2024-01-01T00:00:00Z'), ok: true }]);
    expect(await db.query("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'fresh' ORDER BY ordinal_position")).toEqual([
      { column_name: 'id', data_type: 'BIGINT' }, { column_name: 'at', data_type: 'TIMESTAMP WITH TIME ZONE' }, { column_name: 'ok', data_type: 'BOOLEAN' },
    ]);
    await step.close();
    const missing = await sink({ table: 'nope' });
    await expect(missing.write([{ a: 1 }])).rejects.toThrow('duckdb: table nope does not exist (create it in the connection\'s init, or set createTable: true)');
    await missing.step.close();
  });

  it('fails the batch with the table and reason when a value cannot be cast, writing nothing of it', async () => {
    const { step, db, write } = await sink({ table: 't' }, 'CREATE TABLE t (id INTEGER)');
    await expect(write([{ id: 1 }, { id: 'x' }])).rejects.toThrow(/writing 2 record\(s\) to t failed: Conversion Error/);
    expect(await db.query('SELECT count(*) AS n FROM t')).toEqual([{ n: 0 }]);
    await step.close();
  });
});
