// Reading files as batches of records: CSV and Parquet through DuckDB, JSON with the JS parser, XLSX with exceljs.
// Shared by the file-like sources (file, s3). Writing is in ./write.ts.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Reject, Row, Rows } from '../sdk/types.ts';
import { DuckDbClient, materializedRows, quoteIdent, rowsOfChunk, sqlString } from '../connections/duckdb/client.ts';
import { residentRows } from '../connections/duckdb/rows.ts';

export type FileFormat = 'csv' | 'jsonl' | 'json' | 'parquet' | 'xlsx';

export interface CsvOptions {
  /** Field separator (default: detected by DuckDB's sniffer). */
  delimiter?: string;
  /** The first line names the columns (default true). */
  header?: boolean;
  /** Every column, in file order, with its DuckDB type; a line whose value does not fit is rejected. */
  columns?: Record<string, string>;
  /** Types of some columns by name (the others are detected); a line whose value does not fit is rejected. */
  types?: Record<string, string>;
}

export interface ReadOptions {
  /** Default: from the extension (.csv .tsv .txt, .jsonl .ndjson, .json, .parquet, .xlsx). */
  format?: FileFormat;
  /** Records per batch (default 10,000). */
  batchSize?: number;
  csv?: CsvOptions;
  /** Default: every sheet (each record then has a `_sheet` field when the workbook has several). */
  xlsx?: { sheet?: string };
  /** Label of the file in reject origins (default: the path), e.g. an object key or an uploaded file's name. */
  origin?: string;
  /** Columns with the same text in every record, e.g. `{ source_file: 'data/x.csv' }`. */
  addColumns?: Record<string, string>;
  /**
   * CSV and Parquet (read by DuckDB) stay in `db` as batch tables (`DuckDbRows`) instead of becoming records:
   * the file is loaded with one parallel `read_csv`/`read_parquet` into a table, cut into batches of `batchSize`.
   */
  inDuckDb?: boolean;
}

export interface FileBatch {
  records: Rows;
  rejects: Reject[];
}

export function formatOf(path: string, format?: FileFormat): FileFormat {
  if (format) return format;
  const ext = extname(path).toLowerCase();
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.json') return 'json';
  if (ext === '.parquet') return 'parquet';
  if (ext === '.xlsx') return 'xlsx';
  throw new Error(`${path}: unknown file format (give format: csv, jsonl, json, parquet or xlsx)`);
}

let scratch: Promise<DuckDbClient> | undefined;

/** The in-process DuckDB used when the caller gives none (parsing only; nothing is stored in it). */
function scratchDb(): Promise<DuckDbClient> {
  return (scratch ??= DuckDbClient.open(':memory:'));
}

/**
 * Reads a file as batches of at most `batchSize` records, streaming (a large file never sits in memory at once).
 *
 * - CSV through DuckDB's `read_csv` (types detected, or declared with `csv.columns` / `csv.types`), with
 *   `store_rejects`: a line DuckDB cannot parse or convert becomes a Reject `{ record: <the line>, reasons:
 *   [DuckDB's message, …], origin: 'file.csv:LINE' }` while the good lines still come through. The rejects of
 *   a file arrive with its last batch.
 * - Parquet through DuckDB's `read_parquet`.
 * - JSON lines parsed line by line: a line that is not a JSON object is a Reject with `file:LINE`. JSON (`.json`):
 *   an array of objects or one object (each non-object element is a Reject with `file[INDEX]`); a `.json` file
 *   that is really JSON lines is read as such.
 * - XLSX through exceljs: every sheet (or `xlsx.sheet`), the first non-empty row gives the keys; values as JS
 *   (numbers, strings, booleans, Dates; formulas give their result; an error cell gives its text, e.g. `#N/A`).
 *
 * A file that cannot be parsed at all (not a CSV, not a Parquet file, a broken workbook) yields one Reject for
 * the whole file, with the parser's message, rather than an error that would stop its source forever; a file that
 * cannot be opened (missing, no permission) throws.
 *
 * `db` is the DuckDB to parse in (default: a private in-memory one); reading uses a connection of its own.
 */
export function readRecords(path: string, options?: ReadOptions): AsyncGenerator<FileBatch>;
export function readRecords(db: DuckDbClient, path: string, options?: ReadOptions): AsyncGenerator<FileBatch>;
export async function* readRecords(a: string | DuckDbClient, b?: string | ReadOptions, c?: ReadOptions): AsyncGenerator<FileBatch> {
  const [db, path, options] = typeof a === 'string' ? [undefined, a, (b as ReadOptions | undefined) ?? {}] : [a, b as string, c ?? {}];
  const batchSize = Math.max(1, options.batchSize ?? 10_000);
  const origin = options.origin ?? path;
  const format = formatOf(path, options.format);
  const add = Object.entries(options.addColumns ?? {});
  try {
    if (format === 'csv' || format === 'parquet') {
      const scan = `SELECT *${add.map(([name, value]) => `, ${sqlString(value)} AS ${quoteIdent(name)}`).join('')} FROM ${scanOf(path, format, options.csv ?? {})}`;
      if (db && options.inDuckDb) yield* loadWithDuckDb(db, scan, format, batchSize, origin);
      else yield* readWithDuckDb(db ?? (await scratchDb()), scan, format, batchSize, origin);
      return;
    }
    const batches = format === 'jsonl' ? readJsonLines(path, batchSize, origin) : format === 'json' ? readJson(path, batchSize, origin) : readXlsx(path, batchSize, options.xlsx?.sheet);
    for await (const batch of batches) {
      if (add.length) for (const record of batch.records as Row[]) for (const [name, value] of add) record[name] = value;
      yield batch;
    }
  } catch (error) {
    if (!(error instanceof UnreadableFile)) throw error;
    yield { records: [], rejects: [{ record: { file: origin }, reasons: [error.message], origin }] };
  }
}

