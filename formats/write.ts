// Writing rows as CSV or Parquet files through DuckDB COPY. Shared by the csv, parquet and s3 sinks.
import { existsSync, fsyncSync, mkdirSync, openSync, readSync, closeSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { BatchIdentity, Row } from '../core/sdk/types.ts';
import { batchUuid } from '../core/sdk/batches.ts';
import { fieldOf } from '../core/sdk/index.ts';
import { inferColumns, loadTempTable, quoteIdent, sqlString, type DuckDbClient } from '../connections/duckdb/client.ts';

export interface WriteOptions {
  format: 'csv' | 'parquet';
  /** Target path; `{YYYY}`, `{MM}`, `{DD}` come from `partitionBy` (or `now`), `{uuid}` is unique per file, `{field}` is the row's value of that field. */
  path: string;
  /** Timestamp, date or YYYYMMDD date-key field giving each row's partition (UTC day); rows without a valid one go to `unknown`. */
  partitionBy?: string;
  /**
   * `new`: one new file per batch and partition (a unique suffix is added when the path has no `{uuid}`), never
   * overwriting earlier batches. `append` (CSV only): rows are added to the partition's file, the header written
   * once and later batches following its columns. `overwrite`: the file is replaced atomically with each batch (an export).
   * `create`: the file is written only when there is none yet; an existing file (one a person put there) is left as it is.
   */
  mode: 'new' | 'append' | 'overwrite' | 'create';
  /** The date of the partition when there is no `partitionBy` (default: the current time). */
  now?: Date;
  /**
   * Column types seen in earlier batches, kept by the caller across calls: a column that is null throughout a
   * batch takes its earlier type (not VARCHAR), so the files of a dataset agree. Updated with this batch's types.
   */
  types?: Map<string, string>;
  /** DuckDB types of some columns in the file, e.g. `{ amount: 'DECIMAL(10,2)' }`: values are cast when written (a column the rows lack is written as NULL of its type). */
  columnTypes?: Record<string, string>;
  /** Mode `create`: the files that were there already (left as they are) are added here. */
  existing?: string[];
  /**
   * The batch's identity (`SinkContext.batch`): the same batch written again (after a crash) lands in the same
   * files — `{uuid}` and the suffix of mode `new` derive from it, so the file is replaced rather than doubled — and
   * mode `append` adds it to a file only once (see `AppendLedger`).
   */
  batch?: BatchIdentity;
  /** Filled with each file written and how many rows went into it (e.g. for object metadata). */
  rowsPerFile?: Map<string, number>;
}

/**
 * Next to a CSV file that batches with an identity are appended to: `.<file>.batches`, the file's length after its
 * last whole batch and the ids of its latest batches. Before an append the file is cut back to that length (the
 * tail of an append a crash interrupted: its batch is delivered again), a batch already listed is not appended
 * again (a crash after the append, before the checkpoint), and after the append the ledger moves on atomically.
 */
interface AppendLedger {
  length: number;
  batches: string[];
}

const LEDGER_BATCHES = 1000;

/**
 * Writes rows with DuckDB COPY (CSV with a header and ISO-8601 UTC timestamps, or Parquet), one file per
 * date partition. Files appear whole: they are written under a temporary name and renamed.
 * Returns the files written (with mode `create`, an existing file is not written and not returned).
 */
export async function writeRows(db: DuckDbClient, rows: Row[], options: WriteOptions): Promise<string[]> {
  if (!rows.length) return [];
  if (options.mode === 'append' && options.format !== 'csv') throw new Error('mode append is for CSV files only (Parquet files cannot be appended to)');
  // Rows go to the file of their path: the day's partition, and {field} placeholders from the row.
  const groups = new Map<string, Row[]>();
  const now = options.now ?? new Date();
  const fields = fieldsOf(options.path);
  for (const row of rows) {
    const path = fieldPath(dayPath(options.path, dayOf(options.partitionBy ? fieldOf(row, options.partitionBy) : now)), fields, row);
    (groups.get(path) ?? groups.set(path, []).get(path)!).push(row);
  }
  const written: string[] = [];
  await db.session(async (connection) => {
    try {
      for (const [path, group] of groups) {
        let target = path;
        if (target.includes('{uuid}')) target = target.replaceAll('{uuid}', options.batch ? batchUuid(options.batch) : randomUUID());
        else if (options.mode === 'new') target = target.replace(/(\.[^./\\]+)?$/, `-${options.batch ? options.batch.id.slice(0, 16) : `${Date.now()}-${randomUUID().slice(0, 8)}`}$1`);
        if (options.mode === 'create' && existsSync(target)) {
          options.existing?.push(target);
          continue;
        }
        mkdirSync(dirname(target), { recursive: true });
        const ledger = options.mode === 'append' && options.batch ? openLedger(target) : undefined;
        if (ledger?.batches.includes(options.batch!.id)) continue; // appended before a crash: not again
        const columns = inferColumns(group).map((c) => {
          const known = options.types?.get(c.name);
          const empty = group.every((row) => fieldOf(row, c.name) === null || fieldOf(row, c.name) === undefined);
          if (known && empty) return { ...c, kind: known as typeof c.kind };
          if (!empty) options.types?.set(c.name, c.kind);
          return c;
        });
        await loadTempTable(connection, '_write_rows', group, columns);
        const tmp = `${target}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`;
        const appending = options.mode === 'append' && existsSync(target) && statSync(target).size > 0;
        // CSV: timestamps as ISO-8601 UTC text whatever the session's time zone; when appending, the file's columns.
        // Declared column types are cast to (a declared column the rows lack is a typed NULL).
        const kinds = new Map(columns.map((c) => [c.name, c.kind]));
        const declared = options.columnTypes ?? {};
        const names = appending ? parseCsvHeader(firstLine(target)) : [...columns.map((c) => c.name), ...Object.keys(declared).filter((name) => !kinds.has(name))];
        const select = names.map((name) => {
          const kind = kinds.get(name);
          const column = quoteIdent(name);
          if (declared[name]) return `CAST(${kind ? column : 'NULL'} AS ${declared[name]}) AS ${column}`;
          if (!kind) return `NULL AS ${column}`;
          if (kind === 'TIMESTAMPTZ' && options.format === 'csv') return `strftime(timezone('UTC', ${column}), '%Y-%m-%dT%H:%M:%S.%gZ') AS ${column}`;
          return column;
        }).join(', ');
        const format = options.format === 'csv' ? `FORMAT csv, HEADER ${appending ? 'false' : 'true'}` : 'FORMAT parquet';
        try {
          await connection.run(`COPY (SELECT ${select} FROM temp._write_rows) TO ${sqlString(tmp)} (${format})`);
          if (appending) {
            const fd = openSync(target, 'a');
            try {
              writeSync(fd, readFileSync(tmp));
              if (ledger) fsyncSync(fd);
            } finally {
              closeSync(fd);
            }
            rmSync(tmp);
          } else {
            if (ledger) syncFile(tmp);
            renameSync(tmp, target); // readers never see a half-written file
          }
        } finally {
          rmSync(tmp, { force: true });
        }
        if (ledger) saveLedger(target, { length: statSync(target).size, batches: [...ledger.batches, options.batch!.id].slice(-LEDGER_BATCHES) });
        written.push(target);
        options.rowsPerFile?.set(target, group.length);
      }
    } finally {
      await connection.run('DROP TABLE IF EXISTS temp._write_rows');
    }
  });
  return written;
}

/**
 * For an overwritten export whose new content is an empty result: the file keeps its columns (a CSV its header,
 * a Parquet file its schema) and loses its rows, atomically. The file is the one of `now`'s date; a path whose
 * file depends on the rows (`partitionBy`, `{uuid}`) names no file for an empty result: nothing is done then, as
 * when there is no file yet. Returns the file emptied, if any.
 */
export async function emptyFile(db: DuckDbClient, options: Pick<WriteOptions, 'format' | 'path' | 'partitionBy' | 'now'>): Promise<string | undefined> {
  if (options.partitionBy || options.path.includes('{uuid}') || fieldsOf(options.path).length) return undefined;
  const target = dayPath(options.path, dayOf(options.now ?? new Date()));
  if (!existsSync(target)) return undefined;
  const tmp = `${target}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`;
  try {
    if (options.format === 'csv') {
      const header = firstLine(target);
      writeFileSync(tmp, header ? `${header}\n` : '');
    } else {
      await db.exec(`COPY (SELECT * FROM read_parquet(${sqlString(target)}) LIMIT 0) TO ${sqlString(tmp)} (FORMAT parquet)`);
    }
    renameSync(tmp, target);
  } finally {
    rmSync(tmp, { force: true });
  }
  return target;
}

/** The `{field}` placeholders of a path: every `{name}` but {YYYY}, {MM}, {DD} and {uuid}. */
function fieldsOf(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]).filter((name) => !['YYYY', 'MM', 'DD', 'uuid'].includes(name));
}

