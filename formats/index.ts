// Reading files as batches of records: CSV (csv.ts) and Parquet through DuckDB, JSON with the JS parser, XLSX with exceljs.
// Shared by the file-like sources (file, s3). Writing is in ./write.ts.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Parser, type Handler } from 'htmlparser2';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Reject, Row, Rows } from '../core/sdk/types.ts';
import { duckDbErrorClass, errorMessage, isDataError } from '../core/sdk/index.ts';
import { appendRows, type ColumnKind } from '../connections/duckdb/append.ts';
import { DuckDbClient, quoteIdent, sqlString, widenKind } from '../connections/duckdb/client.ts';
import { residentRows, type DuckDbRows } from '../connections/duckdb/rows.ts';
import { loadCsv, NotCsv, type CsvOptions, type LoadedCsv } from './csv.ts';
import { loadJsonLines } from './jsonl.ts';

export type FileFormat = 'csv' | 'jsonl' | 'json' | 'parquet' | 'xlsx';
export type { CsvOptions } from './csv.ts';
export { firstLine } from './csv.ts';

export interface XlsxOptions {
  /**
   * The sheet to read, or several (default: every sheet; the others are not even inflated). A workbook without it
   * (without any of them) becomes one reject naming its sheets; of a list, the sheets the workbook lacks are skipped.
   */
  sheet?: string | string[];
  /** Rows read per sheet (default 1,048,576, Excel's most): the rows after it become one reject. */
  maxRows?: number;
  /** Cells a row may have (default 16,384, Excel's most): a row with more is rejected. */
  maxColumns?: number;
  /**
   * Characters the workbook's shared texts (its table of distinct texts, held while the sheets are read; of those the
   * sheets read point to, when `sheet` is given) may hold in all (default 64,000,000): a workbook with more is one
   * reject.
   */
  maxTextChars?: number;
}

export interface ReadOptions {
  /** Default: from the extension (.csv .tsv .txt, .jsonl .ndjson, .json, .parquet, .xlsx). */
  format?: FileFormat;
  /** Records per batch (default 10,000). */
  batchSize?: number;
  /**
   * Instead of `batchSize`: batches of about this many bytes of the file, read one after the other (CSV and JSON
   * lines read by DuckDB), so that memory does not grow with the file.
   */
  batchBytes?: number;
  csv?: CsvOptions;
  /** Default: every sheet (each record then has a `_sheet` field when the workbook has several). */
  xlsx?: XlsxOptions;
  /** Label of the file in reject origins (default: the path), e.g. an object key or an uploaded file's name. */
  origin?: string;
  /** Columns with the same text in every record, e.g. `{ source_file: 'data/x.csv' }`. */
  addColumns?: Record<string, string>;
  /**
   * CSV and Parquet (read by DuckDB) stay in `db` as batch tables (`DuckDbRows`) instead of becoming records:
   * the file is loaded with one parallel `read_csv`/`read_parquet` into a table, cut into batches of `batchSize`
   * (or slices of `batchBytes`). JSON lines too (`read_json`, see jsonl.ts).
   */
  inDuckDb?: boolean;
}

