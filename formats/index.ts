// Reading files as batches of records: CSV (csv.ts) and Parquet through DuckDB, JSON with the JS parser, XLSX with exceljs.
// Shared by the file-like sources (file, s3). Writing is in ./write.ts.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Reject, Row, Rows } from '../core/sdk/types.ts';
import { errorMessage, isDataError } from '../core/sdk/index.ts';
import { DuckDbClient, quoteIdent, sqlString } from '../connections/duckdb/client.ts';
import { residentRows, type DuckDbRows } from '../connections/duckdb/rows.ts';
import { loadCsv, NotCsv, type CsvOptions, type LoadedCsv } from './csv.ts';

export type FileFormat = 'csv' | 'jsonl' | 'json' | 'parquet' | 'xlsx';
export type { CsvOptions } from './csv.ts';
export { firstLine } from './csv.ts';

export interface XlsxOptions {
  /** The sheet to read (default: every sheet). A workbook without it becomes one reject naming its sheets. */
  sheet?: string;
  /** Rows read per sheet (default 1,048,576, Excel's most): the rows after it become one reject. */
  maxRows?: number;
  /** Cells a row may have (default 16,384, Excel's most): a row with more is rejected. */
  maxColumns?: number;
}

export interface ReadOptions {
  /** Default: from the extension (.csv .tsv .txt, .jsonl .ndjson, .json, .parquet, .xlsx). */
  format?: FileFormat;
  /** Records per batch (default 10,000). */
  batchSize?: number;
  csv?: CsvOptions;
  /** Default: every sheet (each record then has a `_sheet` field when the workbook has several). */
  xlsx?: XlsxOptions;
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
  /** Where the record at an index of `records` is in the file: `file:LINE`, `file[INDEX]`, `file:Sheet!ROW`. */
  origin?: (index: number) => string | undefined;
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
  return (scratch ??= DuckDbClient.open(':memory:', { temp_directory: join(tmpdir(), 'platform-duckdb-spill') }));
}

/**
 * The most a `.json` document can be: V8 holds a string of at most 2^29 - 24 characters, and the document is
 * parsed as one (JSON lines are read line by line and have no such limit).
 */
export const MAX_JSON_DOCUMENT_BYTES = 0x1fffffe8;

/**
 * Reads a file as batches of at most `batchSize` records; a large file never sits in JS memory at once.
 *
 * - CSV through DuckDB in a named dialect (see csv.ts: quote and escape `"` unless configured, the delimiter
 *   configured or read off the header), types detected or declared with `csv.columns` / `csv.types`, with
 *   `store_rejects`: a line DuckDB cannot parse or convert — an unterminated quote, a line above
 *   `csv.maxLineBytes`, a value that does not fit its column — becomes a Reject `{ record: <the line>, reasons:
 *   [DuckDB's message, …], origin: 'file.csv:LINE' }` while the good lines still come through. The file is loaded
 *   into a DuckDB table first (so every record's line is known), then handed out in batches; the rejects of a
 *   file arrive with its last batch.
 * - Parquet through DuckDB's `read_parquet`.
 * - JSON lines parsed line by line: a line that is not a JSON object is a Reject with `file:LINE`. JSON (`.json`):
 *   an array of objects or one object (each non-object element is a Reject with `file[INDEX]`); a `.json` file
 *   that is really JSON lines is read as such; a document over MAX_JSON_DOCUMENT_BYTES is one Reject (it cannot be
 *   parsed as one string: JSON lines can be any size).
 * - XLSX through exceljs's streaming reader: every sheet (or `xlsx.sheet`), the first non-empty row gives the
 *   keys; values as JS (numbers, strings, booleans, Dates; formulas give their cached result; an error cell gives
 *   its text, e.g. `#N/A`). A workbook without the configured sheet is one Reject naming its sheets.
 *
 * Each batch says where its records are in the file (`origin(index)`), for dead letters of later steps. A file that
 * cannot be parsed at all (not a CSV, not a Parquet file, a broken workbook), or whose reading fails with a data
 * error (too large, too deep), yields one Reject for the file (for what was not read yet) rather than an error that
 * would stop its source forever; a file that cannot be opened (missing, no permission) throws.
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
      const select = add.map(([name, value]) => `, ${sqlString(value)} AS ${quoteIdent(name)}`).join('');
      const parse = db ?? (await scratchDb());
      const batches = format === 'csv' ? loadCsvBatches(parse, path, options.csv ?? {}, select, batchSize, origin) : loadParquet(parse, path, select, batchSize, origin);
      for await (const batch of batches) {
        if (db && options.inDuckDb) yield batch;
        else yield { ...batch, records: await asRecords(batch.records) };
      }
      return;
    }
    const batches = format === 'jsonl' ? readJsonLines(path, batchSize, origin) : format === 'json' ? readJson(path, batchSize, origin) : readXlsx(path, batchSize, origin, options.xlsx ?? {});
    for await (const batch of batches) {
      if (add.length) for (const record of batch.records as Row[]) for (const [name, value] of add) record[name] = value;
      yield batch;
    }
  } catch (error) {
    if (!(error instanceof UnreadableFile) && !(error instanceof NotCsv) && !isDataError(error)) throw error;
    yield { records: [], rejects: [{ record: { file: origin }, reasons: [readError(error)], origin }] };
  }
}

/** A batch table's rows as records, the table dropped (the JS path: nothing stays in DuckDB). */
async function asRecords(rows: Rows): Promise<Row[]> {
  if (Array.isArray(rows)) return rows;
  try {
    return await rows.toRecords();
  } finally {
    await rows.release().catch(() => undefined);
  }
}

