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
export const PARSERS: Record<number, (text: string) => unknown> = {
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

export function copySql(table: string, columns: string[], source: string): string {
  return `COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) FROM ${source} WITH (FORMAT csv)`;
}

export function toParam(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value))
    return JSON.stringify(value);
  return value;
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
