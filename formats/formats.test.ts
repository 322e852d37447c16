import { mkdtempSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import JSZip from 'jszip';
import { describe, expect, it } from 'vitest';
import { DuckDbClient, loadTempTable, materializedRows } from '../connections/duckdb/client.ts';
import type { DuckDbRows } from '../connections/duckdb/rows.ts';
import { formatOf, listSheets, readRecords, type ReadOptions } from './index.ts';
import { recordsOf, type Reject, type Row } from '../core/sdk/index.ts';
import { writeRows } from './write.ts';

function folder() {
  return mkdtempSync(join(tmpdir(), 'formats-'));
}

async function batches(
  path: string,
  options?: ReadOptions,
  db?: DuckDbClient,
): Promise<{ records: Row[]; rejects: Reject[]; origin?: (index: number) => string | undefined }[]> {
  const out = [];
  for await (const batch of db ? readRecords(db, path, options) : readRecords(path, options))
    out.push({ records: await recordsOf(batch.records), rejects: batch.rejects, origin: batch.origin });
  return out;
}

async function all(path: string, options?: ReadOptions) {
  const out = await batches(path, options);
  return { records: out.flatMap((b) => b.records), rejects: out.flatMap((b) => b.rejects) };
}

describe('readRecords: CSV', () => {
  it('detects types; a corrupt line becomes a reject with file:line and every DuckDB reason, the good lines come through', async () => {
    const dir = folder();
    const file = join(dir, 'tx.csv');
    writeFileSync(
      file,
      'id,amount,at\n1,10.5,2024-01-01 10:00:00\n2,oops,2024-01-01 11:00:00\n3,7.25,2024-01-01 12:00:00\n4,1,2,3\n',
    );
    const { records, rejects } = await all(file, { csv: { types: { amount: 'DOUBLE' } } });
    expect(records).toEqual([
      { id: 1, amount: 10.5, at: new Date('2024-01-01T10:00:00Z') },
      { id: 3, amount: 7.25, at: new Date('2024-01-01T12:00:00Z') },
    ]);
    expect(rejects).toEqual([
      {
        record: '2,oops,2024-01-01 11:00:00',
        reasons: ['Error when converting column "amount". Could not convert string "oops" to \'DOUBLE\''],
        origin: `${file}:3`,
      },
      {
        record: '4,1,2,3',
        reasons: [
          'Error when converting column "at". Could not convert string "2" to \'TIMESTAMP\'',
          'Expected Number of Columns: 3 Found: 4',
        ],
        origin: `${file}:5`,
      },
    ]);
  });

  it('takes declared columns, a delimiter and header: false, and labels rejects with the given origin', async () => {
    const file = join(folder(), 'x.txt');
    writeFileSync(file, 'a;1\nb;x\nc;3\n');
    const { records, rejects } = await all(file, {
      csv: { delimiter: ';', header: false, columns: { code: 'VARCHAR', n: 'INTEGER' } },
      origin: 's3://bucket/x.txt',
    });
    expect(records).toEqual([
      { code: 'a', n: 1 },
      { code: 'c', n: 3 },
    ]);
    expect(rejects).toMatchObject([{ record: 'b;x', origin: 's3://bucket/x.txt:2' }]);
    expect(rejects[0].reasons[0]).toContain('Could not convert string "x" to \'INTEGER\'');
  });

  it('streams pages of batchSize, the rejects with the last page', async () => {
    const file = join(folder(), 'n.csv');
    writeFileSync(file, 'n\n' + Array.from({ length: 25 }, (_, i) => (i === 7 ? 'bad' : String(i))).join('\n') + '\n');
    const out = await batches(file, { batchSize: 10, csv: { columns: { n: 'INTEGER' } } });
    expect(out.map((b) => [b.records.length, b.rejects.length])).toEqual([
      [10, 0],
      [10, 0],
      [4, 1],
    ]);
    expect(out.flatMap((b) => b.records.map((r) => r.n))).toEqual(
      Array.from({ length: 25 }, (_, i) => i).filter((i) => i !== 7),
    );
    expect(out[2].rejects[0].origin).toBe(`${file}:9`);
  });

  it('keeps CSV in the DuckDB it is given as batch tables when asked: the same records, batches and rejects', async () => {
    const file = join(folder(), 'n.csv');
    writeFileSync(
      file,
      'n,s\n' + Array.from({ length: 25 }, (_, i) => (i === 7 ? 'bad,x' : `${i},s${i}`)).join('\n') + '\n',
    );
    const db = await DuckDbClient.open(':memory:');
    const options = { batchSize: 10, csv: { columns: { n: 'INTEGER', s: 'VARCHAR' } }, addColumns: { file: 'n.csv' } };
    const raw = [];
    for await (const batch of readRecords(db, file, { ...options, inDuckDb: true })) raw.push(batch);
    expect(raw.map((b) => (Array.isArray(b.records) ? 'records' : b.records.count))).toEqual([10, 10, 4]);
    const resident = await Promise.all(
      raw.map(async (b) => ({ records: await recordsOf(b.records), rejects: b.rejects })),
    );
    expect(resident).toEqual((await batches(file, options, db)).map(({ records, rejects }) => ({ records, rejects })));
    expect(raw.map((b) => b.origin?.(0))).toEqual([`${file}:2`, `${file}:13`, `${file}:23`]);
    expect(resident[0].records[0]).toEqual({ n: 0, s: 's0', file: 'n.csv' });
    expect(resident[2].rejects.map((r) => r.origin)).toEqual([`${file}:9`]);
    // The whole file's table is dropped once it is cut; each batch's table goes with its batch.
    const tables = () => db.query("SELECT table_name FROM duckdb_tables() WHERE database_name = '_batches'");
    expect(await tables()).toHaveLength(3);
    for (const batch of raw) await (batch.records as DuckDbRows).release();
    expect(await tables()).toEqual([]);
    db.close();
  });

  it('parses in the DuckDB it is given', async () => {
    const file = join(folder(), 'a.csv');
    writeFileSync(file, 'k,v\nx,1\n');
    const db = await DuckDbClient.open(':memory:');
    const out: unknown[] = [];
    for await (const batch of readRecords(db, file)) out.push(...(batch.records as Row[]));
    expect(out).toEqual([{ k: 'x', v: 1 }]);
    db.close();
  });
});

describe('readRecords: JSON, Parquet, unreadable files', () => {
  it('reads JSON lines; a line that is not a JSON object is a reject with file:line', async () => {
    const file = join(folder(), 'e.jsonl');
    writeFileSync(file, '{"n":1,"t":"2024-01-01T10:00:00Z"}\n\nnot json\n{"n":2,"x":{"a":[1]}}\n[1,2]\n');
    const { records, rejects } = await all(file);
    expect(records).toEqual([
      { n: 1, t: '2024-01-01T10:00:00Z' },
      { n: 2, x: { a: [1] } },
    ]);
    expect(rejects.map((r) => [r.record, r.origin, r.reasons[0].slice(0, 13)])).toEqual([
      ['not json', `${file}:3`, 'invalid JSON:'],
      ['[1,2]', `${file}:5`, 'invalid JSON:'],
    ]);
    expect(rejects[1].reasons).toEqual(['invalid JSON: not a JSON object (an array)']);
  });

  it('reads a JSON array (non-objects rejected by index), and JSON lines named .json', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'a.json'), '[\n  {"id": 1},\n  2,\n  {"id": 3}\n]\n');
    expect(await all(join(dir, 'a.json'))).toEqual({
      records: [{ id: 1 }, { id: 3 }],
      rejects: [{ record: 2, reasons: ['not a JSON object (number)'], origin: `${join(dir, 'a.json')}[1]` }],
    });
    writeFileSync(join(dir, 'l.json'), '{"id": 1}\n{"id": 2}\n');
    expect((await all(join(dir, 'l.json'))).records).toEqual([{ id: 1 }, { id: 2 }]);
    expect(formatOf('x.ndjson')).toBe('jsonl');
    expect(() => formatOf('x.bin')).toThrow('x.bin: unknown file format');
  });

  it('turns a .json document too large to parse as one string into one reject that says what to do (572 MB)', async () => {
    const file = join(folder(), 'huge.json');
    // A sparse file: the size is checked before anything is read.
    writeFileSync(file, '');
    truncateSync(file, 572 * 2 ** 20);
    expect(await all(file, { origin: 'huge.json' })).toEqual({
      records: [],
      rejects: [
        {
          record: { file: 'huge.json' },
          reasons: [
            '572 MB is more than one JSON document can be (512 MB, the longest string JavaScript holds): write it as JSON lines (one object a line, .jsonl), which are read in a stream',
          ],
          origin: 'huge.json',
        },
      ],
    });
  });

  it('gives the line or index of every record as its origin', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'a.jsonl'), '{"n":1}\n\nnot json\n{"n":2}\n');
    writeFileSync(join(dir, 'b.json'), '[{"n":1}, 5, {"n":2}]');
    const origins = async (file: string) =>
      (await batches(file, { origin: file.slice(dir.length + 1) })).flatMap((b) =>
        b.records.map((_, i) => b.origin?.(i)),
      );
    expect(await origins(join(dir, 'a.jsonl'))).toEqual(['a.jsonl:1', 'a.jsonl:4']);
    expect(await origins(join(dir, 'b.json'))).toEqual(['b.json[0]', 'b.json[2]']);
  });

  it('reads Parquet with its types', async () => {
    const file = join(folder(), 'p.parquet');
    const db = await DuckDbClient.open(':memory:');
    await db.exec(
      `COPY (SELECT 1::INTEGER AS id, 2.5::DOUBLE AS v, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS at, DATE '2024-01-02' AS d, 'x' AS s) TO '${file}' (FORMAT parquet)`,
    );
    db.close();
    expect((await all(file)).records).toEqual([
      { id: 1, v: 2.5, at: new Date('2024-01-01T00:00:00Z'), d: '2024-01-02', s: 'x' },
    ]);
  });

  it('turns a file that cannot be parsed at all into one reject; a missing file throws', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'fake.parquet'), 'not parquet at all');
    expect(await all(join(dir, 'fake.parquet'))).toEqual({
      records: [],
      rejects: [
        {
          record: { file: join(dir, 'fake.parquet') },
          reasons: [expect.stringContaining('No magic bytes found at end of file')],
          origin: join(dir, 'fake.parquet'),
        },
      ],
    });
    writeFileSync(join(dir, 'broken.xlsx'), 'PK not a zip');
    const broken = await all(join(dir, 'broken.xlsx'), { origin: 'broken.xlsx' });
    expect(broken.rejects).toMatchObject([{ record: { file: 'broken.xlsx' }, origin: 'broken.xlsx' }]);
    expect(broken.rejects[0].reasons[0]).toMatch(/^not a readable XLSX workbook: /);
    await expect(all(join(dir, 'missing.csv'))).rejects.toThrow('ENOENT');
    await expect(all(join(dir, 'missing.jsonl'))).rejects.toThrow('ENOENT');
  });
});

