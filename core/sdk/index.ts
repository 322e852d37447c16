// The plugin SDK, `@platform/sdk`: `import { pluginModule, TOKENS, type Sink, ... } from '@platform/sdk'` (inside this
// repository: core/sdk/index.ts). It imports nothing of the repository outside core/sdk; its test kit is
// `@platform/sdk/testing`.
import 'reflect-metadata';
import { ContainerModule } from 'inversify';
import { TOKENS } from './tokens.ts';
import type { ConnectionType, PluginDefinition, PluginKind, PluginLoader, PluginSpec, Row, Rows } from './types.ts';

export * from './types.ts';
export { TOKENS } from './tokens.ts';
export { SnapshotBuffer, asWholeResult } from './snapshot.ts';
export { BATCH_LEDGER_KEEP, BATCH_LEDGER_TABLE, batchLedgerSql, batchUuid, claimParams } from './batches.ts';
export {
  DataError,
  classifyError,
  duckDbErrorClass,
  isDataError,
  refusesWholeBatch,
  type ErrorClass,
} from './errors.ts';
export { isCrossSite } from './http.ts';
export { isDuration, parseDuration } from './duration.ts';
export { createAjv, describeAjvError, isTimeZone, type ConfigError } from './config.ts';
export { configSchema, duration, timeZone, type ConfigOf, type ConfigSchema, type DeclaredOf } from './schema.ts';
export { systemClock } from './clock.ts';
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

/**
 * A plugin contributed by kind and name only: its module (`pluginModule(spec, Class)` as its default export) is
 * imported when a manifest uses it, so what it imports (a client library, the pages' renderer) is loaded only then.
 * `load` is a dynamic import: `lazyPluginModule('sink', 'kafka', () => import('./sinks/kafka/index.ts'))`.
 */
export function lazyPluginModule(kind: PluginKind, name: string, load: PluginLoader['load']): ContainerModule {
  const loader: PluginLoader = { kind, name, load };
  return new ContainerModule(({ bind }) => {
    bind<PluginLoader>(TOKENS.PluginLoader).toConstantValue(loader);
  });
}

export function connectionModule(type: ConnectionType): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<ConnectionType>(TOKENS.ConnectionType).toConstantValue(type);
  });
}

/**
 * A record's own field: undefined when the record does not have it, even when the name is one every JS object
 * inherits (`toString`, `constructor`, `__proto__`…). Records are plain data; a field one record has and another
 * lacks must never read as a function of the other.
 */
export function fieldOf(record: Row, name: string): unknown {
  const value = record[name];
  if (value === undefined || (typeof value !== 'function' && value !== Object.prototype)) return value;
  return Object.hasOwn(record, name) ? value : undefined;
}

/**
 * For a connection type's `embedded(config)`: a setting naming the server (`url`, `brokers`, …) that is absent, empty
 * or "embedded" asks for the embedded store.
 */
export function isEmbeddedTarget(value: unknown): boolean {
  return value === undefined || value === '' || value === 'embedded';
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