/** `path` with each `{field}` replaced by the row's value, made safe as a file name part ('unknown' when missing). */
function fieldPath(path: string, fields: string[], row: Row): string {
  let out = path;
  for (const field of fields) {
    const value = row[field];
    const text = value === null || value === undefined || value === '' ? 'unknown' : String(value instanceof Date ? value.toISOString() : value);
    out = out.replaceAll(`{${field}}`, text.replace(/[/\\\0]/g, '_').replace(/^\.+/, '_'));
  }
  return out;
}

function ledgerFile(target: string): string {
  return join(dirname(target), `.${basename(target)}.batches`);
}

/**
 * The append ledger of `target`, with the file made to agree with it: a tail beyond the ledger's length (an append
 * a crash cut off) is removed; a file shorter than the ledger says (replaced or cut by someone else) starts a new
 * ledger. A file appended to before it had a ledger is taken as it is. The ledger is on disk before any append.
 */
function openLedger(target: string): AppendLedger {
  const size = existsSync(target) ? statSync(target).size : 0;
  let ledger: AppendLedger | undefined;
  try {
    ledger = JSON.parse(readFileSync(ledgerFile(target), 'utf8')) as AppendLedger;
  } catch {
    ledger = undefined;
  }
  if (ledger && size > ledger.length) truncateSync(target, ledger.length);
  else if (!ledger || size < ledger.length) saveLedger(target, (ledger = { length: size, batches: [] }));
  return ledger;
}

