import { mkdirSync, mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { createTestStep, readAll } from '../../../core/testing.ts';
import { recordsOf, rowCount } from '../../../core/sdk/index.ts';
import type { DuckDbClient, DuckDbRows } from '../../../connections/duckdb/index.ts';
import plugin, { type FileCheckpoint, type FileSource } from './index.ts';

function folder() {
  return mkdtempSync(join(tmpdir(), 'files-'));
}

describe('file source', () => {
  it('reads CSV with declared types; a corrupt line goes to dead-letter with file:line while the good lines land', async () => {
    const dir = folder();
    writeFileSync(
      join(dir, 'a.csv'),
      'id,amount,at\n1,10.5,2024-01-01 10:00:00\n2,oops,2024-01-01 11:00:00\n3,7.25,2024-01-01 12:00:00\n',
    );
    const step = await createTestStep<FileSource>(plugin, 'source', {
      path: join(dir, '*.csv'),
      csv: { columns: { id: 'INTEGER', amount: 'DOUBLE', at: 'TIMESTAMP' } },
      addFileColumn: 'source_file',
    });
    const { records, rejects } = await readAll(step.plugin);
    expect(records).toEqual([
      { id: 1, amount: 10.5, at: new Date('2024-01-01T10:00:00Z'), source_file: join(dir, 'a.csv') },
      { id: 3, amount: 7.25, at: new Date('2024-01-01T12:00:00Z'), source_file: join(dir, 'a.csv') },
    ]);
    expect(rejects).toEqual([
      {
        record: '2,oops,2024-01-01 11:00:00',
        reasons: ['Error when converting column "amount". Could not convert string "oops" to \'DOUBLE\''],
        origin: `${join(dir, 'a.csv')}:3`,
      },
    ]);
    await step.close();
  });

  it("adds each CSV record's line (skipping rejected lines, across batches) so later rejects can point at it", async () => {
    const dir = folder();
    writeFileSync(join(dir, 'a.csv'), 'id,amount\n1,10\n2,oops\n3,30\n4,x\n5,50\n');
    const step = await createTestStep<FileSource>(plugin, 'source', {
      path: join(dir, '*.csv'),
      batchSize: 2,
      csv: { types: { amount: 'DOUBLE' } },
      addLineColumn: 'line',
    });
    const { records, rejects } = await readAll(step.plugin);
    expect(records).toEqual([
      { id: 1, amount: 10, line: 2 },
      { id: 3, amount: 30, line: 4 },
      { id: 5, amount: 50, line: 6 },
    ]);
    expect(rejects.map((r) => r.origin)).toEqual([`${join(dir, 'a.csv')}:3`, `${join(dir, 'a.csv')}:5`]);
    writeFileSync(join(dir, 'b.csv'), '1,10\n2,20\n');
    const headless = await createTestStep<FileSource>(plugin, 'source', {
      path: join(dir, 'b.csv'),
      csv: { header: false },
      addLineColumn: 'line',
    });
    expect((await readAll(headless.plugin)).records.map((r) => r.line)).toEqual([1, 2]);
    await step.close();
    await headless.close();
  });

  it('shows files under the working directory by their relative path', async () => {
    const dir = mkdtempSync(join(process.cwd(), '.tmp-files-'));
    try {
      writeFileSync(join(dir, 'r.jsonl'), '{"n":1}\noops\n');
      const rel = relative(process.cwd(), dir);
      const step = await createTestStep<FileSource>(plugin, 'source', {
        path: `${rel}/**/*.jsonl`,
        addFileColumn: 'file',
      });
      const { records, rejects } = await readAll(step.plugin);
      expect(records).toEqual([{ n: 1, file: `${rel}/r.jsonl` }]);
      expect(rejects.map((r) => r.origin)).toEqual([`${rel}/r.jsonl:2`]);
      await step.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('remembers the files it has read (path, size, mtime) and reads new or changed ones only; the last batch of a file adds it to the checkpoint', async () => {
    const dir = folder();
    writeFileSync(join(dir, '1.jsonl'), '{"n":1}\n{"n":2}\n{"n":3}\nnot json\n');
    const step = await createTestStep<FileSource>(plugin, 'source', { path: join(dir, '*.jsonl'), batchSize: 2 });
    const batches = [];
    for await (const batch of step.plugin.read({
      once: true,
      signal: new AbortController().signal,
      checkpoint: undefined,
    }))
      batches.push(batch);
    expect(
      batches.map((b) => [
        rowCount(b.records),
        b.rejects?.length,
        Object.keys((b.checkpoint as FileCheckpoint).files).length,
      ]),
    ).toEqual([
      [2, 0, 0],
      [1, 1, 1],
    ]);
    const first = batches[1].checkpoint as FileCheckpoint;
    expect(Object.keys(first.files)).toEqual([join(dir, '1.jsonl')]);
    expect(batches[1].rejects).toMatchObject([{ record: 'not json', origin: `${join(dir, '1.jsonl')}:4` }]);

    writeFileSync(join(dir, '2.jsonl'), '{"n":4}\n');
    const second = await readAll(step.plugin, { checkpoint: first });
    expect(second.records).toEqual([{ n: 4 }]);
    expect(await readAll(step.plugin, { checkpoint: second.checkpoint })).toEqual({
      records: [],
      rejects: [],
      checkpoint: undefined,
    });

    writeFileSync(join(dir, '1.jsonl'), '{"n":10}\n');
    utimesSync(join(dir, '1.jsonl'), new Date(), new Date(Date.now() + 5000));
    rmSync(join(dir, '2.jsonl'));
    const third = await readAll(step.plugin, { checkpoint: second.checkpoint });
    expect(third.records).toEqual([{ n: 10 }]);
    expect(Object.keys((third.checkpoint as FileCheckpoint).files)).toEqual([join(dir, '1.jsonl')]); // 2.jsonl is gone
    await step.close();
  });

  it('moves the checkpoint with every batch: a restart after a crash mid-file goes on after the last committed batch, with the same batch positions', async () => {
    const dir = folder();
    const lines = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => `${from + i}`).join('\n') + '\n';
    writeFileSync(join(dir, 'a.csv'), 'n\n' + lines(0, 10));
    writeFileSync(join(dir, 'b.csv'), 'n\n' + lines(10, 17));
    writeFileSync(
      join(dir, 'c.jsonl'),
      Array.from({ length: 5 }, (_, i) => JSON.stringify({ n: 17 + i })).join('\n') + '\nnot json\n',
    );
    const warehouse = { connections: { warehouse: { type: 'duckdb', path: ':memory:' } }, connection: 'warehouse' };
    for (const options of [{}, warehouse]) {
      const step = await createTestStep<FileSource>(
        plugin,
        'source',
        { path: [join(dir, '*.csv'), join(dir, '*.jsonl')], batchSize: 3 },
        options,
      );
      const read = async (checkpoint: unknown) => {
        const batches = [];
        for await (const batch of step.plugin.read({ once: true, signal: new AbortController().signal, checkpoint })) {
          batches.push({
            n: (await recordsOf(batch.records)).map((r) => Number(r.n)),
            rejects: batch.rejects?.length ?? 0,
            position: batch.position,
            checkpoint: batch.checkpoint as FileCheckpoint,
          });
          if (!Array.isArray(batch.records)) await batch.records.release();
        }
        return batches;
      };
      const whole = await read(undefined);
      expect(whole.map((b) => b.n)).toEqual([
        [0, 1, 2],
        [3, 4, 5],
        [6, 7, 8],
        [9],
        [10, 11, 12],
        [13, 14, 15],
        [16],
        [17, 18, 19],
        [20, 21],
      ]);
      expect(whole.every((b) => b.checkpoint !== undefined)).toBe(true);
      expect(whole[1].checkpoint).toMatchObject({
        files: {},
        partial: { file: join(dir, 'a.csv'), batches: 2, batchSize: 3 },
      });
      expect(whole[3].checkpoint.partial).toBeUndefined();
      expect(Object.keys(whole[3].checkpoint.files)).toEqual([join(dir, 'a.csv')]);
      expect(new Set(whole.map((b) => b.position)).size).toBe(whole.length);
      // A crash after each batch: the restart from its checkpoint reads exactly the batches after it, same positions.
      for (let k = 0; k < whole.length; k++) {
        const after = await read(whole[k].checkpoint);
        expect(after.map((b) => [b.n, b.position])).toEqual(whole.slice(k + 1).map((b) => [b.n, b.position]));
        expect(after.reduce((sum, b) => sum + b.rejects, 0)).toBe(k < 8 ? 1 : 0); // c.jsonl's bad line rides with its last batch
      }
      // A half-read file that changed since is read again from its start.
      const half = whole[1].checkpoint;
      expect((await read({ ...half, partial: { ...half.partial!, size: 1 } })).map((b) => b.n)[0]).toEqual([0, 1, 2]);
      await step.close();
    }
  });

  it('takes plain paths, globs and ! exclusions together, inside the working directory or outside it', async () => {
    const dir = folder();
    for (const name of ['a.csv', 'b.csv', 'skip.csv', 'c.txt']) writeFileSync(join(dir, name), 'id\n1\n');
    const files = async (path: string[]) => {
      const step = await createTestStep<FileSource>(plugin, 'source', { path, format: 'csv' });
      const { records } = await readAll(step.plugin);
      await step.close();
      return records.length;
    };
    expect(await files([join(dir, 'a.csv'), join(dir, 'c.txt')])).toBe(2); // plain paths: read whatever their names
    expect(await files([join(dir, 'missing.csv')])).toBe(0);
    expect(await files([join(dir, '*.csv')])).toBe(3);
    expect(await files([join(dir, '*.csv'), `!${join(dir, 'skip.csv')}`])).toBe(2);
    expect(await files([join(dir, 'a.csv'), join(dir, 'b.csv'), `!${join(dir, 'b.csv')}`])).toBe(1);
    expect(await files([relative(process.cwd(), join(dir, '*.csv'))])).toBe(3); // relative to the working directory
  });

  it('fills {YYYY}/{MM}/{DD} from --date, and matches every partition without it', async () => {
    const dir = folder();
    for (const day of ['2024-01-14', '2024-01-15']) {
      const [y, m, d] = day.split('-');
      mkdirSync(join(dir, y, m, d), { recursive: true });
      writeFileSync(join(dir, y, m, d, 'tx.csv'), `day,n\n${day},1\n`);
    }
    mkdirSync(join(dir, 'latest', '01', '15'), { recursive: true });
    writeFileSync(join(dir, 'latest', '01', '15', 'tx.csv'), 'day,n\nnot a partition,1\n');
    const step = await createTestStep<FileSource>(plugin, 'source', {
      path: join(dir, '{YYYY}/{MM}/{DD}/tx.csv'),
      csv: { types: { day: 'VARCHAR' } },
    });
    const one = await readAll(step.plugin, { date: '2024-01-15' });
    expect(one.records).toEqual([{ day: '2024-01-15', n: 1 }]);
    expect((await readAll(step.plugin)).records).toEqual([
      { day: '2024-01-14', n: 1 },
      { day: '2024-01-15', n: 1 },
    ]);
    // A backfill's checkpoint keeps the other partitions it did not list.
    expect((await readAll(step.plugin, { checkpoint: one.checkpoint })).records).toEqual([{ day: '2024-01-14', n: 1 }]);
    await expect(readAll(step.plugin, { date: '15/01/2024' })).rejects.toThrow(
      'file: --date must be YYYY-MM-DD (got "15/01/2024")',
    );
    await step.close();
  });

  it("with rereadOnBackfill, a --date run reads that day's files again although already read; other runs do not", async () => {
    const dir = folder();
    mkdirSync(join(dir, '2024', '01', '15'), { recursive: true });
    writeFileSync(join(dir, '2024', '01', '15', 'tx.csv'), 'n\n1\n');
    const path = join(dir, '{YYYY}/{MM}/{DD}/tx.csv');
    for (const rereadOnBackfill of [true, false]) {
      const step = await createTestStep<FileSource>(plugin, 'source', { path, rereadOnBackfill });
      const first = await readAll(step.plugin, { date: '2024-01-15' });
      expect(first.records).toEqual([{ n: 1 }]);
      expect((await readAll(step.plugin, { date: '2024-01-15', checkpoint: first.checkpoint })).records).toEqual(
        rereadOnBackfill ? [{ n: 1 }] : [],
      );
      expect((await readAll(step.plugin, { checkpoint: first.checkpoint })).records).toEqual([]);
      await step.close();
    }
  });

  it('reads exactly the uploaded XLSX workbook, every sheet, with header names as keys, the file named by its upload name', async () => {
    const dir = folder();
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('Products').addRows([
      ['product_id', 'name', 'quantity'],
      ['P1', 'Tea', 10],
      ['P2', 'Rice', { formula: '2*3', result: 6 }],
    ]);
    workbook.addWorksheet('Clients').addRows([
      ['client_id', 'name'],
      ['C1', 'Ada'],
    ]);
    const file = join(dir, 'upload-7f3a'); // uploads are stored without their extension: the format comes from the name
    await workbook.xlsx.writeFile(file);
    writeFileSync(join(dir, 'other.xlsx'), 'never read');
    const step = await createTestStep<FileSource>(plugin, 'source', {
      path: join(dir, '*.xlsx'),
      addFileColumn: 'file',
    });
    const { records, rejects, checkpoint } = await readAll(step.plugin, {
      trigger: { type: 'upload', file, filename: 'stock_data.xlsx', view: 'upload' },
    } as never);
    expect(records).toEqual([
      { _sheet: 'Products', product_id: 'P1', name: 'Tea', quantity: 10, file: 'stock_data.xlsx' },
      { _sheet: 'Products', product_id: 'P2', name: 'Rice', quantity: 6, file: 'stock_data.xlsx' },
      { _sheet: 'Clients', client_id: 'C1', name: 'Ada', file: 'stock_data.xlsx' },
    ]);
    expect(rejects).toEqual([]);
    expect(checkpoint).toBeUndefined();
    await step.close();
  });

  it('reads only its sheet of an uploaded workbook, so one upload can feed one source per sheet (types kept per sheet)', async () => {
    const dir = folder();
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('Products').addRows([
      ['product_id', 'price'],
      ['P1', 2.5],
      ['P2', 'twelve'],
    ]);
    workbook.addWorksheet('Invoices').addRows([
      ['invoice_id', 'day', 'quantity'],
      ['I1', new Date('2024-05-31T00:00:00Z'), 3],
    ]);
    const file = join(dir, 'upload.xlsx');
    await workbook.xlsx.writeFile(file);
    const upload = { trigger: { type: 'upload', file, filename: 'stock_data.xlsx', view: 'upload' } } as never;
    const products = await createTestStep<FileSource>(plugin, 'source', {
      path: join(dir, 'none/*.xlsx'),
      xlsx: { sheet: 'Products' },
    });
    const invoices = await createTestStep<FileSource>(plugin, 'source', {
      path: join(dir, 'none/*.xlsx'),
      xlsx: { sheet: 'Invoices' },
    });
    expect((await readAll(products.plugin, upload)).records).toEqual([
      { product_id: 'P1', price: 2.5 },
      { product_id: 'P2', price: 'twelve' },
    ]);
    expect((await readAll(invoices.plugin, upload)).records).toEqual([
      { invoice_id: 'I1', day: new Date('2024-05-31T00:00:00Z'), quantity: 3 },
    ]);
    const missing = await createTestStep<FileSource>(plugin, 'source', {
      path: join(dir, 'none/*.xlsx'),
      xlsx: { sheet: 'Clients' },
    });
    // A workbook without the sheet is one dead letter naming its sheets: the source goes on with the next file.
    expect(await readAll(missing.plugin, upload)).toMatchObject({
      records: [],
      rejects: [
        { reasons: ['no sheet "Clients" in the workbook (sheets: Products, Invoices)'], origin: 'stock_data.xlsx' },
      ],
    });
    for (const step of [products, invoices, missing]) await step.close();
  });

  it('sends a file that is not what its name says to dead-letter whole, and goes on with the next file', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'a.parquet'), 'this is not parquet');
    const db = join(dir, 'b.parquet');
    const { DuckDbClient } = await import('../../../connections/duckdb/index.ts');
    const client = await DuckDbClient.open(':memory:');
    await client.exec(`COPY (SELECT 42 AS answer) TO '${db}' (FORMAT parquet)`);
    client.close();
    const step = await createTestStep<FileSource>(
      plugin,
      'source',
      { path: join(dir, '*.parquet') },
      { connections: { warehouse: { type: 'duckdb', path: ':memory:' } }, connection: 'warehouse' },
    );
    const { records, rejects, checkpoint } = await readAll(step.plugin);
    expect(records).toEqual([{ answer: 42 }]);
    expect(rejects).toEqual([
      {
        record: { file: join(dir, 'a.parquet') },
        reasons: [expect.stringContaining('No magic bytes found')],
        origin: join(dir, 'a.parquet'),
      },
    ]);
    expect(Object.keys((checkpoint as FileCheckpoint).files)).toEqual([join(dir, 'a.parquet'), db]);
    await step.close();
  });

  it('rejects a config without path, naming the field', async () => {
    await expect(createTestStep(plugin, 'source', {})).rejects.toThrow('missing required property "path"');
    await expect(createTestStep(plugin, 'source', { path: 'x', fileColumn: 'f' })).rejects.toThrow(
      'unknown property "fileColumn"',
    );
  });

  it('with a duckdb connection, hands on batches held in DuckDB; a run stopped early leaves only the tables it handed on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-'));
    writeFileSync(join(dir, 'n.csv'), 'n\n' + Array.from({ length: 1000 }, (_, i) => i).join('\n') + '\n');
    const step = await createTestStep<FileSource>(
      plugin,
      'source',
      { path: join(dir, '*.csv'), batchSize: 300 },
      { connections: { warehouse: { type: 'duckdb', path: ':memory:' } }, connection: 'warehouse' },
    );
    const db = await step.services.connections.get<DuckDbClient>('warehouse');
    const stop = new AbortController();
    const handed: DuckDbRows[] = [];
    for await (const batch of step.plugin.read({ once: true, signal: stop.signal, checkpoint: undefined })) {
      handed.push(batch.records as DuckDbRows);
      stop.abort();
    }
    expect(handed.map((rows) => rows.count)).toEqual([300]);
    expect(await handed[0].toRecords()).toEqual(Array.from({ length: 300 }, (_, n) => ({ n })));
    // The whole file's table and the batch read ahead are gone; the batch handed on is the runtime's to drop.
    expect(await db.query("SELECT table_name AS t FROM duckdb_tables() WHERE database_name = '_batches'")).toEqual([
      { t: handed[0].name },
    ]);
    await step.close();
  });
});
