import {
  DuckDBInstance,
  JSDuckDBValueConverter,
  type DuckDBConnection,
  type DuckDBDataChunk,
  type DuckDBMaterializedResult,
  type DuckDBValue,
  timestampTZValue,
  DuckDBTypeId,
} from '@duckdb/node-api';
import type { Row, SqlClient } from '../../core/sdk/types.ts';
import { fieldOf } from '../../core/sdk/index.ts';
import { appendRows, type ColumnKind } from './append.ts';

/** SqlClient over one DuckDB database (a file or :memory:). Connections are pooled; DuckDB runs queries in parallel. */
export class DuckDbClient implements SqlClient {
  readonly dialect = 'duckdb' as const;
  private readonly idle: DuckDBConnection[] = [];

  private constructor(
    readonly instance: DuckDBInstance,
    readonly path: string,
  ) {}

  static async open(path: string, options: Record<string, string> = {}): Promise<DuckDbClient> {
    const instance = await DuckDBInstance.create(path, options);
    return new DuckDbClient(instance, path);
  }

  async query<R extends Row = Row>(sql: string, params: unknown[] = []): Promise<R[]> {
    return this.session((connection) => runQuery<R>(connection, sql, params));
  }

  async exec(sql: string): Promise<void> {
    await this.session((connection) => connection.run(sql));
  }

  /** Streams a query's rows in pages of about `pageSize`, so a large result never sits in memory at once. */
  async *stream(sql: string, params: unknown[] = [], pageSize = 10_000): AsyncGenerator<Row[]> {
    const connection = this.idle.pop() ?? (await this.instance.connect());
    try {
      const result = await connection.stream(sql, params.length ? params.map(toDuckValue) : undefined);
      const names = result.columnNames();
      const types = result.columnTypes().map((t) => t.typeId);
      let page: Row[] = [];
      for await (const chunk of result) {
        for (const row of rowsOfChunk(chunk, names, types)) {
          page.push(row);
          if (page.length === pageSize) {
            yield page;
            page = [];
          }
        }
      }
      if (page.length) yield page;
    } finally {
      this.idle.push(connection);
    }
  }

