// `@platform/sdk/testing`: builds one step of a plugin with the runtime's own construction (config validated with
// defaults, services injected through the container), without a manifest and without the rest of the platform.
// Connections are real: pass the modules of the connection types the step uses (`connectionTypes`).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerModule } from 'inversify';
import {
  PluginCatalog,
  createRuntimeContainer,
  instantiateStep,
  type CoreServices,
  type StepStates,
} from './container.ts';
import { ConnectionRegistry, type ConnectionDeclaration } from './connections.ts';
import { EventHub } from './events.ts';
import { MemoryLogger } from './logger.ts';
import { systemClock } from './clock.ts';
import { validateConfig } from './config.ts';
import type {
  Batch,
  DeadLetterEntry,
  DeadLetterQuery,
  DeadLetters,
  Metrics,
  PluginKind,
  Reject,
  Row,
  Sink,
  StepInfo,
  StepState,
  Transform,
  TransformContext,
} from './types.ts';
import { classifyError, isDataError, recordsOf, type ErrorClass } from './index.ts';
import { allRejected, refusedRecords } from './isolate.ts';

export { EventHub } from './events.ts';
export { MemoryLogger } from './logger.ts';
export type { CoreServices } from './container.ts';

export interface TestStepOptions {
  /** Connections by name: `{ warehouse: { type: 'duckdb', path: ':memory:' } }`. */
  connections?: Record<string, Record<string, unknown> & { type: string }>;
  /** The modules of the connection types those connections are of, e.g. the duckdb connection's default export. */
  connectionTypes?: ContainerModule[];
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
export async function createTestStep<T>(
  module: ContainerModule,
  kind: PluginKind,
  config: Record<string, unknown>,
  options: TestStepOptions = {},
): Promise<TestStep<T>> {
  const catalog = new PluginCatalog([module, ...(options.connectionTypes ?? [])]);
  const definition = catalog.plugins().find((p) => p.spec.kind === kind);
  if (!definition) throw new Error(`the module contributes no ${kind} plugin`);
  const types = catalog.connectionTypes();
  const declarations: ConnectionDeclaration[] = Object.entries(options.connections ?? {}).map(
    ([name, { type, ...rest }]) => ({ name, type, config: rest }),
  );
  for (const { name, type } of declarations) {
    if (!types.has(type))
      throw new Error(
        `connection "${name}" is of type ${type}: pass its module in connectionTypes (given: ${[...types.keys()].join(', ') || 'none'})`,
      );
  }
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'platform-test-'));
  const logs: string[] = [];
  const logger = new MemoryLogger(logs);
  const connections = new ConnectionRegistry(declarations, types, stateDir, logger);
  const services: CoreServices = {
    logger,
    metrics: new MemoryMetrics(),
    clock: systemClock,
    connections,
    state: memoryStates(),
    events: new EventHub(),
    status: { name: 'test', steps: () => [], step: () => undefined, upstream: (id) => [id] },
    deadLetters: new MemoryDeadLetters(systemClock),
    triggers: { fire: async () => ({ records: 0, rejected: 0 }), targets: () => [] },
    access: { check: () => null, isPublic: () => true },
    stateDir,
    ...options.services,
  };
  const id = options.id ?? definition.spec.name;
  const step: StepInfo = {
    id,
    kind,
    use: definition.spec.name,
    from: options.from ?? [],
    connection: options.connection,
    location: { file: 'test.yaml', line: 1 },
    pipeline: 'test',
  };
  const validated = validateConfig(definition.spec, config, `${id}.with`);
  if (!validated.ok) throw new Error(validated.errors.join('\n'));
  const plugin = instantiateStep<T>(
    createRuntimeContainer(catalog, services),
    definition,
    step,
    validated.value,
    services,
  );
  const rejects: Reject[] = [];
  return {
    plugin,
    services,
    rejects,
    logs,
    context: (input = 'input') => ({
      input,
      reject: (record, reasons, origin) =>
        void rejects.push({
          record,
          reasons: ([] as string[]).concat(reasons),
          ...(origin !== undefined ? { origin } : {}),
        }),
    }),
    async close() {
      await (plugin as { close?: () => Promise<void> }).close?.();
      await connections.closeAll();
      await (services.deadLetters as { close?: () => Promise<void> }).close?.();
    },
  };
}

