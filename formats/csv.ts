// Reading CSV through DuckDB with a named dialect, so that one malformed line costs that line only.
//
// DuckDB's sniffer guesses the dialect from a sample; one unterminated quote in the sample makes it guess "no
// quotes" (every good line then has too many columns) or give up. Here the dialect is named: the delimiter is the
// configured one or the header's most frequent candidate, quote and escape are `"` unless configured, and lines
// longer than `maxLineBytes` are rejected one by one. The sniffer only finds the column types (on the file, or,
// when a bad line in its sample defeats it, on a sample with the bad lines taken out); the file is then read with
// those columns and DuckDB's store_rejects. A value whose quote never closes swallows the lines after it into one
// rejected record: that record's first line is the reject, and the swallowed lines are read again on their own.
import { closeSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Reject } from '../core/sdk/types.ts';
import { duckDbErrorClass } from '../core/sdk/index.ts';
import { materializedRows, sqlString, type DuckDbClient } from '../connections/duckdb/client.ts';
import { DuckDbRows, residentRows } from '../connections/duckdb/rows.ts';

export interface CsvOptions {
  /** Field separator (default: the most frequent of , ; tab | in the first line, outside quotes). */
  delimiter?: string;
  /** The first line names the columns (default true). */
  header?: boolean;
  /** Every column, in file order, with its DuckDB type; a line whose value does not fit is rejected. */
  columns?: Record<string, string>;
  /** Types of some columns by name (the others are detected); a line whose value does not fit is rejected. */
  types?: Record<string, string>;
  /** Quote character (default `"`). */
  quote?: string;
  /** Escape character inside quotes (default `"`: `""` is one `"`). */
  escape?: string;
  /** A line longer than this many bytes is rejected (default 8 MiB). */
  maxLineBytes?: number;
}

export interface CsvDialect {
  delimiter: string;
  quote: string;
  escape: string;
  header: boolean;
  maxLineBytes: number;
}

export const DEFAULT_MAX_LINE_BYTES = 8 << 20;
/** Lines the sniffer samples (DuckDB's default sample_size). */
const SAMPLE_LINES = 20_480;
const DELIMITERS = [',', ';', '\t', '|'];

/** A CSV file loaded into a batch table: its rows, the lines rejected, and the line of each row. */
export interface LoadedCsv {
  rows?: DuckDbRows;
  rejects: Reject[];
  /** `label:LINE` of the row with this rowid (lines counted as DuckDB counts them: by record). */
  origin(rowid: number): string;
  /** Whether this is the file's last slice. */
  last?: boolean;
}

/** The named dialect of a file: configured values, else the defaults (the delimiter read off its first line). */
export function csvDialect(path: string, csv: CsvOptions = {}): CsvDialect {
  const quote = csv.quote ?? '"';
  const escape = csv.escape ?? quote;
  return {
    delimiter: csv.delimiter ?? detectDelimiter(firstLine(path), quote),
    quote,
    escape,
    header: csv.header ?? true,
    maxLineBytes: csv.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
  };
}

/** Thrown when the file is not CSV at all (nothing in it parses): it becomes one reject. */
export class NotCsv extends Error {}

/**
 * Loads a CSV file into batch tables of `db` on `connection`: the whole file into one table, or, with `sliceBytes`,
 * slice by slice (whole records of about that many bytes each, see `csvSlices`), each slice a table of its own
 * loaded only when the one before was taken, so memory stays flat in the file's size. `select` adds columns to
 * each row (", 'x' AS f"). Yields nothing for an empty file. Every slice is read with the columns and types found
 * in the file's first lines, and numbers its lines as the whole file does.
 */
