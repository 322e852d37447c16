// The poison corpus of issue 14: every kind of input that used to stop a source, in one folder read by one small
// manifest (file → validate → sql → duckdb upsert), on the JS records path and on the DuckDB-held path. Each poison
// lands in dead-letter with a clear reason and its origin; every good row around it lands, exactly.
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifest } from '../core/manifest/index.ts';
import { Pipeline } from '../core/runtime/pipeline.ts';
import { MemoryLogger } from '../core/sdk/logger.ts';
import type { DuckDbClient } from '../connections/duckdb/index.ts';
import { createCatalog } from '../cli/catalog.ts';

const dir = mkdtempSync(join(tmpdir(), 'poison-'));
const data = join(dir, 'in');
const runs: Pipeline[] = [];
afterAll(async () => {
  for (const pipeline of runs) await pipeline.stop();
});

/** The rows that must land: id → [name, amount]. Every file contributes some; every poison sits among them. */
const expected = new Map<number, [string, number]>();
const good = (id: number, name: string, amount: number) => {
  expected.set(id, [name, amount]);
  return { id, name, amount };
};

/** JSON text nested `levels` deep (JSON.stringify itself overflows the stack on such a value). */
function deep(levels: number): string {
  return `${'{"a":'.repeat(levels)}"bottom"${'}'.repeat(levels)}`;
}