export interface FileBatch {
  records: Rows;
  rejects: Reject[];
  /** Whether this is the file's last batch, when the reader knows it (false: more come; undefined: not known). */
  last?: boolean;
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
 * - XLSX sheet by sheet through the zip's central directory, row by row (see readXlsx): every sheet (or the
 *   `xlsx.sheet` ones; the others are never decompressed), the first non-empty row gives the keys; values as JS
 *   (numbers, strings, booleans, Dates; formulas give their cached result; an error cell gives its text, e.g.
 *   `#N/A`). A workbook without the configured sheet(s) is one Reject naming its sheets.
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
export async function* readRecords(
  a: string | DuckDbClient,
  b?: string | ReadOptions,
  c?: ReadOptions,
): AsyncGenerator<FileBatch> {
  const [db, path, options] =
    typeof a === 'string' ? [undefined, a, (b as ReadOptions | undefined) ?? {}] : [a, b as string, c ?? {}];
  const batchSize = Math.max(1, options.batchSize ?? 10_000);
  const origin = options.origin ?? path;
  const format = formatOf(path, options.format);
  const add = Object.entries(options.addColumns ?? {});
  try {
    if (format === 'csv' || format === 'parquet') {
      const select = add.map(([name, value]) => `, ${sqlString(value)} AS ${quoteIdent(name)}`).join('');
      const parse = db ?? (await scratchDb());
      const batches =
        format === 'csv'
          ? loadCsvBatches(parse, path, options.csv ?? {}, select, batchSize, origin, options.batchBytes)
          : loadParquet(parse, path, select, batchSize, origin);
      for await (const batch of batches) {
        if (db && options.inDuckDb) yield batch;
        else yield { ...batch, records: await asRecords(batch.records) };
      }
      return;
    }
    if (format === 'jsonl' && db && options.inDuckDb) {
      // In DuckDB, slice by slice; a slice it cannot read as the JS parser would is read by the JS parser.
      const readJs = (file: string, firstLine: number) => readJsonLines(file, batchSize, origin, undefined, firstLine);
      const cut = options.batchBytes ? { bytes: options.batchBytes } : { lines: batchSize };
      for await (const batch of loadJsonLines<FileBatch>(db, path, origin, add, cut, readJs)) {
        if (add.length && Array.isArray(batch.records))
          for (const record of batch.records) for (const [name, value] of add) record[name] = value;
        yield batch;
      }
      return;
    }
    if (format === 'xlsx' && db && options.inDuckDb) {
      yield* loadXlsx(db, path, batchSize, origin, options.xlsx ?? {}, add);
      return;
    }
    const batches =
      format === 'jsonl'
        ? readJsonLines(path, batchSize, origin)
        : format === 'json'
          ? readJson(path, batchSize, origin)
          : readXlsx(path, batchSize, origin, options.xlsx ?? {});
    for await (const batch of batches) {
      if (add.length)
        for (const record of batch.records as Row[]) for (const [name, value] of add) record[name] = value;
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
  return (await openWorkbook(path, false)).sheets.map((sheet) => sheet.name);
}

/** A file whose content cannot be parsed at all: it becomes one reject. */
class UnreadableFile extends Error {}

/**
 * The CSV file into `db` as batch tables (see csv.ts): with `batchBytes`, a batch per slice of about that many bytes
 * of the file (read one after the other: memory stays flat in the file's size), else the whole file cut into
 * batches of `batchSize` rows by rowid (one batch when the file fits in one). Every batch says the line of each of
 * its rows; the rejected lines come with the batch of their slice (with the last batch, without slices).
 */
async function* loadCsvBatches(
  db: DuckDbClient,
  path: string,
  csv: CsvOptions,
  select: string,
  batchSize: number,
  label: string,
  batchBytes?: number,
): AsyncGenerator<FileBatch> {
  const connection = await db.instance.connect();
  let loaded: LoadedCsv | undefined;
  try {
    for await (loaded of loadCsv(db, connection, path, csv, label, select, batchBytes)) {
      const { rows, rejects, origin, last } = loaded;
      loaded = undefined; // handed on: the runtime drops it with the batch
      if (!batchBytes) yield* cut(db, connection, rows, rejects, batchSize, origin);
      else if (rows?.count) yield { records: rows, rejects, origin, last };
      else {
        await rows?.release().catch(() => undefined);
        if (rejects.length) yield { records: [], rejects, last };
      }
    }
  } finally {
    if (loaded?.rows) await loaded.rows.release().catch(() => undefined);
    connection.closeSync();
  }
}

/** A Parquet file into `db` as batch tables; a row's origin is `file#N` (its place in the file, from 1). */
async function* loadParquet(
  db: DuckDbClient,
  path: string,
  select: string,
  batchSize: number,
  label: string,
): AsyncGenerator<FileBatch> {
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
async function* cut(
  db: DuckDbClient,
  connection: DuckDBConnection,
  whole: DuckDbRows | undefined,
  rejects: Reject[],
  batchSize: number,
  origin: (rowid: number) => string,
): AsyncGenerator<FileBatch> {
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
      const batch = await residentRows(
        db,
        connection,
        `SELECT * FROM ${whole.table} WHERE rowid >= ${start} AND rowid < ${start + batchSize} ORDER BY rowid`,
      );
      yield {
        records: batch,
        rejects: start + batchSize >= whole.count ? rejects : [],
        origin: (index) => origin(start + index),
      };
    }
  } finally {
    await whole.release().catch(() => undefined);
  }
}

/** Records of a workbook read at a time when it goes into DuckDB (one data chunk of the appender). */
const XLSX_CHUNK_ROWS = 2048;

let xlsxStaging = 0;

/**
 * A workbook into `db` as batch tables of `batchSize` rows, without holding a batch's records in JS: the rows are read
 * 2,048 at a time (readXlsx), and each such chunk of records is appended to a staging table as text — each value as
 * the records path stores it in a text column (a Date as ISO 8601, a number as JS writes it) — and dropped. Each
 * column's type is worked out over the whole batch as for records (`inferColumns`: integers and fractions DOUBLE,
 * any other mix VARCHAR), and the batch table is the staging table with each column cast to its type: the table the
 * batch's records would have made, in the same order (rowid = the record's index in the batch), with the same
 * columns (a column first seen in a later chunk, e.g. of another sheet, is NULL before it).
 */
async function* loadXlsx(
  db: DuckDbClient,
  path: string,
  batchSize: number,
  label: string,
  options: XlsxOptions,
  add: [string, string][],
): AsyncGenerator<FileBatch> {
  const connection = await db.instance.connect();
  const name = `_xlsx_staging_${++xlsxStaging}`;
  const staging = `temp.${quoteIdent(name)}`;
  let kinds = new Map<string, ColumnKind | undefined>();
  let rows = 0;
  let rejects: Reject[] = [];
  let parts: { from: number; origin?: (index: number) => string | undefined }[] = [];
  const batch = async (): Promise<FileBatch> => {
    const [count, columns, within, rejected] = [rows, [...kinds], parts, rejects];
    [kinds, rows, rejects, parts] = [new Map(), 0, [], []];
    if (!count) return { records: [], rejects: rejected };
    const casts = columns.map(
      ([name, kind]) => `CAST(${quoteIdent(name)} AS ${kind ?? 'VARCHAR'}) AS ${quoteIdent(name)}`,
    );
    const table = await residentRows(db, connection, `SELECT ${casts.join(', ')} FROM ${staging} ORDER BY rowid`);
    await connection.run(`DROP TABLE ${staging}`);
    const origin = (index: number) => {
      let p = within.length - 1;
      while (p > 0 && within[p].from > index) p--;
      return within[p]?.origin?.(index - within[p].from);
    };
    return { records: table, rejects: rejected, origin };
  };
  try {
    for await (const chunk of readXlsx(path, Math.min(XLSX_CHUNK_ROWS, batchSize), label, options)) {
      const records = chunk.records as Row[];
      rejects.push(...chunk.rejects);
      // A chunk may end past the batch's last row: its rest starts the next batch.
      for (let start = 0; start < records.length;) {
        const part = records.slice(start, start + batchSize - rows);
        if (add.length) for (const record of part) for (const [name, value] of add) record[name] = value;
        const offset = start;
        parts.push({ from: rows, origin: chunk.origin && ((index) => chunk.origin!(offset + index)) });
        await stage(connection, name, kinds, part);
        rows += part.length;
        start += part.length;
        if (rows >= batchSize) yield await batch();
      }
    }
    if (rows || rejects.length) yield await batch();
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${staging}`).catch(() => undefined);
    connection.closeSync();
  }
}

/** Appends records to the staging table (made, or given the columns it lacks, here) as text; widens `kinds`. */
async function stage(
  connection: DuckDBConnection,
  name: string,
  kinds: Map<string, ColumnKind | undefined>,
  records: Row[],
): Promise<void> {
  const staging = `temp.${quoteIdent(name)}`;
  const fresh = kinds.size === 0;
  const added: string[] = [];
  for (const record of records)
    for (const name in record) {
      if (!kinds.has(name)) added.push(name);
      kinds.set(name, widenKind(kinds.get(name), record[name]));
    }
  if (fresh)
    await connection.run(`CREATE TEMP TABLE ${staging} (${added.map((n) => `${quoteIdent(n)} VARCHAR`).join(', ')})`);
  else for (const name of added) await connection.run(`ALTER TABLE ${staging} ADD COLUMN ${quoteIdent(name)} VARCHAR`);
  const columns = [...kinds.keys()].map((name) => ({ name, kind: 'VARCHAR' as const }));
  const appender = await connection.createAppender(name, 'main', 'temp');
  try {
    appendRows(appender, records, columns);
  } finally {
    appender.closeSync();
  }
}

/** DuckDB's error for a file it cannot read: infrastructure errors (a missing file, out of memory) are thrown as is; parse errors become a reject. */
function duckDbReadError(error: unknown): Error {
  if (duckDbErrorClass(error) === 'infrastructure') return error as Error;
  return new UnreadableFile(((error as Error).message ?? String(error)).split('\n')[0].trim());
}

async function* readJsonLines(
  path: string,
  batchSize: number,
  origin: string,
  lines?: AsyncIterable<string> | Iterable<string>,
  firstLine = 1,
): AsyncGenerator<FileBatch> {
  let records: Row[] = [];
  let rejects: Reject[] = [];
  let numbers: number[] = [];
  let line = firstLine - 1;
  const batch = (): FileBatch => {
    const at = numbers;
    return { records, rejects, origin: (index) => `${origin}:${at[index]}` };
  };
  for await (const text of lines ?? createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    line++;
    if (!text.trim()) continue;
    try {
      const value = JSON.parse(text) as unknown;
      if (!isObject(value))
        throw new Error(
          `not a JSON object (${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value})`,
        );
      records.push(value);
      numbers.push(line);
    } catch (error) {
      rejects.push({
        record: text,
        reasons: [`invalid JSON: ${(error as Error).message}`],
        origin: `${origin}:${line}`,
      });
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
    throw new UnreadableFile(
      `${formatBytes(size)} is more than one JSON document can be (${formatBytes(MAX_JSON_DOCUMENT_BYTES)}, the longest string JavaScript holds): write it as JSON lines (one object a line, .jsonl), which are read in a stream`,
    );
  }
  const text = await readFile(path, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // Not one JSON document: JSON lines in a .json file are common.
    if (text.trimStart().startsWith('{') && text.includes('\n'))
      return yield* readJsonLines(path, batchSize, origin, text.split(/\r?\n/));
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
    } else
      rejects.push({
        record: item,
        reasons: [`not a JSON object (${Array.isArray(item) ? 'an array' : item === null ? 'null' : typeof item})`],
        origin: label(index),
      });
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

/** The steps of exceljs's streaming reader that each read one zip entry, and what they leave on it (exceljs is pinned: these are internal). */
interface WorkbookSteps {
  model?: { sheets?: { name: string; rId: string }[] };
  workbookRels?: { Id: string; Target: string }[];
  properties?: { model?: { date1904?: boolean } };
  sharedStrings?: unknown[];
  styles?: { getStyleModel(id: number): { numFmt?: string } | null };
  _parseRels(entry: NodeJS.ReadableStream): Promise<void>;
  _parseWorkbook(entry: NodeJS.ReadableStream): Promise<void>;
  _parseSharedStrings(entry: NodeJS.ReadableStream): AsyncGenerator<unknown>;
  _parseStyles(entry: NodeJS.ReadableStream): Promise<void>;
}

/** A workbook's sheets in its order; a sheet's part is read (inflated and parsed) only when its rows are asked for. */
interface Workbook {
  sheets: { name: string; rows(): AsyncGenerator<SheetRow[]> }[];
}

/** A row of a sheet: its number and its cells' values as JS (a missing or empty cell is null; no trailing empties). */
interface SheetRow {
  number: number;
  cells: unknown[];
}

/**
 * A workbook read through its zip's central directory: the index, and with `content` the shared strings and
 * styles, by exceljs's streaming reader's own steps; then each sheet's part on demand, row by row (`sheetRows`).
 * exceljs's own pass reads the entries as one stream in stored order, and on Node 18+ it may meet a sheet before
 * `xl/workbook.xml` (exceljs's writer stores it last) or lose an entry: the same file then crashed
 * ("reading 'sheets'") or read with empty cells on some runs and not others (exceljs issue 3064).
 */
async function openWorkbook(
  path: string,
  content: boolean,
  options: { only?: string[]; maxTextChars?: number } = {},
): Promise<Workbook> {
  const [{ default: ExcelJS }, { Open }, { default: iterateStream }] = await Promise.all([
    import('exceljs'),
    import('unzipper'),
    import('exceljs/lib/utils/iterate-stream.js'),
  ]);
  await stat(path); // a missing file throws as such, not as an unreadable workbook
  const steps = new ExcelJS.stream.xlsx.WorkbookReader(path, {
    worksheets: 'ignore',
    sharedStrings: content ? 'emit' : 'ignore',
    styles: content ? 'cache' : 'ignore',
    hyperlinks: 'ignore',
    entries: 'ignore',
  }) as unknown as WorkbookSteps;
  try {
    const { files } = await Open.file(path);
    const entry = (name: string) => files.find((f) => f.path === name)?.stream();
    const rels = entry('xl/_rels/workbook.xml.rels');
    const book = entry('xl/workbook.xml');
    if (!rels || !book)
      throw new UnreadableFile(
        `not a readable XLSX workbook: no ${rels ? 'xl/workbook.xml' : 'xl/_rels/workbook.xml.rels'} in the file`,
      );
    await steps._parseRels(rels);
    await steps._parseWorkbook(book);
    const sheets = (steps.model?.sheets ?? []).map((sheet) => {
      const target = steps.workbookRels?.find((rel) => rel.Id === sheet.rId)?.Target ?? '';
      const part = target.startsWith('/') ? target.slice(1) : `xl/${target}`;
      const open = () => {
        const stream = target ? entry(part) : undefined;
        if (!stream)
          throw new UnreadableFile(
            `not a readable XLSX workbook: sheet ${sheet.name} has no part (${target ? part : 'no relationship'})`,
          );
        return iterateStream(stream) as AsyncIterable<Buffer>;
      };
      return { name: sheet.name, open, rows: () => sheetRows(open(), steps) };
    });
    if (content) {
      const strings = entry('xl/sharedStrings.xml');
      // When only some sheets are read, only the texts they point to are kept (a first pass over those sheets finds
      // them): the other sheets may hold most of the workbook's texts.
      const read = options.only ? sheets.filter((sheet) => options.only!.includes(sheet.name)) : sheets;
      const used =
        strings && read.length < sheets.length ? await usedStrings(read.map((sheet) => sheet.open)) : undefined;
      steps.sharedStrings = strings
        ? await sharedStrings(steps._parseSharedStrings(strings), options.maxTextChars ?? MAX_TEXT_CHARS, used)
        : [];
      const styles = entry('xl/styles.xml');
      if (styles) await steps._parseStyles(styles);
      else steps.styles = undefined; // exceljs's empty style model cannot be asked (a workbook may have no styles part)
    }
    return { sheets: sheets.map(({ name, rows }) => ({ name, rows })) };
  } catch (error) {
    throw unreadableWorkbook(error);
  }
}

/** The shared-string indexes the text cells (`<c t="s"><v>N</v></c>`) of these sheets point to. */
async function usedStrings(sheets: (() => AsyncIterable<Buffer>)[]): Promise<Set<number>> {
  const used = new Set<number>();
  for (const open of sheets) {
    let shared = false;
    let text: string | undefined; // inside a shared cell's <v>
    const handler: Partial<Handler> = {
      onopentag(name, attributes) {
        if (name === 'c') shared = attributes.t === 's';
        else if (name === 'v' && shared) text = '';
      },
      ontext(data) {
        if (text !== undefined) text += data;
      },
      onclosetag(name) {
        if (name !== 'v' || text === undefined) return;
        used.add(parseInt(text, 10));
        text = undefined;
      },
    };
    const parsing = parsePart(open(), handler, () => undefined);
    while (!(await parsing.next()).done); // the handler keeps what it needs
  }
  return used;
}

/**
 * Parses an XML part of the zip chunk by chunk with `handler` (htmlparser2 in XML mode: each tag's attributes as one
 * plain object, text with its entities decoded; saxes, exceljs's parser, made a dictionary object for each tag and
 * exceljs an event object for each callback: ~14 KB of garbage a row of six cells, against ~4 KB now). After each
 * chunk, what `took` gives (what the handler built from it) is yielded unless undefined.
 */
async function* parsePart<T>(
  chunks: AsyncIterable<Buffer>,
  handler: Partial<Handler>,
  took: () => T | undefined,
): AsyncGenerator<T> {
  const parser = new Parser(handler, { xmlMode: true });
  const decoder = new TextDecoder(); // UTF-8; a character cut between two chunks is decoded with the next
  for await (const chunk of chunks) {
    parser.write(decoder.decode(chunk, { stream: true }));
    const built = took();
    if (built !== undefined) yield built;
  }
  parser.end(decoder.decode());
  const built = took();
  if (built !== undefined) yield built;
}

/**
 * The workbook's shared strings (the table of its distinct texts, which every sheet's text cells point into), as
 * plain text: exceljs gives an empty one (`<si><t></t></si>`) as null and a formatted one as rich text, made '' and
 * plain text here, as the whole-workbook reader gives them; with `used`, only those texts are kept (the others are
 * null). They are read before any sheet and held while the sheets are read, so their size is bounded: past
 * `maxTextChars` characters kept, the workbook is unreadable (one reject).
 */
async function sharedStrings(
  parsed: AsyncIterable<unknown>,
  maxTextChars: number,
  used?: Set<number>,
): Promise<unknown[]> {
  const strings: unknown[] = [];
  let chars = 0;
  for await (const item of parsed) {
    if (used && !used.has(strings.length)) {
      strings.push(null);
      continue;
    }
    const text = plainText((item as { text: unknown }).text);
    chars += typeof text === 'string' ? text.length : 0;
    if (chars > maxTextChars) {
      throw new UnreadableFile(
        `the workbook's shared texts hold more than ${maxTextChars.toLocaleString('en-US')} characters (xlsx.maxTextChars), more than can be held in memory while its sheets are read: split the workbook, read fewer sheets (xlsx.sheet), or raise xlsx.maxTextChars`,
      );
    }
    strings.push(text);
  }
  return strings;
}