describe('readRecords: XLSX', () => {
  async function workbook(file: string) {
    const book = new ExcelJS.Workbook();
    const products = book.addWorksheet('Products');
    products.addRow([]);
    products.addRow(['product_id', 'name', 'quantity', 'price', 'updated', null, 'name']);
    products.addRow(['P1', 'Tea', 10, 2.5, new Date('2024-01-15T00:00:00Z'), null, 'dup']);
    products.addRow([
      'P2',
      { richText: [{ text: 'Ri' }, { text: 'ce' }] },
      { formula: '2*3', result: 6 },
      'n/a',
      null,
      'x',
    ]);
    products.addRow(['P3', 'Salt', { formula: '1/0', result: { error: '#DIV/0!' } }, 1, null, null, null, 'extra']);
    book.addWorksheet('Clients').addRows([
      ['client_id', 'name'],
      ['C1', 'Ada'],
    ]);
    await book.xlsx.writeFile(file);
  }

  it('reads every sheet with header names as keys and values as JS; a bad cell type is a value, not an error', async () => {
    const file = join(folder(), 'stock.xlsx');
    await workbook(file);
    expect(await listSheets(file)).toEqual(['Products', 'Clients']);
    const { records, rejects } = await all(file);
    expect(rejects).toEqual([]);
    expect(records).toEqual([
      {
        _sheet: 'Products',
        product_id: 'P1',
        name: 'Tea',
        quantity: 10,
        price: 2.5,
        updated: new Date('2024-01-15T00:00:00Z'),
        column_6: null,
        name_2: 'dup',
      },
      {
        _sheet: 'Products',
        product_id: 'P2',
        name: 'Rice',
        quantity: 6,
        price: 'n/a',
        updated: null,
        column_6: 'x',
        name_2: null,
      },
      // A formula's cached error result reads as its text, as Excel shows it.
      {
        _sheet: 'Products',
        product_id: 'P3',
        name: 'Salt',
        quantity: '#DIV/0!',
        price: 1,
        updated: null,
        column_6: null,
        name_2: null,
        column_8: 'extra',
      },
      { _sheet: 'Clients', client_id: 'C1', name: 'Ada' },
    ]);
  });

  /** A workbook of one sheet `Notes` written by hand: `rows` rows of inline text with characters of 2, 3 and 4 bytes. */
  async function inlineTextWorkbook(file: string, rows: number) {
    const main = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
    const rel = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
    const cell = (ref: string, value: string | number) =>
      typeof value === 'number'
        ? `<c r="${ref}"><v>${value}</v></c>`
        : `<c r="${ref}" t="inlineStr"><is><t>${value}</t></is></c>`;
    const row = (n: number, values: (string | number)[]) =>
      `<row r="${n}">${values.map((v, i) => cell(`${'ABC'[i]}${n}`, v)).join('')}</row>`;
    const body = Array.from({ length: rows }, (_, i) =>
      row(i + 2, [i + 1, `Ünïcødé € 😀 ${i + 1} &amp; ${'é'.repeat(i % 7)}`, i % 3 ? (i + 1) / 4 : 'n/a']),
    ).join('');
    const zip = new JSZip();
    zip.file('[Content_Types].xml', '<?xml version="1.0"?><Types/>');
    zip.file(
      'xl/workbook.xml',
      `<workbook xmlns="${main}" xmlns:r="${rel}"><sheets><sheet name="Notes" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    );
    zip.file(
      'xl/_rels/workbook.xml.rels',
      `<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>`,
    );
    zip.file(
      'xl/worksheets/sheet1.xml',
      `<worksheet xmlns="${main}"><sheetData>${row(1, ['id', 'note', 'share'])}${body}</sheetData></worksheet>`,
    );
    writeFileSync(file, await zip.generateAsync({ type: 'uint8array', compression: 'DEFLATE' }));
  }

  it('reads text whole where a character of several bytes is cut between two inflated chunks of the sheet', async () => {
    const file = join(folder(), 'notes.xlsx');
    await inlineTextWorkbook(file, 3000); // ~400 KB of sheet XML: many chunk boundaries, some inside a character
    const { records, rejects } = await all(file);
    expect(rejects).toEqual([]);
    expect(records).toHaveLength(3000);
    records.forEach((record, i) =>
      expect(record).toEqual({
        id: i + 1,
        note: `Ünïcødé € 😀 ${i + 1} & ${'é'.repeat(i % 7)}`,
        share: i % 3 ? (i + 1) / 4 : 'n/a',
      }),
    );
  });

  it('into DuckDB, gives each batch the table its records would make (types over the batch, rowid order, origins), also where a batch ends inside a chunk read', async () => {
    const dir = folder();
    const db = await DuckDbClient.open(':memory:');
    try {
      const stock = join(dir, 'stock.xlsx');
      await workbook(stock);
      const notes = join(dir, 'notes.xlsx');
      await inlineTextWorkbook(notes, 3000);
      for (const [file, batchSize] of [
        [stock, 2],
        [stock, 10],
        [notes, 2500], // 2,048 records read at a time: the first batch ends inside the second read
      ] as const) {
        const inJs = await batches(file, { batchSize, origin: 'f.xlsx' });
        const inDuckDb: { records: Row[]; origin?: (index: number) => string | undefined; rejects: Reject[] }[] = [];
        for await (const batch of readRecords(db, file, { batchSize, origin: 'f.xlsx', inDuckDb: true })) {
          expect(Array.isArray(batch.records)).toBe(false);
          inDuckDb.push({ records: await recordsOf(batch.records), origin: batch.origin, rejects: batch.rejects });
          await (batch.records as DuckDbRows).release();
        }
        expect(inDuckDb.map((b) => b.records.length)).toEqual(inJs.map((b) => b.records.length));
        for (const [i, batch] of inJs.entries()) {
          // The records path's table: the batch's records loaded as the sql transform loads them.
          const table = await db.session(async (connection) => {
            await loadTempTable(connection, 'expected', batch.records);
            return materializedRows(await connection.run('SELECT * FROM temp.expected ORDER BY rowid'));
          });
          expect(inDuckDb[i].records).toEqual(table);
          expect(inDuckDb[i].records.map((_, r) => inDuckDb[i].origin?.(r))).toEqual(
            batch.records.map((_, r) => batch.origin?.(r)),
          );
          expect(inDuckDb[i].rejects).toEqual(batch.rejects);
        }
      }
    } finally {
      db.close();
    }
  });

  it('takes an integer past BIGINT in a column of integers as a DOUBLE column, the same into DuckDB as in records (no reject)', async () => {
    const file = join(folder(), 'big.xlsx');
    const book = new ExcelJS.Workbook();
    book.addWorksheet('Counts').addRows([
      ['id', 'n'],
      ['a', 1],
      ['b', 1e21],
      ['c', -3],
    ]);
    await book.xlsx.writeFile(file);
    const db = await DuckDbClient.open(':memory:');
    try {
      const [inJs] = await batches(file, { origin: 'big.xlsx' });
      expect(inJs.rejects).toEqual([]);
      expect(inJs.records.map((r) => r.n)).toEqual([1, 1e21, -3]);
      const expected = await db.session(async (connection) => {
        await loadTempTable(connection, 'expected', inJs.records);
        return materializedRows(await connection.run('SELECT * FROM temp.expected ORDER BY rowid'));
      });
      const held: { records: Row[]; rejects: Reject[] }[] = [];
      for await (const batch of readRecords(db, file, { origin: 'big.xlsx', inDuckDb: true })) {
        held.push({ records: await recordsOf(batch.records), rejects: batch.rejects });
        await (batch.records as DuckDbRows).release();
      }
      expect(held).toEqual([{ records: expected, rejects: [] }]);
      expect(expected.map((r) => r.n)).toEqual([1, 1e21, -3]);
    } finally {
      db.close();
    }
  });

  it('reads the named sheet only, in batches, each record with its sheet and row; a workbook without the sheet is one reject naming its sheets', async () => {
    const file = join(folder(), 'stock.xlsx');
    await workbook(file);
    const out = await batches(file, { xlsx: { sheet: 'Products' }, batchSize: 2, origin: 'stock.xlsx' });
    expect(out.map((b) => b.records.map((r) => r.product_id))).toEqual([['P1', 'P2'], ['P3']]);
    expect(out.map((b) => b.records.map((_, i) => b.origin?.(i)))).toEqual([
      ['stock.xlsx:Products!3', 'stock.xlsx:Products!4'],
      ['stock.xlsx:Products!5'],
    ]);
    expect(await all(file, { xlsx: { sheet: 'Nope' }, origin: 'stock.xlsx' })).toEqual({
      records: [],
      rejects: [
        {
          record: { file: 'stock.xlsx', sheet: 'Nope' },
          reasons: ['no sheet "Nope" in the workbook (sheets: Products, Clients)'],
          origin: 'stock.xlsx',
        },
      ],
    });
  });

  it("reads a list of sheets in the workbook's order, each record with its sheet, skipping the listed ones it lacks; a workbook with none of them is one reject", async () => {
    const file = join(folder(), 'stock.xlsx');
    await workbook(file);
    const { records, rejects } = await all(file, {
      xlsx: { sheet: ['Clients', 'Invoices', 'Products'] },
      origin: 'stock.xlsx',
    });
    expect(rejects).toEqual([]);
    expect(records.map((r) => [r._sheet, r.product_id ?? r.client_id])).toEqual([
      ['Products', 'P1'],
      ['Products', 'P2'],
      ['Products', 'P3'],
      ['Clients', 'C1'],
    ]);
    // One sheet of a list is still tagged: the steps after filter on _sheet whatever the workbook holds.
    expect((await all(file, { xlsx: { sheet: ['Clients'] } })).records).toEqual([
      { _sheet: 'Clients', client_id: 'C1', name: 'Ada' },
    ]);
    expect(await all(file, { xlsx: { sheet: ['Invoices', 'Lines'] }, origin: 'stock.xlsx' })).toEqual({
      records: [],
      rejects: [
        {
          record: { file: 'stock.xlsx', sheet: ['Invoices', 'Lines'] },
          reasons: ['no sheet of "Invoices", "Lines" in the workbook (sheets: Products, Clients)'],
          origin: 'stock.xlsx',
        },
      ],
    });
  });

  it('keeps only the shared texts of the sheets read; a workbook whose shared texts exceed xlsx.maxTextChars is one reject', async () => {
    const file = join(folder(), 'texts.xlsx');
    const book = new ExcelJS.Workbook();
    book.addWorksheet('Small').addRows([
      ['id', 'name'],
      [1, 'Ada'],
    ]);
    book
      .addWorksheet('Notes')
      .addRows([
        ['note'],
        ...Array.from({ length: 200 }, (_, i) => [`a long note that only the other sheet holds, number ${i}`]),
      ]);
    await book.xlsx.writeFile(file);
    // Small's texts (id, name, Ada) are 9 characters; Notes' ~11,000.
    expect(await all(file, { xlsx: { sheet: ['Small'], maxTextChars: 100 }, origin: 'texts.xlsx' })).toEqual({
      records: [{ _sheet: 'Small', id: 1, name: 'Ada' }],
      rejects: [],
    });
    expect(await all(file, { xlsx: { maxTextChars: 100 }, origin: 'texts.xlsx' })).toEqual({
      records: [],
      rejects: [
        {
          record: { file: 'texts.xlsx' },
          origin: 'texts.xlsx',
          reasons: [
            "the workbook's shared texts hold more than 100 characters (xlsx.maxTextChars), more than can be held in memory while its sheets are read: split the workbook, read fewer sheets (xlsx.sheet), or raise xlsx.maxTextChars",
          ],
        },
      ],
    });
    expect((await all(file, { xlsx: { sheet: 'Notes' } })).records).toHaveLength(200);
  });

  it('reads sheet XML as other writers produce it: rows and cells without r, inline and rich text, booleans, ISO date cells, errors, formulas, no styles part', async () => {
    const zip = await JSZip.loadAsync(
      readFileSync(
        await (async () => {
          const file = join(folder(), 'base.xlsx');
          const book = new ExcelJS.Workbook();
          book.addWorksheet('Data').addRow(['x']);
          await book.xlsx.writeFile(file);
          return file;
        })(),
      ),
    );
    const part = Object.keys(zip.files).find((n) => /^xl\/worksheets\/sheet\d+\.xml$/.test(n))!;
    zip.file(
      part,
      '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' +
        '<row><c t="inlineStr"><is><t>id</t></is></c><c t="inlineStr"><is><t>note</t></is></c><c t="inlineStr"><is><t>ok</t></is></c><c t="inlineStr"><is><t>when</t></is></c><c t="inlineStr"><is><t>calc</t></is></c></row>' +
        '<row><c><v>1</v></c><c t="inlineStr"><is><r><t>Ri</t></r><r><t xml:space="preserve">ce &amp; tea</t></r><rPh><t>ライス</t></rPh></is></c><c t="b"><v>1</v></c><c t="d"><v>2024-03-01T10:00:00Z</v></c><c t="e"><f>1/0</f><v>#DIV/0!</v></c></row>' +
        '<row r="5"><c r="A5"><v>2.5</v></c><c r="C5" t="b"><v>0</v></c><c r="E5"><f>2*3</f><v>6</v></c></row>' +
        '<row><c r="B6" t="e"><v>#N/A</v></c><c r="E6" t="str"><f>"a"&amp;"b"</f><v>ab</v></c></row>' +
        '</sheetData></worksheet>',
    );
    zip.remove('xl/styles.xml'); // a styles part is optional: some writers leave it out
    const file = join(folder(), 'hand.xlsx');
    writeFileSync(file, await zip.generateAsync({ type: 'uint8array', compression: 'DEFLATE' }));
    const out = await batches(file, { origin: 'hand.xlsx' });
    expect(out.flatMap((b) => b.records)).toEqual([
      { id: 1, note: 'Rice & tea', ok: true, when: new Date('2024-03-01T10:00:00Z'), calc: '#DIV/0!' },
      { id: 2.5, note: null, ok: false, when: null, calc: 6 },
      { id: null, note: '#N/A', ok: null, when: null, calc: 'ab' },
    ]);
    expect(out.flatMap((b) => b.records.map((_, i) => b.origin?.(i)))).toEqual([
      'hand.xlsx:Data!2',
      'hand.xlsx:Data!5',
      'hand.xlsx:Data!6',
    ]);
  });

  it('reads the same whatever the order of the zip entries: the workbook index after the sheets, the shared strings before or after them', async () => {
    const file = join(folder(), 'stock.xlsx');
    await workbook(file);
    const want = await all(file);
    const zip = await JSZip.loadAsync(readFileSync(file));
    const names = Object.keys(zip.files).filter((n) => !zip.files[n].dir);
    const sheets = names.filter((n) => n.startsWith('xl/worksheets/'));
    const index = ['xl/workbook.xml', 'xl/_rels/workbook.xml.rels'];
    const strings = ['xl/sharedStrings.xml', 'xl/styles.xml'];
    const others = names.filter((n) => ![...sheets, ...index, ...strings].includes(n));
    const orders = {
      'index last': [...others, ...strings, ...sheets, ...index],
      'strings and rels, sheets, then the workbook': [
        ...others,
        ...strings,
        'xl/_rels/workbook.xml.rels',
        ...sheets,
        'xl/workbook.xml',
      ],
      'everything after the sheets': [...sheets, ...others, ...index, ...strings],
    };
    for (const [label, order] of Object.entries(orders)) {
      const reordered = new JSZip();
      for (const name of order)
        reordered.file(name, await zip.files[name].async('uint8array'), { createFolders: false });
      const path = join(folder(), 'reordered.xlsx');
      writeFileSync(path, await reordered.generateAsync({ type: 'uint8array', compression: 'DEFLATE' }));
      expect(Object.keys((await JSZip.loadAsync(readFileSync(path))).files), label).toEqual(order);
      expect(await all(path), label).toEqual(want);
      expect(await listSheets(path), label).toEqual(['Products', 'Clients']);
      expect(
        (await batches(path, { xlsx: { sheet: 'Clients' } })).flatMap((b) => b.records),
        label,
      ).toEqual([{ client_id: 'C1', name: 'Ada' }]);
    }
  });

  it('reads an empty text cell as empty text, as the whole-workbook reader did (not as a missing value)', async () => {
    const file = join(folder(), 'empty.xlsx');
    const book = new ExcelJS.Workbook();
    book.addWorksheet('Clients').addRows([
      ['id', 'name'],
      ['C1', ''],
      ['C2', 'Ada'],
    ]);
    await book.xlsx.writeFile(file);
    expect((await all(file)).records).toEqual([
      { id: 'C1', name: '' },
      { id: 'C2', name: 'Ada' },
    ]);
  });

  it('stops a sheet at xlsx.maxRows (the rest is one reject) and rejects a row wider than xlsx.maxColumns', async () => {
    const file = join(folder(), 'wide.xlsx');
    const book = new ExcelJS.Workbook();
    book.addWorksheet('Data').addRows([
      ['a', 'b'],
      [1, 2],
      [3, 4, 5, 6],
      [7, 8],
      [9, 10],
    ]);
    await book.xlsx.writeFile(file);
    const { records, rejects } = await all(file, { xlsx: { maxRows: 4, maxColumns: 3 }, origin: 'wide.xlsx' });
    expect(records).toEqual([
      { a: 1, b: 2 },
      { a: 7, b: 8 },
    ]);
    expect(rejects).toEqual([
      {
        record: { sheet: 'Data', row: 3, cells: 4 },
        reasons: ['row has 4 cells, more than 3 (xlsx.maxColumns)'],
        origin: 'wide.xlsx:Data!3',
      },
      {
        record: { file: 'wide.xlsx', sheet: 'Data', fromRow: 5 },
        reasons: ['sheet Data has more than 4 rows (xlsx.maxRows): the rows from 5 on are not read'],
        origin: 'wide.xlsx:Data!5',
      },
    ]);
  });
});

describe('writeRows', () => {
  const rows = [
    { id: 1, at: new Date('2024-01-01T10:00:00Z'), note: 'a, "b"' },
    { id: 2, at: new Date('2024-01-02T23:59:59.5Z'), note: null },
  ];

  it('writes one new CSV file per batch and date partition, with ISO UTC timestamps, never overwriting', async () => {
    const dir = folder();
    const db = await DuckDbClient.open(':memory:');
    await db.exec("SET TimeZone = 'America/New_York'");
    const first = await writeRows(db, rows, {
      format: 'csv',
      path: join(dir, '{YYYY}/{MM}/{DD}/tx.csv'),
      partitionBy: 'at',
      mode: 'new',
    });
    await writeRows(db, [rows[0]], {
      format: 'csv',
      path: join(dir, '{YYYY}/{MM}/{DD}/tx.csv'),
      partitionBy: 'at',
      mode: 'new',
    });
    expect(first.map((f) => f.slice(dir.length + 1, dir.length + 11))).toEqual(['2024/01/01', '2024/01/02']);
    expect(readdirSync(join(dir, '2024/01/01'))).toHaveLength(2);
    expect(readFileSync(first[0], 'utf8')).toBe('id,at,note\n1,2024-01-01T10:00:00.000Z,"a, ""b"""\n');
    expect(readFileSync(first[1], 'utf8')).toBe('id,at,note\n2,2024-01-02T23:59:59.500Z,\n');
    db.close();
  });

  it('appends to a CSV file following its header, and overwrites an export in place', async () => {
    const dir = folder();
    const db = await DuckDbClient.open(':memory:');
    const path = join(dir, 'log-{YYYY}{MM}{DD}.csv');
    const now = new Date('2024-03-04T05:06:07Z');
    await writeRows(db, [{ a: 1, b: 'x' }], { format: 'csv', path, mode: 'append', now });
    await writeRows(db, [{ b: 'y', c: true }], { format: 'csv', path, mode: 'append', now });
    expect(readFileSync(join(dir, 'log-20240304.csv'), 'utf8')).toBe('a,b\n1,x\n,y\n');
    await writeRows(db, [{ k: 1 }], { format: 'csv', path: join(dir, 'kpis.csv'), mode: 'overwrite' });
    await writeRows(db, [{ k: 2 }], { format: 'csv', path: join(dir, 'kpis.csv'), mode: 'overwrite' });
    expect(readFileSync(join(dir, 'kpis.csv'), 'utf8')).toBe('k\n2\n');
    expect(readdirSync(dir).sort()).toEqual(['kpis.csv', 'log-20240304.csv']);
    await expect(
      writeRows(db, [{ k: 1 }], { format: 'parquet', path: join(dir, 'x.parquet'), mode: 'append' }),
    ).rejects.toThrow('mode append is for CSV files only');
    db.close();
  });
});
