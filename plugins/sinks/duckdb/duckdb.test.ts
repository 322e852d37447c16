import { beforeEach, describe, expect, it } from 'vitest';
import { createTestStep, type TestStep } from '../../../core/testing.ts';
import { loadTempTable, residentRows, type DuckDbClient } from '../../../connections/duckdb/index.ts';
import type { BatchIdentity, Reject, Row, SinkContext, SnapshotPart } from '../../../core/sdk/index.ts';
import plugin, { type DuckDbSink } from './index.ts';

const warehouse = { connections: { warehouse: { type: 'duckdb', path: ':memory:' } }, connection: 'warehouse' };

/**
 * Every case runs twice: with records (`write`), and with the same rows already in the sink's DuckDB as a batch
 * table (`writeFromDuckDb`, loaded the way the sql transform loads records), which must behave the same.
 */
let via: 'records' | 'duckdb';

async function sink(config: Record<string, unknown>, init?: string) {
  const step: TestStep<DuckDbSink> = await createTestStep<DuckDbSink>(plugin, 'sink', config, warehouse);
  const db = await step.services.connections.get<DuckDbClient>('warehouse');
  if (init) await db.exec(init);
  const rejects: Reject[] = [];
  const write = (rows: Record<string, unknown>[], snapshot?: SnapshotPart, batch?: BatchIdentity) =>
    writeVia(step.plugin, db, rows, {
      reject: (record, reasons) => void rejects.push({ record, reasons: ([] as string[]).concat(reasons) }),
      ...(snapshot ? { snapshot } : {}),
      ...(batch ? { batch } : {}),
    });
  return { step, db, write, rejects };
}

async function writeVia(plugin: DuckDbSink, db: DuckDbClient, rows: Row[], ctx: SinkContext): Promise<void> {
  if (via === 'records') return plugin.write(rows, ctx);
  const table = await db.session(async (connection) => {
    await loadTempTable(connection, '_test_rows', rows);
    return residentRows(db, connection, 'SELECT * FROM temp._test_rows');
  });
  try {
    if (await plugin.writeFromDuckDb(table, ctx)) return;
    // Only a page of a whole result that is not all of it is left to write (which gathers the pages).
    expect(ctx.snapshot && !(ctx.snapshot.first && ctx.snapshot.last)).toBe(true);
    await plugin.write(await table.toRecords(), ctx);
  } finally {
    await table.release();
  }
}

