// Batches held in DuckDB end to end (file → validate → sql → duckdb sink), against the same manifest run with JS
// records: the same table, the same dead letters, and no batch table left behind.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest } from '../manifest/index.ts';
import { createCatalog } from '../../cli/catalog.ts';
import { MemoryLogger } from '../sdk/logger.ts';
import { Pipeline } from './pipeline.ts';
import type { DuckDbClient } from '../../connections/duckdb/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'in-duckdb-'));
const csv = join(dir, 'orders.csv');
// 1,000 orders: every 97th has a negative amount (validate rejects it), line 500 opens a quote it never closes (read_csv
// rejects that line; the lines it swallowed are read again).
writeFileSync(
  csv,
  'id,customer,amount\n' +
    Array.from({ length: 1000 }, (_, i) =>
      i === 498 ? '"broken,line' : `${i},c${i % 7},${i % 97 === 0 ? -1 : ((i * 13) % 500) / 4}`,
    ).join('\n') +
    '\n',
);

// The same orders as JSON lines, some lacking the customer key (required: a missing key fails, a null one passes).
const jsonl = join(dir, 'orders.jsonl');
writeFileSync(
  jsonl,
  Array.from({ length: 1000 }, (_, i) =>
    JSON.stringify(
      i % 50 === 0
        ? { id: i, amount: i % 97 === 0 ? -1 : ((i * 13) % 500) / 4 }
        : { id: i, customer: i % 25 === 5 ? null : `c${i % 7}`, amount: i % 97 === 0 ? -1 : ((i * 13) % 500) / 4 },
    ),
  ).join('\n') + '\n',
);

/** `fileConnection`: the file source names the warehouse; false: it has none and reads records; 'picked': none, and the runtime picks. */
async function run(variant: string, fileConnection: boolean | 'picked', checkStep: string, path = csv, moreSinks = '') {
  const manifest = join(dir, `${variant}.yaml`);
  writeFileSync(
    manifest,
    `name: ${variant}
connections:
  warehouse: { type: duckdb, path: "${join(dir, `${variant}.duckdb`)}", init: ["CREATE TABLE IF NOT EXISTS orders (id BIGINT PRIMARY KEY, customer VARCHAR, cents BIGINT)"] }
sources:
  files: { use: file, ${fileConnection === true ? 'connection: warehouse, ' : ''}with: { path: "${path}", batchSize: 300${fileConnection === false ? ', inDuckDb: false' : ''} } }
transforms:
${checkStep}
  cents: { use: sql, from: checked, connection: warehouse, with: { query: "SELECT id, upper(customer) AS customer, CAST(amount * 100 AS BIGINT) AS cents FROM input" } }
sinks:
  orders: { use: duckdb, from: cents, connection: warehouse, with: { table: orders, mode: upsert, key: [id] } }
${moreSinks}`,
  );
  const catalog = createCatalog();
  const pipeline = new Pipeline(await loadManifest(manifest, catalog), catalog, {
    once: true,
    stateDir: join(dir, `state-${variant}`),
    logger: new MemoryLogger(),
  });
  await pipeline.start();
  expect((await pipeline.run()).ok).toBe(true);
  const db = await pipeline.connections.get<DuckDbClient>('warehouse', 'duckdb');
  const orders = await db.query('SELECT * FROM orders ORDER BY id');
  const leftover = await db.query("SELECT table_name FROM duckdb_tables() WHERE database_name = '_batches'");
  const raw = moreSinks ? await db.query('SELECT * FROM raw ORDER BY id') : [];
  const dead = (await pipeline.deadLetters.list({ limit: 100 })).entries
    .map((e) => [e.step, e.reasons, e.origin ?? null])
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const stats = Object.fromEntries(pipeline.stats().map((s) => [s.id, [s.batchesInDuckDb, s.batches]]));
  await pipeline.stop();
  return { orders, leftover, dead, stats, raw };
}

const validate =
  '  checked: { use: validate, from: files, with: { schema: { type: object, required: [id, amount], properties: { id: { type: integer }, amount: { type: number, minimum: 0 } } } } }';