function plainText(value: unknown): unknown {
  if (value === null || value === undefined) return '';
  const rich = (value as { richText?: { text: string }[] }).richText;
  return rich ? rich.map((run) => run.text).join('') : value;
}

/** A cell being read: its column, style, type (`t`) and its value's text (`<v>`, or an inline string's `<t>`s). */
interface OpenCell {
  column: number;
  style: number;
  type: string;
  text?: string;
}

/**
 * The rows of a sheet's XML (`<sheetData><row r><c r s t><f/><v/></c>…`), a parsed chunk of the part at a time.
 * Each cell becomes its JS value directly (no per-cell objects, so a large sheet leaves little garbage; exceljs's
 * own rows cost several objects a cell): numbers, text, booleans, Dates for numbers under a date format; a formula
 * gives its cached result (`<v>`, typed by `t` as any cell: an error result is its text, e.g. `#DIV/0!`), none if the
 * file keeps none; an error cell gives its text (`#N/A`). A row or cell without its `r` follows the one before.
 */
async function* sheetRows(chunks: AsyncIterable<Buffer>, book: WorkbookSteps): AsyncGenerator<SheetRow[]> {
  const strings = book.sharedStrings ?? [];
  const date1904 = Boolean(book.properties?.model?.date1904);
  const dateStyles = new Map<number, boolean>();
  const isDateStyle = (style: number) => {
    let date = dateStyles.get(style);
    if (date === undefined) dateStyles.set(style, (date = isDateFormat(book.styles?.getStyleModel(style)?.numFmt)));
    return date;
  };
  const excelDate = (serial: number) => new Date(Math.round((serial - 25569 + (date1904 ? 1462 : 0)) * 86_400_000));
  const valueOf = (cell: OpenCell): unknown => {
    const text = cell.text;
    if (text === undefined) return null;
    switch (cell.type) {
      case 's': {
        const shared = strings[parseInt(text, 10)];
        return shared === undefined ? null : shared;
      }
      case 'str':
      case 'inlineStr':
      case 'e':
        return ownCopy(text);
      case 'b':
        return parseInt(text, 10) !== 0;
      case 'd': {
        const date = new Date(text);
        return Number.isNaN(date.getTime()) ? text : date;
      }
      default: {
        const number = parseFloat(text);
        if (Number.isNaN(number)) return null;
        return isDateStyle(cell.style) ? excelDate(number) : number;
      }
    }
  };
  let inData = false;
  let row: SheetRow | undefined;
  let rowNumber = 0;
  let column = 0;
  let cell: OpenCell | undefined;
  let reading = false; // inside a <v> or an inline string's <t>: the text is the cell's
  let phonetic = false; // inside <rPh>: a reading aid, not the cell's text
  let rows: SheetRow[] = [];
  const handler: Partial<Handler> = {
    ontext(text) {
      if (reading && cell) cell.text = (cell.text ?? '') + text;
    },
    onopentag(name, attributes) {
      if (name === 'c') {
        if (!row) return;
        column = attributes.r ? columnOf(attributes.r) : column + 1;
        cell = { column, style: attributes.s ? parseInt(attributes.s, 10) : 0, type: attributes.t ?? 'n' };
      } else if (name === 'v') {
        reading = !!cell;
        if (cell) cell.text = '';
      } else if (name === 't') {
        reading = !!cell && !phonetic;
        if (reading) cell!.text ??= '';
      } else if (name === 'rPh') {
        phonetic = true;
      } else if (name === 'row') {
        if (!inData) return;
        rowNumber = attributes.r ? parseInt(attributes.r, 10) : rowNumber + 1;
        row = { number: rowNumber, cells: [] };
        column = 0;
      } else if (name === 'sheetData') {
        inData = true;
      }
    },
    onclosetag(name) {
      if (name === 'v' || name === 't') {
        reading = false;
      } else if (name === 'c') {
        if (row && cell) {
          const value = valueOf(cell);
          if (value !== null) {
            const cells = row.cells;
            while (cells.length < cell.column - 1) cells.push(null);
            cells[cell.column - 1] = value;
          }
        }
        cell = undefined;
      } else if (name === 'rPh') {
        phonetic = false;
      } else if (name === 'row') {
        if (row) rows.push(row);
        row = undefined;
      } else if (name === 'sheetData') {
        inData = false;
      }
    },
  };
  yield* parsePart(chunks, handler, () => {
    if (!rows.length) return undefined;
    const took = rows;
    rows = [];
    return took;
  });
}