function readError(error: unknown): string {
  const message = errorMessage(error);
  if (error instanceof RangeError) return `the file is too large or too deeply nested to read (${message})`;
  return message;
}

/** The names of the sheets of a workbook, in order (the workbook's index only: no sheet is read). */
export async function listSheets(path: string): Promise<string[]> {
  const reader = await workbookReader(path, { worksheets: 'ignore', sharedStrings: 'ignore', styles: 'ignore' });
  try {
    for await (const _sheet of reader) { /* only the workbook's index is read */ }
  } catch (error) {
    throw unreadableWorkbook(error);
  }
  return sheetNames(reader);
}

/** A file whose content cannot be parsed at all: it becomes one reject. */
class UnreadableFile extends Error {}

/**
 * The CSV file into `db` as batch tables (see csv.ts), cut into batches by rowid (one batch when the file fits in
 * one); every batch says the line of each of its rows. The rejected lines come with the last batch.
 */
async function* loadCsvBatches(db: DuckDbClient, path: string, csv: CsvOptions, select: string, batchSize: number, label: string): AsyncGenerator<FileBatch> {
  const connection = await db.instance.connect();
  let loaded: LoadedCsv | undefined;
  try {
    loaded = await loadCsv(db, connection, path, csv, label, select);
    yield* cut(db, connection, loaded.rows, loaded.rejects, batchSize, loaded.origin);
    loaded = undefined;
  } finally {
    if (loaded?.rows) await loaded.rows.release().catch(() => undefined);
    connection.closeSync();
  }
}

/** A Parquet file into `db` as batch tables; a row's origin is `file#N` (its place in the file, from 1). */
async function* loadParquet(db: DuckDbClient, path: string, select: string, batchSize: number, label: string): AsyncGenerator<FileBatch> {
  const connection = await db.instance.connect();
  let whole: DuckDbRows | undefined;
  try {
    try {
      whole = await residentRows(db, connection, `SELECT *${select} FROM read_parquet(${sqlString(path)})`);
    } catch (error) {
      throw duckDbReadError(error);
    }
    const rows = whole;
    whole = undefined;
    yield* cut(db, connection, rows, [], batchSize, (rowid) => `${label}#${rowid + 1}`);
  } finally {
    await whole?.release().catch(() => undefined);
    connection.closeSync();
  }
}

