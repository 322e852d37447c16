// Writing rows as CSV or Parquet files through DuckDB COPY. Shared by the csv, parquet and s3 sinks.
import {
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  closeSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { BatchIdentity, Row } from '../core/sdk/types.ts';
import { batchUuid } from '../core/sdk/batches.ts';
import { fieldOf } from '../core/sdk/index.ts';
import {
  inferColumns,
  loadTempTable,
  materializedRows,
  quoteIdent,
  sqlString,
  type DuckDbClient,
} from '../connections/duckdb/client.ts';
import type { ColumnKind } from '../connections/duckdb/append.ts';
import type { DuckDbRows } from '../connections/duckdb/rows.ts';

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
  if (options.mode === 'append' && options.format !== 'csv')
    throw new Error('mode append is for CSV files only (Parquet files cannot be appended to)');
  // Rows go to the file of their path: the day's partition, and {field} placeholders from the row.
  const groups = new Map<string, Row[]>();
  const fields = fieldsOf(options.path);
  if (!options.partitionBy && !fields.length) groups.set(dayPath(options.path, dayOf(options.now ?? new Date())), rows);
  else {
    const now = options.now ?? new Date();
    for (const row of rows) {
      const path = fieldPath(
        dayPath(options.path, dayOf(options.partitionBy ? fieldOf(row, options.partitionBy) : now)),
        fields,
        row,
      );
      (groups.get(path) ?? groups.set(path, []).get(path)!).push(row);
    }
  }
  const written: string[] = [];
  await db.session(async (connection) => {
    try {
      for (const [path, group] of groups) {
        const target = await writeFile(connection, path, group.length, options, async () => {
          const columns = inferColumns(group).map((c) => {
            const known = options.types?.get(c.name);
            const empty = group.every((row) => fieldOf(row, c.name) === null || fieldOf(row, c.name) === undefined);
            if (known && empty) return { ...c, kind: known as typeof c.kind };
            if (!empty) options.types?.set(c.name, c.kind);
            return c;
          });
          await loadTempTable(connection, '_write_rows', group, columns);
          return { from: 'temp._write_rows', columns };
        });
        if (target) written.push(target);
      }
    } finally {
      await connection.run('DROP TABLE IF EXISTS temp._write_rows');
    }
  });
  return written;
}

/**
 * The same as `writeRows` for rows held in a DuckDB table: written by COPY straight from the table, in its DuckDB,
 * exactly as their records would be — each column typed as `writeRows` types the JS values the records path gives
 * (integers and integral numbers BIGINT, other numbers DOUBLE, dates text, timestamps TIMESTAMPTZ to the
 * millisecond, a column null throughout the batch by its earlier type). Returns undefined when it cannot (a
 * `{field}` in the path, `partitionBy` over a column that is not a date or timestamp, a type records would give
 * otherwise): write the records then.
 */
export async function writeTable(rows: DuckDbRows, options: WriteOptions): Promise<string[] | undefined> {
  if (!rows.count) return [];
  if (options.mode === 'append' && options.format !== 'csv')
    throw new Error('mode append is for CSV files only (Parquet files cannot be appended to)');
  if (fieldsOf(options.path).length) return undefined;
  return rows.db.session(async (connection) => {
    const described = await rows.columns(connection);
    const day = options.partitionBy
      ? dayExpression(described.find((c) => c.name === options.partitionBy))
      : `'${dayOf(options.now ?? new Date())}'`;
    if (day === undefined) return undefined;
    const held = heldColumns(described);
    if (!held) return undefined;
    // One pass over the batch: which columns have values, which numbers are all integral, what the partitions are.
    const stats = materializedRows(
      await connection.run(
        `SELECT ${[
          ...held.flatMap((c, i) => [
            `count(${quoteIdent(c.name)}) AS n${i}`,
            ...(c.fraction
              ? [
                  `bool_and(isfinite(CAST(${quoteIdent(c.name)} AS DOUBLE)) AND CAST(${quoteIdent(c.name)} AS DOUBLE) = trunc(CAST(${quoteIdent(c.name)} AS DOUBLE))) AS i${i}`,
                ]
              : []),
            ...(c.integer ? [`max(abs(CAST(${quoteIdent(c.name)} AS HUGEINT))) > 9007199254740991 AS b${i}`] : []),
          ]),
          `list(DISTINCT ${day}) AS days`,
        ].join(', ')} FROM ${rows.table}`,
      ),
    )[0];
    // Integers beyond 2^53 are text in records: such a batch goes the records' way.
    if (held.some((c, i) => c.integer && stats[`b${i}`] === true)) return undefined;
    const columns = held.map((c, i) => {
      const empty = Number(stats[`n${i}`]) === 0;
      let kind: ColumnKind = c.fraction ? (stats[`i${i}`] === true ? 'BIGINT' : 'DOUBLE') : c.kind;
      const known = options.types?.get(c.name);
      if (empty) kind = (known as ColumnKind | undefined) ?? 'VARCHAR';
      else options.types?.set(c.name, kind);
      return { name: c.name, kind, value: empty ? `CAST(NULL AS ${kind})` : c.value(kind), utc: !empty && c.utc };
    });
    const days = ((stats.days as (string | null)[] | null) ?? []).map((d) => d ?? 'unknown').sort();
    const written: string[] = [];
    for (const partition of days) {
      const where = options.partitionBy
        ? partition === 'unknown'
          ? `${day} IS NULL`
          : `${day} = '${partition}'`
        : 'true';
      const count = days.length === 1 ? rows.count : undefined;
      const target = await writeFile(connection, dayPath(options.path, partition), count, options, async () => ({
        from: `(SELECT ${columns.map((c) => `${c.value} AS ${quoteIdent(c.name)}`).join(', ')} FROM ${rows.table} WHERE ${where})`,
        columns,
      }));
      if (target) written.push(target);
    }
    return written;
  });
}