describe.each(['records', 'duckdb'] as const)('duckdb sink, rows as %s', (mode) => {
  beforeEach(() => void (via = mode));

  it('appends by column name, casting to the declared column types; Dates into TIMESTAMP columns as UTC', async () => {
    const { step, db, write } = await sink(
      { table: 't' },
      'CREATE TABLE t (id INTEGER, amount DECIMAL(12,2), ts TIMESTAMPTZ, local TIMESTAMP, note VARCHAR)',
    );
    await db.exec("SET TimeZone = 'Asia/Kolkata'");
    await write([
      { note: 'a', id: 1, amount: 10.5, ts: new Date('2024-01-01T00:00:00Z'), local: new Date('2024-01-01T10:00:00Z') },
    ]);
    await write([{ id: 2, amount: '3.25', ts: '2024-01-02T00:00:00Z' }]);
    expect(await db.query('SELECT * FROM t ORDER BY id')).toEqual([
      { id: 1, amount: 10.5, ts: new Date('2024-01-01T00:00:00Z'), local: new Date('2024-01-01T10:00:00Z'), note: 'a' },
      { id: 2, amount: 3.25, ts: new Date('2024-01-02T00:00:00Z'), local: null, note: null },
    ]);
    await step.close();
  });

  it('upserts by a primary key: the same batch twice changes nothing, the last record of a key wins', async () => {
    const { step, db, write } = await sink(
      { table: 't', mode: 'upsert', key: ['id'] },
      'CREATE TABLE t (id VARCHAR PRIMARY KEY, v INTEGER)',
    );
    const batch = [
      { id: 'a', v: 1 },
      { id: 'b', v: 2 },
      { id: 'a', v: 3 },
    ];
    await write(batch);
    await write(batch);
    await write([{ id: 'b', v: 20 }]);
    expect(await db.query('SELECT * FROM t ORDER BY id')).toEqual([
      { id: 'a', v: 3 },
      { id: 'b', v: 20 },
    ]);
    await step.close();
  });

  it('upserts by a composite key into a table without a primary key (delete + insert)', async () => {
    const { step, db, write } = await sink(
      { table: 'rates', mode: 'upsert', key: ['currency', 'ts'] },
      'CREATE TABLE rates (currency VARCHAR, ts TIMESTAMPTZ, rate DOUBLE)',
    );
    const at = new Date('2024-01-01T00:00:00Z');
    await write([
      { currency: 'EUR', ts: at, rate: 1 },
      { currency: 'GBP', ts: at, rate: 2 },
      { currency: 'EUR', ts: null, rate: 3 },
    ]);
    await write([
      { currency: 'EUR', ts: at, rate: 1.5 },
      { currency: 'EUR', ts: at, rate: 1.25 },
      { currency: 'EUR', ts: null, rate: 4 },
    ]);
    expect(await db.query('SELECT * FROM rates ORDER BY currency, rate')).toEqual([
      { currency: 'EUR', ts: at, rate: 1.25 },
      { currency: 'EUR', ts: null, rate: 4 },
      { currency: 'GBP', ts: at, rate: 2 },
    ]);
    await step.close();
  });

  it('keeps the first row of a key with onConflict: ignore (ON CONFLICT DO NOTHING), with or without a primary key', async () => {
    for (const ddl of [
      'CREATE TABLE t (id VARCHAR PRIMARY KEY, v INTEGER, ts TIMESTAMP)',
      'CREATE TABLE t (id VARCHAR, v INTEGER, ts TIMESTAMP)',
    ]) {
      const { step, db, write } = await sink({ table: 't', mode: 'upsert', key: ['id'], onConflict: 'ignore' }, ddl);
      const at = new Date('2024-01-01T10:00:00Z');
      await write([
        { id: 'a', v: 1, ts: at },
        { id: 'b', v: 2, ts: at },
        { id: 'a', v: 3, ts: at },
      ]);
      await write([
        { id: 'b', v: 20, ts: at },
        { id: 'c', v: 30, ts: at },
        { id: 'c', v: 31, ts: at },
      ]);
      expect(await db.query('SELECT id, v, ts FROM t ORDER BY id')).toEqual([
        { id: 'a', v: 1, ts: at },
        { id: 'b', v: 2, ts: at },
        { id: 'c', v: 30, ts: at },
      ]);
      await step.close();
    }
  });

  it('replaces the whole table with each batch, atomically, even with a primary key', async () => {
    const { step, db, write } = await sink({
      table: 'agg',
      mode: 'replace',
      createTable: true,
      columns: { k: 'VARCHAR PRIMARY KEY', n: 'BIGINT' },
    });
    await write([
      { k: 'x', n: 1 },
      { k: 'y', n: 2 },
    ]);
    await write([{ k: 'x', n: 3 }]);
    expect(await db.query('SELECT * FROM agg')).toEqual([{ k: 'x', n: 3 }]);
    await step.close();
  });

  it('replaces the table with a whole result of several pages on its last page, and empties it when the result is empty', async () => {
    const { step, db, rejects, write } = await sink(
      { table: 'agg', mode: 'replace' },
      'CREATE TABLE agg (k VARCHAR PRIMARY KEY, n BIGINT NOT NULL)',
    );
    const part = (rows: Record<string, unknown>[], first: boolean, last: boolean) => write(rows, { first, last });
    await db.exec("INSERT INTO agg VALUES ('stale', 0)");
    await part(
      [
        { k: 'a', n: 1 },
        { k: 'b', n: 2 },
      ],
      true,
      false,
    );
    await part([{ k: 'c', n: 3 }], false, false);
    expect(await db.query('SELECT * FROM agg')).toEqual([{ k: 'stale', n: 0 }]); // readers keep the old result meanwhile
    // The last page holds a bad record: it goes to dead-letter, the rest of the whole result is the table.
    await part(
      [
        { k: 'd', n: null },
        { k: 'e', n: 5 },
      ],
      false,
      true,
    );
    expect(await db.query('SELECT * FROM agg ORDER BY k')).toEqual([
      { k: 'a', n: 1 },
      { k: 'b', n: 2 },
      { k: 'c', n: 3 },
      { k: 'e', n: 5 },
    ]);
    expect(rejects).toEqual([{ record: { k: 'd', n: null }, reasons: ['n: must not be null'] }]);
    await part([], true, true);
    expect(await db.query('SELECT count(*) AS n FROM agg')).toEqual([{ n: 0 }]);
    // An empty batch outside a whole result changes nothing (the runtime does not send those, but a sink must not empty on one).
    await part([{ k: 'z', n: 9 }], true, true);
    await step.plugin.write([], { reject: () => undefined });
    expect(await db.query('SELECT * FROM agg')).toEqual([{ k: 'z', n: 9 }]);
    await step.close();
  });

  it('creates a missing table from inferred types (the key as primary key) when asked, and names the table when it may not', async () => {
    const { step, db, write } = await sink({
      table: 'analytics.fresh',
      mode: 'upsert',
      key: ['id'],
      createTable: true,
    });
    await write([{ id: 1, at: new Date('2024-01-01T00:00:00Z'), ok: true, x: 1.5, s: null }]);
    await write([{ id: 1, at: new Date('2024-01-02T00:00:00Z'), ok: false, x: 2, s: 'y' }]);
    expect(
      await db.query(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'analytics' AND table_name = 'fresh' ORDER BY ordinal_position",
      ),
    ).toEqual([
      { column_name: 'id', data_type: 'BIGINT' },
      { column_name: 'at', data_type: 'TIMESTAMP WITH TIME ZONE' },
      { column_name: 'ok', data_type: 'BOOLEAN' },
      { column_name: 'x', data_type: 'DOUBLE' },
      { column_name: 's', data_type: 'VARCHAR' },
    ]);
    expect(
      await db.query(
        "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'fresh' AND constraint_type = 'PRIMARY KEY'",
      ),
    ).toEqual([{ constraint_type: 'PRIMARY KEY' }]);
    expect(await db.query('SELECT * FROM analytics.fresh')).toEqual([
      { id: 1, at: new Date('2024-01-02T00:00:00Z'), ok: false, x: 2, s: 'y' },
    ]);
    await step.close();
    const missing = await sink({ table: 'nope' });
    await expect(missing.write([{ a: 1 }])).rejects.toThrow(
      "duckdb: writing 1 record(s) to nope failed: table nope does not exist (create it in the connection's init, or set createTable: true)",
    );
    await missing.step.close();
  });

  it('sends records that cannot be written to dead-letter with the column and reason, and writes the rest', async () => {
    const { step, db, write, rejects } = await sink(
      { table: 't', mode: 'upsert', key: ['id'] },
      'CREATE TABLE t (id INTEGER PRIMARY KEY, amount DECIMAL(12,2) NOT NULL, ts TIMESTAMPTZ)',
    );
    await write([
      { id: 1, amount: 5, ts: '2024-01-01T00:00:00Z' },
      { id: 'x', amount: 'lots', ts: 'yesterday' },
      { id: 3, amount: null },
      { id: null, amount: 1 },
      { id: 5, amount: 7.5 },
    ]);
    expect(await db.query('SELECT * FROM t ORDER BY id')).toEqual([
      { id: 1, amount: 5, ts: new Date('2024-01-01T00:00:00Z') },
      { id: 5, amount: 7.5, ts: null },
    ]);
    // The record in dead-letter is the row as the batch held it: a batch table's columns mixing numbers and text are text.
    const held =
      via === 'records'
        ? [
            { id: 3, amount: null },
            { id: null, amount: 1 },
          ]
        : [
            { id: '3', amount: null, ts: null },
            { id: null, amount: '1', ts: null },
          ];
    expect(rejects).toEqual([
      {
        record: { id: 'x', amount: 'lots', ts: 'yesterday' },
        reasons: [
          'id: cannot convert x to INTEGER',
          'amount: cannot convert lots to DECIMAL(12,2)',
          'ts: cannot convert yesterday to TIMESTAMP WITH TIME ZONE',
        ],
      },
      { record: held[0], reasons: ['amount: must not be null'] },
      { record: held[1], reasons: ['id: must not be null'] },
    ]);
    await step.close();
  });

  it('leaves out fields the table has no column for, with a warning once', async () => {
    const { step, db, write } = await sink({ table: 't' }, 'CREATE TABLE t (id INTEGER)');
    await write([{ id: 1, _sheet: 'A' }]);
    await write([{ id: 2, _sheet: 'B' }]);
    expect(await db.query('SELECT * FROM t ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
    expect(step.logs.filter((l) => l.includes('fields not written'))).toHaveLength(1);
    expect(step.logs.find((l) => l.includes('fields not written'))).toContain('_sheet');
    await expect(write([{ other: 1 }])).rejects.toThrow('none of the fields (other) is a column of t');
    await step.close();
  });

  it('fails the whole batch, writing nothing, when the failure is not about particular records', async () => {
    const { step, db, write } = await sink({ table: 't' }, 'CREATE TABLE t (id INTEGER PRIMARY KEY)');
    await write([{ id: 1 }]);
    await expect(write([{ id: 2 }, { id: 1 }])).rejects.toThrow(
      /duckdb: writing 2 record\(s\) to t failed: Constraint Error: Duplicate key "id: 1"/,
    );
    expect(await db.query('SELECT id FROM t')).toEqual([{ id: 1 }]);
    await step.close();
  });

  it('appends a batch with an identity exactly once: delivered again (a crash before its checkpoint) it is skipped; its ledger row commits with its rows', async () => {
    const { step, db, write } = await sink(
      { table: 'sales.t' },
      'CREATE SCHEMA sales; CREATE TABLE sales.t (id INTEGER PRIMARY KEY, v VARCHAR)',
    );
    const batch = (n: number): BatchIdentity => ({
      id: `${n}`.repeat(32).slice(0, 32),
      writer: 'w'.repeat(32),
      origin: `numbers #${n}`,
    });
    await write(
      [
        { id: 1, v: 'a' },
        { id: 2, v: 'b' },
      ],
      undefined,
      batch(1),
    );
    await write(
      [
        { id: 1, v: 'a' },
        { id: 2, v: 'b' },
      ],
      undefined,
      batch(1),
    ); // the same batch again: no duplicate key error, nothing written
    await write([{ id: 3, v: 'c' }], undefined, batch(2));
    expect(await db.query('SELECT id FROM sales.t ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(step.logs.filter((l) => l.includes('batch already written'))).toHaveLength(1);
    // A write that fails leaves no ledger row behind: the batch is written when it comes again.
    await expect(write([{ id: 4 }, { id: 1 }], undefined, batch(3))).rejects.toThrow(/Duplicate key "id: 1"/);
    await write([{ id: 4 }, { id: 5 }], undefined, batch(3));
    expect(await db.query('SELECT id FROM sales.t ORDER BY id')).toEqual([1, 2, 3, 4, 5].map((id) => ({ id })));
    expect(
      await db.query('SELECT writer, batch, target, origin, records FROM sales._platform_batches ORDER BY batch'),
    ).toEqual(
      [1, 2, 3].map((n) => ({
        writer: batch(n).writer,
        batch: batch(n).id,
        target: 'sales.t',
        origin: batch(n).origin,
        records: n === 1 ? 2 : n === 2 ? 1 : 2,
      })),
    );
    // Without an identity (a source without positions) a batch is appended each time it comes, as before.
    await write([{ id: 6 }]);
    await expect(write([{ id: 6 }])).rejects.toThrow(/Duplicate key "id: 6"/);
    await step.close();
  });

  it('checks its config', async () => {
    await expect(createTestStep(plugin, 'sink', { table: 't', mode: 'upsert' }, warehouse)).rejects.toThrow(
      'duckdb: mode upsert needs key',
    );
    await expect(createTestStep(plugin, 'sink', { table: 't', onConflict: 'ignore' }, warehouse)).rejects.toThrow(
      'duckdb: onConflict: ignore is for mode upsert (mode is append)',
    );
    await expect(createTestStep(plugin, 'sink', { table: 't' })).rejects.toThrow(
      'duckdb: the duckdb sink needs connection:',
    );
    await expect(createTestStep(plugin, 'sink', { table: 't', mode: 'merge' }, warehouse)).rejects.toThrow(
      'duckdb.with.mode: must be one of "append", "upsert", "replace"',
    );
  });
});
