// Results of a view's read queries, kept until the data behind the view changes: repeated dashboard requests are
// answered without the database, and identical concurrent requests share one query.
import type { PipelineEvents, Row, SqlClient } from '../../../core/sdk/index.ts';

export interface QueryCacheOptions {
  /** Longest time an answer is kept, for writes the pipeline does not announce (another program's). */
  maxAgeMs: number;
  /** Distinct queries kept; the least recently used goes first. */
  maxEntries?: number;
}

interface Entry {
  rows: Promise<Row[]>;
  startedAt: number;
}

/**
 * Read-query results by (SQL text, bound parameters). An entry is the query's promise, stored when the query
 * starts: requests arriving meanwhile wait for the same answer. `invalidate()` (a commit upstream) forgets every
 * entry, in flight or not, so a request made after a commit always reads the committed data. Failed queries are
 * not kept. The rows are shared between requests: callers must not change them.
 */
export class QueryCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: QueryCacheOptions) {}

  invalidate(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  query(client: SqlClient, sql: string, params: unknown[] = []): Promise<Row[]> {
    const key = cacheKey(sql, params);
    const now = performance.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.startedAt < this.options.maxAgeMs) {
      // Most recently used last, so eviction takes the oldest first.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.rows;
    }
    const entry: Entry = { rows: client.query(sql, params), startedAt: now };
    this.entries.set(key, entry);
    entry.rows.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    // Least recently used first: drop those over the limit, and expired ones (answers no request can use).
    const max = this.options.maxEntries ?? 200;
    for (const [oldest, { startedAt }] of this.entries) {
      if (this.entries.size <= max && now - startedAt < this.options.maxAgeMs) break;
      this.entries.delete(oldest);
    }
    return entry.rows;
  }

  /** `client` with its `query` answered through this cache (for read-only queries; exec and transactions pass). */
  wrap(client: SqlClient): SqlClient {
    return {
      dialect: client.dialect,
      query: <R extends Row = Row>(sql: string, params?: unknown[]) => this.query(client, sql, params) as Promise<R[]>,
      exec: (sql) => client.exec(sql),
      transaction: (work) => client.transaction(work),
    };
  }

  /** Invalidates on every commit of a step `watched` says is behind the view; returns the unsubscribe. */
  invalidateOnCommit(events: PipelineEvents, watched: (step: string) => boolean): () => void {
    return events.on((event) => {
      if (event.type === 'commit' && watched(event.step)) this.invalidate();
    });
  }
}

/** The parameters' JS types are part of the key: a Date and its ISO text bind differently. */
function cacheKey(sql: string, params: unknown[]): string {
  return JSON.stringify([sql, params.map(tagged)]);
}

function tagged(value: unknown): unknown {
  if (value instanceof Date) return { date: value.getTime() };
  if (typeof value === 'bigint') return { bigint: value.toString() };
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object')
    return { json: JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) };
  return value;
}