/** A held column as records would give it: its kind, and the SQL of its value as that kind (`fraction`: BIGINT when all integral). */
interface HeldColumn {
  name: string;
  kind: ColumnKind;
  fraction: boolean;
  integer: boolean;
  value(kind: ColumnKind): string;
  /** The value is a TIMESTAMP without a zone, in UTC, standing for the TIMESTAMPTZ of `kind` (see `writeFile`). */
  utc?: boolean;
}

const INTEGER_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER)$/;
const FRACTION_TYPES = /^(FLOAT|DOUBLE|DECIMAL\(\d+,\d+\))$/;
const TIMESTAMP_TYPES = /^(TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS)$/;

/** The columns of a held table as records give them, or undefined when one has a type records give otherwise. */
function heldColumns(described: { name: string; type: string }[]): HeldColumn[] | undefined {
  const columns: HeldColumn[] = [];
  for (const { name, type } of described) {
    const col = quoteIdent(name);
    const base = { name, fraction: false, integer: false };
    if (type === 'VARCHAR') columns.push({ ...base, kind: 'VARCHAR', value: () => col });
    else if (type === 'BOOLEAN') columns.push({ ...base, kind: 'BOOLEAN', value: () => col });
    else if (type === 'DATE') columns.push({ ...base, kind: 'VARCHAR', value: () => `CAST(${col} AS VARCHAR)` });
    else if (INTEGER_TYPES.test(type))
      columns.push({ ...base, integer: true, kind: 'BIGINT', value: () => `CAST(${col} AS BIGINT)` });
    // A JS number: non-finite ones are stored as NULL.
    else if (FRACTION_TYPES.test(type))
      columns.push({
        ...base,
        fraction: true,
        kind: 'DOUBLE',
        value: (kind) => `CASE WHEN isfinite(CAST(${col} AS DOUBLE)) THEN CAST(${col} AS ${kind}) END`,
      });
    // A JS Date: milliseconds since the epoch, in UTC (a timestamp without a zone is read as UTC).
    else if (TIMESTAMP_TYPES.test(type))
      columns.push({
        ...base,
        kind: 'TIMESTAMPTZ',
        utc: true,
        value: () => `date_trunc('millisecond', CAST(${col} AS TIMESTAMP))`,
      });
    else if (type === 'TIMESTAMP WITH TIME ZONE')
      columns.push({ ...base, kind: 'TIMESTAMPTZ', value: () => `date_trunc('millisecond', ${col})` });
    else return undefined;
  }
  return columns;
}

/** The SQL of a row's partition day ('YYYY-MM-DD', UTC; NULL when unknown) from a date or timestamp column, as dayOf gives it. */
function dayExpression(column: { name: string; type: string } | undefined): string | undefined {
  if (!column) return 'CAST(NULL AS VARCHAR)';
  const col = quoteIdent(column.name);
  if (column.type === 'DATE' || TIMESTAMP_TYPES.test(column.type))
    return `strftime(CAST(${col} AS TIMESTAMP), '%Y-%m-%d')`;
  if (column.type === 'TIMESTAMP WITH TIME ZONE') return `strftime(timezone('UTC', ${col}), '%Y-%m-%d')`;
  return undefined;
}

/**
 * One file of a batch: its name (`{uuid}`, or a unique suffix in mode `new`, from the batch id when there is one),
 * then — unless mode `create` finds it there, or an append's ledger holds the batch — the rows `load` makes ready
 * (a table or subquery whose columns have the given kinds) written by COPY under a temporary name and renamed, or
 * appended. Returns the file written. A `utc` column holds a TIMESTAMPTZ as a TIMESTAMP without a zone in UTC:
 * CSV formats it as it is (two time-zone conversions less per row: a third of a held batch's COPY).
 */