/** The names of the sheets of a workbook, in order. */
export async function listSheets(path: string): Promise<string[]> {
  const workbook = await openWorkbook(path);
  return workbook.worksheets.map((sheet) => sheet.name);
}

/** A file whose content cannot be parsed at all: it becomes one reject. */
class UnreadableFile extends Error {}

function struct(entries: Record<string, string>): string {
  return `{${Object.entries(entries).map(([k, v]) => `${sqlString(k)}: ${sqlString(v)}`).join(', ')}}`;
}

/** The table function reading a CSV (rejected lines kept in `_read_rejects` of the connection) or Parquet file. */
function scanOf(path: string, format: 'csv' | 'parquet', csv: CsvOptions): string {
  if (format === 'parquet') return `read_parquet(${sqlString(path)})`;
  const settings = [
    'store_rejects = true', "rejects_table = '_read_rejects'", "rejects_scan = '_read_scans'",
    `header = ${csv.header ?? true}`,
    ...(csv.delimiter ? [`delim = ${sqlString(csv.delimiter)}`] : []),
    ...(csv.columns ? [`columns = ${struct(csv.columns)}`] : []),
    ...(csv.types ? [`types = ${struct(csv.types)}`] : []),
  ];
  return `read_csv(${sqlString(path)}, ${settings.join(', ')})`;
}

/**
 * The file into `db` as batch tables: one `CREATE TABLE … AS` of the scan (DuckDB parses in parallel), then cut
 * into batches by rowid (one batch when the file fits in one). The rejected lines come with the last batch.
 */
async function* loadWithDuckDb(db: DuckDbClient, scan: string, format: 'csv' | 'parquet', batchSize: number, origin: string): AsyncGenerator<FileBatch> {
  const connection = await db.instance.connect();
  let whole;
  try {
    try {
      whole = await residentRows(db, connection, scan);
    } catch (error) {
      throw duckDbReadError(error);
    }
    const rejects = format === 'csv' ? await csvRejects(connection, origin) : [];
    if (whole.count === 0) {
      if (rejects.length) yield { records: [], rejects };
      return;
    }
    if (whole.count <= batchSize) {
      const only = whole;
      whole = undefined; // handed on whole: the runtime drops it with the batch
      yield { records: only, rejects };
      return;
    }
    for (let start = 0; start < whole.count; start += batchSize) {
      const batch = await residentRows(db, connection, `SELECT * FROM ${whole.table} WHERE rowid >= ${start} AND rowid < ${start + batchSize}`);
      yield { records: batch, rejects: start + batchSize >= whole.count ? rejects : [] };
    }
  } finally {
    await whole?.release().catch(() => undefined);
    connection.closeSync();
  }
}

async function* readWithDuckDb(db: DuckDbClient, scan: string, format: 'csv' | 'parquet', batchSize: number, origin: string): AsyncGenerator<FileBatch> {
  // A connection of its own for the whole read: the scan streams while the caller works on the batches.
  const connection = await db.instance.connect();
  try {
    let result;
    try {
      result = await connection.stream(scan);
    } catch (error) {
      throw duckDbReadError(error);
    }
    const names = result.columnNames();
    const types = result.columnTypes().map((t) => t.typeId);
    let page: Row[] = [];
    try {
      for await (const chunk of result) {
        for (const row of rowsOfChunk(chunk, names, types)) {
          page.push(row);
          if (page.length === batchSize) {
            yield { records: page, rejects: [] };
            page = [];
          }
        }
      }
    } catch (error) {
      throw duckDbReadError(error);
    }
    const rejects = format === 'csv' ? await csvRejects(connection, origin) : [];
    if (page.length || rejects.length) yield { records: page, rejects };
  } finally {
    connection.closeSync();
  }
}

/** The lines `read_csv` rejected, one Reject per line with every reason DuckDB gave for it. */
async function csvRejects(connection: DuckDBConnection, origin: string): Promise<Reject[]> {
  const rows = materializedRows(await connection.run(
    'SELECT line, any_value(csv_line) AS csv_line, list(error_message ORDER BY byte_position) AS reasons FROM _read_rejects GROUP BY line ORDER BY line',
  ));
  return rows.map((r) => ({ record: r.csv_line, reasons: (r.reasons as string[]).map((m) => m.split('\n')[0]), origin: `${origin}:${r.line}` }));
}