export async function* loadCsv(
  db: DuckDbClient,
  connection: DuckDBConnection,
  path: string,
  csv: CsvOptions,
  label: string,
  select = '',
  sliceBytes = Infinity,
): AsyncGenerator<LoadedCsv> {
  const dialect = csvDialect(path, csv);
  if (statSync(path).size === 0) return;
  const columns = csv.columns
    ? {
        columns: Object.entries(csv.columns).map(([name, type]) => ({ name, type })),
        formats: await sniffFormats(connection, path, dialect),
      }
    : await sniffColumns(connection, path, dialect, csv.types ?? {});
  const options = readOptions(dialect, columns.columns, columns.formats);
  const scratch = mkdtempSync(join(tmpdir(), 'csv-'));
  let sequence = 0;
  try {
    for (const slice of csvSlices(path, dialect, sliceBytes, scratch)) {
      const first = dialect.header ? 2 : 1;
      yield { ...(await loadCsvFile(slice.file, (line) => line - first + slice.firstRecord)), last: slice.last };
      if (slice.file !== path) rmSync(slice.file, { force: true });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  /** One file (the whole file, or a slice of it) into a table of its own; `lineOf` maps its lines to the file's. */
  async function loadCsvFile(file: string, lineOfFile: (duckLine: number) => number): Promise<LoadedCsv> {
    // One read of a file (the file, or lines a broken quote swallowed), into `table` (created by the first).
    let table: DuckDbRows | undefined;
    const parts: { start: number; count: number; line: (index: number) => number }[] = [];
    const rejects: Reject[] = [];
    const read = async (file: string, lineOf: (duckLine: number) => number, depth: number): Promise<void> => {
      const name = `_csv_rejects_${++sequence}`;
      const scan = `read_csv(${sqlString(file)}, ${options}, store_rejects = true, rejects_table = '${name}', rejects_scan = '${name}_scans')`;
      const before = table?.count ?? 0;
      try {
        if (!table) table = await residentRows(db, connection, `SELECT *${select} FROM ${scan}`);
        else {
          const inserted = materializedRows(
            await connection.run(`INSERT INTO ${table.table} SELECT *${select} FROM ${scan}`),
          );
          table = new DuckDbRows(db, table.name, table.count + Number(inserted[0]?.Count ?? inserted[0]?.count ?? 0));
        }
      } catch (error) {
        throw csvError(error);
      }
      const bad = materializedRows(
        await connection.run(
          `SELECT line, min(line_byte_position) AS at, any_value(csv_line) AS csv_line, list(error_type ORDER BY byte_position) AS types, list(error_message ORDER BY byte_position) AS messages FROM ${name} GROUP BY line ORDER BY line`,
        ),
      );
      await connection.run(`DROP TABLE IF EXISTS ${name}; DROP TABLE IF EXISTS ${name}_scans`);
      // Lines swallowed by a value whose quote never closes: how many, after each such record (by its DuckDB line).
      const swallowed: { line: number; extra: number; text: Buffer }[] = [];
      for (const row of bad) {
        const types = row.types as string[];
        if (!types.includes('UNQUOTED VALUE') || depth > 50) continue;
        // line_byte_position counts from 1.
        const span = recordSpan(file, Math.max(0, Number(row.at) - 1), dialect);
        if (span.rest.length) swallowed.push({ line: Number(row.line), extra: countLines(span.rest), text: span.rest });
        row.csv_line = span.first;
        row.messages = [
          `Value with unterminated quote found (quote ${dialect.quote}): the line is rejected, the ${countLines(span.rest)} line(s) after it are read again`,
        ];
      }
      const shift = (line: number) =>
        line + swallowed.filter((s) => s.line < line).reduce((sum, s) => sum + s.extra, 0);
      const rejected = bad.map((row) => Number(row.line));
      for (const row of bad) {
        rejects.push({
          record: String(row.csv_line ?? '').replace(/\r?\n$/, ''),
          reasons: (row.messages as string[]).map((m) => m.split('\n')[0]),
          origin: `${label}:${lineOf(shift(Number(row.line)))}`,
        });
      }
      const count = (table?.count ?? 0) - before;
      const first = dialect.header ? 2 : 1;
      parts.push({ start: before, count, line: (index) => lineOf(shift(nthNotIn(first, rejected, index))) });
      for (const { line, text } of swallowed) {
        const mini = join(scratch, `swallowed-${sequence}.csv`);
        const head = dialect.header ? `${firstLine(path)}\n` : '';
        writeFileSync(mini, Buffer.concat([Buffer.from(head), text]));
        const base = lineOf(shift(line)) + 1;
        await read(mini, (duckLine) => base + duckLine - first, depth + 1);
      }
    };
    try {
      await read(file, lineOfFile, 0);
    } catch (error) {
      if (table) await table.release().catch(() => undefined);
      throw error;
    }
    const origin = (rowid: number) => {
      const part = parts.find((p) => rowid >= p.start && rowid < p.start + p.count);
      return part ? `${label}:${part.line(rowid - part.start)}` : label;
    };
    return { rows: table, rejects: rejects.sort((a, b) => lineNumber(a.origin) - lineNumber(b.origin)), origin };
  }
}

/** A part of a CSV file to load: the file itself, or a temporary file of its header and some of its records. */
interface CsvSlice {
  file: string;
  /** The record (as DuckDB numbers lines: by record, the header being 1) that is the slice's first. */
  firstRecord: number;
  last: boolean;
}

/**
 * The file cut into slices of whole records of about `bytes` each, written (after the header line) into `dir` one
 * at a time: a slice is cut at the first record end at or after `bytes`. Record ends are line breaks outside quoted
 * values, found as DuckDB's strict reader finds them (see `recordSpan`); a quote that never closes keeps the slice
 * going until one does (it is then larger, never wrong). A file of at most `bytes` is one slice: itself.
 */
export function* csvSlices(path: string, dialect: CsvDialect, bytes: number, dir: string): Generator<CsvSlice> {
  const size = statSync(path).size;
  const firstRecord = dialect.header ? 2 : 1;
  if (size <= bytes) return yield { file: path, firstRecord, last: true };
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    let position = 0;
    let header = Buffer.alloc(0);
    if (dialect.header) {
      // The header line as it is (a line break inside a quoted header name is not supported here, as in firstLine).
      const parts: Buffer[] = [];
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, position);
        if (n <= 0) break;
        const nl = buffer.subarray(0, n).indexOf(10);
        parts.push(Buffer.from(buffer.subarray(0, nl === -1 ? n : nl + 1)));
        position += nl === -1 ? n : nl + 1;
        if (nl !== -1) break;
      }
      header = Buffer.concat(parts);
    }
    const scanner = new RecordScanner(dialect);
    let record = firstRecord;
    for (let index = 0; position < size; index++) {
      const file = join(dir, `slice-${index}.csv`);
      const out = openSync(file, 'w');
      const first = record;
      try {
        writeSync(out, header);
        let written = 0;
        while (position < size) {
          const n = readSync(fd, buffer, 0, buffer.length, position);
          if (n <= 0) break;
          const chunk = buffer.subarray(0, n);
          // Where the slice may end in this chunk: from `bytes` into the slice on.
          const cut = scanner.scan(chunk, Math.max(0, bytes - written));
          const take = cut === -1 ? n : cut;
          writeSync(out, chunk, 0, take);
          written += take;
          position += take;
          if (cut !== -1) break;
        }
      } finally {
        closeSync(out);
      }
      record += scanner.takeRecords();
      yield { file, firstRecord: first, last: position >= size };
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Follows the records of a CSV file chunk by chunk, as DuckDB's strict reader does (see `recordSpan`): a quote opens
 * a value that runs over line breaks to its closing quote; after a closing quote anything but a delimiter, a line
 * break or an escaped quote breaks the record, whose rest runs to the line break. Counts the lines the records it
 * saw end take in the loader's numbering: one per record, and every physical line of a broken record (whose
 * swallowed lines the loader reads again).
 */
class RecordScanner {
  private state: 'start' | 'plain' | 'quoted' | 'closed' | 'broken' = 'start';
  private records = 0;
  /** Line breaks inside quotes in the current record. */
  private inner = 0;
  private readonly q: number;
  private readonly e: number;
  private readonly d: number;

  constructor(dialect: CsvDialect) {
    this.q = dialect.quote.charCodeAt(0);
    this.e = dialect.escape.charCodeAt(0);
    this.d = dialect.delimiter.charCodeAt(0);
  }

  /** The records ended since the last call. */
  takeRecords(): number {
    const n = this.records;
    this.records = 0;
    return n;
  }

  /**
   * Scans `chunk` (the next bytes of the file) and returns the end (exclusive) of the first record ending at or after
   * `from`, or -1 when none does in it (the whole chunk was scanned). Bytes after a returned end are not scanned.
   */
  scan(chunk: Buffer, from: number): number {
    const { q, e, d } = this;
    // No quote character and no value in quotes: every line break ends a record.
    if (this.state !== 'quoted' && this.state !== 'closed' && chunk.indexOf(q) === -1) {
      let last = -1;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) {
        this.endRecord();
        last = i;
        if (i >= from) {
          this.state = 'start';
          return i + 1;
        }
      }
      // After the last line break: a broken record stays broken; else a field has begun (or a delimiter just ended one).
      if (last === chunk.length - 1) this.state = 'start';
      else if (chunk.length && !(last === -1 && this.state === 'broken'))
        this.state = chunk[chunk.length - 1] === d ? 'start' : 'plain';
      return -1;
    }
    let state = this.state;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (state === 'quoted') {
        if (b === e && e !== q) i++;
        else if (b === q) state = 'closed';
        else if (b === 10) this.inner++;
        continue;
      }
      if (b === 10) {
        this.state = state;
        this.endRecord();
        state = 'start';
        if (i >= from) {
          this.state = state;
          return i + 1;
        }
        continue;
      }
      if (b === 13) continue;
      if (state === 'closed') state = b === q && e === q ? 'quoted' : b === d ? 'start' : 'broken';
      else if (state === 'start') state = b === q ? 'quoted' : b === d ? 'start' : 'plain';
      else if (state === 'plain') state = b === d ? 'start' : b === q ? 'broken' : 'plain';
    }
    this.state = state;
    return -1;
  }

  private endRecord(): void {
    this.records += 1 + (this.state === 'broken' ? this.inner : 0);
    this.inner = 0;
    this.state = 'start';
  }
}

