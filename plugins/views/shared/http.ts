// HTTP plumbing shared by the views: role checks, result envelopes in JSON/CSV/Parquet.
import { createHash, randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, MiddlewareHandler } from 'hono';
import { signInPath, type Access, type Row, type SqlClient } from '../../../core/sdk/index.ts';
import { sqlString } from '../../../connections/duckdb/index.ts';
import { ParamError, type ParamSpec } from './params.ts';
import { normalizeRows, columnsOf, toCsv } from './serialize.ts';
import { paginate, stripSemicolon, type BoundQuery } from './sql.ts';

export type OutputFormat = 'json' | 'csv' | 'parquet';

/** Pages and APIs need `role` unless the view is public; JSON explains a refusal, a page sends the browser to sign in. */
export function requireRole(access: Access, viewId: string, role: string, answer: 'json' | 'html'): MiddlewareHandler {
  return async (c, next) => {
    if (access.isPublic(viewId)) return next();
    const denied = access.check(c.req.raw, role);
    if (!denied) return next();
    if (answer === 'json') return c.json({ error: denied.message }, denied.status);
    const url = new URL(c.req.url);
    return c.redirect(signInPath(url.pathname + url.search), 302);
  };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The parameters every data endpoint takes besides its own. */
export const PAGING_PARAMS: Record<string, ParamSpec> = {
  format: {
    type: 'string',
    enum: ['json', 'csv', 'parquet'],
    default: 'json',
    description: 'Response format; parquet needs a DuckDB connection.',
  },
  limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 1000, description: 'Rows to return.' },
  offset: { type: 'integer', minimum: 0, default: 0, description: 'Rows to skip.' },
};

/** The paging parameters of one view: no parquet where the connection is not DuckDB (it would answer 400). */
export function pagingParams(dialect: string | undefined, limit = 1000): Record<string, ParamSpec> {
  const formats = dialect === 'duckdb' ? ['json', 'csv', 'parquet'] : ['json', 'csv'];
  return {
    format: {
      ...PAGING_PARAMS.format,
      enum: formats,
      description: dialect === 'duckdb' ? 'Response format.' : 'Response format (parquet needs a DuckDB connection).',
    },
    limit: { ...PAGING_PARAMS.limit, default: limit },
    offset: PAGING_PARAMS.offset,
  };
}

/** A table widget's further parameters: sorted and searched in the database. */
export const TABLE_PARAMS: Record<string, ParamSpec> = {
  sort: { type: 'string', description: "Column to sort by (one of the table's columns)." },
  order: { type: 'string', enum: ['asc', 'desc'], default: 'asc', description: 'Sort direction.' },
  q: { type: 'string', description: 'Only rows with this text in any column (case-insensitive).' },
};

/**
 * JSON with an ETag: a client asking again with If-None-Match gets 304 and no body while the answer is the same
 * (live pages refetch after commits that may not change this widget). Compression is the server's (core/server).
 */
export function cachedJson(c: Context, body: unknown, status: 200 | 500 = 200) {
  const text = JSON.stringify(body);
  const etag = `"${createHash('sha1').update(text).digest('base64url')}"`;
  const headers = { 'content-type': 'application/json; charset=UTF-8', etag, 'cache-control': 'no-cache' };
  // A compressed answer's ETag is weak (W/"…"): the same body either way.
  if (
    status === 200 &&
    c.req
      .header('if-none-match')
      ?.split(',')
      .some((tag) => tag.trim().replace(/^W\//, '') === etag)
  )
    return c.body(null, 304, headers);
  return c.body(text, status, headers);
}

export function badRequest(c: Context, error: unknown) {
  if (error instanceof ParamError) return c.json({ error: error.message, parameter: error.param }, 400);
  throw error;
}

export interface Timed {
  rows: Row[];
  elapsedMs: number;
}

export async function timedQuery(client: SqlClient, query: BoundQuery): Promise<Timed> {
  const started = performance.now();
  const rows = await client.query(stripSemicolon(query.text), query.params);
  return { rows, elapsedMs: Math.round((performance.now() - started) * 10) / 10 };
}

/** Runs a page of the query, fetching one row more to tell whether there are further rows. */
export async function pagedQuery(
  client: SqlClient,
  query: BoundQuery,
  limit: number,
  offset: number,
): Promise<Timed & { truncated: boolean }> {
  const result = await timedQuery(client, paginate(query, limit + 1, offset));
  const truncated = result.rows.length > limit;
  return { ...result, rows: truncated ? result.rows.slice(0, limit) : result.rows, truncated };
}

/** The JSON envelope: `{ data, statistics, meta, ...extra }`. */
export function envelope(result: Timed, meta: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    data: normalizeRows(result.rows),
    statistics: { rows: result.rows.length, elapsedMs: result.elapsedMs },
    meta: { columns: columnsOf(result.rows), ...meta },
    ...extra,
  };
}

export function csvResponse(c: Context, rows: Row[], name: string) {
  return c.body(toCsv(rows), 200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="${safeFileName(name)}.csv"`,
  });
}

/** Parquet through DuckDB's COPY into a temporary file; other dialects answer 400. */
export async function parquetResponse(c: Context, client: SqlClient, query: BoundQuery, name: string) {
  if (client.dialect !== 'duckdb')
    return c.json({ error: 'format=parquet needs a duckdb connection', parameter: 'format' }, 400);
  const file = join(tmpdir(), `platform-view-${randomUUID()}.parquet`);
  try {
    await client.query(`COPY (${stripSemicolon(query.text)}) TO ${sqlString(file)} (FORMAT parquet)`, query.params);
    const bytes = await readFile(file);
    return c.body(new Uint8Array(bytes), 200, {
      'content-type': 'application/vnd.apache.parquet',
      'content-disposition': `attachment; filename="${safeFileName(name)}.parquet"`,
    });
  } catch (error) {
    return c.json({ error: error instanceof Error ? error.message : String(error) }, 500);
  } finally {
    await rm(file, { force: true });
  }
}

export function safeFileName(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^[._]+/, '')
      .slice(0, 120) || 'file'
  );
}
