// JSON lines read by DuckDB into batch tables, slice by slice, against the JS parser on the same files: the same
// records (a key a line lacks absent, not null), lines and rejects; the tables hold every key of every line.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDbClient } from '../connections/duckdb/client.ts';
import type { DuckDbRows } from '../connections/duckdb/rows.ts';
import { recordsOf, type Reject, type Row } from '../core/sdk/index.ts';
import { readRecords } from './index.ts';
import { JsonTexts } from './jsonl.ts';

const dir = mkdtempSync(join(tmpdir(), 'jsonl-'));
const db = await DuckDbClient.open(':memory:');
afterAll(() => db.close());

async function read(file: string, held: boolean) {
  const out = {
    records: [] as Row[],
    origins: [] as (string | undefined)[],
    rejects: [] as Reject[],
    tables: [] as Row[],
    held: 0,
    batches: 0,
  };
  for await (const batch of held
    ? readRecords(db, file, { inDuckDb: true, batchBytes: 4096, addColumns: { source: 'x.jsonl' } })
    : readRecords(file, { addColumns: { source: 'x.jsonl' } })) {
    out.batches++;
    const rows = await recordsOf(batch.records);
    rows.forEach((row, i) => out.origins.push(batch.origin?.(i)));
    out.records.push(...rows);
    out.rejects.push(...batch.rejects);
    if (!Array.isArray(batch.records)) {
      out.held++;
      out.tables.push(...(await db.query(`SELECT * FROM ${(batch.records as DuckDbRows).table} ORDER BY rowid`)));
      await batch.records.release();
    } else out.tables.push(...batch.records);
  }
  return out;
}

describe('JSON lines read by DuckDB in slices', () => {
  it('gives the records, lines and rejects the JS parser gives: keys some lines lack, a key first seen late, a blank line, broken lines', async () => {
    const lines: string[] = [];
    for (let i = 1; i <= 3000; i++) {
      if (i === 1200) lines.push('');
      else if (i === 2000) lines.push('[1, 2]');
      else if (i === 2500) lines.push('{"id": 2500, "name": ');
      else if (i === 2900) lines.push(JSON.stringify({ id: i, name: `n${i}`, amount: i / 4, note: 'late key' }));
      else
        lines.push(
          JSON.stringify(
            i % 10 === 0
              ? { id: i, name: `n${i}` }
              : { id: i, name: `n${i}`, amount: i / 4, at: '2024-01-01 00:00:00' },
          ),
        );
    }
    const file = join(dir, 'mixed.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const js = await read(file, false);
    const held = await read(file, true);
    expect(held.batches).toBeGreaterThan(20);
    expect(held.held).toBeGreaterThan(held.batches - 4); // the slices with the blank and the broken lines go to the JS parser
    expect(held.records).toEqual(js.records);
    expect(held.origins).toEqual(js.origins);
    expect(held.rejects.map((r) => r.origin)).toEqual(js.rejects.map((r) => r.origin));
    expect(js.rejects.map((r) => r.origin)).toEqual([`${file}:2000`, `${file}:2500`]);
    expect(held.records.find((r) => r.id === 10)).toEqual({ id: 10, name: 'n10', source: 'x.jsonl' }); // no amount, no at: absent
    // The tables hold every key (NULL where a line lacks it), dates detected in strings stay text.
    const row = (id: number) => held.tables.find((r) => r.id === id);
    expect(row(10)).toMatchObject({ id: 10, name: 'n10', amount: null, source: 'x.jsonl' });
    expect(row(11)).toMatchObject({ id: 11, amount: 2.75, at: '2024-01-01 00:00:00' });
    expect(row(2900)).toMatchObject({ id: 2900, note: 'late key' });
  });

  it('reads nested values with the JS parser (from the first slice that has them on)', async () => {
    const file = join(dir, 'nested.jsonl');
    writeFileSync(
      file,
      Array.from({ length: 400 }, (_, i) => JSON.stringify(i < 200 ? { id: i } : { id: i, tags: { a: i } })).join(
        '\n',
      ) + '\n',
    );
    const js = await read(file, false);
    const held = await read(file, true);
    expect(held.records).toEqual(js.records);
    expect(held.origins).toEqual(js.origins);
    expect(held.records[300]).toEqual({ id: 300, tags: { a: 300 }, source: 'x.jsonl' });
  });
});

describe('JsonTexts (a Kafka batch of JSON objects)', () => {
  const objects = [
    { id: 1, ts: '2024-05-01T10:00:00.000Z', day: '2024-05-01', at: '10:00:00', amount: 1.5, ok: true, name: 'a' },
    { id: 2, ts: '2024-05-01T10:00:01.000Z', day: '2024-05-02', at: '11:00:00', amount: 2, ok: false, extra: 'x' },
    { id: 3, ts: null, amount: -0.25, name: 'c\nd' },
  ];
  // As a source hands them on: bytes as they came, one pretty-printed (line breaks between tokens), one a string.
  const texts = () =>
    new JsonTexts([
      Buffer.from(JSON.stringify(objects[0])),
      Buffer.from(JSON.stringify(objects[1], null, 2)),
      JSON.stringify(objects[2]),
    ]);

  it('become a batch table of every key, typed as JSON.parse gives them (dates and times stay text), in order', async () => {
    const rows = texts();
    rows.origin = (index) => `t/0@${index + 10}`;
    const table = await db.session((c) => rows.inDuckDb(db, c));
    expect(table).toBeDefined();
    expect(table!.count).toBe(3);
    const columns = await db.session((c) => table!.columns(c));
    expect(Object.fromEntries(columns.map((c) => [c.name, c.type]))).toEqual({
      id: 'BIGINT',
      ts: 'VARCHAR',
      day: 'VARCHAR',
      at: 'VARCHAR',
      amount: 'DOUBLE',
      ok: 'BOOLEAN',
      name: 'VARCHAR',
      extra: 'VARCHAR',
    });
    expect(await db.query(`SELECT id, ts, "at", amount, name, extra FROM ${table!.table} ORDER BY rowid`)).toEqual([
      { id: 1, ts: objects[0].ts, at: '10:00:00', amount: 1.5, name: 'a', extra: null },
      { id: 2, ts: objects[1].ts, at: '11:00:00', amount: 2, name: null, extra: 'x' },
      { id: 3, ts: null, at: null, amount: -0.25, name: 'c\nd', extra: null },
    ]);
    // The records are JSON.parse's (a key a text lacks is absent), the origins the source's; made once per database.
    expect(await table!.toRecords()).toEqual(objects);
    expect(await rows.toRecords()).toEqual(objects);
    expect(await rows.tail(1)).toEqual([objects[2]]);
    expect(table!.origin?.(2)).toBe('t/0@12');
    expect(await db.session((c) => rows.inDuckDb(db, c))).toBe(table);
    await rows.release();
    await expect(db.query(`SELECT count(*) FROM ${table!.table}`)).rejects.toThrow(/does not exist/);
  });

  it('are left to JSON.parse where DuckDB would read them otherwise: nested or mixed values, only nulls, no keys', async () => {
    for (const values of [[{ a: { b: 1 } }], [{ a: 1 }, { a: 'x' }], [{ a: [1] }], [{ a: null }], [{}]]) {
      const rows = new JsonTexts(values.map((v) => Buffer.from(JSON.stringify(v))));
      expect(await db.session((c) => rows.inDuckDb(db, c))).toBeUndefined();
      expect(await rows.toRecords()).toEqual(values);
      await rows.release();
    }
  });
});
