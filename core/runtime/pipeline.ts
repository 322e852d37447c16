import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Cron } from 'croner';
import type { Container } from 'inversify';
import type { Manifest, StepDeclaration } from '../manifest/index.ts';
import type {
  Batch, BatchIdentity, Clock, DeadLetterEntry, DeadLetterQuery, Logger, PluginDefinition, Reject, ReplayResult, Row, Rows, Sink, SinkContext, SnapshotPart, Source,
  StepDetails, StepInfo, StepStats, Transform, TransformContext, TriggerEvent, View,
} from '../sdk/types.ts';
import { errorMessage, isDataError, recordsOf, rowCount } from '../sdk/index.ts';
import { createAjv } from '../manifest/config.ts';
import { STATE_DIR_VARIABLE } from '../manifest/load.ts';
import { AccessControl } from './access.ts';
import { systemClock } from './clock.ts';
import { ConnectionRegistry } from './connections.ts';
import { PluginCatalog, createRuntimeContainer, instantiateStep, type CoreServices } from './container.ts';
import { DeadLetterStore } from './deadletter.ts';
import { EventHub } from './events.ts';
import { FolderLock } from './lock.ts';
import { allRejected, refusedRecords } from './isolate.ts';
import { dataInputs, producersOf, resourceLabel, resourcesOf, sqlViews, type SqlViews } from './lineage.ts';
import { BatchOrigins } from './origins.ts';
import { PromMetrics } from './metrics.ts';
import { BoundedQueue, Mutex } from './queue.ts';
import { rebatch } from './rebatch.ts';
import { withRetry } from './retry.ts';
import { StateStore, type StateChange } from './state.ts';

/** How long each phase of stop() may take before the process stops waiting for it. */
const STOP_TIMEOUT_MS = 10_000;

/** Checkpoints are checked as stored: nothing coerced ("5" is not 5), no defaults filled in. */
const checkpointAjv = createAjv({ coerce: false, defaults: false });

/** The per-step counters on /metrics: name and help. */
const COUNTERS = {
  in: ['platform_records_in_total', 'Records a step received'],
  out: ['platform_records_out_total', 'Records a step emitted'],
  rejected: ['platform_records_rejected_total', 'Records sent to dead-letter'],
  errors: ['platform_errors_total', 'Failed attempts of a step (retried or not)'],
} as const;
type Counter = keyof typeof COUNTERS;

/** The state key (never a step id: those start with a letter) of the state folder's own facts, e.g. its epoch. */
const STATE_META = '_platform';

/** The step (and manifest line) whose retries ran out, for the run's error line. */
const FAILED_AT = new WeakMap<Error, string>();

/** How long a sink's refused batch may be bisected before the parts still failing are rejected whole. */
const ISOLATE_BUDGET_MS = 30_000;

export interface PipelineOptions {
  once?: boolean;
  date?: string;
  /** Default: `.platform/<pipeline name>` in the working directory (or PLATFORM_STATE_DIR). */
  stateDir?: string;
  logger: Logger;
  clock?: Clock;
}

interface StepRuntime {
  declaration: StepDeclaration;
  /** `with:` with `${STATE_DIR}` filled in. */
  config: Record<string, unknown>;
  info: StepInfo;
  definition: PluginDefinition;
  stats: StepStats;
  mutex: Mutex;
  /** Downstream transform and sink step ids. */
  outputs: string[];
  startedAt?: number;
  busyMs: number;
  /** For the step's page: its last errors and a few records of its last batch. */
  errors: { at: string; message: string }[];
  sample: { rows: Rows; at: string } | null;
}

/** Errors kept per step for its page. */
const RECENT_ERRORS = 10;
/** Records kept from a step's last batch for its page. */
const SAMPLE_SIZE = 5;

interface SourceRuntime extends StepRuntime {
  plugin: Source;
  /** Serialises runs of one source (a schedule tick and a trigger never overlap). */
  runs: Mutex;
}

/**
 * Counts of one source run, for upload responses: the records the source read, and the records this run sent to
 * dead-letter (from the source and every step after it; the steps' `run.rejected` count the same records).
 */
export interface RunResult {
  records: number;
  rejected: number;
}

/**
 * A running pipeline: builds every step through the container, drives the sources by their schedule,
 * pushes each batch through transforms and sinks, and commits the source checkpoint only after every
 * downstream sink has written the batch (at-least-once; effectively once with idempotent sinks).
 */
export class Pipeline {
  readonly services: CoreServices;
  readonly stateDir: string;
  private readonly state: StateStore;
  readonly metrics = new PromMetrics();
  readonly events = new EventHub();
  readonly connections: ConnectionRegistry;
  readonly deadLetters: DeadLetterStore;
  readonly views = new Map<string, View>();
  readonly access: AccessControl;
  private readonly steps = new Map<string, StepRuntime>();
  private readonly sources = new Map<string, SourceRuntime>();
  private readonly transforms = new Map<string, Transform>();
  private readonly sinks = new Map<string, Sink>();
  private readonly runtime: Container;
  private readonly abort = new AbortController();
  private readonly tasks: Promise<unknown>[] = [];
  private readonly timers: { stop(): void }[] = [];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private failures = 0;
  /** The state folder's lock and those of embedded stores kept outside it, held from start() to stop(). */
  private locks: FolderLock[] = [];
  /** Made once with the state folder; batch ids derive from it (see `batchIdentity`). */
  private epoch = '';
  /** Steps whose `totals` changed since they were last saved (saved with the next commit). */
  private readonly unsavedTotals = new Set<string>();
  /** Inputs other than `from:` (tables, topics, files written by a sink and read by a source; `after:` triggers). */
  private readonly dataFrom: Map<string, string[]>;
  private readonly sqlViews: SqlViews;