async function writeFile(
  connection: DuckDBConnection,
  path: string,
  count: number | undefined,
  options: WriteOptions,
  load: () => Promise<{ from: string; columns: { name: string; kind: ColumnKind; utc?: boolean }[] }>,
): Promise<string | undefined> {
  let target = path;
  if (target.includes('{uuid}'))
    target = target.replaceAll('{uuid}', options.batch ? batchUuid(options.batch) : randomUUID());
  else if (options.mode === 'new')
    target = target.replace(
      /(\.[^./\\]+)?$/,
      `-${options.batch ? options.batch.id.slice(0, 16) : `${Date.now()}-${randomUUID().slice(0, 8)}`}$1`,
    );
  if (options.mode === 'create' && existsSync(target)) {
    options.existing?.push(target);
    return undefined;
  }
  mkdirSync(dirname(target), { recursive: true });
  const ledger = options.mode === 'append' && options.batch ? openLedger(target) : undefined;
  if (ledger?.batches.includes(options.batch!.id)) return undefined; // appended before a crash: not again
  const { from, columns } = await load();
  const tmp = `${target}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`;
  const appending = options.mode === 'append' && existsSync(target) && statSync(target).size > 0;
  // CSV: timestamps as ISO-8601 UTC text whatever the session's time zone; when appending, the file's columns.
  // Declared column types are cast to (a declared column the rows lack is a typed NULL).
  const kinds = new Map(columns.map((c) => [c.name, c.kind]));
  const utc = new Set(columns.filter((c) => c.utc).map((c) => c.name));
  const declared = options.columnTypes ?? {};
  const names = appending
    ? parseCsvHeader(firstLine(target))
    : [...columns.map((c) => c.name), ...Object.keys(declared).filter((name) => !kinds.has(name))];
  const select = names
    .map((name) => {
      const kind = kinds.get(name);
      const column = quoteIdent(name);
      const zoned = utc.has(name) ? `timezone('UTC', ${column})` : column;
      if (declared[name]) return `CAST(${kind ? zoned : 'NULL'} AS ${declared[name]}) AS ${column}`;
      if (!kind) return `NULL AS ${column}`;
      if (kind === 'TIMESTAMPTZ' && options.format === 'csv')
        return `strftime(${utc.has(name) ? column : `timezone('UTC', ${column})`}, '%Y-%m-%dT%H:%M:%S.%gZ') AS ${column}`;
      return utc.has(name) ? `${zoned} AS ${column}` : column;
    })
    .join(', ');
  const format = options.format === 'csv' ? `FORMAT csv, HEADER ${appending ? 'false' : 'true'}` : 'FORMAT parquet';
  let copied: number;
  try {
    const result = materializedRows(
      await connection.run(`COPY (SELECT ${select} FROM ${from}) TO ${sqlString(tmp)} (${format})`),
    );
    copied = count ?? Number(result[0]?.Count ?? result[0]?.count ?? 0);
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
  if (ledger)
    saveLedger(target, {
      length: statSync(target).size,
      batches: [...ledger.batches, options.batch!.id].slice(-LEDGER_BATCHES),
    });
  options.rowsPerFile?.set(target, copied);
  return target;
}

/**
 * For an overwritten export whose new content is an empty result: the file keeps its columns (a CSV its header,
 * a Parquet file its schema) and loses its rows, atomically. The file is the one of `now`'s date; a path whose
 * file depends on the rows (`partitionBy`, `{uuid}`) names no file for an empty result: nothing is done then, as
 * when there is no file yet. Returns the file emptied, if any.
 */
export async function emptyFile(
  db: DuckDbClient,
  options: Pick<WriteOptions, 'format' | 'path' | 'partitionBy' | 'now'>,
): Promise<string | undefined> {
  if (options.partitionBy || options.path.includes('{uuid}') || fieldsOf(options.path).length) return undefined;
  const target = dayPath(options.path, dayOf(options.now ?? new Date()));
  if (!existsSync(target)) return undefined;
  const tmp = `${target}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`;
  try {
    if (options.format === 'csv') {
      const header = firstLine(target);
      writeFileSync(tmp, header ? `${header}\n` : '');
    } else {
      await db.exec(
        `COPY (SELECT * FROM read_parquet(${sqlString(target)}) LIMIT 0) TO ${sqlString(tmp)} (FORMAT parquet)`,
      );
    }
    renameSync(tmp, target);
  } finally {
    rmSync(tmp, { force: true });
  }
  return target;
}

/** The `{field}` placeholders of a path: every `{name}` but {YYYY}, {MM}, {DD} and {uuid}. */
function fieldsOf(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)]
    .map((m) => m[1])
    .filter((name) => !['YYYY', 'MM', 'DD', 'uuid'].includes(name));
}

/** `path` with each `{field}` replaced by the row's value, made safe as a file name part ('unknown' when missing). */
function fieldPath(path: string, fields: string[], row: Row): string {
  let out = path;
  for (const field of fields) {
    const value = row[field];
    const text =
      value === null || value === undefined || value === ''
        ? 'unknown'
        : String(value instanceof Date ? value.toISOString() : value);
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
  const key = /^(\d{4})(\d{2})(\d{2})$/.exec(
    typeof value === 'number' || typeof value === 'string' ? String(value) : '',
  );
  if (key) {
    const iso = `${key[1]}-${key[2]}-${key[3]}`;
    const parsed = new Date(`${iso}T00:00:00Z`);
    return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(iso) ? iso : 'unknown'; // 20240231 is no day
  }
  const date =
    value instanceof Date
      ? value
      : typeof value === 'string' || typeof value === 'number'
        ? new Date(value)
        : new Date(NaN);
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