/**
 * A text of the parsed XML as a string of its own: V8 makes a part of a longer string (13 characters or more) a view
 * into it, and a record holding such a view would hold the whole chunk of XML it came from (~16 KB for a few
 * hundred bytes of values) for as long as the record lives. Concatenating then slicing makes V8 copy the text.
 */
function ownCopy(text: string): string {
  return text.length < 13 ? text : ` ${text}`.slice(1);
}

/** The column number (from 1) of a cell reference: `C7` → 3, `AA1` → 27. */
function columnOf(ref: string): number {
  let column = 0;
  for (let i = 0; i < ref.length; i++) {
    const code = ref.charCodeAt(i);
    if (code < 65 || code > 90) break;
    column = column * 26 + (code - 64);
  }
  return column;
}

function unreadableWorkbook(error: unknown): Error {
  if (error instanceof UnreadableFile) return error;
  if ((error as NodeJS.ErrnoException).code && !/^(ERR_|Z_)/.test(String((error as NodeJS.ErrnoException).code)))
    return error as Error; // missing file, no permission
  return new UnreadableFile(`not a readable XLSX workbook: ${errorMessage(error)}`);
}

/** The most characters a workbook's shared texts kept may hold in all (xlsx.maxTextChars): ~70–140 MB in memory. */
const MAX_TEXT_CHARS = 64_000_000;