  constructor(readonly manifest: Manifest, readonly catalog: PluginCatalog, readonly options: PipelineOptions) {
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.stateDir = stateDirOf(manifest.name, options.stateDir);
    this.deadLetters = new DeadLetterStore(this.stateDir, { retention: manifest.deadLetter?.retention, logger: this.logger });
    const connections = manifest.connections.map((c) => ({ ...c, config: withStateDir(c.config, this.stateDir) }));
    this.connections = new ConnectionRegistry(connections, catalog.connectionTypes(), this.stateDir, this.logger, manifest.file);
    const state = (this.state = new StateStore(this.stateDir));
    this.access = new AccessControl(manifest.access);
    this.services = {
      logger: this.logger,
      metrics: this.metrics,
      clock: this.clock,
      connections: this.connections,
      state,
      events: this.events,
      status: {
        name: manifest.name,
        steps: () => [...this.steps.values()].map((s) => ({ ...s.stats })),
        step: (id) => (this.steps.get(id) ? { ...this.steps.get(id)!.stats } : undefined),
        upstream: (id) => this.upstream(id),
        details: (id) => this.details(id),
        producers: (connection, sql) => producersOf(manifest.steps, connection, sql, this.sqlViews),
      },
      deadLetters: this.deadLetters,
      triggers: {
        fire: (step, event) => this.fire(step, event),
        targets: (type) => manifest.steps.filter((s) => (type === 'upload' ? s.trigger?.upload : type === 'step' ? s.trigger?.after.length : false)).map((s) => s.id),
      },
      access: this.access,
      stateDir: this.stateDir,
    };
    this.runtime = createRuntimeContainer(catalog, this.services);
    this.sqlViews = sqlViews(manifest.connections);
    this.dataFrom = dataInputs(manifest.steps, this.sqlViews);
    const startedAt = this.clock.now().toISOString();

    for (const declaration of manifest.steps) {
      const definition = catalog.find(declaration.kind, declaration.use)!;
      const info: StepInfo = {
        id: declaration.id, kind: declaration.kind, use: declaration.use, from: declaration.from, connection: declaration.connection,
        location: { file: manifest.file, line: declaration.line }, pipeline: manifest.name,
      };
      const stats: StepStats = {
        id: declaration.id, kind: declaration.kind, use: declaration.use, from: declaration.from,
        recordsIn: 0, recordsOut: 0, rejected: 0, errors: 0, batches: 0, batchesInDuckDb: 0,
        lastCommitAt: state.forStep(declaration.id).get<string>('lastCommitAt') ?? null, watermark: null, lastError: null, location: info.location,
        totals: { recordsIn: 0, recordsOut: 0, batches: 0, since: startedAt, ...state.forStep(declaration.id).get<object>('totals') },
        run: { startedAt, rejected: 0 },
        lag: null,
        reads: resourcesOf(declaration, this.sqlViews).reads.map(resourceLabel),
        writes: resourcesOf(declaration, this.sqlViews).writes.map(resourceLabel),
        dataFrom: this.dataFrom.get(declaration.id) ?? [],
      };
      const config = withStateDir(declaration.config, this.stateDir);
      this.steps.set(declaration.id, { declaration, config, info, definition, stats, mutex: new Mutex(), outputs: [], busyMs: 0, errors: [], sample: null });
    }
    for (const step of this.steps.values()) {
      if (step.declaration.kind === 'view') continue;
      for (const input of step.declaration.from) this.steps.get(input)?.outputs.push(step.declaration.id);
    }
    for (const step of this.steps.values()) if (step.declaration.kind === 'source' && !step.info.connection) step.info.batchConnection = this.downstreamDuckDb(step);
    this.zeroCounters();
  }

  /**
   * Every counter of every step exists from the start at 0: Prometheus' increase()/rate() see the first reject or
   * error as a change only when the series existed before it.
   */
  private zeroCounters(): void {
    for (const { declaration: { id, kind } } of this.steps.values()) {
      if (kind === 'view') continue;
      for (const counter of Object.keys(COUNTERS) as Counter[]) if (counter !== 'in' || kind !== 'source') this.count(counter, id, 0);
    }
  }

  /**
   * Constructs every step's plugin without opening connections or running anything, so configuration errors
   * a plugin finds in its constructor (e.g. a dashboard's widget layout) surface in `platform validate`.
   */
  check(): string[] {
    const problems: string[] = [];
    for (const step of this.steps.values()) {
      try {
        this.build(step);
      } catch (error) {
        const message = errorMessage(error);
        problems.push(message.includes(this.manifest.file) ? message : `${this.manifest.file}:${step.declaration.line} ${step.declaration.id}: ${message}`);
      }
    }
    return problems;
  }

  /**
   * Takes the state folder (a second process on it fails here, naming the holder), opens every connection (saying
   * which are embedded, where each embedded store lives and whether it holds data from an earlier run or mode),
   * checks the stored checkpoints and builds every plugin. On failure everything opened is closed again.
   */
  async start(): Promise<void> {
    try {
      this.locks.push(FolderLock.acquire(join(this.stateDir, 'platform.lock'), `the state folder ${this.stateDir}`, 'give this one another --state-dir'));
      await this.ensureEpoch();
      // The dead-letter index opens while the connections do.
      const deadLetters = this.deadLetters.ready.then(() => {
        for (const step of this.steps.values()) step.stats.rejected = this.deadLetters.count([step.declaration.id]);
      });
      deadLetters.catch(() => undefined); // awaited below
      await this.openConnections();
      await deadLetters;
      this.checkCheckpoints();
      this.buildSteps();
    } catch (error) {
      await this.connections.closeAll();
      this.releaseLocks();
      throw error;
    }
  }

  private async openConnections(): Promise<void> {
    const stores = this.connections.stores();
    for (const store of stores) {
      // The state folder's lock covers what is inside it; a store kept elsewhere is locked by itself.
      if (store.embedded && store.path && !isInside(store.path, this.stateDir)) this.locks.push(FolderLock.acquire(`${store.path}.lock`, `the embedded store ${store.path} (connection ${store.name})`, 'give this connection another path'));
    }
    const earlier = new Set(stores.filter((s) => s.path && existsSync(s.path)).map((s) => s.name));
    const { lines, errors, opened } = await this.connections.describeAll();
    for (const { name, line } of lines) this.logger.info(`connection ${line}${earlier.has(name) ? ' (holds data from earlier runs)' : stores.find((s) => s.name === name)?.path ? ' (new)' : ''}`);
    // An embedded store that cannot open (locked by another process, corrupt) does not come back by waiting.
    const fatal = errors.filter((e) => e.embedded || this.options.once);
    if (fatal.length) throw fatal[0].error;
    for (const { error } of errors) this.logger.error(`${error.message} — steps using it will retry until it answers`);
    this.compareModes(opened.map((c) => ({ ...c, store: stores.find((s) => s.name === c.name)?.path })), stores.filter((s) => earlier.has(s.name)));
  }