/** A loaded table handed out in batches of `batchSize` rows (the table itself when it fits in one). */
async function* cut(db: DuckDbClient, connection: DuckDBConnection, whole: DuckDbRows | undefined, rejects: Reject[], batchSize: number, origin: (rowid: number) => string): AsyncGenerator<FileBatch> {
  if (!whole || whole.count === 0) {
    await whole?.release().catch(() => undefined);
    if (rejects.length) yield { records: [], rejects };
    return;
  }
  if (whole.count <= batchSize) {
    yield { records: whole, rejects, origin }; // handed on whole: the runtime drops it with the batch
    return;
  }
  try {
    for (let start = 0; start < whole.count; start += batchSize) {
      const batch = await residentRows(db, connection, `SELECT * FROM ${whole.table} WHERE rowid >= ${start} AND rowid < ${start + batchSize} ORDER BY rowid`);
      yield { records: batch, rejects: start + batchSize >= whole.count ? rejects : [], origin: (index) => origin(start + index) };
    }
  } finally {
    await whole.release().catch(() => undefined);
  }
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
  let numbers: number[] = [];
  let line = 0;
  const batch = (): FileBatch => {
    const at = numbers;
    return { records, rejects, origin: (index) => `${origin}:${at[index]}` };
  };
  for await (const text of lines ?? createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    line++;
    if (!text.trim()) continue;
    try {
      const value = JSON.parse(text) as unknown;
      if (!isObject(value)) throw new Error(`not a JSON object (${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value})`);
      records.push(value);
      numbers.push(line);
    } catch (error) {
      rejects.push({ record: text, reasons: [`invalid JSON: ${(error as Error).message}`], origin: `${origin}:${line}` });
    }
    if (records.length >= batchSize) {
      yield batch();
      records = [];
      rejects = [];
      numbers = [];
    }
  }
  if (records.length || rejects.length) yield batch();
}

async function* readJson(path: string, batchSize: number, origin: string): AsyncGenerator<FileBatch> {
  const { size } = await stat(path);
  if (size > MAX_JSON_DOCUMENT_BYTES) {
    throw new UnreadableFile(`${formatBytes(size)} is more than one JSON document can be (${formatBytes(MAX_JSON_DOCUMENT_BYTES)}, the longest string JavaScript holds): write it as JSON lines (one object a line, .jsonl), which are read in a stream`);
  }
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
  let indexes: number[] = [];
  const label = (index: number) => (Array.isArray(value) ? `${origin}[${index}]` : origin);
  const batch = (): FileBatch => {
    const at = indexes;
    return { records, rejects, origin: (i) => label(at[i]) };
  };
  for (const [index, item] of items.entries()) {
    if (isObject(item)) {
      records.push(item);
      indexes.push(index);
    } else rejects.push({ record: item, reasons: [`not a JSON object (${Array.isArray(item) ? 'an array' : item === null ? 'null' : typeof item})`], origin: label(index) });
    if (records.length >= batchSize) {
      yield batch();
      records = [];
      rejects = [];
      indexes = [];
    }
  }
  if (records.length || rejects.length) yield batch();
}