/** Drains a source run into one array of records (and rejects), for assertions. */
export async function readAll(
  source: { read(run: never): AsyncIterable<Batch> },
  run: Partial<{ once: boolean; date: string; checkpoint: unknown; signal: AbortSignal }> = {},
) {
  const records: Row[] = [];
  const rejects: Reject[] = [];
  let checkpoint: unknown;
  for await (const batch of source.read({
    once: true,
    signal: new AbortController().signal,
    checkpoint: undefined,
    ...run,
  } as never)) {
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
    await sink.write(part, {
      reject: (record, reasons, origin) =>
        void rejects.push({ record, reasons: ([] as string[]).concat(reasons), ...(origin ? { origin } : {}) }),
    });
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
export async function processLikeRuntime(
  transform: Transform,
  records: Row[],
): Promise<{ output: Row[]; rejects: Reject[] }> {
  const rejects: Reject[] = [];
  try {
    const output = await transform.process(records, {
      input: 'test',
      reject: (record, reasons, origin) =>
        void rejects.push({ record, reasons: ([] as string[]).concat(reasons), ...(origin ? { origin } : {}) }),
    });
    return { output, rejects };
  } catch (error) {
    if (!isDataError(error)) throw error;
    return { output: [], rejects: allRejected(records, error) };
  }
}

/** Awaits a failure and checks how the runtime classifies it; returns the error. */
export async function expectErrorClass(
  work: Promise<unknown> | (() => Promise<unknown>),
  expected: ErrorClass,
): Promise<Error> {
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

/** Metrics kept in memory: `values` by `name{label="value",…}`, for assertions. */
export class MemoryMetrics implements Metrics {
  readonly values = new Map<string, number>();

  counter(name: string, _help: string, labels: Record<string, string> = {}) {
    const key = metricKey(name, labels);
    return { inc: (by = 1) => void this.values.set(key, (this.values.get(key) ?? 0) + by) };
  }

  gauge(name: string, _help: string, labels: Record<string, string> = {}) {
    return { set: (value: number) => void this.values.set(metricKey(name, labels), value) };
  }

  histogram(name: string, _help: string, labels: Record<string, string> = {}) {
    return { observe: (value: number) => void this.values.set(metricKey(name, labels), value) };
  }
}

function metricKey(name: string, labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return pairs.length ? `${name}{${pairs.join(',')}}` : name;
}

/** Step state kept in memory for the test's life. */
function memoryStates(): StepStates {
  const steps = new Map<string, Map<string, unknown>>();
  return {
    forStep: (step): StepState => ({
      get: <T>(key: string) => steps.get(step)?.get(key) as T | undefined,
      set: async (key, value) => void (steps.get(step) ?? steps.set(step, new Map()).get(step)!).set(key, value),
    }),
  };
}

/**
 * Dead letters kept in memory: what views list and count. `add(step, rejects)` stores entries as the runtime does
 * when a step rejects records (a record rejected again by the same step for the same reasons is kept once).
 */
export class MemoryDeadLetters implements DeadLetters {
  private entries: DeadLetterEntry[] = [];
  private nextId = 1;

  constructor(private readonly clock: { now(): Date } = systemClock) {}

  async add(step: string, rejects: Reject[]): Promise<number> {
    let fresh = 0;
    for (const reject of rejects) {
      const same = (e: DeadLetterEntry) =>
        e.step === step &&
        JSON.stringify(e.record) === JSON.stringify(reject.record) &&
        JSON.stringify(e.reasons) === JSON.stringify(reject.reasons);
      if (this.entries.some(same)) continue;
      this.entries.push({
        id: this.nextId++,
        at: this.clock.now().toISOString(),
        step,
        reasons: reject.reasons,
        record: reject.record,
        ...(reject.origin !== undefined ? { origin: reject.origin } : {}),
      });
      fresh++;
    }
    return fresh;
  }

  async list(
    query: DeadLetterQuery & { limit?: number; offset?: number },
  ): Promise<{ total: number; entries: DeadLetterEntry[] }> {
    const reason = query.reason?.toLowerCase();
    const matching = this.entries
      .filter(
        (e) =>
          (!query.steps?.length || query.steps.includes(e.step)) &&
          (!reason || e.reasons.join('\n').toLowerCase().includes(reason)) &&
          (!query.since || e.at >= new Date(query.since).toISOString()) &&
          (!query.ids?.length || query.ids.includes(e.id)),
      )
      .reverse();
    const offset = query.offset ?? 0;
    return { total: matching.length, entries: matching.slice(offset, offset + (query.limit ?? 100)) };
  }

  count(steps?: string[]): number {
    return steps ? this.entries.filter((e) => steps.includes(e.step)).length : this.entries.length;
  }
}
