// Test kit for plugin authors: build one step of a plugin with real core services, without a manifest.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerModule } from 'inversify';
import { PluginCatalog, createRuntimeContainer, instantiateStep, type CoreServices } from './container.ts';
import { ConnectionRegistry, type ConnectionDeclaration } from './connections.ts';
import { DeadLetterStore } from '../runtime/deadletter.ts';
import { EventHub } from './events.ts';
import { MemoryLogger } from './logger.ts';
import { PromMetrics } from '../runtime/metrics.ts';
import { StateStore } from '../runtime/state.ts';
import { systemClock } from './clock.ts';
import { validateConfig } from './config.ts';
import { builtinConnectionModules } from '../../connections/index.ts';
import type { Batch, PluginKind, Reject, Row, Sink, StepInfo, Transform, TransformContext } from './types.ts';
import { classifyError, isDataError, recordsOf, type ErrorClass } from './index.ts';
import { allRejected, refusedRecords } from './isolate.ts';

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

/**
 * Writes records into a sink as the runtime does, without its retries: a data error makes it find the records the
 * sink refuses (bisecting the batch); an infrastructure error is thrown. Returns every reject (ctx.reject and refused).
 */
export async function writeLikeRuntime(sink: Sink, records: Row[]): Promise<Reject[]> {
  const attempt = async (part: Row[]) => {
    const rejects: Reject[] = [];
    await sink.write(part, { reject: (record, reasons, origin) => void rejects.push({ record, reasons: ([] as string[]).concat(reasons), ...(origin ? { origin } : {}) }) });
    return rejects;
  };
  try {
    return await attempt(records);
  } catch (error) {
    if (!isDataError(error)) throw error;
    return refusedRecords(records, error, attempt, { splittable: true, deadlineMs: Date.now() + 30_000 });
  }
}

/** Runs records through a transform as the runtime does: a data error sends the batch's records to dead-letter. */
export async function processLikeRuntime(transform: Transform, records: Row[]): Promise<{ output: Row[]; rejects: Reject[] }> {
  const rejects: Reject[] = [];
  try {
    const output = await transform.process(records, { input: 'test', reject: (record, reasons, origin) => void rejects.push({ record, reasons: ([] as string[]).concat(reasons), ...(origin ? { origin } : {}) }) });
    return { output, rejects };
  } catch (error) {
    if (!isDataError(error)) throw error;
    return { output: [], rejects: allRejected(records, error) };
  }
}

/** Awaits a failure and checks how the runtime classifies it; returns the error. */
export async function expectErrorClass(work: Promise<unknown> | (() => Promise<unknown>), expected: ErrorClass): Promise<Error> {
  let failure: unknown;
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    failure = error;
  }
  if (failure === undefined) throw new Error(`expected a failure classified as ${expected}, but it succeeded`);
  const got = classifyError(failure);
  if (got !== expected) throw new Error(`expected ${expected}, got ${got}: ${(failure as Error).message}`);
  return failure as Error;
}

/** A local TCP port nothing listens on now: for a server to start on, or one that is down. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
