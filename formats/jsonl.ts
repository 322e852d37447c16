// JSON lines read by DuckDB (read_json) into batch tables, slice by slice, so that a large file is one parallel
// parse per slice and never a JS object per line. What DuckDB would take otherwise than the JS parser does — a line
// that is not a JSON object or not JSON at all, a blank line (its line numbers), nested or mixed values — is read by
// the JS parser instead (that slice, or the rest of the file when its values are nested or mixed).
import { closeSync, openSync, readSync, rmSync, statSync, writeSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '../core/sdk/types.ts';
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
