import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDbClient } from '../connections/duckdb/client.ts';
import { recordsOf, type Reject, type Row } from '../core/sdk/index.ts';
import { readRecords, type ReadOptions } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'csv-'));
const db = await DuckDbClient.open(':memory:');
afterAll(() => db.close());

/** Every record (with its origin) and reject of a file, read as records and, with `db`, as batches held in DuckDB. */
async function readAll(file: string, options: ReadOptions = {}, inDuckDb = false, batchBytes?: number) {
  const records: Row[] = [];
  const origins: (string | undefined)[] = [];
  const rejects: Reject[] = [];
  for await (const batch of inDuckDb
    ? readRecords(db, file, { ...options, inDuckDb, batchBytes })
    : readRecords(file, options)) {
    const rows = await recordsOf(batch.records);
    rows.forEach((row, i) => origins.push(batch.origin?.(i)));
    records.push(...rows);
    rejects.push(...batch.rejects);
    if (!Array.isArray(batch.records)) await batch.records.release();
  }
  return { records, origins, rejects };
}

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

// The third path cuts each file into slices of about 4 KB, each loaded on its own: the same records, lines and rejects.
const paths = [
  ['records', false, undefined],
  ['batches held in DuckDB', true, undefined],
  ['batches held in DuckDB, slices of 4 KB', true, 4096],
] as const;

describe.each(paths)('CSV in a named dialect (%s)', (_, inDuckDb, batchBytes) => {
  const read = (file: string, options: ReadOptions = {}, held = false) => readAll(file, options, held, batchBytes);
  it('rejects only the line with an unterminated quote among 50,000 good ones; the line it swallowed is read again', async () => {
    const lines = ['id,amount,name,status'];
    for (let i = 1; i <= 50_000; i++)
      lines.push(i === 100 ? `${i},1.5,"Smith, John ${i},ok` : `${i},1.5,"Smith, John ${i}",ok`);
    const file = write(`quotes-${inDuckDb}.csv`, lines.join('\n') + '\n');
    const { records, origins, rejects } = await read(file, {}, inDuckDb);
    expect(rejects).toEqual([
      {
        record: '100,1.5,"Smith, John 100,ok',
        reasons: [
          'Value with unterminated quote found (quote "): the line is rejected, the 1 line(s) after it are read again',
        ],
        origin: `${file}:101`,
      },
    ]);
    expect(records).toHaveLength(49_999);
    const byId = new Map(records.map((r, i) => [r.id, { ...r, origin: origins[i] }]));
    expect(byId.get(99)).toEqual({ id: 99, amount: 1.5, name: 'Smith, John 99', status: 'ok', origin: `${file}:100` });
    expect(byId.get(101)).toEqual({
      id: 101,
      amount: 1.5,
      name: 'Smith, John 101',
      status: 'ok',
      origin: `${file}:102`,
    });
    expect(byId.get(50_000)).toEqual({
      id: 50_000,
      amount: 1.5,
      name: 'Smith, John 50000',
      status: 'ok',
      origin: `${file}:50001`,
    });
    expect(byId.has(100)).toBe(false);
  });

  it('reads "" inside quotes as one quote, and takes another quote and escape when configured', async () => {
    const file = write(`inside-${inDuckDb}.csv`, 'id,text\n1,"quote ""inside"""\n2,plain\n');
    expect((await read(file, {}, inDuckDb)).records).toEqual([
      { id: 1, text: 'quote "inside"' },
      { id: 2, text: 'plain' },
    ]);
    const other = write(`single-${inDuckDb}.csv`, "id;text\n1;'it\\'s; fine'\n2;x\n");
    expect((await read(other, { csv: { quote: "'", escape: '\\' } }, inDuckDb)).records).toEqual([
      { id: 1, text: "it's; fine" },
      { id: 2, text: 'x' },
    ]);
  });

  it('rejects a line above the size limit only (a 20 MB field on line 2), whatever the limit is set to', async () => {
    const big = 'x'.repeat(20 << 20);
    const file = write(`huge-${inDuckDb}.csv`, `id,name\n1,"${big}"\n2,b\n3,c\n`);
    const { records, origins, rejects } = await read(file, {}, inDuckDb);
    expect(records).toEqual([
      { id: 2, name: 'b' },
      { id: 3, name: 'c' },
    ]);
    expect(origins).toEqual([`${file}:3`, `${file}:4`]);
    expect(rejects.map((r) => [r.origin, r.reasons])).toEqual([
      [`${file}:2`, [`Maximum line size of ${8 << 20} bytes exceeded. Actual Size:${(20 << 20) + 4} bytes.`]],
    ]);
    const small = write(`small-${inDuckDb}.csv`, `id,name\n1,${'y'.repeat(2000)}\n2,b\n`);
    const limited = await read(small, { csv: { maxLineBytes: 1000 } }, inDuckDb);
    expect([limited.records, limited.rejects.map((r) => r.origin)]).toEqual([[{ id: 2, name: 'b' }], [`${small}:2`]]);
  });

  it("recovers the lines an unterminated quote swallows after the sniffer's sample, and numbers every line as the file does", async () => {
    const lines = ['id,v'];
    for (let i = 1; i <= 30_000; i++)
      lines.push(i === 25_000 ? `${i},"open` : i === 27_000 ? `${i},oops` : `${i},${i}`);
    const file = write(`late-${inDuckDb}.csv`, lines.join('\n') + '\n');
    const { records, origins, rejects } = await read(file, {}, inDuckDb);
    expect(rejects.map((r) => [r.origin, r.record])).toEqual([
      [`${file}:25001`, '25000,"open'],
      [`${file}:27001`, '27000,oops'],
    ]);
    expect(records).toHaveLength(29_998);
    const at = new Map(records.map((r, i) => [r.id, origins[i]]));
    expect([at.get(24_999), at.get(25_001), at.get(26_999), at.get(27_001), at.get(30_000)]).toEqual([
      `${file}:25000`,
      `${file}:25002`,
      `${file}:27000`,
      `${file}:27002`,
      `${file}:30001`,
    ]);
    expect(records.find((r) => r.id === 25_001)).toEqual({ id: 25_001, v: 25_001 });
  });
});

