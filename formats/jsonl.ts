// JSON lines read by DuckDB (read_json) into batch tables, slice by slice, so that a large file is one parallel
// parse per slice and never a JS object per line. What DuckDB would take otherwise than the JS parser does — a line
// that is not a JSON object or not JSON at all, a blank line (its line numbers), nested or mixed values — is read by
// the JS parser instead (that slice, or the rest of the file when its values are nested or mixed).
import { closeSync, openSync, readSync, rmSync, statSync, writeSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ResidentRows, Row } from '../core/sdk/types.ts';
import { materializedRows, quoteIdent, sqlString, type DuckDbClient } from '../connections/duckdb/client.ts';
import { residentRows, type DuckDbRows } from '../connections/duckdb/rows.ts';

/** A part of a JSON lines file: whole lines `start`..`end` (bytes) of the file, in `file` (the file itself when it is one part). */
export interface JsonLinesSlice {
  file: string;
  start: number;
  end: number;
  /** The file's line number (from 1) of the slice's first line, and how many lines the slice has. */
  firstLine: number;
  lines: number;
  last: boolean;
}

/** Column types of read_json that are the value the JS parser gives; dates and times detected in strings stay text. */
const AS_IS = new Set(['VARCHAR', 'BIGINT', 'DOUBLE', 'BOOLEAN']);
const AS_TEXT = new Set(['DATE', 'TIME', 'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'UUID']);

/** Thrown when a slice's values are nested or mixed: the JS parser reads the rest of the file. */
class NotFlat extends Error {}

/** Where slices are cut: after about `bytes` of the file, or after `lines` lines. */
export interface SliceSize {
  bytes?: number;
  lines?: number;
}

/**
 * The file's lines in slices of about `bytes` (cut at the first line break at or after `bytes`) or of `lines`
 * lines, each written into `dir` (one at a time: the previous one is read by then); a file that fits in one slice
 * is one slice, itself.
 */
export function* jsonLineSlices(path: string, cut: SliceSize, dir: string): Generator<JsonLinesSlice> {
  const bytes = cut.bytes ?? Infinity;
  const most = cut.lines ?? Infinity;
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    let position = 0;
    let line = 1;
    for (let index = 0; position < size; index++) {
      const whole = index === 0 && size <= bytes && most === Infinity;
      const file = whole ? path : join(dir, `slice-${index}.jsonl`);
      const out = whole ? -1 : openSync(file, 'w');
      const start = position;
      let lines = 0;
      let endsWithBreak = true;
      try {
        while (position < size) {
          const n = readSync(fd, buffer, 0, buffer.length, position);
          if (n <= 0) break;
          const chunk = buffer.subarray(0, n);
          const from = Math.max(0, start + bytes - position);
          let take = n;
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) {
            lines++;
            if ((i >= from || lines >= most) && !whole) {
              take = i + 1;
              break;
            }
          }
          if (out !== -1) writeSync(out, chunk, 0, take);
          endsWithBreak = chunk[take - 1] === 10;
          position += take;
          if (take < n) break;
        }
      } finally {
        if (out !== -1) closeSync(out);
      }
      if (!endsWithBreak) lines++; // a last line without a line break
      yield { file, start, end: position, firstLine: line, lines, last: position >= size };
      line += lines;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads JSON lines into batch tables of `db`, one per slice (see `jsonLineSlices`); a slice DuckDB cannot read as the JS parser would is
 * handed to `readJs` (its file and the line number of its first line). A row's origin is `label:LINE`.
 * Each table can give its rows as the JS parser gives them (`DuckDbRows.exact`): a key a line lacks is absent
 * there, where the table has NULL.
 */
export async function* loadJsonLines<B extends { last?: boolean }>(
  db: DuckDbClient,
  path: string,
  label: string,
  add: [string, string][],
  cut: SliceSize,
  readJs: (file: string, firstLine: number) => AsyncIterable<B>,
): AsyncGenerator<B | { records: DuckDbRows; rejects: []; origin: (index: number) => string; last: boolean }> {
  const select = add.map(([name, value]) => `, ${sqlString(value)} AS ${quoteIdent(name)}`).join('');
  const connection = await db.instance.connect();
  const dir = mkdtempSync(join(tmpdir(), 'jsonl-'));
  let flat = true;
  try {
    for (const slice of jsonLineSlices(path, cut, dir)) {
      let rows: DuckDbRows | undefined;
      if (flat) {
        try {
          rows = await readSlice(slice);
        } catch (error) {
          if (error instanceof NotFlat) flat = false;
          else if (!/^(Invalid Input|Binder|Conversion) Error/.test((error as Error).message ?? '')) throw error; // IO errors stay errors
        }
      }
      if (rows) {
        const { firstLine } = slice;
        yield { records: rows, rejects: [], origin: (index) => `${label}:${firstLine + index}`, last: slice.last };
      } else {
        // The JS parser's batches of a slice that is not the last are not the file's last either.
        for await (const batch of readJs(slice.file, slice.firstLine))
          yield slice.last ? batch : { ...batch, last: false };
      }
      if (slice.file !== path) rmSync(slice.file, { force: true });
    }
  } finally {
    connection.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }

  async function readSlice(slice: JsonLinesSlice): Promise<DuckDbRows | undefined> {
    const read = `read_json(${sqlString(slice.file)}, format = 'newline_delimited', records = true`;
    // Every line's keys and types (a key first seen late would otherwise be left out of the table).
    const described = materializedRows(await connection.run(`DESCRIBE SELECT * FROM ${read}, sample_size = -1)`));
    const columns = described.map((c) => {
      const type = String(c.column_type);
      if (!AS_IS.has(type) && !AS_TEXT.has(type)) throw new NotFlat(`${c.column_name} is ${type}`);
      return `${sqlString(String(c.column_name))}: '${AS_IS.has(type) ? type : 'VARCHAR'}'`;
    });
    const rows = await residentRows(
      db,
      connection,
      `SELECT *${select} FROM ${read}, columns = {${columns.join(', ')}})`,
    );
    if (rows.count !== slice.lines) {
      // Blank lines (read_json skips them): the rows' lines are not known, the JS parser reads the slice.
      await rows.release().catch(() => undefined);
      return undefined;
    }
    rows.exact = (rowids) => exactLines(path, slice, rowids, add);
    return rows;
  }
}

/** The records of some lines of a slice as the JS parser gives them (the lines read again from the file). */
function exactLines(path: string, slice: JsonLinesSlice, rowids: number[], add: [string, string][]): Row[] {
  const fd = openSync(path, 'r');
  try {
    const text = Buffer.alloc(slice.end - slice.start);
    readSync(fd, text, 0, text.length, slice.start);
    const starts = [0];
    for (let i = text.indexOf(10); i !== -1 && i + 1 < text.length; i = text.indexOf(10, i + 1)) starts.push(i + 1);
    return rowids.map((rowid) => {
      const end = rowid + 1 < starts.length ? starts[rowid + 1] : text.length;
      const record = JSON.parse(text.toString('utf8', starts[rowid], end)) as Row;
      for (const [name, value] of add) record[name] = value;
      return record;
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * A batch's rows as the JSON object texts they came in (a Kafka batch's messages), parsed only by the step that needs
 * them: a step running in DuckDB reads them with `read_json` into a batch table (`inDuckDb`: parsed by DuckDB's threads,
 * no JS object per record), any other step gets the records `JSON.parse` gives (`toRecords`). Every text must be a
 * JSON object: the source checked that and sent the others to dead-letter. Where DuckDB would read the texts
 * otherwise than `JSON.parse` does (nested or mixed values, an empty object), `inDuckDb` gives nothing and the step
 * takes the records.
 */
export class JsonTexts implements ResidentRows {
  private records?: Promise<Row[]>;
  /** The batch table made from the texts in a DuckDB, per database (the `sql` step and a sink share it). */
  private readonly tables = new Map<DuckDbClient, Promise<DuckDbRows | undefined>>();
  origin?: (index: number) => string | undefined;

  /** Each text as UTF-8 bytes (a message's value, as it came) or a string. */
  constructor(private readonly texts: (Buffer | string)[]) {}

  get count(): number {
    return this.texts.length;
  }

  toRecords(): Promise<Row[]> {
    return (this.records ??= Promise.resolve().then(() => this.texts.map(parse)));
  }

  async tail(limit: number): Promise<Row[]> {
    return this.texts.slice(Math.max(0, this.texts.length - Math.max(0, Math.floor(limit)))).map(parse);
  }

  /** The texts as a batch table of `db` (made once, on `connection`), or undefined where DuckDB cannot read them as JS does. */
  inDuckDb(db: DuckDbClient, connection: DuckDBConnection): Promise<DuckDbRows | undefined> {
    let table = this.tables.get(db);
    if (!table) {
      table = this.load(db, connection);
      this.tables.set(db, table);
      table.catch(() => this.tables.delete(db)); // a failed load (an infrastructure error) is tried again
    }
    return table;
  }

  async release(): Promise<void> {
    const tables = [...this.tables.values()];
    this.tables.clear();
    await Promise.all(tables.map((t) => t.then((rows) => rows?.release()).catch(() => undefined)));
  }

  /** The batch table of the texts, with their origins and their records as JSON.parse gives them. */
  private exactly(rows: DuckDbRows): DuckDbRows {
    rows.origin = this.origin;
    // A key a text lacks is NULL in the table, absent in its record.
    rows.exact = (rowids) => rowids.map((rowid) => parse(this.texts[rowid]));
    return rows;
  }

  private async load(db: DuckDbClient, connection: DuckDBConnection): Promise<DuckDbRows | undefined> {
    // One object a line: a valid JSON text has line breaks only between its tokens, where a space means the same.
    const lines: Buffer[] = [];
    for (const text of this.texts) lines.push(oneLine(text), LINE_BREAK);
    const file = join(textsDir(), `batch-${++textsFile}.jsonl`);
    writeFileSync(file, Buffer.concat(lines));
    try {
      const read = `read_json(${sqlString(file)}, format = 'newline_delimited', records = true`;
      // Dates and times are not detected (format '%%', a literal percent sign): they stay text, as JSON.parse gives them; every
      // line's keys count (sample_size -1). A type JSON.parse would not give is read again as text, or left to JS.
      let rows = await residentRows(
        db,
        connection,
        `SELECT * FROM ${read}, sample_size = -1, dateformat = '%%', timestampformat = '%%')`,
      );
      // DESCRIBE names a column of mixed values JSON (a query's result types call it VARCHAR).
      const columns = materializedRows(await connection.run(`DESCRIBE ${rows.table}`)).map((c) => ({
        name: String(c.column_name),
        type: String(c.column_type),
      }));
      const types = `{${columns.map((c) => `${sqlString(c.name)}: '${AS_IS.has(c.type) ? c.type : 'VARCHAR'}'`).join(', ')}}`;
      if (columns.some((c) => !AS_IS.has(c.type))) {
        await rows.release();
        if (columns.some((c) => !AS_IS.has(c.type) && !AS_TEXT.has(c.type))) return undefined; // nested or mixed
        rows = await residentRows(db, connection, `SELECT * FROM ${read}, columns = ${types})`);
      }
      if (rows.count !== this.texts.length) {
        await rows.release();
        return undefined;
      }
      return this.exactly(rows);
    } catch (error) {
      // What DuckDB's JSON reader refuses (an object too large for it, say) is read by JS; IO errors stay errors.
      if (/^(Invalid Input|Binder|Conversion) Error/.test((error as Error).message ?? '')) return undefined;
      throw error;
    } finally {
      rmSync(file, { force: true });
    }
  }
}

const LINE_BREAK = Buffer.from('\n');

function parse(text: Buffer | string): Row {
  return JSON.parse(typeof text === 'string' ? text : text.toString('utf8')) as Row;
}

/** A JSON text on one line: its line breaks (whitespace between tokens in valid JSON) made spaces. */
function oneLine(text: Buffer | string): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  if (bytes.indexOf(10) === -1 && bytes.indexOf(13) === -1) return bytes;
  const copy = Buffer.from(bytes);
  for (let i = 0; i < copy.length; i++) if (copy[i] === 10 || copy[i] === 13) copy[i] = 32;
  return copy;
}

let textsFolder: string | undefined;
let textsFile = 0;

/** This process's folder for the files `read_json` reads JSON texts from (each removed once read). */
function textsDir(): string {
  if (!textsFolder) {
    const dir = mkdtempSync(join(tmpdir(), 'json-texts-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    textsFolder = dir;
  }
  return textsFolder;
}
