// Public plugin SDK: `import { definePlugin, TOKENS, ... } from '<platform>/core/sdk/index.ts'`.
import 'reflect-metadata';
import { ContainerModule } from 'inversify';
import { TOKENS } from './tokens.ts';
import type { ConnectionType, PluginDefinition, PluginSpec, Row, Rows } from './types.ts';

export * from './types.ts';
export { TOKENS } from './tokens.ts';
export { SnapshotBuffer, asWholeResult } from './snapshot.ts';
export { BATCH_LEDGER_KEEP, BATCH_LEDGER_TABLE, batchLedgerSql, batchUuid, claimParams } from './batches.ts';
export { inject, injectable, optional } from 'inversify';
export { ContainerModule } from 'inversify';

/**
 * One plugin = one ContainerModule contributing a PluginDefinition (Theia-style contribution point).
 * The runtime collects them with multi-injection and constructs `implementation` per step in a child container.
 */
export function pluginModule(spec: PluginSpec, implementation: PluginDefinition['implementation']): ContainerModule {
  const definition: PluginDefinition = { spec, implementation };
  return new ContainerModule(({ bind }) => {
    bind<PluginDefinition>(TOKENS.Plugin).toConstantValue(definition);
  });
}

export function connectionModule(type: ConnectionType): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<ConnectionType>(TOKENS.ConnectionType).toConstantValue(type);
  });
}

/** Turns a thrown value into a one-line message. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** How many rows a batch holds, whether records or a DuckDB table. */
export function rowCount(rows: Rows): number {
  return Array.isArray(rows) ? rows.length : rows.count;
}

/** A batch's rows as JS records (a DuckDB table is read once). */
export async function recordsOf(rows: Rows): Promise<Row[]> {
  return Array.isArray(rows) ? rows : rows.toRecords();
}

/** The core's sign-in page; a page refused for want of a token sends the browser there, to come back to `next`. */
export function signInPath(next?: string): string {
  return next ? `/sign-in?next=${encodeURIComponent(next)}` : '/sign-in';
}

/** `next` when it is a path of this server (never another site: `//host`, `/\host`, `scheme:`), else `/`. */
export function localPath(next: string | null | undefined): string {
  return next && /^\/(?![/\\])/.test(next) && !/[\r\n]/.test(next) ? next : '/';
}

/**
 * Whether a request comes from a page of another site: such a request carrying this site's cookie must not act
 * (uploads, sign-in). A bearer token is never sent by a browser on its own, so it passes.
 */
export function isCrossSite(request: Request): boolean {
  const headers = request.headers;
  if (headers.get('authorization')) return false;
  const site = headers.get('sec-fetch-site');
  if (site) return site !== 'same-origin' && site !== 'none';
  const origin = headers.get('origin');
  if (!origin) return false;
  try {
    return new URL(origin).host !== (headers.get('x-forwarded-host') ?? headers.get('host') ?? new URL(request.url).host);
  } catch {
    return true;
  }
}
