import { describe, expect, it } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import { DuckDbClient, residentRows, type DuckDbRows } from '../../../connections/duckdb/index.ts';
import type { JSONSchema, Reject, Row } from '../../../core/sdk/index.ts';
import plugin, { type Validate } from './index.ts';
import { certainlyValid } from './in-duckdb.ts';

// Edge cases a batch table can hold: NULLs, integers beyond 2^53, NaN and infinities, fractions in a DOUBLE,
// negative and zero amounts, timestamps, decimals, text that is no number.
const TABLE = `SELECT * FROM (VALUES
  (1, 10.5, 'a', TIMESTAMP '2024-01-01 10:00:00', 1.50::DECIMAL(6,2), 'ok', true),
  (2, -1.0, 'b', TIMESTAMP '2024-01-02 10:00:00', 2.25::DECIMAL(6,2), 'ok', false),
  (NULL, 3.0, 'c', NULL, NULL, NULL, NULL),
  (9007199254740993, 'NaN'::DOUBLE, NULL, TIMESTAMP '2024-01-04 10:00:00', 0.00::DECIMAL(6,2), 'no', true),
  (5, 'inf'::DOUBLE, 'e', TIMESTAMP '2024-01-05 10:00:00', 3.00::DECIMAL(6,2), 'ok', NULL),
  (6, 0.0, 'f', TIMESTAMP '2024-01-06 10:00:00', 4.10::DECIMAL(6,2), 'maybe', true),
  (7, 7.0, 'g', TIMESTAMP '2024-01-07 10:00:00', 5.00::DECIMAL(6,2), 'ok', true)
) t(id, amount, customer, ts, price, status, flag)`;

const SCHEMAS: Record<string, JSONSchema> = {
  'required and bounds': {
    type: 'object',
    required: ['id', 'amount'],
    properties: { id: { type: 'integer' }, amount: { type: 'number', minimum: 0 } },
  },
  'exclusive bounds, nullable, enum, format': {
    type: 'object',
    properties: {
      amount: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 100 },
      customer: { type: ['string', 'null'] },
      status: { type: 'string', enum: ['ok', 'no'] },
      ts: { type: 'string', format: 'date-time' },
      price: { type: 'number', maximum: 4 },
      flag: { type: ['boolean', 'null'] },
    },
  },
  'integer on a fraction column, const': {
    type: 'object',
    properties: { amount: { type: 'integer' }, status: { type: 'string', const: 'ok' } },
  },
  'a column that is missing is required': { type: 'object', required: ['id', 'nope'] },
  'no extra columns': { type: 'object', additionalProperties: false, properties: { id: { type: 'integer' } } },
  'a wrong type': { type: 'object', properties: { customer: { type: 'number' } } },
};

async function judge(schema: JSONSchema, coerce = false, exclusive = false) {
  const db = await DuckDbClient.open(':memory:');
  const rows = await db.session((connection) => residentRows(db, connection, TABLE));
  const records = await rows.toRecords();
  const inJs = await createTestStep<Validate>(plugin, 'transform', { schema, coerce });
  const expected = {
    output: inJs.plugin.process(
      records.map((r) => ({ ...r })),
      inJs.context(),
    ),
    rejects: inJs.rejects,
  };
  const inDb = await createTestStep<Validate>(plugin, 'transform', { schema, coerce });
  const result = await inDb.plugin.processInDuckDb(rows, { ...inDb.context(), exclusive });
  const actual =
    result === undefined
      ? undefined
      : { output: Array.isArray(result) ? result : await result.toRecords(), rejects: inDb.rejects as Reject[] };
  return { db, rows, result, expected, actual };
}