/** read_csv's options for the named dialect and the given columns (no sniffing: the columns are known). */
function readOptions(
  dialect: CsvDialect,
  columns: { name: string; type: string }[],
  formats: { dateformat?: string; timestampformat?: string },
): string {
  return [
    'auto_detect = false',
    `header = ${dialect.header}`,
    `delim = ${sqlString(dialect.delimiter)}`,
    `quote = ${sqlString(dialect.quote)}`,
    `escape = ${sqlString(dialect.escape)}`,
    `max_line_size = ${dialect.maxLineBytes}`,
    `buffer_size = ${Math.max(32 << 20, dialect.maxLineBytes * 4)}`,
    `columns = {${columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ')}}`,
    ...(formats.dateformat ? [`dateformat = ${sqlString(formats.dateformat)}`] : []),
    ...(formats.timestampformat ? [`timestampformat = ${sqlString(formats.timestampformat)}`] : []),
  ].join(', ');
}

function sniffOptions(dialect: CsvDialect): string {
  // ignore_errors: the types of the lines that parse (a bad line must not make the sniffer guess another dialect).
  return `delim = ${sqlString(dialect.delimiter)}, quote = ${sqlString(dialect.quote)}, escape = ${sqlString(dialect.escape)}, header = ${dialect.header}, skip = 0, ignore_errors = true, max_line_size = ${dialect.maxLineBytes}`;
}