const read = readAll;

describe('CSV whose first lines defeat the sniffer', () => {
  it('finds the types in the lines that parse: a broken quote on line 3, dates as d/m/Y, a repeated header name', async () => {
    const file = write(
      'sample.csv',
      'id,day,name,name\n1,31/01/2024,a,x\n2,"01/02/2024,b,y\n3,02/02/2024,c,z\n4,03/02/2024,d,w\n',
    );
    const { records, rejects } = await read(file);
    expect(rejects.map((r) => r.origin)).toEqual([`${file}:3`]);
    expect(records).toEqual([
      { id: 1, day: '2024-01-31', name: 'a', name_1: 'x' },
      { id: 3, day: '2024-02-02', name: 'c', name_1: 'z' },
      { id: 4, day: '2024-02-03', name: 'd', name_1: 'w' },
    ]);
  });

  it('reads a headerless file the same way (columns named column0, column1…)', async () => {
    const file = write('headerless.csv', '1,"x\n2,y\n3,z\n');
    const { records, rejects } = await read(file, { csv: { header: false } });
    expect(rejects.map((r) => r.origin)).toEqual([`${file}:1`]);
    expect(records).toEqual([
      { column0: 2, column1: 'y' },
      { column0: 3, column1: 'z' },
    ]);
  });
});

describe('CSV that is not CSV', () => {
  it("turns a binary file into one reject naming DuckDB's reason", async () => {
    const file = join(dir, 'bin.csv');
    writeFileSync(file, Buffer.from([0, 1, 2, 255, 254, 10, 3, 4, 0, 200, 10]));
    const { records, rejects } = await read(file);
    expect(records).toEqual([]);
    expect(rejects).toMatchObject([{ record: { file }, origin: file }]);
  });
});

describe('CSV read in slices of about batchBytes', () => {
  async function sliced(file: string) {
    let batches = 0;
    const out = { records: [] as Row[], origins: [] as (string | undefined)[], rejects: [] as Reject[] };
    for await (const batch of readRecords(db, file, { inDuckDb: true, batchBytes: 2048 })) {
      batches++;
      const rows = await recordsOf(batch.records);
      rows.forEach((row, i) => out.origins.push(batch.origin?.(i)));
      out.records.push(...rows);
      out.rejects.push(...batch.rejects);
      if (!Array.isArray(batch.records)) await batch.records.release();
    }
    return { ...out, batches };
  }

  it.each(['\n', '\r\n'])(
    'cuts only between records (values over line breaks, "" escapes, broken lines; breaks %j): the same records, lines and rejects as one read',
    async (eol) => {
      const lines = ['id,text,n'];
      for (let i = 1; i <= 3000; i++) {
        if (i === 1500 && eol === '\n') lines.push(`${i},"never closed,${i}`);
        else if (i === 2500) lines.push(`${i},too,many,${i}`);
        else if (i % 7 === 0) lines.push(`${i},"two${eol}lines ${i}",${i}`);
        else if (i % 11 === 0) lines.push(`${i},"say ""hi"" ${i}",${i}`);
        else lines.push(`${i},plain ${i},${i}`);
      }
      const file = write(`slices-${eol.length}.csv`, lines.join(eol) + eol);
      const whole = await readAll(file, {}, true);
      const parts = await sliced(file);
      expect(parts.batches).toBeGreaterThan(20);
      expect(whole.rejects.length).toBeGreaterThan(0);
      expect(parts.rejects).toEqual(whole.rejects);
      // Lines a broken quote swallowed are read again after the rest of their read: their place differs, not their content.
      const byId = (read: { records: Row[]; origins: (string | undefined)[] }) =>
        read.records.map((r, i) => [r, read.origins[i]] as const).sort((a, b) => Number(a[0].id) - Number(b[0].id));
      expect(byId(parts)).toEqual(byId(whole));
      expect(whole.records.length).toBeGreaterThan(2990);
      expect(whole.records.find((r) => r.id === 7)).toEqual({ id: 7, text: `two${eol}lines 7`, n: 7 });
    },
  );
});

describe('CSV read by a DuckDB out of memory', () => {
  it('throws the out-of-memory error (infrastructure: retried, checkpoint held) instead of sending the file to dead-letter as not CSV', async () => {
    const file = write(
      'oom.csv',
      'id,amount\n' + Array.from({ length: 20_000 }, (_, i) => `${i},${i}.5`).join('\n') + '\n',
    );
    const small = await DuckDbClient.open(':memory:', { memory_limit: '1MB' });
    try {
      const rejects: Reject[] = [];
      const reading = (async () => {
        for await (const batch of readRecords(small, file, { inDuckDb: true })) rejects.push(...batch.rejects);
      })();
      await expect(reading).rejects.toThrow(/^Out of Memory Error/);
      expect(rejects).toEqual([]);
      // The same file with memory enough: read whole.
      expect((await readAll(file, {}, true)).records).toHaveLength(20_000);
    } finally {
      small.close();
    }
  });
});