/** DuckDB's error for a file it cannot read: IO errors (missing file) are thrown as is; parse errors become a reject. */
function duckDbReadError(error: unknown): Error {
  const message = (error as Error).message ?? String(error);
  if (/^IO Error/.test(message)) return error as Error;
  return new UnreadableFile(message.split('\n')[0].trim());
}

async function* readJsonLines(path: string, batchSize: number, origin: string, lines?: AsyncIterable<string> | Iterable<string>): AsyncGenerator<FileBatch> {
  let records: Row[] = [];
  let rejects: Reject[] = [];
  let line = 0;
  for await (const text of lines ?? createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    line++;
    if (!text.trim()) continue;
    try {
      const value = JSON.parse(text) as unknown;
      if (!isObject(value)) throw new Error(`not a JSON object (${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value})`);
      records.push(value);
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

async function* readJson(path: string, batchSize: number, origin: string): AsyncGenerator<FileBatch> {
  const text = await readFile(path, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // Not one JSON document: JSON lines in a .json file are common.
    if (text.trimStart().startsWith('{') && text.includes('\n')) return yield* readJsonLines(path, batchSize, origin, text.split(/\r?\n/));
    throw new UnreadableFile(`invalid JSON: ${(error as Error).message}`);
  }
  const items = Array.isArray(value) ? value : [value];
  let records: Row[] = [];
  let rejects: Reject[] = [];
  for (const [index, item] of items.entries()) {
    if (isObject(item)) records.push(item);
    else rejects.push({ record: item, reasons: [`not a JSON object (${Array.isArray(item) ? 'an array' : item === null ? 'null' : typeof item})`], origin: Array.isArray(value) ? `${origin}[${index}]` : origin });
    if (records.length >= batchSize) {
      yield { records, rejects };
      records = [];
      rejects = [];
    }
  }
  if (records.length || rejects.length) yield { records, rejects };
}

function isObject(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Workbook = InstanceType<typeof import('exceljs')['Workbook']>;

async function openWorkbook(path: string): Promise<Workbook> {
  const { default: ExcelJS } = await import('exceljs');
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code) throw error; // missing file, no permission
    throw new UnreadableFile(`not a readable XLSX workbook: ${(error as Error).message}`);
  }
  return workbook;
}

async function* readXlsx(path: string, batchSize: number, sheetName?: string): AsyncGenerator<FileBatch> {
  const workbook = await openWorkbook(path);
  const sheets = sheetName ? [workbook.getWorksheet(sheetName)] : workbook.worksheets;
  if (sheetName && !sheets[0]) throw new Error(`${path}: no sheet "${sheetName}" (sheets: ${workbook.worksheets.map((w) => w.name).join(', ')})`);
  const tagSheet = !sheetName && workbook.worksheets.length > 1;
  let records: Row[] = [];
  for (const sheet of sheets) {
    if (!sheet) continue;
    let header: string[] | undefined;
    const rows: unknown[][] = [];
    sheet.eachRow((row) => void rows.push((row.values as unknown[]).slice(1).map(cellValue)));
    for (const values of rows) {
      if (values.every((v) => v === null || v === '')) continue;
      if (!header) {
        header = headerNames(values);
        continue;
      }
      const record: Row = tagSheet ? { _sheet: sheet.name } : {};
      const width = Math.max(header.length, values.length);
      for (let i = 0; i < width; i++) record[header[i] ?? `column_${i + 1}`] = values[i] ?? null;
      records.push(record);
      if (records.length >= batchSize) {
        yield { records, rejects: [] };
        records = [];
      }
    }
  }
  if (records.length) yield { records, rejects: [] };
}

/** Header cells → keys: trimmed text; an empty cell is `column_N`; a repeated name gets `_2`, `_3`… */
function headerNames(values: unknown[]): string[] {
  const seen = new Map<string, number>();
  return values.map((value, i) => {
    const text = value === null || value === undefined || String(value).trim() === '' ? `column_${i + 1}` : String(value instanceof Date ? value.toISOString() : value).trim();
    const n = (seen.get(text) ?? 0) + 1;
    seen.set(text, n);
    return n === 1 ? text : `${text}_${n}`;
  });
}

/** exceljs cell values → JS: formulas → their result, rich text → plain text, hyperlinks → text, errors → their text. */
function cellValue(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || value instanceof Date) return value;
  const v = value as { result?: unknown; formula?: unknown; sharedFormula?: unknown; richText?: { text: string }[]; text?: unknown; error?: string };
  if ('formula' in v || 'sharedFormula' in v || 'result' in v) return cellValue(v.result);
  if (v.richText) return v.richText.map((t) => t.text).join('');
  if (v.error !== undefined) return v.error;
  if (v.text !== undefined) return cellValue(v.text);
  return JSON.stringify(value);
}
