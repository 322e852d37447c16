// Test kit for plugin authors: build one step of a plugin with real core services, without a manifest.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerModule } from 'inversify';
import { PluginCatalog, createRuntimeContainer, instantiateStep, type CoreServices } from './runtime/container.ts';
import { ConnectionRegistry, type ConnectionDeclaration } from './runtime/connections.ts';
import { DeadLetterStore } from './runtime/deadletter.ts';
import { EventHub } from './runtime/events.ts';
import { MemoryLogger } from './runtime/logger.ts';
import { PromMetrics } from './runtime/metrics.ts';
import { StateStore } from './runtime/state.ts';
import { systemClock } from './runtime/clock.ts';
import { validateConfig } from './manifest/config.ts';
import { builtinConnectionModules } from './connections/index.ts';
import type { Batch, PluginKind, Reject, Row, StepInfo, TransformContext } from './sdk/types.ts';
import { recordsOf } from './sdk/index.ts';

export interface TestStepOptions {
  /** Connections by name: `{ warehouse: { type: 'duckdb', path: ':memory:' } }`. */
  connections?: Record<string, Record<string, unknown> & { type: string }>;
  connection?: string;
  stateDir?: string;
  id?: string;
  from?: string[];
  /** Replace core services, e.g. `{ triggers }` to see what a view fires. */
  services?: Partial<CoreServices>;
}

export interface TestStep<T> {
  plugin: T;
  services: CoreServices;
  /** Everything sent to dead-letter by `ctx.reject` through `context()`. */
  rejects: Reject[];
  logs: string[];
  context(input?: string): TransformContext;
  close(): Promise<void>;
}

/** Constructs the plugin contributed by `module` exactly as the runtime does (config validated, defaults applied). */
export async function createTestStep<T>(module: ContainerModule, kind: PluginKind, config: Record<string, unknown>, options: TestStepOptions = {}): Promise<TestStep<T>> {
  const catalog = new PluginCatalog([module, ...builtinConnectionModules]);
  const definition = catalog.plugins().find((p) => p.spec.kind === kind);
  if (!definition) throw new Error(`the module contributes no ${kind} plugin`);
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'platform-test-'));
  const logs: string[] = [];
  const logger = new MemoryLogger(logs);
  const declarations: ConnectionDeclaration[] = Object.entries(options.connections ?? {}).map(([name, { type, ...rest }]) => ({ name, type, config: rest }));
  const connections = new ConnectionRegistry(declarations, catalog.connectionTypes(), stateDir, logger);
  const deadLetters = new DeadLetterStore(stateDir);
  const services: CoreServices = {
    logger, metrics: new PromMetrics(), clock: systemClock, connections, state: new StateStore(stateDir), events: new EventHub(),
    status: { name: 'test', steps: () => [], step: () => undefined, upstream: (id) => [id] },
    deadLetters,
    triggers: { fire: async () => ({ records: 0, rejected: 0 }), targets: () => [] },
    access: { check: () => null, isPublic: () => true },
    stateDir,
    ...options.services,
  };
  const id = options.id ?? definition.spec.name;
  const step: StepInfo = { id, kind, use: definition.spec.name, from: options.from ?? [], connection: options.connection, location: { file: 'test.yaml', line: 1 }, pipeline: 'test' };
  const validated = validateConfig(definition.spec, config, `${id}.with`);
  if (!validated.ok) throw new Error(validated.errors.join('\n'));
  const plugin = instantiateStep<T>(createRuntimeContainer(catalog, services), definition, step, validated.value, services);
  const rejects: Reject[] = [];
  return {
    plugin, services, rejects, logs,
    context: (input = 'input') => ({ input, reject: (record, reasons, origin) => void rejects.push({ record, reasons: ([] as string[]).concat(reasons), ...(origin !== undefined ? { origin } : {}) }) }),
    async close() {
      await (plugin as { close?: () => Promise<void> }).close?.();
      await connections.closeAll();
      await deadLetters.close();
    },
  };
}

/** Drains a source run into one array of records (and rejects), for assertions. */
export async function readAll(source: { read(run: never): AsyncIterable<Batch> }, run: Partial<{ once: boolean; date: string; checkpoint: unknown; signal: AbortSignal }> = {}) {
  const records: Row[] = [];
  const rejects: Reject[] = [];
  let checkpoint: unknown;
  for await (const batch of source.read({ once: true, signal: new AbortController().signal, checkpoint: undefined, ...run } as never)) {
    records.push(...(await recordsOf(batch.records)));
    rejects.push(...(batch.rejects ?? []));
    if (batch.checkpoint !== undefined) checkpoint = batch.checkpoint;
  }
  return { records, rejects, checkpoint };
}