  /**
   * Remembers each connection's mode (embedded or which server) in `connections.json`, and warns when it changed
   * since the last run while embedded stores kept data from then: those rows now sit next to the new mode's.
   */
  private compareModes(opened: { name: string; type: string; embedded: boolean; description: string; store?: string }[], keptStores: { name: string; type: string; path?: string }[]): void {
    const file = join(this.stateDir, 'connections.json');
    const now = Object.fromEntries(opened.map((c) => [c.name, { type: c.type, embedded: c.embedded, target: c.embedded ? 'embedded' : c.description, store: c.store }]));
    let before: Record<string, { embedded?: unknown; target?: unknown; store?: unknown }> = {};
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) before = parsed as typeof before;
      else this.logger.warn(`${file}: not an object of connections; ignored (rewritten now)`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.warn(`${file}: unreadable (${(error as Error).message}); ignored (rewritten now)`);
    }
    const changes = opened.filter((c) => before[c.name] && before[c.name].target !== now[c.name].target)
      .map((c) => `${c.name} went from ${String(before[c.name].target)} to ${now[c.name].target}`);
    if (changes.length) {
      for (const store of keptStores) {
        this.logger.warn(`${store.name} (${store.type}) in ${store.path} holds data of earlier runs, and since the last run ${changes.join('; ')}: that data is used as it is — move it away, or give another --state-dir, to start clean`);
      }
      for (const c of opened) {
        const left = before[c.name]?.store;
        if (!c.embedded && typeof left === 'string' && existsSync(left)) this.logger.info(`${c.name}: the embedded data of earlier runs stays in ${left}, unused while it is real`);
      }
    }
    const temporary = `${file}.tmp`;
    writeFileSync(temporary, JSON.stringify(now, null, 2) + '\n');
    renameSync(temporary, file);
  }

  /** A stored checkpoint a source cannot read (a state file edited, or from another plugin) is an error, not a re-read. */
  private checkCheckpoints(): void {
    for (const step of this.steps.values()) {
      const schema = step.declaration.kind === 'source' ? step.definition.spec.checkpoint : undefined;
      const saved = this.state.forStep(step.declaration.id).get('checkpoint');
      if (!schema || saved === undefined) continue;
      const validate = checkpointAjv.compile(schema);
      if (validate(saved)) continue;
      const why = (validate.errors ?? []).map((e) => `${e.instancePath || 'checkpoint'} ${e.message}`).join('; ');
      throw new Error(`${this.state.path}: the checkpoint of step "${step.declaration.id}" is not a ${step.declaration.use} source's (${why}): restore the file, or delete the step's entry to read its source again from the start`);
    }
  }

  private buildSteps(): void {
    for (const step of this.steps.values()) {
      const plugin = this.build(step);
      switch (step.declaration.kind) {
        case 'source':
          this.sources.set(step.declaration.id, Object.assign(step, { plugin: plugin as Source, runs: new Mutex() }));
          break;
        case 'transform': {
          const transform = plugin as Transform;
          const saved = this.services.state.forStep(step.declaration.id).get('snapshot');
          if (saved !== undefined) transform.restore?.(saved);
          this.transforms.set(step.declaration.id, transform);
          break;
        }
        case 'sink':
          this.sinks.set(step.declaration.id, plugin as Sink);
          break;
        case 'view':
          this.views.set(step.declaration.id, plugin as View);
          break;
      }
    }
  }

  private releaseLocks(): void {
    for (const lock of this.locks.splice(0)) lock.release();
  }

  /**
   * Runs the sources. With `once`, every batch source runs once, streaming sources read to their current end,
   * `after:`-triggered sources run after the others, and the promise resolves when all is done.
   * Otherwise it runs until `stop()`.
   */
  async run(): Promise<{ ok: boolean }> {
    const once = this.options.once ?? false;
    const sources = [...this.sources.values()];
    if (once) {
      // `trigger: after` orders a --once run: first every untriggered source, then the triggered ones by dependency.
      await Promise.allSettled(sources.filter((s) => !s.declaration.trigger).map((s) => this.drive(s, true)));
      for (const source of this.orderedTriggered()) {
        if (source.declaration.trigger?.after.length) await this.runSource(source, { type: 'step', step: source.declaration.trigger.after[0], records: 0 });
        else this.logger.info(`${source.declaration.id}: not run with --once (it runs on upload)`);
      }
      return { ok: this.failures === 0 };
    }
    // A scheduled or streaming source runs by itself even when it also has a trigger.
    for (const source of sources) {
      if (!source.declaration.trigger || source.declaration.schedule || source.definition.spec.streaming) this.tasks.push(this.drive(source, false));
    }
    this.wireAfterTriggers();
    await new Promise<void>((resolveStop) => this.abort.signal.addEventListener('abort', () => resolveStop(), { once: true }));
    await Promise.allSettled(this.tasks);
    return { ok: this.failures === 0 };
  }

  /** Graceful stop: sources stop reading, queued batches drain and commit, plugins and connections close. */
  async stop(): Promise<void> {
    if (!this.abort.signal.aborted) this.abort.abort();
    for (const timer of this.timers) timer.stop();
    await this.settleWithin('running steps', this.tasks);
    const closing = [...this.sources.values()].map((s) => s.plugin.close?.())
      .concat([...this.transforms.values()].map((t) => t.close?.()), [...this.sinks.values()].map((s) => s.close?.()), [...this.views.values()].map((v) => v.close?.()));
    await this.settleWithin('steps', closing);
    await this.settleWithin('connections', [this.connections.closeAll(), this.deadLetters.close()]);
    this.releaseLocks();
  }

  /**
   * Waits for a stop phase, but not forever: a client still retrying a server that went away (kafkajs reconnecting
   * to a dead broker) must not keep a stopping process alive. Nothing uncommitted is lost by not waiting: commits
   * happen after the sinks, before stop.
   */
  private async settleWithin(what: string, work: Iterable<Promise<unknown> | undefined>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_TIMEOUT_MS)));
    const result = await Promise.race([Promise.allSettled([...work]), late]);
    clearTimeout(timer);
    if (result === 'late') this.logger.warn(`stop: ${what} did not finish within ${STOP_TIMEOUT_MS / 1000} s (a server unreachable?); not waiting longer`);
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  stats(): StepStats[] {
    return this.services.status.steps();
  }

  /** Per-step busy time, for the `--once` summary. */
  busyMs(id: string): number {
    return this.steps.get(id)?.busyMs ?? 0;
  }

  /** Every step whose data reaches `id`, inclusive: through `from:`, and through what sinks write and sources read. */
  upstream(id: string): string[] {
    const seen = new Set<string>();
    const walk = (step: string) => {
      if (seen.has(step)) return;
      seen.add(step);
      for (const input of this.steps.get(step)?.declaration.from ?? []) walk(input);
      for (const input of this.dataFrom.get(step) ?? []) walk(input);
    };
    walk(id);
    return [...seen];
  }

  /** A step's settings (secrets masked), its recent errors and a sample of its last batch, for its page. */
  private details(id: string): StepDetails | undefined {
    const step = this.steps.get(id);
    if (!step) return undefined;
    const rows = step.sample && Array.isArray(step.sample.rows) ? step.sample.rows : [];
    return {
      config: masked(step.declaration.config) as Record<string, unknown>,
      connection: step.declaration.connection ?? null,
      errors: [...step.errors].reverse(),
      sample: rows.map((row) => jsonRow(row)),
      sampledAt: step.sample?.at ?? null,
    };
  }

  /** Keeps the last records of a batch a step emitted (read from DuckDB at most every few seconds when held there). */
  private keepSample(step: StepRuntime, rows: Rows): void {
    const at = this.clock.now().toISOString();
    if (Array.isArray(rows)) {
      if (rows.length) step.sample = { rows: rows.slice(-SAMPLE_SIZE), at };
      return;
    }
    if (rows.count === 0 || (step.sample && Date.parse(at) - Date.parse(step.sample.at) < 10_000)) return;
    step.sample = { rows: [], at };
    void rows.db.query(`SELECT * FROM ${rows.table} ORDER BY rowid DESC LIMIT ${SAMPLE_SIZE}`).then((sample) => {
      step.sample = { rows: sample.reverse(), at };
    }, () => undefined);
  }

  /** Runs a transform step on records, as `platform test` does: returns output and rejects. */
  async runTransform(id: string, records: Row[]): Promise<{ output: Row[]; rejects: Reject[] }> {
    const transform = this.transforms.get(id);
    if (!transform) throw new Error(`"${id}" is not a transform step`);
    const rejects: Reject[] = [];
    const output = await transform.process(records, { input: 'test', reject: (record, reasons) => void rejects.push({ record, reasons: ([] as string[]).concat(reasons) }) });
    return { output, rejects };
  }

  /**
   * Replays dead letters: each chosen entry goes again through the step that rejected it and on downstream (a
   * source's entry is parsed again by the source, when it can: `Source.replayRecord`). An entry that now passes its
   * step leaves the store; one rejected again stays once, with the new reason. Entries are taken oldest first,
   * `chunk` at a time, and a chunk's entries leave the store only after every sink has its records: a replay
   * stopped half-way (even killed) is run again and does the rest, and upserting sinks hold each record once.
   */
  async replay(query: DeadLetterQuery, options: { chunk?: number } = {}): Promise<ReplayResult> {
    const result: ReplayResult = { selected: 0, landed: 0, rejectedAgain: 0, skipped: [] };
    const until = await this.deadLetters.lastId();
    for await (const page of this.deadLetters.scan(query, options.chunk ?? 500, until)) {
      const byStep = new Map<string, DeadLetterEntry[]>();
      for (const entry of page) (byStep.get(entry.step) ?? byStep.set(entry.step, []).get(entry.step)!).push(entry);
      for (const [stepId, entries] of byStep) {
        result.selected += entries.length;
        const outcome = await this.replayEntries(stepId, entries);
        result.landed += outcome.landed;
        result.rejectedAgain += outcome.rejectedAgain;
        result.skipped.push(...outcome.skipped);
      }
    }
    for (const step of this.steps.values()) step.stats.rejected = this.deadLetters.count([step.declaration.id]);
    this.logger.info(`replay: ${result.selected} dead letter(s): ${result.landed} landed, ${result.rejectedAgain} rejected again, ${result.skipped.length} skipped`);
    return result;
  }

  /** One step's entries of a replay chunk: through the step and on downstream, then out of the store (or kept, with the new reason). */
  private async replayEntries(stepId: string, entries: DeadLetterEntry[]): Promise<Omit<ReplayResult, 'selected'>> {
    const step = this.steps.get(stepId);
    const kind = step?.declaration.kind;
    const skipped: ReplayResult['skipped'] = [];
    const skip = (entry: DeadLetterEntry, reason: string) => void skipped.push({ id: entry.id, step: stepId, reason });
    if (!step || kind === 'view') {
      entries.forEach((e) => skip(e, `step "${stepId}" is not a source, transform or sink of this manifest`));
      return { landed: 0, rejectedAgain: 0, skipped };
    }
    // The records to replay, each with the entry it came from; a source's entries are parsed again first.
    const records: Row[] = [];
    const from: DeadLetterEntry[] = [];
    const again: Reject[] = [];
    for (const entry of entries) {
      if (entry.truncated) {
        skip(entry, 'stored truncated (too deep or too large to keep whole): fix the data at its source');
        continue;
      }
      if (kind === 'source') {
        const source = this.sources.get(stepId)!.plugin;
        if (!source.replayRecord) {
          skip(entry, `the ${step.declaration.use} source cannot read one record again: fix the data and let it read the file or object again`);
          continue;
        }
        try {
          for (const record of await source.replayRecord(entry.record, entry.origin)) {
            records.push(record);
            from.push(entry);
          }
        } catch (error) {
          if (!isDataError(error)) throw error;
          again.push({ record: entry.record, reasons: [errorMessage(error)], origin: entry.origin });
        }
        continue;
      }
      if (typeof entry.record !== 'object' || entry.record === null || Array.isArray(entry.record)) {
        skip(entry, 'not a record');
        continue;
      }
      records.push(entry.record as Row);
      from.push(entry);
    }
    const origins = new BatchOrigins(records, (index) => from[index]?.origin);
    const snapshots = new Map<string, unknown>();
    const writes: Promise<void>[] = [];
    const written: { step: StepRuntime; records: number }[] = [];
    const held: Rows[] = [];
    try {
      if (records.length && kind === 'transform') {
        const { output, rejects } = await this.timed(step, () => this.transformBatch(step, step.declaration.from[0] ?? stepId, records, origins));
        if (output !== records) held.push(output);
        this.countIn(step, records.length, rowCount(output));
        again.push(...rejects);
        if (this.transforms.get(stepId)!.snapshot) snapshots.set(stepId, this.transforms.get(stepId)!.snapshot!());
        if (rowCount(output)) await this.deliver(stepId, output, snapshots, writes, written, held, origins, { rejected: 0 });
      } else if (records.length && kind === 'sink') {
        const { rejects } = await this.timed(step, () => this.writeSink(step, records, origins));
        this.countIn(step, records.length, records.length - rejects.length);
        again.push(...rejects);
        written.push({ step, records: records.length - rejects.length });
      } else if (records.length) {
        await this.deliver(stepId, records, snapshots, writes, written, held, origins, { rejected: 0 });
      }
      await Promise.all(writes);
    } finally {
      await release(held);
    }
    await this.state.update(snapshotChanges(snapshots));
    const at = this.clock.now();
    for (const { step: sink, records: count } of written) this.events.emit({ type: 'commit', step: sink.declaration.id, records: count, at });
    for (const reject of again) reject.origin ??= origins.originOf(reject.record);
    // Every entry tried leaves the store, except those rejected again for the same reasons (kept as they are);
    // the new rejects are stored once.
    const tried = entries.filter((e) => !skipped.some((s) => s.id === e.id));
    await this.deadLetters.replace(tried.map((e) => e.id), again.length ? [{ step: stepId, rejects: again }] : []);
    step.stats.run.rejected += again.length;
    // Rejected again: an entry one of whose records the step refused, or whose source could not parse it.
    const refused = new Set(again.map((r) => r.record));
    const failedEntries = new Set(tried.filter((e) => !from.includes(e)));
    records.forEach((record, i) => refused.has(record) && failedEntries.add(from[i]));
    return { landed: tried.length - failedEntries.size, rejectedAgain: failedEntries.size, skipped };
  }

  private build(step: StepRuntime): unknown {
    return instantiateStep(this.runtime, step.definition, step.info, step.config, this.services);
  }

  private async fire(stepId: string, event: TriggerEvent): Promise<RunResult> {
    const source = this.sources.get(stepId);
    if (!source) throw new Error(`"${stepId}" is not a source step`);
    if (!source.declaration.trigger) throw new Error(`source "${stepId}" has no trigger: in the manifest`);
    // Whoever fired the run (an upload) hears of a failure, naming the step that gave up.
    return this.runSource(source, event, true);
  }

  private orderedTriggered(): SourceRuntime[] {
    // Sources triggered after other steps run in the order of their dependencies.
    const triggered = [...this.sources.values()].filter((s) => s.declaration.trigger);
    const depth = (s: SourceRuntime): number =>
      Math.max(0, ...(s.declaration.trigger?.after ?? []).flatMap((a) => this.upstream(a)).map((id) => this.sources.get(id)).filter((x): x is SourceRuntime => !!x && x !== s && !!x.declaration.trigger).map((x) => 1 + depth(x)));
    return triggered.sort((a, b) => depth(a) - depth(b));
  }

  private wireAfterTriggers(): void {
    for (const source of this.sources.values()) {
      const after = source.declaration.trigger?.after ?? [];
      // A streaming source is always reading; `after` only orders it in --once runs.
      if (!after.length || (source.definition.spec.streaming && !source.declaration.schedule)) continue;
      // Commits are gathered for `debounce` and then trigger one run; a pending run is not pushed back by
      // further commits, so a steady stream still triggers a run every `debounce` (never starves).
      let timer: NodeJS.Timeout | undefined;
      let lastStep = after[0];
      let records = 0;
      const off = this.events.on((event) => {
        // A commit of 0 records changes nothing, unless it ended a whole result (the step's data became empty).
        if (event.type !== 'commit' || !after.includes(event.step) || (event.records === 0 && !event.snapshot)) return;
        lastStep = event.step;
        records += event.records;
        if (timer) return;
        timer = setTimeout(() => {
          timer = undefined;
          const trigger = { type: 'step' as const, step: lastStep, records };
          records = 0;
          this.tasks.push(this.runSource(source, trigger).catch(() => undefined));
        }, source.declaration.trigger!.debounceMs);
      });
      this.timers.push({ stop: () => (off(), clearTimeout(timer)) });
    }
  }

  /** Drives one untriggered source by its kind and schedule. */
  private async drive(source: SourceRuntime, once: boolean): Promise<void> {
    const { schedule } = source.declaration;
    if (once || !schedule) {
      if (once || !source.definition.spec.streaming) return void (await this.runSource(source));
      // Streaming: read until stopped; on failure, rebuild the plugin and resume from the last committed checkpoint.
      while (!this.abort.signal.aborted) {
        try {
          await this.runSource(source, undefined, true);
          break; // the source ended by itself (a generator that reached its count): nothing to restart
        } catch {
          /* already logged and counted: rebuild the plugin and resume from the last commit */
        }
        if (this.abort.signal.aborted) break;
        await this.clock.sleep(Math.max(1000, source.declaration.policy.backoffMs * 5), this.abort.signal);
        await source.plugin.close?.().catch(() => undefined);
        source.plugin = this.build(source) as Source;
      }
      return;
    }
    const tick = () => {
      if (this.abort.signal.aborted) return;
      this.tasks.push(this.runSource(source, { type: 'schedule', at: this.clock.now() }).catch(() => undefined));
    };
    if (schedule.cron) {
      const job = new Cron(schedule.cron, { timezone: schedule.timezone, protect: true }, tick);
      this.timers.push(job);
      this.logger.info(`${source.declaration.id}: scheduled "${schedule.cron}"${schedule.timezone ? ' ' + schedule.timezone : ''}, next run ${job.nextRun()?.toISOString()}`);
    } else if (schedule.everyMs) {
      const interval = setInterval(tick, schedule.everyMs);
      this.timers.push({ stop: () => clearInterval(interval) });
    }
    if (schedule.runOnStart) tick();
  }

  /** One run of a source: read batches (bounded read-ahead), process each through the graph, commit in order. */
  private runSource(source: SourceRuntime, trigger?: TriggerEvent, rethrow = false): Promise<RunResult> {
    return source.runs.run(async () => {
      const id = source.declaration.id;
      const state = this.services.state.forStep(id);
      const policy = source.declaration.policy;
      const queue = new BoundedQueue<Batch>(policy.queue);
      const result: RunResult = { records: 0, rejected: 0 };
      const started = Date.now();
      let lastProgress = started;
      // This run stops reading when the pipeline stops, or when processing a batch failed for good.
      const stopRun = new AbortController();
      const stopWithPipeline = () => stopRun.abort();
      this.abort.signal.addEventListener('abort', stopWithPipeline, { once: true });
      const reader = (async () => {
        try {
          const run = { signal: stopRun.signal, once: this.options.once ?? false, date: this.options.date, checkpoint: state.get('checkpoint'), trigger };
          for await (const batch of rebatch(source.plugin.read(run), policy.batchSize, policy.batchTimeoutMs)) {
            // A batch held in DuckDB is read ahead alone (it holds a slice of a file in DuckDB's memory; reading the
            // next one overlaps with its processing all the same).
            await queue.push(batch, Array.isArray(batch.records) ? 1 : policy.queue);
            if (stopRun.signal.aborted) break;
          }
        } finally {
          queue.close();
        }
      })();
      try {
        for await (const batch of queue) {
          const t0 = performance.now();
          const rejected = await this.processBatch(source, batch);
          result.records += rowCount(batch.records);
          result.rejected += rejected;
          this.metrics.histogram('platform_batch_seconds', 'Time to process and commit one source batch', { step: id }).observe((performance.now() - t0) / 1000);
          if (batch.lag !== undefined) this.metrics.gauge('platform_source_lag', 'Records the source has not read yet', { step: id }).set(batch.lag);
          if (Date.now() - lastProgress > 5000) {
            lastProgress = Date.now();
            const seconds = (lastProgress - started) / 1000;
            this.logger.info(`${id}: ${result.records.toLocaleString('en-US')} records so far (${Math.round(result.records / seconds).toLocaleString('en-US')}/s)`);
          }
        }
        await reader;
        if (this.options.once) await this.flushTransforms(source);
        return result;
      } catch (error) {
        this.failures++;
        this.recordError(source, error);
        this.logger.error(`${id}: run failed${error instanceof Error && FAILED_AT.has(error) ? ` at ${FAILED_AT.get(error)}` : ''}, nothing after the last committed batch was committed: ${errorMessage(error)}`);
        // Unblock the reader (it may be waiting for room in the queue) and let the source end its read.
        stopRun.abort();
        queue.close();
        await reader.catch(() => undefined);
        // Batches read ahead but never processed may hold DuckDB tables.
        for await (const left of queue) await release([left.records]);
        if (rethrow) throw error instanceof Error && FAILED_AT.has(error) ? new Error(`${FAILED_AT.get(error)}: ${errorMessage(error)}`, { cause: error }) : error;
        return result;
      } finally {
        this.abort.signal.removeEventListener('abort', stopWithPipeline);
      }
    });
  }

  /** Pushes one source batch through every downstream step, then commits its checkpoint. Returns the rejects. */
  private async processBatch(source: SourceRuntime, batch: Batch): Promise<number> {
    // Every DuckDB table made for this batch (by the source or a transform) is dropped once it is done.
    const held: Rows[] = [batch.records];
    try {
      return await this.commitBatch(source, batch, held);
    } finally {
      await release(held);
    }
  }

  private async commitBatch(source: SourceRuntime, batch: Batch, held: Rows[]): Promise<number> {
    const id = source.declaration.id;
    const size = rowCount(batch.records);
    const origins = new BatchOrigins(batch.records, batch.origin);
    let rejected = 0;
    if (batch.rejects?.length) {
      await this.reject(source, batch.rejects);
      rejected += batch.rejects.length;
    }
    source.stats.recordsOut += size;
    source.stats.batches++;
    this.addTotals(source, 0, size);
    if (batch.lag !== undefined) source.stats.lag = batch.lag;
    this.keepSample(source, batch.records);
    if (!Array.isArray(batch.records)) source.stats.batchesInDuckDb++;
    this.count('out', id, size);
    if (batch.watermark && (!source.stats.watermark || batch.watermark.toISOString() > source.stats.watermark)) source.stats.watermark = batch.watermark.toISOString();

    const snapshots = new Map<string, unknown>();
    const writes: Promise<void>[] = [];
    const written: { step: StepRuntime; records: number }[] = [];
    const origin = batch.position !== undefined ? { source: id, position: batch.position } : undefined;
    const passed = new Set<StepRuntime>();
    const delivered = { rejected: 0 };
    await this.deliver(id, batch.records, snapshots, writes, written, held, origins, delivered, { part: batch.snapshot, origin, passed });
    await Promise.all(writes);
    rejected += delivered.rejected;

    // Every downstream sink has the batch: now, and only now, the checkpoint moves (with the transforms' snapshots
    // and the commit times the pages show after a restart, in one atomic write).
    const at = this.clock.now();
    const iso = at.toISOString();
    const committed = [{ step: source as StepRuntime, records: size }, ...written];
    const changes: StateChange[] = snapshotChanges(snapshots);
    if (batch.checkpoint !== undefined) changes.push([id, 'checkpoint', batch.checkpoint]);
    for (const { step } of committed) changes.push([step.declaration.id, 'lastCommitAt', iso]);
    // The transforms the batch went through committed with it too (the pipeline page shows when each step last did).
    for (const step of passed) {
      changes.push([step.declaration.id, 'lastCommitAt', iso]);
      step.stats.lastCommitAt = iso;
    }
    changes.push(...this.totalsChanges());
    await this.state.update(changes);
    if (batch.checkpoint !== undefined) await source.plugin.commit?.(batch.checkpoint);
    for (const { step, records } of committed) {
      step.stats.lastCommitAt = iso;
      this.metrics.gauge('platform_last_commit_timestamp_seconds', 'Unix time of the last successful commit', { step: step.declaration.id }).set(at.getTime() / 1000);
      this.events.emit({ type: 'commit', step: step.declaration.id, records, at, ...(batch.snapshot?.last ? { snapshot: true } : {}) });
    }
    return rejected;
  }

  /**
   * Sends records from `fromId` to its outputs: transforms run now (in order), sink writes are collected.
   * An empty batch reaches sinks only when it is part of a whole result (`part`): they must learn that the result
   * ended, even empty (a replaced table or collection then becomes empty instead of keeping stale rows).
   * Rejects are counted into `counted.rejected` (a sink's when its write is done).
   */
  private async deliver(
    fromId: string, records: Rows, snapshots: Map<string, unknown>, writes: Promise<void>[], written: { step: StepRuntime; records: number }[], held: Rows[],
    origins: BatchOrigins, counted: { rejected: number }, batch: { part?: SnapshotPart; origin?: BatchOrigin; passed?: Set<StepRuntime> } = {},
  ): Promise<void> {
    const { part, origin, passed } = batch;
    const size = rowCount(records);
    for (const outputId of this.steps.get(fromId)!.outputs) {
      const step = this.steps.get(outputId)!;
      if (size === 0 && step.declaration.kind === 'sink' && !part) continue;
      if (step.declaration.kind === 'transform') {
        const { output, rejects } = await this.timed(step, () => this.transformBatch(step, fromId, records, origins));
        if (output !== records) held.push(output);
        passed?.add(step);
        const produced = rowCount(output);
        this.countIn(step, size, produced);
        this.keepSample(step, output);
        if (rejects.length) await this.reject(step, rejects, origins);
        counted.rejected += rejects.length;
        if (this.transforms.get(outputId)!.snapshot) snapshots.set(outputId, this.transforms.get(outputId)!.snapshot!());
        if (produced || part) await this.deliver(outputId, output, snapshots, writes, written, held, origins, counted, batch);
      } else if (step.declaration.kind === 'sink') {
        const identity = origin ? this.batchIdentity(origin, fromId, outputId) : undefined;
        writes.push(this.timed(step, () => this.writeSink(step, records, origins, part, identity)).then(async ({ inDuckDb, rejects }) => {
          if (inDuckDb) step.stats.batchesInDuckDb++;
          // A sink writing a whole result at its last batch reports the rejects of all its pages then.
          const kept = Math.max(0, size - rejects.length);
          this.countIn(step, size, kept);
          if (size) this.keepSample(step, records);
          if (rejects.length) await this.reject(step, rejects, origins);
          counted.rejected += rejects.length;
          written.push({ step, records: kept });
        }));
      }
    }
  }

  /** The duckdb connection of the first step after `source` (breadth first) that has one: where its batches are best held. */
  private downstreamDuckDb(source: StepRuntime): string | undefined {
    const duckdb = new Set(this.manifest.connections.filter((c) => c.type === 'duckdb').map((c) => c.name));
    const seen = new Set<string>();
    for (const queue = [...source.outputs]; queue.length;) {
      const step = this.steps.get(queue.shift()!);
      if (!step || seen.has(step.declaration.id)) continue;
      seen.add(step.declaration.id);
      if (step.info.connection && duckdb.has(step.info.connection)) return step.info.connection;
      queue.push(...step.outputs);
    }
    return undefined;
  }

  /**
   * One batch through a transform: its DuckDB path when it has one for these rows, else records. Infrastructure
   * errors are retried; a data error (a shape the step cannot take, a value it cannot convert) sends the batch's
   * records to dead-letter with the error and the batch goes on without them.
   */
  private async transformBatch(step: StepRuntime, fromId: string, records: Rows, origins: BatchOrigins): Promise<{ output: Rows; rejects: Reject[] }> {
    const transform = this.transforms.get(step.declaration.id)!;
    try {
      return await this.retrying(step, async () => {
        const rejects: Reject[] = [];
        const ctx = this.context(fromId, rejects);
        const inDuckDb = await transform.processInDuckDb?.(records, ctx);
        const output = inDuckDb ?? (await transform.process(await origins.recordsOf(records), ctx));
        if (inDuckDb && !Array.isArray(records)) step.stats.batchesInDuckDb++;
        return { output, rejects };
      });
    } catch (error) {
      if (!isDataError(error)) throw error;
      this.recordError(step, error);
      const all = await origins.recordsOf(records);
      this.logger.warn(`${this.label(step)}: ${all.length} record(s) to dead-letter: ${errorMessage(error)}`);
      return { output: [], rejects: allRejected(all, error) };
    }
  }

  /**
   * One batch into a sink. Infrastructure errors are retried; a data error is not: the batch is written again in
   * halves until the records the sink refuses are found (`isolateRejects`), and they go to dead-letter while the
   * others are written. Part of a whole result (a replacing write) cannot be split, nor a batch whose shape the
   * sink refuses (DataError `wholeBatch`): their records go together.
   */
  private async writeSink(step: StepRuntime, records: Rows, origins: BatchOrigins, part?: SnapshotPart, identity?: BatchIdentity): Promise<{ inDuckDb: boolean; rejects: Reject[] }> {
    const sink = this.sinks.get(step.declaration.id)!;
    const attempt = (rows: Rows, batch = identity) => this.retrying(step, async () => {
      // Rejects of a failed attempt are dropped: the retry finds them again.
      const rejects: Reject[] = [];
      const ctx: SinkContext = {
        reject: (record, reasons, origin) => void rejects.push({ record, reasons: ([] as string[]).concat(reasons), origin }),
        ...(part ? { snapshot: part } : {}),
        ...(batch ? { batch } : {}),
      };
      return { inDuckDb: await writeRows(sink, rows, ctx), rejects };
    });
    try {
      return await attempt(records);
    } catch (error) {
      if (!isDataError(error)) throw error;
      this.recordError(step, error);
      const all = await origins.recordsOf(records);
      this.logger.warn(`${this.label(step)}: refused a batch of ${all.length} record(s) (${errorMessage(error)}); finding the records it refuses`);
      // Each part written while bisecting is a batch of its own (an exactly-once sink must not take it for the whole).
      const partOf = (half: Row[]) => identity && { ...identity, id: digest(identity.id, String(all.indexOf(half[0])), String(half.length)) };
      const rejects = await refusedRecords(all, error, async (half) => (await attempt(half, partOf(half))).rejects, { splittable: !part, deadlineMs: Date.now() + ISOLATE_BUDGET_MS });
      return { inDuckDb: false, rejects };
    }
  }

  /**
   * A batch's identity at one sink: the same for the same source position reaching the same sink through the same
   * step, so a batch delivered again after a crash is recognised by the sink (exactly-once appends); different in a
   * fresh state folder (its new epoch), where reading everything again is meant to write everything again.
   */
  private batchIdentity(origin: BatchOrigin, input: string, sink: string): BatchIdentity {
    return {
      id: digest(this.epoch, origin.source, origin.position, input, sink),
      writer: digest(this.epoch, sink),
      origin: `${origin.source} ${origin.position}`,
    };
  }

  /** The state folder's epoch, made (and stored, before any batch is written) on its first start. */
  private async ensureEpoch(): Promise<void> {
    const meta = this.services.state.forStep(STATE_META);
    let epoch = meta.get<string>('epoch');
    if (typeof epoch !== 'string' || !epoch) await meta.set('epoch', (epoch = randomUUID()));
    this.epoch = epoch;
  }

  private async flushTransforms(source: SourceRuntime): Promise<void> {
    const snapshots = new Map<string, unknown>();
    const writes: Promise<void>[] = [];
    const written: { step: StepRuntime; records: number }[] = [];
    const held: Rows[] = [];
    const visit = async (fromId: string) => {
      for (const outputId of this.steps.get(fromId)!.outputs) {
        const transform = this.transforms.get(outputId);
        if (!transform) continue;
        const step = this.steps.get(outputId)!;
        if (transform.flush) {
          const rejects: Reject[] = [];
          const output = await step.mutex.run(async () => transform.flush!(this.context(fromId, rejects), 'end'));
          if (rejects.length) await this.reject(step, rejects);
          if (output.length) await this.deliver(outputId, output, snapshots, writes, written, held, new BatchOrigins(output), { rejected: 0 });
        }
        await visit(outputId);
      }
    };
    try {
      await visit(source.declaration.id);
      await Promise.all(writes);
    } finally {
      await release(held);
    }
    await this.state.update([...snapshotChanges(snapshots), ...this.totalsChanges()]);
  }

  private context(input: string, rejects: Reject[]): TransformContext {
    return { input, reject: (record, reasons, origin) => void rejects.push({ record, reasons: ([] as string[]).concat(reasons), origin }) };
  }

  private label(step: StepRuntime): string {
    return `${step.declaration.id} (${this.manifest.file}:${step.declaration.line})`;
  }

  private timed<T>(step: StepRuntime, work: () => Promise<T>): Promise<T> {
    return step.mutex.run(async () => {
      const t0 = performance.now();
      try {
        return await work();
      } finally {
        step.busyMs += performance.now() - t0;
      }
    });
  }

  private retrying<T>(step: StepRuntime, work: () => Promise<T>): Promise<T> {
    const { retries, backoffMs } = step.declaration.policy;
    const label = this.label(step);
    return withRetry(work, {
      retries, backoffMs, clock: this.clock, signal: this.abort.signal,
      // A data error fails again whatever the wait: the caller sends its records to dead-letter instead.
      retryable: (error) => !isDataError(error),
      onRetry: (error, attempt, delay) => {
        this.recordError(step, error);
        this.logger.warn(`${label}: ${errorMessage(error)} — retry ${attempt}/${retries} in ${delay} ms`);
      },
    }).catch((error: unknown) => {
      // The run's one error line names the step that gave up and its manifest line, not only the source.
      if (error instanceof Error && !FAILED_AT.has(error)) FAILED_AT.set(error, label);
      throw error;
    });
  }

  private countIn(step: StepRuntime, recordsIn: number, recordsOut: number) {
    step.stats.recordsIn += recordsIn;
    step.stats.recordsOut += recordsOut;
    step.stats.batches++;
    this.addTotals(step, recordsIn, recordsOut);
    this.count('in', step.declaration.id, recordsIn);
    this.count('out', step.declaration.id, recordsOut);
  }

  /** Counts kept across restarts: saved with the next commit (a crash loses at most the counts of uncommitted batches). */
  private addTotals(step: StepRuntime, recordsIn: number, recordsOut: number) {
    const totals = step.stats.totals!;
    totals.recordsIn += recordsIn;
    totals.recordsOut += recordsOut;
    totals.batches++;
    this.unsavedTotals.add(step.declaration.id);
  }

  private totalsChanges(): StateChange[] {
    const changes: StateChange[] = [...this.unsavedTotals].map((id) => [id, 'totals', { ...this.steps.get(id)!.stats.totals }]);
    this.unsavedTotals.clear();
    return changes;
  }

  /** Stores rejects with their origin (the source's, when the step did not give one); counts them for this run. */
  private async reject(step: StepRuntime, rejects: Reject[], origins?: BatchOrigins) {
    step.stats.run.rejected += rejects.length;
    if (origins) for (const reject of rejects) reject.origin ??= origins.originOf(reject.record);
    const fresh = await this.deadLetters.add(step.declaration.id, rejects);
    if (!fresh) return;
    step.stats.rejected += fresh;
    this.count('rejected', step.declaration.id, fresh);
    this.events.emit({ type: 'reject', step: step.declaration.id, count: fresh, at: this.clock.now() });
  }

  private count(counter: Counter, step: string, by: number) {
    const [name, help] = COUNTERS[counter];
    this.metrics.counter(name, help, { step }).inc(by);
  }

  private recordError(step: StepRuntime, error: unknown) {
    step.stats.errors++;
    step.stats.lastError = errorMessage(error);
    step.errors.push({ at: this.clock.now().toISOString(), message: errorMessage(error) });
    if (step.errors.length > RECENT_ERRORS) step.errors.shift();
    this.count('errors', step.declaration.id, 1);
    this.events.emit({ type: 'error', step: step.declaration.id, message: errorMessage(error), at: this.clock.now() });
  }
}

