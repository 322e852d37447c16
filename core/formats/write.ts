import { mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Row } from '../sdk/types.ts';
import { loadTempTable, type DuckDbClient } from '../connections/duckdb/index.ts';

export interface WriteOptions {
  format: 'csv' | 'parquet';
  /** Target path; `{YYYY}`, `{MM}`, `{DD}` come from `partitionBy` (or today), `{uuid}` is unique per file. */
  path: string;
  partitionBy?: string;
  /** `overwrite` replaces the file atomically with each batch (an export); `new` writes one file per batch. */
  mode: 'new' | 'overwrite';
}

/** Writes rows with DuckDB COPY (CSV with a header and ISO timestamps, or Parquet), grouped by date partition. */
export async function writeRows(db: DuckDbClient, rows: Row[], options: WriteOptions): Promise<string[]> {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const value = options.partitionBy ? row[options.partitionBy] : new Date();
    const date = value instanceof Date ? value : new Date(String(value));
    const day = Number.isNaN(date.getTime()) ? 'unknown' : date.toISOString().slice(0, 10);
    (groups.get(day) ?? groups.set(day, []).get(day)!).push(row);
  }
  const written: string[] = [];
  await db.session(async (connection) => {
    for (const [day, group] of groups) {
      const [y, m, d] = day === 'unknown' ? ['unknown', 'unknown', 'unknown'] : day.split('-');
      let target = options.path.replaceAll('{YYYY}', y).replaceAll('{MM}', m).replaceAll('{DD}', d);
      if (options.mode === 'new') target = target.includes('{uuid}') ? target.replaceAll('{uuid}', randomUUID()) : target.replace(/(\.[^./]+)?$/, `-${Date.now()}-${randomUUID().slice(0, 8)}$1`);
      mkdirSync(dirname(target), { recursive: true });
      await loadTempTable(connection, '_out', group);
      const tmp = `${target}.tmp-${process.pid}`;
      const format = options.format === 'csv' ? "FORMAT csv, HEADER true, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%gZ'" : 'FORMAT parquet';
      await connection.run(`SET TimeZone = 'UTC'; COPY _out TO '${tmp.replaceAll("'", "''")}' (${format})`);
      renameSync(tmp, target); // readers never see a half-written file
      written.push(target);
    }
    await connection.run('DROP TABLE IF EXISTS _out');
  });
  return written;
}