/** Excel's limits: rows in a sheet, cells in a row, characters in a cell. */
const EXCEL_ROWS = 1_048_576;
const EXCEL_COLUMNS = 16_384;
const EXCEL_CELL_CHARS = 32_767;

/**
 * The workbook sheet by sheet, row by row (only the sheets read are inflated; the workbook is never in memory
 * whole). A row with more cells than `maxColumns` or a cell longer than Excel allows is rejected; the rows of a
 * sheet after `maxRows` are one reject. Formulas give their cached result (an error result as its text, e.g.
 * `#DIV/0!`).
 */
async function* readXlsx(
  path: string,
  batchSize: number,
  label: string,
  options: XlsxOptions,
): AsyncGenerator<FileBatch> {
  const maxRows = options.maxRows ?? EXCEL_ROWS;
  const maxColumns = options.maxColumns ?? EXCEL_COLUMNS;
  const wanted = options.sheet === undefined ? undefined : ([] as string[]).concat(options.sheet);
  const book = await openWorkbook(path, true, { only: wanted, maxTextChars: options.maxTextChars });
  const sheets = wanted ? book.sheets.filter((sheet) => wanted.includes(sheet.name)) : book.sheets;
  // Records say their sheet when there may be several (the sheets asked for, in the workbook's order).
  const tagSheet = Array.isArray(options.sheet) || (options.sheet === undefined && book.sheets.length > 1);
  let records: Row[] = [];
  let rejects: Reject[] = [];
  // Where each record of the batch is: its row number, and where each sheet's records start (not a string a record:
  // a large batch would hold one more object per row).
  let rowNumbers: number[] = [];
  let sheetStarts: { from: number; name: string }[] = [];
  const batch = (): FileBatch => {
    const [numbers, starts] = [rowNumbers, sheetStarts];
    return {
      records,
      rejects,
      origin: (index) => {
        if (!(index >= 0 && index < numbers.length)) return undefined;
        let s = starts.length - 1;
        while (s > 0 && starts[s].from > index) s--;
        return `${label}:${starts[s].name}!${numbers[index]}`;
      },
    };
  };
  try {
    for (const { name, rows } of sheets) {
      let header: string[] | undefined;
      let read = 0;
      let cutOff = false;
      sheetStarts.push({ from: records.length, name });
      for await (const chunk of rows()) {
        for (const { number, cells } of chunk) {
          if (cutOff) continue;
          const where = () => `${label}:${name}!${number}`;
          if (++read > maxRows) {
            cutOff = true;
            rejects.push({
              record: { file: label, sheet: name, fromRow: number },
              reasons: [
                `sheet ${name} has more than ${maxRows.toLocaleString('en-US')} rows (xlsx.maxRows): the rows from ${number} on are not read`,
              ],
              origin: where(),
            });
            continue;
          }
          if (cells.length > maxColumns) {
            rejects.push({
              record: { sheet: name, row: number, cells: cells.length },
              reasons: [
                `row has ${cells.length.toLocaleString('en-US')} cells, more than ${maxColumns.toLocaleString('en-US')} (xlsx.maxColumns)`,
              ],
              origin: where(),
            });
            continue;
          }
          const long = cells.findIndex((v) => typeof v === 'string' && v.length > EXCEL_CELL_CHARS);
          if (long !== -1) {
            rejects.push({
              record: { sheet: name, row: number },
              reasons: [
                `cell ${long + 1} has ${(cells[long] as string).length.toLocaleString('en-US')} characters, more than a cell can hold (${EXCEL_CELL_CHARS.toLocaleString('en-US')})`,
              ],
              origin: where(),
            });
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
          rowNumbers.push(number);
          if (records.length >= batchSize) {
            yield batch();
            records = [];
            rejects = [];
            rowNumbers = [];
            sheetStarts = [{ from: 0, name }];
          }
        }
      }
    }
  } catch (error) {
    throw unreadableWorkbook(error);
  }
  if (wanted && !sheets.length) {
    const names = wanted.map((name) => `"${name}"`).join(', ');
    rejects.push({
      record: { file: label, sheet: options.sheet },
      reasons: [
        `no sheet ${wanted.length > 1 ? `of ${names}` : names} in the workbook (sheets: ${book.sheets.map((sheet) => sheet.name).join(', ') || 'none'})`,
      ],
      origin: label,
    });
  }
  if (records.length || rejects.length) yield batch();
}

/** Sets a field, also one named `__proto__` (an own property, never the record's prototype). */
function setField(record: Row, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

/** Header cells → keys: trimmed text; an empty cell is `column_N`; a repeated name gets `_2`, `_3`… */
function headerNames(values: unknown[]): string[] {
  const seen = new Map<string, number>();
  return values.map((value, i) => {
    const text =
      value === null || value === undefined || String(value).trim() === ''
        ? `column_${i + 1}`
        : String(value instanceof Date ? value.toISOString() : value).trim();
    const n = (seen.get(text) ?? 0) + 1;
    seen.set(text, n);
    return n === 1 ? text : `${text}_${n}`;
  });
}

/** Whether an Excel number format shows a date or time (its letters outside quotes and brackets). */
function isDateFormat(format: string | undefined): boolean {
  return !!format && /[ymdhsb]/i.test(format.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, ''));
}