function isObject(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatBytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toLocaleString('en-US', { maximumFractionDigits: 0 })} MB`;
}

type WorkbookReader = InstanceType<typeof import('exceljs')['stream']['xlsx']['WorkbookReader']>;

/** The steps of exceljs's streaming reader that each read one zip entry (exceljs is pinned: these are internal). */
interface EntryParsers {
  options: { worksheets: string };
  model?: { sheets?: { name: string; rId: string }[] };
  workbookRels?: { Id: string; Target: string }[];
  parse(): AsyncGenerator<{ eventType?: string; value?: unknown }>;
  _parseRels(entry: NodeJS.ReadableStream): Promise<void>;
  _parseWorkbook(entry: NodeJS.ReadableStream): Promise<void>;
  _parseSharedStrings(entry: NodeJS.ReadableStream): AsyncGenerator<unknown>;
  _parseStyles(entry: NodeJS.ReadableStream): Promise<void>;
  _parseWorksheet(rows: AsyncIterable<unknown>, sheetNo: string): Generator<{ eventType: string; value: { name?: string } }>;
}

/**
 * exceljs's streaming reader, reading the zip through its central directory: the workbook's index, shared strings
 * and styles first, then each sheet in the workbook's order, row by row (never a whole sheet in memory).
 * exceljs's own pass reads the entries as one stream in stored order, and on Node 18+ it may meet a sheet before
 * `xl/workbook.xml` (exceljs's writer stores it last) or lose an entry: the same file then crashed
 * ("reading 'sheets'") or read with empty cells on some runs and not others (exceljs issue 3064).
 */
async function workbookReader(path: string, options: Record<string, string>): Promise<WorkbookReader> {
  const [{ default: ExcelJS }, { Open }, { default: iterateStream }] = await Promise.all([import('exceljs'), import('unzipper'), import('exceljs/lib/utils/iterate-stream.js')]);
  await stat(path); // a missing file throws as such, not as an unreadable workbook
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, options);
  const steps = reader as unknown as EntryParsers;
  steps.parse = async function* () {
    const { files } = await Open.file(path);
    const entry = (name: string) => files.find((f) => f.path === name)?.stream();
    const rels = entry('xl/_rels/workbook.xml.rels');
    const book = entry('xl/workbook.xml');
    if (!rels || !book) throw new UnreadableFile(`not a readable XLSX workbook: no ${rels ? 'xl/workbook.xml' : 'xl/_rels/workbook.xml.rels'} in the file`);
    await steps._parseRels(rels);
    await steps._parseWorkbook(book);
    const strings = entry('xl/sharedStrings.xml');
    if (strings) for await (const _string of steps._parseSharedStrings(strings)) { /* cached on the reader */ }
    const styles = entry('xl/styles.xml');
    if (styles) await steps._parseStyles(styles);
    if (steps.options.worksheets !== 'emit') return;
    for (const sheet of steps.model?.sheets ?? []) {
      const target = steps.workbookRels?.find((rel) => rel.Id === sheet.rId)?.Target ?? '';
      const name = target.startsWith('/') ? target.slice(1) : `xl/${target}`;
      const rows = entry(name);
      const sheetNo = /sheet(\d+)\.xml$/.exec(name)?.[1];
      if (!rows || !sheetNo) throw new UnreadableFile(`not a readable XLSX workbook: sheet ${sheet.name} has no part (${name || 'no relationship'})`);
      for (const event of steps._parseWorksheet(iterateStream(rows), sheetNo)) {
        event.value.name ??= sheet.name; // exceljs names a sheet only when its relationship's target is relative
        yield event;
      }
    }
  };
  return reader;
}

function sheetNames(reader: WorkbookReader): string[] {
  return ((reader as unknown as { model?: { sheets?: { name: string }[] } }).model?.sheets ?? []).map((s) => s.name);
}

function unreadableWorkbook(error: unknown): Error {
  if (error instanceof UnreadableFile) return error;
  if ((error as NodeJS.ErrnoException).code && !/^(ERR_|Z_)/.test(String((error as NodeJS.ErrnoException).code))) return error as Error; // missing file, no permission
  return new UnreadableFile(`not a readable XLSX workbook: ${errorMessage(error)}`);
}

/** Excel's limits: rows in a sheet, cells in a row, characters in a cell. */
const EXCEL_ROWS = 1_048_576;
const EXCEL_COLUMNS = 16_384;
const EXCEL_CELL_CHARS = 32_767;

/**
 * The workbook sheet by sheet, row by row (exceljs's streaming reader: the workbook is never in memory whole).
 * A row with more cells than `maxColumns` or a cell longer than Excel allows is rejected; the rows of a sheet after
 * `maxRows` are one reject. Formulas give their cached result (exceljs's streaming reader keeps a number or text;
 * an error result, e.g. #DIV/0!, comes as the text `#ERROR`).
 */
