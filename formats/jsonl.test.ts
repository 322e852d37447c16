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