describe('batches held in DuckDB', () => {
  it('stay in DuckDB from the file to the sink and give what the JS path gives', async () => {
    const inJs = await run('records', false, validate);
    const inDb = await run('tables', true, validate);
    expect(inJs.orders).toHaveLength(999 - 11);
    expect(inDb.orders).toEqual(inJs.orders);
    expect(inDb.dead).toEqual(inJs.dead);
    expect(inDb.dead.filter(([step]) => step === 'checked')).toHaveLength(11);
    expect(inDb.dead.filter(([step]) => step === 'files')).toEqual([
      [
        'files',
        [
          'Value with unterminated quote found (quote "): the line is rejected, the 501 line(s) after it are read again',
        ],
        `${csv}:500`,
      ],
    ]);
    // Every record validate rejected names its line, on both paths (id 0 is on line 2).
    expect(inDb.dead.filter(([step]) => step === 'checked').map(([, , origin]) => origin)).toEqual(
      [0, 97, 194, 291, 388, 485, 582, 679, 776, 873, 970].map((id) => `${csv}:${id + 2}`).sort(),
    );
    // 999 rows in batches of 300: every batch of every step stayed a DuckDB table…
    expect(inDb.stats).toEqual({ files: [4, 4], checked: [4, 4], cents: [4, 4], orders: [4, 4] });
    // …and none was left behind once committed. The JS path read records from the start.
    expect(inDb.leftover).toEqual([]);
    expect(inJs.stats.files).toEqual([0, 4]);
    expect(inJs.stats.orders).toEqual([4, 4]); // sql turns records into a DuckDB table for the sink
  });

  it('reach every step that reads them whole: validate changes in place only a batch no other step reads', async () => {
    // The file's batches go to validate and, unchecked, to a second sink: that one gets every row, rejected ones too.
    const raw = '  raw: { use: duckdb, from: files, connection: warehouse, with: { table: raw, createTable: true } }\n';
    const inJs = await run('fan-out-records', false, validate, csv, raw);
    const inDb = await run('fan-out-tables', 'picked', validate, csv, raw);
    expect(inJs.raw).toHaveLength(999);
    expect(inDb.raw).toEqual(inJs.raw);
    expect(inDb.orders).toEqual(inJs.orders);
    expect(inDb.orders).toHaveLength(999 - 11);
    expect(inDb.dead).toEqual(inJs.dead);
    expect(inDb.stats.raw).toEqual([4, 4]);
    expect(inDb.leftover).toEqual([]);
  });

  it('are held in the DuckDB of the steps after a file source that names no connection', async () => {
    const picked = await run('picked', 'picked', validate);
    const named = await run('named', true, validate);
    expect(picked.orders).toEqual(named.orders);
    expect(picked.dead).toEqual(named.dead);
    expect(picked.stats).toEqual({ files: [4, 4], checked: [4, 4], cents: [4, 4], orders: [4, 4] });
    expect(picked.leftover).toEqual([]);
  });

  it('hold JSON lines too, judging a key a line lacks as missing (not as null)', async () => {
    const required =
      '  checked: { use: validate, from: files, with: { schema: { type: object, required: [id, customer, amount], properties: { amount: { type: number, minimum: 0 } } } } }';
    const inJs = await run('json-records', false, required, jsonl);
    const inDb = await run('json-tables', 'picked', required, jsonl);
    expect(inDb.orders).toEqual(inJs.orders);
    expect(inDb.dead).toEqual(inJs.dead);
    // 20 lines without customer, 11 negative amounts (id 0 is both); the 40 null customers pass.
    expect(inJs.dead).toHaveLength(30);
    expect(inDb.dead.filter(([, reasons]) => (reasons as string[]).some((r) => /customer/.test(r)))).toHaveLength(20);
    expect(inDb.stats.files).toEqual([4, 4]);
    expect(inDb.leftover).toEqual([]);
  });

  it('turns a batch into records for a step that needs them, and back into a table after sql', async () => {
    const jsOnly =
      '  checked: { use: validate, from: files, with: { schema: { type: object, properties: { customer: { type: string, pattern: "^c[0-6]$" }, amount: { type: number, minimum: 0 } } } } }';
    const inJs = await run('records-pattern', false, jsOnly);
    const mixed = await run('tables-pattern', true, jsOnly);
    expect(mixed.orders).toEqual(inJs.orders);
    expect(mixed.dead).toEqual(inJs.dead);
    expect(mixed.stats).toEqual({ files: [4, 4], checked: [0, 4], cents: [0, 4], orders: [4, 4] });
    expect(mixed.leftover).toEqual([]);
  });
});