  async transaction<T>(work: (tx: SqlClient) => Promise<T>): Promise<T> {
    return this.session(async (connection) => {
      await connection.run('BEGIN TRANSACTION');
      try {
        const result = await work(new DuckDbSession(connection));
        await connection.run('COMMIT');
        return result;
      } catch (error) {
        await connection.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  /** Runs `work` on one connection, so temp tables and transactions hold across its statements. */
  async session<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const connection = this.idle.pop() ?? (await this.instance.connect());
    try {
      return await work(connection);
    } finally {
      if (this.idle.length < 8) this.idle.push(connection);
      else connection.closeSync();
    }
  }

  close(): void {
    for (const connection of this.idle.splice(0)) connection.closeSync();
    this.instance.closeSync();
  }
}

/** A SqlClient bound to one connection (inside a transaction). */
export class DuckDbSession implements SqlClient {
  readonly dialect = 'duckdb' as const;
  constructor(readonly connection: DuckDBConnection) {}
  query<R extends Row = Row>(sql: string, params: unknown[] = []) {
    return runQuery<R>(this.connection, sql, params);
  }
  async exec(sql: string) {
    await this.connection.run(sql);
  }
  async transaction<T>(work: (tx: SqlClient) => Promise<T>): Promise<T> {
    return work(this);
  }
}

async function runQuery<R>(connection: DuckDBConnection, sql: string, params: unknown[]): Promise<R[]> {
  return materializedRows(await connection.run(sql, params.length ? params.map(toDuckValue) : undefined)) as R[];
}

/** JS → DuckDB parameter value. Dates bind as TIMESTAMPTZ; objects as JSON text. */
export function toDuckValue(value: unknown): DuckDBValue {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return timestampTZValue(BigInt(value.getTime()) * 1000n);
  if (typeof value === 'object') return JSON.stringify(value);
  return value as DuckDBValue;
}

/**
 * Every row of a result of `connection.run` as plain JS: integers as numbers (strings when beyond 2^53), decimals
 * as numbers, timestamps as Dates (converted chunk by chunk, see rowsOfChunk).
 */
export function materializedRows(result: DuckDBMaterializedResult): Row[] {
  const names = result.columnNames();
  const types = result.columnTypes().map((t) => t.typeId);
  const rows: Row[] = [];
  for (let i = 0; i < result.chunkCount; i++)
    for (const row of rowsOfChunk(result.getChunk(i), names, types)) rows.push(row);
  return rows;
}

/** One data chunk of a result as plain JS rows (as materializedRows). */
export function rowsOfChunk(chunk: DuckDBDataChunk, names: string[], types: DuckDBTypeId[]): Row[] {
  return rowsOfColumns(
    names,
    types,
    names.map((_, c) => columnValues(chunk, c, types[c])),
  );
}

/** Types whose vector items already are the JS value the converter would give: read without it. */
const AS_IS = new Set([
  DuckDBTypeId.BOOLEAN,
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.VARCHAR,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.UHUGEINT,
]);

function columnValues(chunk: DuckDBDataChunk, column: number, type: DuckDBTypeId): unknown[] {
  if (!AS_IS.has(type)) return chunk.convertColumnValues(column, JSDuckDBValueConverter);
  const vector = chunk.getColumnVector(column);
  const values = new Array(chunk.rowCount);
  for (let i = 0; i < values.length; i++) values[i] = vector.getItem(i);
  return values;
}

/** Column-major conversion (one converter pass per column), then one object per row: no per-row value arrays. */
function rowsOfColumns(names: string[], types: DuckDBTypeId[], columns: unknown[][]): Row[] {
  const count = columns[0]?.length ?? 0;
  const rows: Row[] = new Array(count);
  // A column named __proto__ (a CSV header can say anything) must become a field, not the row's prototype.
  const proto = names.indexOf('__proto__');
  for (let r = 0; r < count; r++) {
    const row: Row = {};
    for (let c = 0; c < names.length; c++) {
      if (c === proto)
        Object.defineProperty(row, '__proto__', {
          value: fromDuck(columns[c][r], types[c]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else row[names[c]] = fromDuck(columns[c][r], types[c]);
    }
    rows[r] = row;
  }
  return rows;
}

function fromDuck(value: unknown, type: DuckDBTypeId): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (type === DuckDBTypeId.DATE && value instanceof Date) return value.toISOString().slice(0, 10);
  if (NESTED.has(type)) return plainNested(value);
  return value;
}

const NESTED = new Set([
  DuckDBTypeId.LIST,
  DuckDBTypeId.ARRAY,
  DuckDBTypeId.STRUCT,
  DuckDBTypeId.MAP,
  DuckDBTypeId.UNION,
]);

/** Integers inside lists and structs as numbers too (as at the top level), so a nested value is plain JSON. */
function plainNested(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Array.isArray(value)) return value.map(plainNested);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = plainNested(item);
    return out;
  }
  return value;
}

/** Column types for a batch of JS rows: the narrowest type that holds every value of the column. */
export function inferColumns(rows: Row[], names = columnNames(rows)): { name: string; kind: ColumnKind }[] {
  return names.map((name) => {
    let kind: ColumnKind | undefined;
    for (const row of rows) {
      kind = widenKind(kind, fieldOf(row, name));
      if (kind === 'VARCHAR') break;
    }
    return { name, kind: kind ?? 'VARCHAR' };
  });
}

/**
 * The kind of a column holding values of `kind` and `value` (undefined: no value yet): integers and fractions make
 * DOUBLE, any other mix VARCHAR; null and undefined change nothing.
 */
export function widenKind(kind: ColumnKind | undefined, value: unknown): ColumnKind | undefined {
  if (value === null || value === undefined) return kind;
  const k = kindOf(value);
  if (!kind || kind === k) return k;
  return (kind === 'BIGINT' && k === 'DOUBLE') || (kind === 'DOUBLE' && k === 'BIGINT') ? 'DOUBLE' : 'VARCHAR';
}

export function columnNames(rows: Row[]): string[] {
  const names = new Set<string>();
  // for…in allocates no key array per row (rows are plain objects).
  for (const row of rows) for (const key in row) names.add(key);
  return [...names];
}

function kindOf(value: unknown): ColumnKind {
  switch (typeof value) {
    case 'number':
      // An integer past BIGINT's range (1e21 in a spreadsheet cell) is a DOUBLE: as BIGINT it could not be stored.
      return Number.isInteger(value) && Math.abs(value) < 2 ** 63 ? 'BIGINT' : 'DOUBLE';
    case 'bigint':
      return 'BIGINT';
    case 'boolean':
      return 'BOOLEAN';
    case 'object':
      return value instanceof Date ? 'TIMESTAMPTZ' : 'VARCHAR';
    default:
      return 'VARCHAR';
  }
}

/** A SQL string literal ('it''s'), for the few places a value cannot be a bound parameter (file paths, DDL). */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export function quoteIdent(name: string): string {
  return '"' + name.replaceAll('"', '""') + '"';
}

/**
 * Loads JS rows into a temporary table `name` on this connection with the DuckDB appender, a data chunk at a time
 * (the fastest path), so SQL can do the heavy work. Returns the column list. A row with a value that cannot be
 * stored (nested too deep, out of range) is thrown as a DataError, or, with `onBadRow`, reported and left out of the
 * table (the other rows keep their rowid: a row's rowid stays its index in `rows`).
 */
export async function loadTempTable(
  connection: DuckDBConnection,
  name: string,
  rows: Row[],
  columns = inferColumns(rows),
  onBadRow?: (index: number, reason: string) => void,
) {
  const cols = columns.length ? columns : [{ name: '_empty', kind: 'VARCHAR' as ColumnKind }];
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE ${quoteIdent(name)} (${cols.map((c) => `${quoteIdent(c.name)} ${c.kind}`).join(', ')})`,
  );
  if (rows.length === 0 || columns.length === 0) return columns;
  const appender = await connection.createAppender(name, 'main', 'temp');
  const bad = new Map<number, string>();
  try {
    appendRows(
      appender,
      rows,
      columns,
      onBadRow ? (row, reason) => void bad.set(row, bad.get(row) ?? reason) : undefined,
    );
  } catch (error) {
    try {
      appender.closeSync();
    } catch {
      /* the append error is the one to report */
    }
    throw error;
  }
  appender.closeSync();
  if (bad.size) {
    await connection.run(`DELETE FROM temp.${quoteIdent(name)} WHERE rowid IN (${[...bad.keys()].join(', ')})`);
    for (const [index, reason] of bad) onBadRow!(index, reason);
  }
  return columns;
}
