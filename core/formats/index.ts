import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Reject, Row } from '../sdk/types.ts';
import { readRows, type DuckDbClient } from '../connections/duckdb/index.ts';

export type FileFormat = 'csv' | 'jsonl' | 'parquet' | 'xlsx';

export interface ReadOptions {
  format?: FileFormat;
  batchSize?: number;
  csv?: { delimiter?: string; header?: boolean; columns?: Record<string, string> };
  xlsx?: { sheet?: string };
  /** Label of the file in reject origins (default: the path), e.g. an object key. */
  origin?: string;
}

export function formatOf(path: string, format?: FileFormat): FileFormat {
  if (format) return format;
  const ext = extname(path).toLowerCase();
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.parquet') return 'parquet';
  if (ext === '.xlsx') return 'xlsx';
  throw new Error(`${path}: unknown file format (give format: csv, jsonl, parquet or xlsx)`);
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Reads a file as batches of records. CSV and Parquet go through DuckDB (types detected, fast); a CSV line
 * DuckDB cannot parse becomes a Reject with `file:line` and the reason, while the good lines still come
 * through. JSON lines are parsed line by line (a bad line is a Reject). XLSX sheets are read with exceljs.
 */
export async function* readRecords(db: DuckDbClient, path: string, options: ReadOptions = {}): AsyncGenerator<{ records: Row[]; rejects: Reject[] }> {
  const batchSize = options.batchSize ?? 10_000;
  const origin = options.origin ?? path;
  const format = formatOf(path, options.format);
  if (format === 'jsonl') return yield* readJsonLines(path, batchSize, origin);
  if (format === 'xlsx') return yield* readXlsx(path, batchSize, options.xlsx?.sheet);
  yield* await db.session(async (connection) => {
    const out: { records: Row[]; rejects: Reject[] }[] = [];
    let rejects: Reject[] = [];
    if (format === 'csv') {
      const csv = options.csv ?? {};
      const settings = [
        'store_rejects = true', "rejects_table = '_file_rejects'", "rejects_scan = '_file_scan'",
        `header = ${csv.header ?? true}`,
        ...(csv.delimiter ? [`delim = ${literal(csv.delimiter)}`] : []),
        ...(csv.columns ? [`columns = {${Object.entries(csv.columns).map(([k, v]) => `${literal(k)}: ${literal(v)}`).join(', ')}}`] : []),
      ];
      await connection.run(`CREATE OR REPLACE TEMP TABLE _file AS SELECT * FROM read_csv(${literal(path)}, ${settings.join(', ')})`);
      const bad = readRows(await connection.runAndReadAll('SELECT line, csv_line, error_message FROM _file_rejects ORDER BY line'));
      rejects = bad.map((r) => ({ record: r.csv_line, reasons: [String(r.error_message).split('\n')[0]], origin: `${origin}:${r.line}` }));
      await connection.run('DROP TABLE IF EXISTS _file_rejects; DROP TABLE IF EXISTS _file_scan');
    } else {
      await connection.run(`CREATE OR REPLACE TEMP TABLE _file AS SELECT * FROM read_parquet(${literal(path)})`);
    }
    // Page through the file's rows; the first batch carries the rejects.
    for (let offset = 0; ; offset += batchSize) {
      const records = readRows(await connection.runAndReadAll(`SELECT * FROM _file LIMIT ${batchSize} OFFSET ${offset}`));
      if (records.length || offset === 0) out.push({ records, rejects: offset === 0 ? rejects : [] });
      if (records.length < batchSize) break;
    }
    await connection.run('DROP TABLE IF EXISTS _file');
    return out;
  });
}

async function* readJsonLines(path: string, batchSize: number, origin: string): AsyncGenerator<{ records: Row[]; rejects: Reject[] }> {
  let records: Row[] = [];
  let rejects: Reject[] = [];
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    line++;
    if (!text.trim()) continue;
    try {
      const value = JSON.parse(text) as unknown;
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
      records.push(value as Row);
    } catch (error) {
      rejects.push({ record: text, reasons: [`invalid JSON: ${(error as Error).message}`], origin: `${origin}:${line}` });
    }
    if (records.length >= batchSize) {
      yield { records, rejects };
      records = [];
      rejects = [];
    }
  }
  if (records.length || rejects.length) yield { records, rejects };
}

async function* readXlsx(path: string, batchSize: number, sheetName?: string): AsyncGenerator<{ records: Row[]; rejects: Reject[] }> {
  const { default: ExcelJS } = await import('exceljs');
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.readFile(path);
  const sheets = sheetName ? [workbook.getWorksheet(sheetName)] : workbook.worksheets;
  if (sheetName && !sheets[0]) throw new Error(`${path}: no sheet "${sheetName}" (sheets: ${workbook.worksheets.map((w) => w.name).join(', ')})`);
  for (const sheet of sheets) {
    if (!sheet) continue;
    let header: string[] = [];
    let records: Row[] = [];
    sheet.eachRow((row, number) => {
      const values = (row.values as unknown[]).slice(1).map(cellValue);
      if (number === 1) {
        header = values.map((v, i) => String(v ?? `column_${i + 1}`).trim());
        return;
      }
      const record: Row = sheets.length > 1 ? { _sheet: sheet.name } : {};
      header.forEach((name, i) => (record[name] = values[i] ?? null));
      records.push(record);
    });
    for (let i = 0; i < records.length; i += batchSize) yield { records: records.slice(i, i + batchSize), rejects: [] };
    records = [];
  }
}

/** exceljs cell values: formulas → their result, rich text → plain text, hyperlinks → text. */
function cellValue(value: unknown): unknown {
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const v = value as { result?: unknown; richText?: { text: string }[]; text?: string };
    if ('result' in v) return v.result ?? null;
    if (v.richText) return v.richText.map((t) => t.text).join('');
    if (v.text !== undefined) return v.text;
  }
  return value ?? null;
}