/** The source step and the position of the source batch a delivery comes from (see `Batch.position`). */
interface BatchOrigin {
  source: string;
  position: string;
}

/** 32 hex characters naming the parts (NUL-separated, so no two lists of parts give the same text). */
function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

/** Writes through the sink's DuckDB path when the rows are a DuckDB table it can take (true), else as records. */
async function writeRows(sink: Sink, rows: Rows, ctx: SinkContext): Promise<boolean> {
  if (!Array.isArray(rows) && sink.writeFromDuckDb && (await sink.writeFromDuckDb(rows, ctx))) return true;
  await sink.write(await recordsOf(rows), ctx);
  return false;
}

/** Drops the DuckDB tables among a batch's rows (records need nothing). A failed drop only costs memory. */
async function release(rows: Rows[]): Promise<void> {
  await Promise.all(rows.map((r) => (Array.isArray(r) ? undefined : r.release().catch(() => undefined))));
}

/** The transforms' snapshots of a batch as state changes. */
function snapshotChanges(snapshots: Map<string, unknown>): StateChange[] {
  return [...snapshots].map(([step, snapshot]) => [step, 'snapshot', snapshot]);
}

/** The state folder of a run: `--state-dir`, else PLATFORM_STATE_DIR, else `.platform/<name>` in the working directory. */
export function stateDirOf(pipeline: string, given?: string): string {
  return resolve(given ?? process.env.PLATFORM_STATE_DIR ?? `.platform/${pipeline}`);
}

