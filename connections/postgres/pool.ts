// A real PostgreSQL server through node-pg. Its own module: the connection type imports it (and pg) only when a
// connection names a server, so a start that uses no PostgreSQL, or the embedded one, never loads pg.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Row } from '../../core/sdk/types.ts';
import { copySql, PARSERS, toCsv, toParam, type PostgresClient } from './client.ts';

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
