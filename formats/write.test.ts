import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDbClient } from '../connections/duckdb/client.ts';
import { residentRows } from '../connections/duckdb/rows.ts';
import { writeRows, writeTable, type WriteOptions } from './write.ts';

const db = await DuckDbClient.open(':memory:');
afterAll(() => db.close());

// Timestamps with and without a zone (microseconds: records hold milliseconds), dates, integers, integral and
// fractional numbers, text, booleans, NULLs and a column null throughout.
const held = await db.session((connection) =>
  residentRows(
    db,
    connection,
    `SELECT
    i AS id,
    CASE WHEN i % 5 = 0 THEN NULL ELSE TIMESTAMP '2024-01-30 22:59:59.123456' + to_hours(i) END AS ts,
    TIMESTAMPTZ '2024-03-01 12:00:00.5+02' + to_minutes(i * 7) AS seen,
    DATE '2024-02-28' + CAST(i AS INTEGER) AS day,
    CAST(i * 2 AS DOUBLE) AS whole,
    CASE WHEN i % 3 = 0 THEN NULL ELSE i / 8 END AS ratio,
    CAST(i * 1.25 AS DECIMAL(10,2)) AS money,
    'name, "' || i || '"' AS name,
    i % 2 = 0 AS even,
    CAST(NULL AS VARCHAR) AS nothing
  FROM range(40) r(i)`,
  ),
);
afterAll(() => held.release());

/** Every file a write made, by name relative to its folder, with its rows as DuckDB reads them back (and, for Parquet, the column types). */
async function filesOf(root: string, format: 'csv' | 'parquet'): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const name of (readdirSync(root, { recursive: true }) as string[])
    .filter((n) => n.endsWith(`.${format}`))
    .sort()) {
    const file = join(root, name);
    out[name] =
      format === 'csv'
        ? readFileSync(file, 'utf8')
        : {
            types: await db.query(
              `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`,
            ),
            rows: await db.query(`SELECT * FROM read_parquet('${file}')`),
          };
  }
  return out;
}

describe('writeTable: a batch held in DuckDB written by COPY from its table', () => {
  // writeTable types a column once per batch, writeRows once per file: with partitionBy they agree while each
  // partition's values give the batch's types (here not for Parquet: the partition of rows without a ts has that
  // column null throughout, so its records make it VARCHAR there).
  const declared = { ts: 'TIMESTAMP', seen: 'VARCHAR', money: 'DECIMAL(10,2)' };
  const cases = [
    ['csv', undefined, undefined],
    ['parquet', undefined, undefined],
    ['csv', 'ts', undefined],
    ['csv', undefined, declared],
    ['parquet', undefined, declared],
  ] as const;
  for (const [format, partitionBy, columnTypes] of cases) {
    it(`gives the same ${format} files as writeRows gives its records${partitionBy ? ` (partitionBy ${partitionBy})` : ''}${columnTypes ? ' (declared types)' : ''}`, async () => {
      const options = (root: string): WriteOptions => ({
        format,
        path: join(root, `{YYYY}/{MM}/{DD}/out.${format}`),
        partitionBy,
        columnTypes,
        mode: 'overwrite',
        now: new Date('2024-05-06T07:08:09Z'),
      });
      const fromRecords = mkdtempSync(join(tmpdir(), 'write-records-'));
      const fromTable = mkdtempSync(join(tmpdir(), 'write-table-'));
      const written = await writeRows(db, await held.toRecords(), options(fromRecords));
      const copied = await writeTable(held, options(fromTable));
      expect(copied?.map((f) => f.slice(fromTable.length)).sort()).toEqual(
        written.map((f) => f.slice(fromRecords.length)).sort(),
      );
      expect(written.length).toBeGreaterThan(partitionBy ? 1 : 0);
      expect(await filesOf(fromTable, format)).toEqual(await filesOf(fromRecords, format));
    });
  }
});