describe('validate on a batch held in DuckDB', () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    it(`gives the same output and rejects (with ajv's reasons) as the JS path: ${name}`, async () => {
      const { db, actual, expected, result, rows } = await judge(schema);
      expect(actual).toEqual(expected);
      // The batch stays in DuckDB: the same table when nothing was rejected, else a new one without the rejects.
      expect(Array.isArray(result)).toBe(false);
      expect(result === rows).toBe(expected.rejects.length === 0);
      db.close();
    });
  }

  it('lets DuckDB vouch only for rows ajv accepts: NULLs, unsafe integers, NaN and infinities are left to ajv', () => {
    const columns = [
      { name: 'id', type: 'BIGINT' },
      { name: 'amount', type: 'DOUBLE' },
      { name: 'ts', type: 'TIMESTAMP' },
    ];
    const condition = certainlyValid(
      {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          amount: { type: 'number', minimum: 0 },
          ts: { type: 'string', format: 'date-time' },
        },
      },
      columns,
    );
    expect(condition).toContain('"id" IS NOT NULL AND ("id" BETWEEN -9007199254740991 AND 9007199254740991)');
    expect(condition).toContain('isfinite(CAST("amount" AS DOUBLE))');
    expect(condition).toContain('isfinite("ts")');
  });

  it('leaves the batch to the JS path when the schema says what DuckDB cannot check, or when coercion changes a record', async () => {
    for (const schema of [
      { type: 'object', properties: { customer: { type: 'string', pattern: '^[a-z]$' } } },
      { type: 'object', properties: { customer: { type: 'string', minLength: 1 } } },
      { type: 'object', anyOf: [{ required: ['id'] }] },
    ]) {
      const { db, result } = await judge(schema);
      expect(result).toBeUndefined();
      db.close();
    }
    // With coerce, an integer column declared a string is converted: those records cannot stay in the table.
    const { db, result, expected } = await judge({ type: 'object', properties: { id: { type: 'string' } } }, true);
    expect(result).toBeUndefined();
    expect(expected.output.find((r) => r.id === '1')).toBeTruthy();
    db.close();
  });

  for (const [name, schema] of Object.entries(SCHEMAS)) {
    it(`a batch it has alone loses its rejected rows in place, with the same output and rejects: ${name}`, async () => {
      const { db, actual, expected, result, rows } = await judge(schema, false, true);
      expect(actual).toEqual(expected);
      // The same table (no copy), the rows left keep their rowids: the origins of the source's rows still apply.
      const held = result as DuckDbRows;
      expect(held.table).toBe(rows.table);
      expect(held.count).toBe(expected.output.length);
      const left = await db.query(`SELECT rowid AS r FROM ${rows.table}`);
      expect(left.length).toBe(expected.output.length);
      db.close();
    });
  }

  it('a batch it had alone and deleted rows from gives its exact records by the rowids left (JSON lines)', async () => {
    const db = await DuckDbClient.open(':memory:');
    const rows = await db.session((connection) => residentRows(db, connection, TABLE));
    // As a JSON lines source's batch: records by rowid as the file has them (here with their line), origins by rowid.
    const lines = await db.query(`SELECT * FROM ${rows.table} ORDER BY rowid`);
    rows.exact = (rowids) => rowids.map((rowid) => ({ ...lines[rowid], line: rowid + 1 }));
    rows.origin = (rowid) => `in.jsonl:${rowid + 1}`;
    const step = await createTestStep<Validate>(plugin, 'transform', { schema: SCHEMAS['required and bounds'] });
    const result = (await step.plugin.processInDuckDb(rows, { ...step.context(), exclusive: true })) as DuckDbRows;
    expect(step.rejects.map((r) => r.origin)).toEqual(['in.jsonl:2', 'in.jsonl:3', 'in.jsonl:4']);
    expect((await result.toRecords()).map((r) => r.line)).toEqual([1, 5, 6, 7]);
    expect(result.origin?.(4)).toBe('in.jsonl:5');
    db.close();
  });

  it('rejects with the record as JS sees it and keeps the order of the rest', async () => {
    const { db, result, actual } = await judge(SCHEMAS['required and bounds']);
    expect(actual!.rejects.map((r) => [(r.record as Row).customer, r.reasons])).toEqual([
      ['b', ['amount: must be >= 0']],
      ['c', ['id: must be integer']],
      [null, ['id: must be integer', 'amount: must be >= 0']], // 2^53 + 2 reaches JS as text; NaN is not >= 0
    ]);
    // Infinity is a number to ajv: held back by DuckDB (not finite), then accepted.
    expect((await (result as DuckDbRows).toRecords()).map((r) => r.id)).toEqual([1, 5, 6, 7]);
    db.close();
  });
});
