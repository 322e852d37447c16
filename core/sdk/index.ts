// Public plugin SDK: `import { definePlugin, TOKENS, ... } from '<platform>/core/sdk/index.ts'`.
import 'reflect-metadata';
import { ContainerModule } from 'inversify';
import { TOKENS } from './tokens.ts';
import type { ConnectionType, PluginDefinition, PluginSpec, Row, Rows } from './types.ts';

export * from './types.ts';
export { TOKENS } from './tokens.ts';
export { SnapshotBuffer, asWholeResult } from './snapshot.ts';
export { DataError, classifyError, isDataError, type ErrorClass } from './errors.ts';
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