async function* readXlsx(path: string, batchSize: number, label: string, options: XlsxOptions): AsyncGenerator<FileBatch> {
  const maxRows = options.maxRows ?? EXCEL_ROWS;
  const maxColumns = options.maxColumns ?? EXCEL_COLUMNS;
  const reader = await workbookReader(path, { worksheets: 'emit', sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', entries: 'ignore' });
  let records: Row[] = [];
  let rejects: Reject[] = [];
  let origins: string[] = [];
  let found = false;
  const batch = (): FileBatch => {
    const at = origins;
    return { records, rejects, origin: (index) => at[index] };
  };
  const date1904 = () => Boolean((reader as unknown as { properties?: { date1904?: boolean } }).properties?.date1904);
  try {
    for await (const sheet of reader) {
      emptySharedStrings(reader);
      const name = (sheet as unknown as { name: string }).name;
      if (options.sheet !== undefined && name !== options.sheet) {
        for await (const _row of sheet) { /* another sheet: read past it */ }
        continue;
      }
      found = true;
      const tagSheet = options.sheet === undefined && sheetNames(reader).length > 1;
      let header: string[] | undefined;
      let read = 0;
      let cutOff = false;
      for await (const row of sheet as AsyncIterable<XlsxRow>) {
        if (cutOff) continue;
        const where = `${label}:${name}!${row.number}`;
        if (++read > maxRows) {
          cutOff = true;
          rejects.push({ record: { file: label, sheet: name, fromRow: row.number }, reasons: [`sheet ${name} has more than ${maxRows.toLocaleString('en-US')} rows (xlsx.maxRows): the rows from ${row.number} on are not read`], origin: where });
          continue;
        }
        const values = (row.values as unknown[]).slice(1);
        if (values.length > maxColumns) {
          rejects.push({ record: { sheet: name, row: row.number, cells: values.length }, reasons: [`row has ${values.length.toLocaleString('en-US')} cells, more than ${maxColumns.toLocaleString('en-US')} (xlsx.maxColumns)`], origin: where });
          continue;
        }
        const cells = values.map((value, i) => cellValue(value, row.getCell(i + 1)?.numFmt, date1904()));
        const long = cells.findIndex((v) => typeof v === 'string' && v.length > EXCEL_CELL_CHARS);
        if (long !== -1) {
          rejects.push({ record: { sheet: name, row: row.number }, reasons: [`cell ${long + 1} has ${(cells[long] as string).length.toLocaleString('en-US')} characters, more than a cell can hold (${EXCEL_CELL_CHARS.toLocaleString('en-US')})`], origin: where });
          continue;
        }
        if (cells.every((v) => v === null || v === '')) continue;
        if (!header) {
          header = headerNames(cells);
          continue;
        }
        const record: Row = tagSheet ? { _sheet: name } : {};
        const width = Math.max(header.length, cells.length);
        for (let i = 0; i < width; i++) setField(record, header[i] ?? `column_${i + 1}`, cells[i] ?? null);
        records.push(record);
        origins.push(where);
        if (records.length >= batchSize) {
          yield batch();
          records = [];
          rejects = [];
          origins = [];
        }
      }
    }
  } catch (error) {
    throw unreadableWorkbook(error);
  }
  if (options.sheet !== undefined && !found) {
    rejects.push({ record: { file: label, sheet: options.sheet }, reasons: [`no sheet "${options.sheet}" in the workbook (sheets: ${sheetNames(reader).join(', ') || 'none'})`], origin: label });
  }
  if (records.length || rejects.length) yield batch();
}

/**
 * exceljs's streaming reader keeps an empty shared string (`<si><t></t></si>`) as null, where the workbook holds
 * text: made '' again before any sheet is read (the shared strings come first), as the whole-workbook reader gives.
 */
function emptySharedStrings(reader: WorkbookReader): void {
  const strings = (reader as unknown as { sharedStrings?: unknown[] }).sharedStrings;
  if (strings) for (let i = 0; i < strings.length; i++) if (strings[i] === null) strings[i] = '';
}

interface XlsxRow {
  number: number;
  values: unknown;
  getCell(column: number): { numFmt?: string } | undefined;
}

/** Sets a field, also one named `__proto__` (an own property, never the record's prototype). */
function setField(record: Row, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
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

/**
 * exceljs cell values → JS: formulas → their result (a number under a date format → a Date), rich text → plain
 * text, hyperlinks → text, errors → their text.
 */
function cellValue(value: unknown, numFmt: string | undefined, date1904: boolean): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || value instanceof Date) return value;
  const v = value as { result?: unknown; formula?: unknown; sharedFormula?: unknown; richText?: { text: string }[]; text?: unknown; error?: string };
  if ('formula' in v || 'sharedFormula' in v || 'result' in v) {
    const result = v.result;
    if (typeof result === 'number' && Number.isNaN(result)) return '#ERROR';
    if (typeof result === 'number' && isDateFormat(numFmt)) return new Date(Math.round((result - 25569 + (date1904 ? 1462 : 0)) * 86_400_000));
    return cellValue(result, undefined, date1904);
  }
  if (v.richText) return v.richText.map((t) => t.text).join('');
  if (v.error !== undefined) return v.error;
  if (v.text !== undefined) return cellValue(v.text, undefined, date1904);
  return JSON.stringify(value);
}

/** Whether an Excel number format shows a date or time (its letters outside quotes and brackets). */
function isDateFormat(format: string | undefined): boolean {
  return !!format && /[ymdhsb]/i.test(format.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, ''));
}
