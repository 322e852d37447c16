// Writing rows as CSV or Parquet files through DuckDB COPY. Shared by the csv, parquet and s3 sinks.
import { appendFileSync, existsSync, mkdirSync, openSync, readSync, closeSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Row } from '../sdk/types.ts';
import { fieldOf } from '../sdk/index.ts';
import { inferColumns, loadTempTable, quoteIdent, sqlString, type DuckDbClient } from '../connections/duckdb/client.ts';

export interface WriteOptions {
  format: 'csv' | 'parquet';
  /** Target path; `{YYYY}`, `{MM}`, `{DD}` come from `partitionBy` (or `now`), `{uuid}` is unique per file. */
  path: string;
  /** Timestamp or date field giving each row's partition (UTC day); rows without a valid one go to `unknown`. */
  partitionBy?: string;
  /**
   * `new`: one new file per batch and partition (a unique suffix is added when the path has no `{uuid}`), never
   * overwriting earlier batches. `append` (CSV only): rows are added to the partition's file, the header written
   * once and later batches following its columns. `overwrite`: the file is replaced atomically with each batch (an export).
   */
  mode: 'new' | 'append' | 'overwrite';
  /** The date of the partition when there is no `partitionBy` (default: the current time). */
  now?: Date;
  /**
   * Column types seen in earlier batches, kept by the caller across calls: a column that is null throughout a
   * batch takes its earlier type (not VARCHAR), so the files of a dataset agree. Updated with this batch's types.
   */
  types?: Map<string, string>;
}

/**
 * Writes rows with DuckDB COPY (CSV with a header and ISO-8601 UTC timestamps, or Parquet), one file per
 * date partition. Files appear whole: they are written under a temporary name and renamed.
 * Returns the files written.
 */
export async function writeRows(db: DuckDbClient, rows: Row[], options: WriteOptions): Promise<string[]> {
  if (!rows.length) return [];
  if (options.mode === 'append' && options.format !== 'csv') throw new Error('mode append is for CSV files only (Parquet files cannot be appended to)');
  const groups = new Map<string, Row[]>();
  const now = options.now ?? new Date();
  for (const row of rows) {
    const day = dayOf(options.partitionBy ? fieldOf(row, options.partitionBy) : now);
    (groups.get(day) ?? groups.set(day, []).get(day)!).push(row);
  }
  const written: string[] = [];
  await db.session(async (connection) => {
    try {
      for (const [day, group] of groups) {
        let target = dayPath(options.path, day);
        if (target.includes('{uuid}')) target = target.replaceAll('{uuid}', randomUUID());
        else if (options.mode === 'new') target = target.replace(/(\.[^./\\]+)?$/, `-${Date.now()}-${randomUUID().slice(0, 8)}$1`);
        mkdirSync(dirname(target), { recursive: true });
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
        let select: string;
        if (options.format === 'csv') {
          // Timestamps as ISO-8601 UTC text whatever the session's time zone; when appending, the file's columns.
          const kinds = new Map(columns.map((c) => [c.name, c.kind]));
          const names = appending ? parseCsvHeader(firstLine(target)) : columns.map((c) => c.name);
          select = names.map((name) => {
            const kind = kinds.get(name);
            if (!kind) return `NULL AS ${quoteIdent(name)}`;
            if (kind === 'TIMESTAMPTZ') return `strftime(timezone('UTC', ${quoteIdent(name)}), '%Y-%m-%dT%H:%M:%S.%gZ') AS ${quoteIdent(name)}`;
            return quoteIdent(name);
          }).join(', ');
        } else {
          select = '*';
        }
        const format = options.format === 'csv' ? `FORMAT csv, HEADER ${appending ? 'false' : 'true'}` : 'FORMAT parquet';
        try {
          await connection.run(`COPY (SELECT ${select} FROM temp._write_rows) TO ${sqlString(tmp)} (${format})`);
          if (appending) {
            appendFileSync(target, readFileSync(tmp));
            rmSync(tmp);
          } else {
            renameSync(tmp, target); // readers never see a half-written file
          }
        } finally {
          rmSync(tmp, { force: true });
        }
        written.push(target);
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
  if (options.partitionBy || options.path.includes('{uuid}')) return undefined;
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

/** `path` with `{YYYY}`, `{MM}`, `{DD}` of `day` ('YYYY-MM-DD', or 'unknown' in each place). */
function dayPath(path: string, day: string): string {
  const [y, m, d] = day === 'unknown' ? ['unknown', 'unknown', 'unknown'] : day.split('-');
  return path.replaceAll('{YYYY}', y).replaceAll('{MM}', m).replaceAll('{DD}', d);
}

/** 'YYYY-MM-DD' (UTC) of a Date, an ISO string or epoch milliseconds; 'unknown' when it is none of them. */
function dayOf(value: unknown): string {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
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
        if (line[i] === '"' && line[i + 1] === '"') (name += '"'), (i += 2);
        else if (line[i] === '"') break;
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
