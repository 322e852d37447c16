import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type { Row, SqlClient } from '../../core/sdk/types.ts';
import { fieldOf } from '../../core/sdk/index.ts';

/** SqlClient plus bulk loading; the same for embedded PGlite and a real server. */
export interface PostgresClient extends SqlClient {
  /** COPY rows into `table` (the fastest way in); `columns` are the table columns to fill, in order. */
  copyInto(table: string, columns: string[], rows: Row[]): Promise<void>;
  transaction<T>(work: (tx: PostgresClient) => Promise<T>): Promise<T>;
}

// NUMERIC, INT8 and friends arrive as text; rows carry numbers (beyond 2^53, the exact text is kept).
const NUMERIC_OIDS = [20, 1700];
function parseNumeric(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) || (!Number.isInteger(n) && Number.isFinite(n)) ? n : text;
}

// DATE stays 'YYYY-MM-DD' (as rows carry dates everywhere): the drivers' default makes it a timestamp at midnight
// of the process's (node-pg: local, PGlite: UTC) zone, which moves the day in any other zone.
const DATE_OID = 1082;
const keepText = (text: string) => text;
const PARSERS: Record<number, (text: string) => unknown> = {
  ...Object.fromEntries(NUMERIC_OIDS.map((oid) => [oid, parseNumeric])),
  [DATE_OID]: keepText,
};

export function quoteIdent(name: string): string {
  return name
    .split('.')
    .map((part) => '"' + part.replaceAll('"', '""') + '"')
    .join('.');
}

/** One CSV line per row for COPY … (FORMAT csv): NULL is an unquoted empty field, every text is quoted. */
export function toCsv(rows: Row[], columns: string[]): string {
  let out = '';
  for (const row of rows) {
    out += columns.map((c) => csvField(fieldOf(row, c))).join(',') + '\n';
  }
  return out;
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  const text =
    value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return '"' + text.replaceAll('"', '""') + '"';
}

function copySql(table: string, columns: string[], source: string): string {
  return `COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) FROM ${source} WITH (FORMAT csv)`;
}

function toParam(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value))
    return JSON.stringify(value);
  return value;
}

/** A real PostgreSQL server through a pg.Pool. */
export class PgPoolClient implements PostgresClient {
  readonly dialect = 'postgres' as const;
  constructor(readonly pool: pg.Pool) {}

  static create(url: string, poolSize: number): PgPoolClient {
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        PARSERS[oid] ?? pg.types.getTypeParser(oid, format as 'text'),
    };
    const pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: 5000,
      types: types as never,
    });
    // An idle client whose server went away emits 'error'; unhandled, it would end the process. The pool drops
    // that client and the next query connects again (or fails, and the runtime retries).
    pool.on('error', () => undefined);
    return new PgPoolClient(pool);
  }

  async query<R extends Row = Row>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.pool.query(sql, params.map(toParam))).rows as R[];
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async copyInto(table: string, columns: string[], rows: Row[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await new PgSession(client).copyInto(table, columns, rows);
    } finally {
      client.release();
    }
  }

  async transaction<T>(work: (tx: PostgresClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(new PgSession(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

class PgSession implements PostgresClient {
  readonly dialect = 'postgres' as const;
  constructor(private readonly client: pg.PoolClient) {}
  async query<R extends Row = Row>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.client.query(sql, params.map(toParam))).rows as R[];
  }
  async exec(sql: string): Promise<void> {
    await this.client.query(sql);
  }
  async copyInto(table: string, columns: string[], rows: Row[]): Promise<void> {
    if (!rows.length) return;
    const stream = this.client.query(copyFrom(copySql(table, columns, 'STDIN')));
    await pipeline(Readable.from(chunks(rows, columns)), stream);
  }
  async transaction<T>(work: (tx: PostgresClient) => Promise<T>): Promise<T> {
    return work(this);
  }
}

function* chunks(rows: Row[], columns: string[]): Generator<string> {
  for (let i = 0; i < rows.length; i += 5000) yield toCsv(rows.slice(i, i + 5000), columns);
}

/** Embedded PostgreSQL (PGlite, in-process). COPY goes through PGlite's /dev/blob, never a socket. */
export class PgliteClient implements PostgresClient {
  readonly dialect = 'postgres' as const;
  private queue: Promise<unknown> = Promise.resolve();
  constructor(readonly db: PGlite | Transaction) {}

  private readonly options = { parsers: PARSERS };

  async query<R extends Row = Row>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.db.query<R>(sql, params.map(toParam), this.options)).rows;
  }

  async exec(sql: string): Promise<void> {
    await this.db.exec(sql);
  }

  async copyInto(table: string, columns: string[], rows: Row[]): Promise<void> {
    if (!rows.length) return;
    await this.db.query(copySql(table, columns, "'/dev/blob'"), [], { blob: new Blob([toCsv(rows, columns)]) });
  }

  async transaction<T>(work: (tx: PostgresClient) => Promise<T>): Promise<T> {
    if (!('transaction' in this.db) || typeof (this.db as PGlite).transaction !== 'function') return work(this);
    return (this.db as PGlite).transaction((tx) => work(new PgliteClient(tx)));
  }

  async close(): Promise<void> {
    await this.queue;
    if ('close' in this.db) await (this.db as PGlite).close();
  }
}