/** `${STATE_DIR}` in every string of a step's or connection's settings, replaced by the run's state folder. */
function withStateDir<T>(value: T, stateDir: string): T {
  const reference = '${' + STATE_DIR_VARIABLE + '}';
  if (typeof value === 'string') return (value.includes(reference) ? value.replaceAll(reference, stateDir) : value) as T;
  if (Array.isArray(value)) return value.map((item) => withStateDir(item, stateDir)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withStateDir(item, stateDir)])) as T;
  }
  return value;
}

function isInside(path: string, folder: string): boolean {
  const inside = relative(folder, path);
  return inside !== '' && !inside.startsWith('..') && !inside.startsWith('/');
}

const SECRET = /(password|secret|token|credential|apikey|api_key|private)/i;

/** A step's `with:` for its page: values of keys that look like secrets, and passwords in URLs, masked. */
function masked(value: unknown, key = ''): unknown {
  if (SECRET.test(key) && value !== null && value !== undefined && value !== '') return '••••';
  if (typeof value === 'string') return value.replace(/(\/\/[^:/@\s]+:)[^@/\s]+@/g, '$1••••@');
  if (Array.isArray(value)) return value.map((v) => masked(v));
  if (value && typeof value === 'object' && !(value instanceof Date)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v, k)]));
  return value;
}

/** A record with JSON values (Dates as ISO text, bigints as numbers or text). */
function jsonRow(row: Row): Row {
  return JSON.parse(JSON.stringify(row, (_, v) => (typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v))) as Row;
}