function saveLedger(target: string, ledger: AppendLedger): void {
  const file = ledgerFile(target);
  writeFileSync(`${file}.tmp`, JSON.stringify(ledger));
  syncFile(`${file}.tmp`);
  renameSync(`${file}.tmp`, file);
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `path` with `{YYYY}`, `{MM}`, `{DD}` of `day` ('YYYY-MM-DD', or 'unknown' in each place). */
function dayPath(path: string, day: string): string {
  const [y, m, d] = day === 'unknown' ? ['unknown', 'unknown', 'unknown'] : day.split('-');
  return path.replaceAll('{YYYY}', y).replaceAll('{MM}', m).replaceAll('{DD}', d);
}

/** 'YYYY-MM-DD' (UTC) of a Date, an ISO string, a YYYYMMDD date key or epoch milliseconds; 'unknown' when it is none of them. */
function dayOf(value: unknown): string {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const key = /^(\d{4})(\d{2})(\d{2})$/.exec(typeof value === 'number' || typeof value === 'string' ? String(value) : '');
  if (key) {
    const iso = `${key[1]}-${key[2]}-${key[3]}`;
    const parsed = new Date(`${iso}T00:00:00Z`);
    return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(iso) ? iso : 'unknown'; // 20240231 is no day
  }
  const date = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : new Date(NaN);
  return Number.isNaN(date.getTime()) ? 'unknown' : date.toISOString().slice(0, 10);
}

function firstLine(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, n).toString('utf8').split(/\r?\n/)[0];
  } finally {
    closeSync(fd);
  }
}

/** The column names of a CSV header line written by DuckDB (quoted when they contain a comma or quote). */
function parseCsvHeader(line: string): string[] {
  const names: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let name = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          name += '"';
          i += 2;
        } else if (line[i] === '"') break;
        else name += line[i++];
      }
      names.push(name);
      i += 2; // closing quote and comma
    } else {
      const end = line.indexOf(',', i);
      names.push(line.slice(i, end === -1 ? line.length : end));
      if (end === -1) break;
      i = end + 1;
    }
  }
  return names;
}