interface Sniffed {
  columns: { name: string; type: string }[];
  formats: { dateformat?: string; timestampformat?: string };
}

/**
 * The columns and their types as DuckDB's sniffer finds them in the file, or — when a bad line in its sample
 * defeats it — in a sample of the file's first lines with the lines that do not parse taken out.
 */
async function sniffColumns(
  connection: DuckDBConnection,
  path: string,
  dialect: CsvDialect,
  types: Record<string, string>,
): Promise<Sniffed> {
  let sniffed: Sniffed;
  try {
    sniffed = await sniff(connection, path, dialect);
  } catch (error) {
    if (duckDbErrorClass(error) === 'infrastructure') throw error;
    sniffed = await sniffCleanSample(connection, path, dialect, error);
  }
  return { ...sniffed, columns: sniffed.columns.map((c) => ({ name: c.name, type: types[c.name] ?? c.type })) };
}

async function sniff(connection: DuckDBConnection, file: string, dialect: CsvDialect): Promise<Sniffed> {
  const [row] = materializedRows(
    await connection.run(
      `SELECT Columns AS columns, DateFormat AS dateformat, TimestampFormat AS timestampformat FROM sniff_csv(${sqlString(file)}, ${sniffOptions(dialect)})`,
    ),
  );
  return {
    columns: row.columns as { name: string; type: string }[],
    formats: {
      dateformat: (row.dateformat as string | null) ?? undefined,
      timestampformat: (row.timestampformat as string | null) ?? undefined,
    },
  };
}

/** The date and time formats the sniffer finds (declared columns need no types), or none when it cannot tell. */
async function sniffFormats(
  connection: DuckDBConnection,
  path: string,
  dialect: CsvDialect,
): Promise<Sniffed['formats']> {
  try {
    return (await sniff(connection, path, dialect)).formats;
  } catch {
    return {};
  }
}

