import { describe, expect, it } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import { DuckDbClient, DuckDbRows, loadTempTable, residentRows } from '../../../connections/duckdb/index.ts';
import plugin, { type SqlTransform } from './index.ts';

const warehouse = { connections: { warehouse: { type: 'duckdb', path: ':memory:' } }, connection: 'warehouse' };

describe('sql transform', () => {
  it('runs SQL over the batch joined with warehouse tables; timestamps in and out are Dates', async () => {
    const step = await createTestStep<SqlTransform>(
      plugin,
      'transform',
      {
        query:
          "SELECT i.id, upper(i.c) AS c, f.fee, i.at + INTERVAL 1 HOUR AS later, DATE '2024-01-02' AS d FROM input i LEFT JOIN fees f USING (c) ORDER BY id",
      },
      warehouse,
    );
    await (
      await step.services.connections.get<DuckDbClient>('warehouse')
    ).exec("CREATE TABLE fees AS SELECT 'us' AS c, 1.5 AS fee");
    const at = new Date('2024-01-01T10:00:00Z');
    expect(
      await step.plugin.process(
        [
          { id: 2, c: 'fr', at },
          { id: 1, c: 'us', at },
        ],
        step.context(),
      ),
    ).toEqual([
      { id: 1, c: 'US', fee: 1.5, later: new Date('2024-01-01T11:00:00Z'), d: '2024-01-02' },
      { id: 2, c: 'FR', fee: null, later: new Date('2024-01-01T11:00:00Z'), d: '2024-01-02' },
    ]);
    // The batch table is gone after each batch; the next batch sees only its own rows.
    expect(await step.plugin.process([{ id: 3, c: 'us', at }], step.context())).toEqual([
      { id: 3, c: 'US', fee: 1.5, later: new Date('2024-01-01T11:00:00Z'), d: '2024-01-02' },
    ]);
    expect(await step.plugin.process([], step.context())).toEqual([]);
    await step.close();
  });

  it('hands a batch of several data chunks through unchanged, with nulls, big integers, Dates and nested values', async () => {
    const step = await createTestStep<SqlTransform>(
      plugin,
      'transform',
      { query: 'SELECT * FROM input ORDER BY n' },
      warehouse,
    );
    const records = Array.from({ length: 4500 }, (_, n) => ({
      n,
      big: n % 2 ? 2 ** 53 + 2 : null,
      x: n % 10 === 0 ? Number.NaN : n / 8,
      at: n % 3 === 0 ? undefined : new Date(Date.UTC(2024, 0, 1) + n * 60_000),
      text: n % 4 === 0 ? null : `t${n}`,
      nested: n % 5 === 0 ? { n, tags: ['a', 'b'] } : null,
    }));
    const out = await step.plugin.process(records, step.context());
    // Expected, written independently: NaN and undefined become null, nested values JSON text, integers past 2^53 text.
    expect(out).toEqual(
      records.map((r) => ({
        n: r.n,
        big: r.big === null ? null : String(r.big),
        x: Number.isNaN(r.x) ? null : r.x,
        at: r.at ?? null,
        text: r.text,
        nested: r.nested && JSON.stringify(r.nested),
      })),
    );
    await step.close();
  });

  it('binds params and names the batch table as asked', async () => {
    const step = await createTestStep<SqlTransform>(
      plugin,
      'transform',
      {
        query: 'SELECT id FROM events WHERE ts >= $1 AND kind = $2 ORDER BY id',
        as: 'events',
        params: ['2024-01-01T12:00:00Z', 'a'],
      },
      warehouse,
    );
    const rows = [
      { id: 1, kind: 'a', ts: new Date('2024-01-01T11:00:00Z') },
      { id: 2, kind: 'a', ts: new Date('2024-01-01T12:00:00Z') },
      { id: 3, kind: 'b', ts: new Date('2024-01-01T13:00:00Z') },
    ];
    expect(await step.plugin.process(rows, step.context())).toEqual([{ id: 2 }]);
    await step.close();
  });

  it('rejects rows by a SQL condition with a SQL reason, and only the rest reach the query', async () => {
    const step = await createTestStep<SqlTransform>(
      plugin,
      'transform',
      {
        query: 'SELECT id, count(*) OVER () AS seen FROM input ORDER BY id',
        rejectWhere: 'amount <= 0 OR amount IS NULL OR amount > (SELECT max_amount FROM limits)',
        rejectReason:
          "'amount must be in (0, ' || (SELECT max_amount FROM limits) || '] (got ' || coalesce(amount::VARCHAR, 'null') || ')'",
      },
      warehouse,
    );
    await (
      await step.services.connections.get<DuckDbClient>('warehouse')
    ).exec('CREATE TABLE limits AS SELECT 100 AS max_amount');
    const out = await step.plugin.process(
      [
        { id: 1, amount: 5 },
        { id: 2, amount: -1 },
        { id: 3, amount: null },
        { id: 4, amount: 500 },
        { id: 5, amount: 100 },
      ],
      step.context(),
    );
    expect(out).toEqual([
      { id: 1, seen: 2 },
      { id: 5, seen: 2 },
    ]);
    expect(step.rejects).toEqual([
      { record: { id: 2, amount: -1 }, reasons: ['amount must be in (0, 100] (got -1)'] },
      { record: { id: 3, amount: null }, reasons: ['amount must be in (0, 100] (got null)'] },
      { record: { id: 4, amount: 500 }, reasons: ['amount must be in (0, 100] (got 500)'] },
    ]);
    await step.close();
  });

  it('gives a default reason, and no rows when every row is rejected', async () => {
    const step = await createTestStep<SqlTransform>(
      plugin,
      'transform',
      { query: 'SELECT count(*) AS n FROM input', rejectWhere: "status = 'bad'" },
      warehouse,
    );
    expect(await step.plugin.process([{ status: 'bad' }], step.context())).toEqual([]);
    expect(step.rejects).toEqual([{ record: { status: 'bad' }, reasons: ["rejected by: status = 'bad'"] }]);
    expect(await step.plugin.process([{ status: 'ok' }, { status: 'bad' }], step.context())).toEqual([{ n: 1 }]);
    await step.close();
  });

  it('rejects by rejectReason alone: rows with a non-empty reason, reasons that may look at the whole batch', async () => {
    const step = await createTestStep<SqlTransform>(
      plugin,
      'transform',
      {
        query: 'SELECT id FROM input ORDER BY id',
        rejectReason:
          "concat_ws('; ', CASE WHEN amount <= 0 THEN 'amount: must be > 0 (got ' || amount || ')' END, CASE WHEN count(*) OVER (PARTITION BY id) > 1 AND line > min(line) OVER (PARTITION BY id) THEN 'id: ' || id || ' already at line ' || min(line) OVER (PARTITION BY id) END)",
      },
      warehouse,
    );
    const out = await step.plugin.process(
      [
        { id: 1, amount: 5, line: 2 },
        { id: 2, amount: -1, line: 3 },
        { id: 1, amount: 0, line: 4 },
        { id: 3, amount: 1, line: 5 },
      ],
      step.context(),
    );
    expect(out).toEqual([{ id: 1 }, { id: 3 }]);
    expect(step.rejects).toEqual([
      { record: { id: 2, amount: -1, line: 3 }, reasons: ['amount: must be > 0 (got -1)'] },
      { record: { id: 1, amount: 0, line: 4 }, reasons: ['amount: must be > 0 (got 0); id: 1 already at line 2'] },
    ]);
    await step.close();
  });

  it('adds the optional columns a batch lacks as typed NULLs, for records and for batch tables, with and without rejects', async () => {
    for (const config of [{}, { rejectReason: "CASE WHEN qty < 1 THEN 'qty: must be >= 1' END" }]) {
      const step = await createTestStep<SqlTransform>(
        plugin,
        'transform',
        {
          query: 'SELECT id, coalesce(new_id, id) AS key, typeof(new_id) AS t, qty FROM input ORDER BY id',
          optionalColumns: { new_id: 'INTEGER', qty: 'BIGINT' },
          ...config,
        },
        warehouse,
      );
      const db = await step.services.connections.get<DuckDbClient>('warehouse');
      // An older shape (no new_id, no qty), then the newer one: the query reads both.
      expect(await step.plugin.process([{ id: 1 }, { id: 2 }], step.context())).toEqual([
        { id: 1, key: 1, t: 'INTEGER', qty: null },
        { id: 2, key: 2, t: 'INTEGER', qty: null },
      ]);
      expect(await step.plugin.process([{ id: 1, new_id: 10, qty: 1 }], step.context())).toEqual([
        { id: 1, key: 10, t: 'BIGINT', qty: 1 },
      ]);
      const table = await db.session(async (connection) => {
        await loadTempTable(connection, '_test_rows', [{ id: 3 }]);
        return residentRows(db, connection, 'SELECT * FROM temp._test_rows');
      });
      expect(await ((await step.plugin.processInDuckDb(table, step.context())) as DuckDbRows).toRecords()).toEqual([
        { id: 3, key: 3, t: 'INTEGER', qty: null },
      ]);
      expect(step.rejects).toEqual([]);
      await step.close();
    }
  });

  it('names the step in SQL errors, and needs a connection', async () => {
    const step = await createTestStep<SqlTransform>(
      plugin,
      'transform',
      { query: 'SELECT nope FROM input' },
      { ...warehouse, id: 'enrich' },
    );
    await expect(step.plugin.process([{ id: 1 }], step.context())).rejects.toThrow(
      /^enrich: Binder Error: Referenced column "nope" not found/,
    );
    await step.close();
    await expect(createTestStep(plugin, 'transform', { query: 'SELECT 1' }, { id: 'enrich' })).rejects.toThrow(
      'enrich: the sql transform needs connection: (a duckdb or postgres connection)',
    );
  });

  it('keeps its output in DuckDB for the steps after, from records or from a batch table, with the same rows and rejects', async () => {
    const config = {
      query: 'SELECT id, amount * $1 AS cents, note FROM input ORDER BY id DESC',
      params: [100],
      rejectWhere: 'amount <= 0',
      rejectReason: "'amount must be > 0, got ' || amount",
    };
    const step = await createTestStep<SqlTransform>(plugin, 'transform', config, warehouse);
    const db = await step.services.connections.get<DuckDbClient>('warehouse');
    const records = [
      { id: 1, amount: 2.5, note: 'a' },
      { id: 2, amount: -1, note: 'b' },
      { id: 3, amount: 4, note: null },
    ];
    const expected = await step.plugin.process(records, step.context());
    expect(expected).toEqual([
      { id: 3, cents: 400, note: null },
      { id: 1, cents: 250, note: 'a' },
    ]);
    const fromRecords = await step.plugin.processInDuckDb(records, step.context());
    const table = await db.session(async (connection) => {
      await loadTempTable(connection, '_test_rows', records);
      return residentRows(db, connection, 'SELECT * FROM temp._test_rows');
    });
    const fromTable = await step.plugin.processInDuckDb(table, step.context());
    for (const out of [fromRecords, fromTable]) {
      expect(out).toBeInstanceOf(DuckDbRows);
      expect(await (out as DuckDbRows).toRecords()).toEqual(expected);
    }
    expect(step.rejects.map((r) => [r.record, r.reasons])).toEqual(
      Array(3).fill([{ id: 2, amount: -1, note: 'b' }, ['amount must be > 0, got -1.0']]),
    );
    // A batch table of another DuckDB is not this step's to read: the runtime hands over records instead.
    const other = await DuckDbClient.open(':memory:');
    const elsewhere = await other.session((connection) =>
      residentRows(other, connection, 'SELECT 1 AS id, 1.0 AS amount'),
    );
    expect(await step.plugin.processInDuckDb(elsewhere, step.context())).toBeUndefined();
    other.close();
    await step.close();
  });
});