async function corpus(): Promise<void> {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(data, { recursive: true });
  // 1. A JSON line nested 10,000 deep between good lines (overflowed the stack while loading the batch into DuckDB).
  writeFileSync(
    join(data, 'a-deep.jsonl'),
    [
      JSON.stringify(good(1, 'ann', 1.5)),
      `{"id":2,"name":"deep","amount":2,"note":${deep(10_000)}}`,
      JSON.stringify(good(3, 'bob', 3)),
    ].join('\n') + '\n',
  );
  // 2. The next file, all good (never loaded when the deep line stopped the source).
  writeFileSync(
    join(data, 'b-good.jsonl'),
    [good(4, 'cy', 4), good(5, 'di', 5)].map((r) => JSON.stringify(r)).join('\n') + '\n',
  );
  // 3. CSV: 5,000 rows with commas in quoted names, one unterminated quote at line 101, one "quote ""inside""".
  const lines = ['id,name,amount,status'];
  for (let i = 0; i < 5000; i++) {
    const id = 1000 + i;
    if (i === 99) lines.push(`${id},"Smith, John ${id},1.5,ok`);
    else if (i === 10) lines.push(`${id},"quote ""inside""",${good(id, 'quote "inside"', 2.5).amount},ok`);
    else lines.push(`${id},"Smith, John ${id}",${good(id, `Smith, John ${id}`, 1.5).amount},ok`);
  }
  writeFileSync(join(data, 'c-quotes.csv'), lines.join('\n') + '\n');
  // 4. CSV with a 20 MB field on line 2 (the whole file used to be one reject).
  writeFileSync(
    join(data, 'd-huge-field.csv'),
    `id,name,amount\n20,"${'x'.repeat(20 << 20)}",1\n21,eve,${good(21, 'eve', 21).amount}\n22,fay,${good(22, 'fay', 22).amount}\n`,
  );
  // 5. Prototype keys: row 30 must not read toString/constructor from Object.prototype.
  writeFileSync(
    join(data, 'e-proto.jsonl'),
    [
      good(30, 'gus', 30),
      { ...good(31, 'hal', 31), toString: 'x', constructor: 'y', valueOf: 'z', hasOwnProperty: 'w' },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  // 6. A workbook without the configured sheet, next to one with it.
  const missing = new ExcelJS.Workbook();
  missing.addWorksheet('Other').addRows([
    ['id', 'name', 'amount'],
    [40, 'ivy', 40],
  ]);
  await missing.xlsx.writeFile(join(data, 'f-no-sheet.xlsx'));
  const book = new ExcelJS.Workbook();
  book.addWorksheet('Sales').addRows([
    ['id', 'name', 'amount'],
    [41, 'jo', good(41, 'jo', 41).amount],
    [42, 'kim', good(42, 'kim', 42).amount],
  ]);
  await book.xlsx.writeFile(join(data, 'g-sheet.xlsx'));
  // 7. A 572 MB .json document (sparse: nothing is read, its size decides).
  writeFileSync(join(data, 'h-oversized.json'), '');
  truncateSync(join(data, 'h-oversized.json'), 572 * 2 ** 20);
  // 8. A shape the sql step does not expect: no amount column (DuckDB Binder Error), then a good file after it.
  writeFileSync(join(data, 'i-shape.csv'), 'id,name,total\n50,lee,5\n51,max,6\n');
  writeFileSync(
    join(data, 'j-good.csv'),
    `id,name,amount\n60,ned,${good(60, 'ned', 60).amount}\n61,oz,${good(61, 'oz', 61).amount}\n`,
  );
}

async function run(variant: 'records' | 'in-duckdb') {
  const manifest = join(dir, `${variant}.yaml`);
  writeFileSync(
    manifest,
    `name: poison-${variant}
connections:
  warehouse:
    type: duckdb
    path: "${join(dir, `${variant}.duckdb`)}"
    init: ["CREATE TABLE IF NOT EXISTS sales (id BIGINT PRIMARY KEY, name VARCHAR, amount DOUBLE, cents BIGINT, note VARCHAR, \\"toString\\" VARCHAR, \\"constructor\\" VARCHAR)"]
sources:
  files:
    use: file
    ${variant === 'in-duckdb' ? 'connection: warehouse' : ''}
    with: { path: "${data}/*", xlsx: { sheet: Sales }${variant === 'records' ? ', inDuckDb: false' : ''} }
transforms:
  checked:
    use: validate
    from: files
    with: { schema: { type: object, required: [id, name], properties: { id: { type: integer } } } }
  priced:
    use: sql
    from: checked
    connection: warehouse
    with: { query: "SELECT *, CAST(amount * 100 AS BIGINT) AS cents FROM input" }
sinks:
  sales:
    use: duckdb
    from: priced
    connection: warehouse
    with: { table: sales, mode: upsert, key: [id] }
`,
  );
  const catalog = createCatalog();
  const logs: string[] = [];
  const pipeline = new Pipeline(await loadManifest(manifest, catalog), catalog, {
    once: true,
    stateDir: join(dir, `state-${variant}`),
    logger: new MemoryLogger(logs),
  });
  runs.push(pipeline);
  await pipeline.start();
  const { ok } = await pipeline.run();
  const db = await pipeline.connections.get<DuckDbClient>('warehouse', 'duckdb');
  const rows = await db.query('SELECT id, name, amount, cents, note, "toString", "constructor" FROM sales ORDER BY id');
  const dead = (await pipeline.deadLetters.list({ limit: 1000 })).entries;
  return { ok, rows, dead, logs, stats: Object.fromEntries(pipeline.stats().map((s) => [s.id, s])) };
}

describe('poison corpus: no input stops the pipeline', () => {
  const results: Record<string, Awaited<ReturnType<typeof run>>> = {};
  it('builds the corpus', async () => {
    await corpus();
  });

  describe.each(['records', 'in-duckdb'] as const)('%s', (variant) => {
    it('lands every good row, exactly, and nothing else', async () => {
      const result = (results[variant] = await run(variant));
      expect(result.ok, result.logs.join('\n')).toBe(true);
      expect(result.rows.map((r) => r.id)).toEqual([...expected.keys()].sort((a, b) => a - b));
      for (const row of result.rows) {
        const [name, amount] = expected.get(row.id as number)!;
        expect([row.name, row.amount, row.cents]).toEqual([name, amount, Math.trunc(amount * 100)]);
      }
      // a-deep 2, b-good 2, c-quotes 4,999, d-huge-field 2, e-proto 2, g-sheet 2, j-good 2.
      expect(result.rows).toHaveLength(2 + 2 + 4999 + 2 + 2 + 2 + 2);
    });

    it('keeps records plain data: a field one record has never reads as a function in another', async () => {
      const { rows } = results[variant];
      expect(rows.find((r) => r.id === 30)).toMatchObject({ toString: null, constructor: null });
      expect(rows.find((r) => r.id === 31)).toMatchObject({ toString: 'x', constructor: 'y' });
    });

    it('puts each poison in dead-letter once, with a clear reason and its origin', async () => {
      const { dead } = results[variant];
      const at = (file: string) => join(data, file);
      const summary = dead.map((e) => ({ step: e.step, origin: e.origin, reason: e.reasons.join(' | ') }));
      const expectedPoison = [
        {
          step: 'priced',
          origin: `${at('a-deep.jsonl')}:2`,
          reason: expect.stringMatching(/^note: the value cannot be stored \(nested too deeply to store\)$/),
        },
        {
          step: 'files',
          origin: `${at('c-quotes.csv')}:101`,
          reason: expect.stringMatching(/^Value with unterminated quote found \(quote "\)/),
        },
        {
          step: 'files',
          origin: `${at('d-huge-field.csv')}:2`,
          reason: expect.stringMatching(/^Maximum line size of 8388608 bytes exceeded/),
        },
        { step: 'files', origin: at('f-no-sheet.xlsx'), reason: 'no sheet "Sales" in the workbook (sheets: Other)' },
        {
          step: 'files',
          origin: at('h-oversized.json'),
          reason: expect.stringMatching(/^572 MB is more than one JSON document can be .*write it as JSON lines/),
        },
        {
          step: 'priced',
          origin: `${at('i-shape.csv')}:2`,
          reason: expect.stringMatching(/priced: Binder Error: Referenced column "amount" not found/),
        },
        {
          step: 'priced',
          origin: `${at('i-shape.csv')}:3`,
          reason: expect.stringMatching(/priced: Binder Error: Referenced column "amount" not found/),
        },
      ];
      expect(summary.sort((a, b) => `${a.origin}`.localeCompare(`${b.origin}`))).toEqual(expectedPoison);
    });

    it('counts what it did in this run, step by step', async () => {
      const { stats } = results[variant];
      // Rejected by the source: the unterminated quote, the huge line, the missing sheet, the oversized document.
      expect(stats.files.run.rejected).toBe(4);
      expect(stats.priced.run.rejected).toBe(3);
      expect(stats.sales.recordsOut).toBe(2 + 2 + 4999 + 2 + 2 + 2 + 2);
      expect(stats.sales.run.rejected).toBe(0);
    });
  });

  it('gives the same table and the same dead letters on both paths', () => {
    expect(results['in-duckdb'].rows).toEqual(results.records.rows);
    const key = (r: { step: string; origin?: string; reasons: string[] }) =>
      `${r.step} ${r.origin} ${r.reasons.join('|')}`;
    expect(results['in-duckdb'].dead.map(key).sort()).toEqual(results.records.dead.map(key).sort());
  });
});