async function sniffCleanSample(
  connection: DuckDBConnection,
  path: string,
  dialect: CsvDialect,
  failure: unknown,
): Promise<Sniffed> {
  const header = splitLine(firstLine(path), dialect);
  const seen = new Map<string, number>();
  // As DuckDB names them: an empty header cell is columnN, a repeated name gets _1, _2…
  const names = (
    dialect.header ? header.map((n, i) => n.trim() || `column${i}`) : header.map((_, i) => `column${i}`)
  ).map((name) => {
    const n = seen.get(name) ?? 0;
    seen.set(name, n + 1);
    return n ? `${name}_${n}` : name;
  });
  const dir = mkdtempSync(join(tmpdir(), 'csv-sample-'));
  try {
    const sample = join(dir, 'sample.csv');
    writeFileSync(sample, sampleLines(path, dialect));
    const text = names.map((n) => ({ name: n, type: 'VARCHAR' }));
    const options = `${readOptions(dialect, text, {})}, store_rejects = true, rejects_table = '_sample_rejects', rejects_scan = '_sample_scans'`;
    await connection.run(
      `CREATE OR REPLACE TEMP TABLE _sample AS SELECT * FROM read_csv(${sqlString(sample)}, ${options})`,
    );
    const [{ n }] = materializedRows(await connection.run('SELECT count(*) AS n FROM temp._sample'));
    await connection.run('DROP TABLE IF EXISTS _sample_rejects; DROP TABLE IF EXISTS _sample_scans');
    if (Number(n) === 0) throw new NotCsv(errorText(failure));
    const clean = join(dir, 'clean.csv');
    await connection.run(
      `COPY temp._sample TO ${sqlString(clean)} (FORMAT csv, HEADER ${dialect.header}, DELIMITER ${sqlString(dialect.delimiter)}, QUOTE '"', ESCAPE '"')`,
    );
    await connection.run('DROP TABLE IF EXISTS temp._sample');
    return await sniff(connection, clean, { ...dialect, quote: '"', escape: '"' });
  } catch (error) {
    if (error instanceof NotCsv || duckDbErrorClass(error) === 'infrastructure') throw error;
    throw new NotCsv(`${errorText(failure)} (and its first lines do not parse either: ${errorText(error)})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The header and up to SAMPLE_LINES lines after it, leaving out lines longer than the limit and lines with an odd
 * number of quotes (an unterminated quote would swallow the lines after it; a value spanning lines is rare enough
 * to do without in a sample for the types).
 */
function sampleLines(path: string, dialect: CsvDialect): Buffer {
  const out: Buffer[] = [];
  const quote = dialect.quote.charCodeAt(0);
  let lines = 0;
  forEachLine(path, dialect.maxLineBytes, (line) => {
    let quotes = 0;
    if (line) for (const byte of line) if (byte === quote) quotes++;
    if (line && (quotes % 2 === 0 || (lines === 0 && dialect.header))) out.push(line);
    return ++lines <= SAMPLE_LINES;
  });
  return Buffer.concat(out);
}

/**
 * Calls `visit` with each physical line of the file (with its line break), or null for a line longer than
 * `maxBytes` (never held in memory whole); stops when `visit` returns false.
 */
function forEachLine(path: string, maxBytes: number, visit: (line: Buffer | null) => boolean): void {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    let parts: Buffer[] = [];
    let length = 0;
    let tooLong = false;
    for (let position = 0; ;) {
      const n = readSync(fd, buffer, 0, buffer.length, position);
      if (n <= 0) break;
      position += n;
      for (let start = 0; start < n;) {
        const nl = buffer.subarray(0, n).indexOf(10, start);
        const end = nl === -1 ? n : nl + 1;
        length += end - start;
        if (length > maxBytes) tooLong = true;
        if (!tooLong) parts.push(Buffer.from(buffer.subarray(start, end)));
        else parts = [];
        start = end;
        if (nl === -1) break;
        const more = visit(tooLong ? null : Buffer.concat(parts));
        parts = [];
        length = 0;
        tooLong = false;
        if (!more) return;
      }
    }
    if (length) visit(tooLong ? null : Buffer.concat(parts));
  } finally {
    closeSync(fd);
  }
}

/** The file's first line (without its line break), at most 1 MiB of it. */
export function firstLine(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    const end = buffer.subarray(0, n).indexOf(10);
    return buffer.toString('utf8', 0, end === -1 ? n : end).replace(/\r$/, '');
  } finally {
    closeSync(fd);
  }
}

/** The most frequent candidate delimiter outside quotes in `line`; `,` when there is none. */
function detectDelimiter(line: string, quote: string): string {
  const counts = new Map<string, number>();
  let quoted = false;
  for (const ch of line) {
    if (ch === quote) quoted = !quoted;
    else if (!quoted && DELIMITERS.includes(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best = ',';
  let most = 0;
  for (const candidate of DELIMITERS) {
    const n = counts.get(candidate) ?? 0;
    if (n > most) [best, most] = [candidate, n];
  }
  return best;
}

/** The fields of one line in the dialect (for header names). */
function splitLine(line: string, dialect: CsvDialect): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === dialect.escape && dialect.escape !== dialect.quote && i + 1 < line.length) field += line[++i];
      else if (ch === dialect.quote && dialect.escape === dialect.quote && line[i + 1] === dialect.quote)
        field += line[++i];
      else if (ch === dialect.quote) quoted = false;
      else field += ch;
    } else if (ch === dialect.quote) quoted = true;
    else if (ch === dialect.delimiter) {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

/**
 * The record starting at byte `at` as DuckDB's strict reader sees it: a quote opens a value that runs (over line
 * breaks) to its closing quote; after a closing quote only a delimiter, a line break or an escaped quote may come,
 * anything else makes the rest of that line part of the broken record. Returns the record's first line and the
 * lines after it that belong to it (empty when it is one line). Looks at most 64 MiB ahead.
 */
function recordSpan(file: string, at: number, dialect: CsvDialect): { first: string; rest: Buffer } {
  const fd = openSync(file, 'r');
  try {
    const limit = Math.min(statSync(file).size - at, 64 << 20);
    const buffer = Buffer.alloc(Math.max(0, limit));
    readSync(fd, buffer, 0, buffer.length, at);
    const q = dialect.quote.charCodeAt(0);
    const e = dialect.escape.charCodeAt(0);
    const d = dialect.delimiter.charCodeAt(0);
    let state: 'start' | 'plain' | 'quoted' | 'closed' | 'broken' = 'start';
    let end = buffer.length;
    for (let i = 0; i < buffer.length; i++) {
      const b = buffer[i];
      if (state === 'quoted') {
        if (b === e && e !== q) i++;
        else if (b === q) state = 'closed';
        continue;
      }
      if (b === 10) {
        end = i + 1;
        break;
      }
      if (b === 13) continue;
      if (state === 'closed') state = b === q && e === q ? 'quoted' : b === d ? 'start' : 'broken';
      else if (state === 'start') state = b === q ? 'quoted' : b === d ? 'start' : 'plain';
      else if (state === 'plain') state = b === d ? 'start' : b === q ? 'broken' : 'plain';
    }
    const record = buffer.subarray(0, end);
    const nl = record.indexOf(10);
    const firstEnd = nl === -1 ? record.length : nl + 1;
    return {
      first: record.toString('utf8', 0, firstEnd).replace(/\r?\n$/, ''),
      rest: Buffer.from(record.subarray(firstEnd)),
    };
  } finally {
    closeSync(fd);
  }
}

function countLines(text: Buffer): number {
  let n = 0;
  for (let i = text.indexOf(10); i !== -1; i = text.indexOf(10, i + 1)) n++;
  return text.length && text[text.length - 1] !== 10 ? n + 1 : n;
}

/** The `index`-th (0-based) integer from `first` on that is not in `taken` (sorted ascending). */
function nthNotIn(first: number, taken: number[], index: number): number {
  // The answer is first + index + j, where j is how many taken numbers lie below it: the smallest j such that
  // taken[j] (if any) is beyond first + index + j.
  let low = 0;
  let high = taken.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (taken[mid] - first - mid > index) high = mid;
    else low = mid + 1;
  }
  return first + index + low;
}

function lineNumber(origin: string | undefined): number {
  return Number(/:(\d+)$/.exec(origin ?? '')?.[1] ?? 0);
}

function errorText(error: unknown): string {
  return ((error as Error).message ?? String(error)).split('\n')[0].trim();
}

/** DuckDB's error reading a file: infrastructure errors (a missing file, out of memory) as they are; anything else means it is not CSV. */
function csvError(error: unknown): Error {
  if (duckDbErrorClass(error) === 'infrastructure') return error as Error;
  return new NotCsv(errorText(error));
}
