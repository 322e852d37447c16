// The steps of a running pipeline: each one's plugin, counters, recent errors and last records, and how one step
// takes one batch (timed, serialised, retried). The scheduler and the batch transaction work through this.
import type { Manifest, StepDeclaration } from '../manifest/index.ts';
import type { PluginCatalog } from '../sdk/container.ts';
import type {
  Batch,
  Clock,
  Logger,
  PluginDefinition,
  Reject,
  Row,
  Rows,
  Sink,
  Source,
  StepDetails,
  StepInfo,
  StepStats,
  Transform,
  View,
} from '../sdk/types.ts';
import { errorMessage, isDataError, rowCount } from '../sdk/index.ts';
import type { DeadLetterStore } from './deadletter.ts';
import type { EventHub } from '../sdk/events.ts';
import { dataInputs, resourceLabel, resourcesOf, type SqlViews } from './lineage.ts';
import type { PromMetrics } from './metrics.ts';
import { Mutex } from './queue.ts';
import { withRetry } from './retry.ts';
import type { StateChange, StateStore } from './state.ts';

/** The per-step counters on /metrics: name and help. */
const COUNTERS = {
  in: ['platform_records_in_total', 'Records a step received'],
  out: ['platform_records_out_total', 'Records a step emitted'],
  rejected: ['platform_records_rejected_total', 'Records sent to dead-letter'],
  errors: ['platform_errors_total', 'Failed attempts of a step (retried or not)'],
} as const;
type Counter = keyof typeof COUNTERS;

/** Errors kept per step for its page. */
const RECENT_ERRORS = 10;
/** Records kept from a step's last batch for its page. */
const SAMPLE_SIZE = 5;

/** The step (and manifest line) whose retries ran out, for the run's error line. */
export const FAILED_AT = new WeakMap<Error, string>();

export interface StepRuntime {
  declaration: StepDeclaration;
  /** `with:` with `${STATE_DIR}` filled in. */
  config: Record<string, unknown>;
  info: StepInfo;
  definition: PluginDefinition;
  stats: StepStats;
  mutex: Mutex;
  /** Downstream transform and sink step ids. */
  outputs: string[];
  busyMs: number;
  /** For the step's page: its last errors and a few records of its last batch. */
  errors: { at: string; message: string }[];
  sample: { rows: Rows; at: string } | null;
}

export interface SourceRuntime extends StepRuntime {
  plugin: Source;
  /** Serialises runs of one source (a schedule tick and a trigger never overlap). */
  runs: Mutex;
}

export interface StepsContext {
  manifest: Manifest;
  catalog: PluginCatalog;
  state: StateStore;
  metrics: PromMetrics;
  events: EventHub;
  deadLetters: DeadLetterStore;
  clock: Clock;
  logger: Logger;
  /** Aborted when the pipeline stops: retries stop waiting. */
  signal: AbortSignal;
  sqlViews: SqlViews;
  /** `${STATE_DIR}` filled in a step's `with:`. */
  configOf(declaration: StepDeclaration): Record<string, unknown>;
}

/** Every step of one pipeline run, by id, with the plugins built for them. */
export class Steps {
  readonly byId = new Map<string, StepRuntime>();
  readonly sources = new Map<string, SourceRuntime>();
  readonly transforms = new Map<string, Transform>();
  readonly sinks = new Map<string, Sink>();
  readonly views = new Map<string, View>();
  /** Inputs other than `from:` (tables, topics, files written by a sink and read by a source; `after:` triggers). */
  readonly dataFrom: Map<string, string[]>;
  /** Steps whose `totals` changed since they were last saved (saved with the next commit). */
  private readonly unsavedTotals = new Set<string>();

  constructor(private readonly context: StepsContext) {
    const { manifest, catalog, state, sqlViews } = context;
    this.dataFrom = dataInputs(manifest.steps, sqlViews);
    const startedAt = context.clock.now().toISOString();
    for (const declaration of manifest.steps) {
      const info: StepInfo = {
        id: declaration.id,
        kind: declaration.kind,
        use: declaration.use,
        from: declaration.from,
        connection: declaration.connection,
        location: { file: manifest.file, line: declaration.line },
        pipeline: manifest.name,
      };
      const saved = state.forStep(declaration.id);
      const stats: StepStats = {
        id: declaration.id,
        kind: declaration.kind,
        use: declaration.use,
        from: declaration.from,
        recordsIn: 0,
        recordsOut: 0,
        rejected: 0,
        errors: 0,
        batches: 0,
        batchesInDuckDb: 0,
        lastCommitAt: saved.get<string>('lastCommitAt') ?? null,
        watermark: null,
        lastError: null,
        location: info.location,
        totals: { recordsIn: 0, recordsOut: 0, batches: 0, since: startedAt, ...saved.get<object>('totals') },
        run: { startedAt, rejected: 0 },
        lag: null,
        reads: resourcesOf(declaration, sqlViews).reads.map(resourceLabel),
        writes: resourcesOf(declaration, sqlViews).writes.map(resourceLabel),
        dataFrom: this.dataFrom.get(declaration.id) ?? [],
      };
      const definition = catalog.find(declaration.kind, declaration.use)!;
      this.byId.set(declaration.id, {
        declaration,
        config: context.configOf(declaration),
        info,
        definition,
        stats,
        mutex: new Mutex(),
        outputs: [],
        busyMs: 0,
        errors: [],
        sample: null,
      });
    }
    for (const step of this.byId.values()) {
      if (step.declaration.kind === 'view') continue;
      for (const input of step.declaration.from) this.byId.get(input)?.outputs.push(step.declaration.id);
    }
    for (const step of this.byId.values())
      if (step.declaration.kind === 'source' && !step.info.connection)
        step.info.batchConnection = this.downstreamDuckDb(step);
    this.zeroCounters();
  }

  /** The duckdb connection of the first step after `source` (breadth first) that has one: where its batches are best held. */
  private downstreamDuckDb(source: StepRuntime): string | undefined {
    const duckdb = new Set(this.context.manifest.connections.filter((c) => c.type === 'duckdb').map((c) => c.name));
    const seen = new Set<string>();
    for (const queue = [...source.outputs]; queue.length;) {
      const step = this.byId.get(queue.shift()!);
      if (!step || seen.has(step.declaration.id)) continue;
      seen.add(step.declaration.id);
      if (step.info.connection && duckdb.has(step.info.connection)) return step.info.connection;
      queue.push(...step.outputs);
    }
    return undefined;
  }

  get(id: string): StepRuntime | undefined {
    return this.byId.get(id);
  }

  /**
   * Every counter of every step exists from the start at 0: Prometheus' increase()/rate() see the first reject or
   * error as a change only when the series existed before it.
   */
  private zeroCounters(): void {
    for (const {
      declaration: { id, kind },
    } of this.byId.values()) {
      if (kind === 'view') continue;
      for (const counter of Object.keys(COUNTERS) as Counter[])
        if (counter !== 'in' || kind !== 'source') this.count(counter, id, 0);
    }
  }

  /** Every step whose data reaches `id`, inclusive: through `from:`, and through what sinks write and sources read. */
  upstream(id: string): string[] {
    const seen = new Set<string>();
    const walk = (step: string) => {
      if (seen.has(step)) return;
      seen.add(step);
      for (const input of this.byId.get(step)?.declaration.from ?? []) walk(input);
      for (const input of this.dataFrom.get(step) ?? []) walk(input);
    };
    walk(id);
    return [...seen];
  }

  /** A step's settings (secrets masked), its recent errors and a sample of its last batch, for its page. */
  details(id: string): StepDetails | undefined {
    const step = this.byId.get(id);
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

  /** Keeps the last records of a batch a step emitted (read from where they are held at most every few seconds). */
  keepSample(step: StepRuntime, rows: Rows): void {
    const at = this.context.clock.now().toISOString();
    if (Array.isArray(rows)) {
      if (rows.length) step.sample = { rows: rows.slice(-SAMPLE_SIZE), at };
      return;
    }
    if (rows.count === 0 || (step.sample && Date.parse(at) - Date.parse(step.sample.at) < 10_000)) return;
    step.sample = { rows: [], at };
    void rows.tail(SAMPLE_SIZE).then(
      (sample) => {
        step.sample = { rows: sample, at };
      },
      () => undefined,
    );
  }

  /** Counts a source's batch (records emitted, lag, freshness, sample); returns its size. */
  sourceBatch(source: SourceRuntime, batch: Batch): number {
    const size = rowCount(batch.records);
    source.stats.recordsOut += size;
    source.stats.batches++;
    this.addTotals(source, 0, size);
    if (batch.lag !== undefined) source.stats.lag = batch.lag;
    this.keepSample(source, batch.records);
    if (!Array.isArray(batch.records)) source.stats.batchesInDuckDb++;
    this.count('out', source.declaration.id, size);
    if (batch.watermark && (!source.stats.watermark || batch.watermark.toISOString() > source.stats.watermark))
      source.stats.watermark = batch.watermark.toISOString();
    return size;
  }

  label(step: StepRuntime): string {
    return `${step.declaration.id} (${this.context.manifest.file}:${step.declaration.line})`;
  }

  /** Runs `work` as the step's one piece of work at a time, counting its busy time. */
  timed<T>(step: StepRuntime, work: () => Promise<T>): Promise<T> {
    return step.mutex.run(async () => {
      const t0 = performance.now();
      try {
        return await work();
      } finally {
        step.busyMs += performance.now() - t0;
      }
    });
  }

  /** Retries `work` on infrastructure errors with the step's policy; a data error is thrown at once. */
  retrying<T>(step: StepRuntime, work: () => Promise<T>): Promise<T> {
    const { retries, backoffMs } = step.declaration.policy;
    const label = this.label(step);
    return withRetry(work, {
      retries,
      backoffMs,
      clock: this.context.clock,
      signal: this.context.signal,
      // A data error fails again whatever the wait: the caller sends its records to dead-letter instead.
      retryable: (error) => !isDataError(error),
      onRetry: (error, attempt, delay) => {
        this.recordError(step, error);
        this.context.logger.warn(`${label}: ${errorMessage(error)} — retry ${attempt}/${retries} in ${delay} ms`);
      },
    }).catch((error: unknown) => {
      // The run's one error line names the step that gave up and its manifest line, not only the source.
      if (error instanceof Error && !FAILED_AT.has(error)) FAILED_AT.set(error, label);
      throw error;
    });
  }

  countIn(step: StepRuntime, recordsIn: number, recordsOut: number): void {
    step.stats.recordsIn += recordsIn;
    step.stats.recordsOut += recordsOut;
    step.stats.batches++;
    this.addTotals(step, recordsIn, recordsOut);
    this.count('in', step.declaration.id, recordsIn);
    this.count('out', step.declaration.id, recordsOut);
  }

  /** Counts kept across restarts: saved with the next commit (a crash loses at most the counts of uncommitted batches). */
  addTotals(step: StepRuntime, recordsIn: number, recordsOut: number): void {
    const totals = step.stats.totals!;
    totals.recordsIn += recordsIn;
    totals.recordsOut += recordsOut;
    totals.batches++;
    this.unsavedTotals.add(step.declaration.id);
  }

  totalsChanges(): StateChange[] {
    const changes: StateChange[] = [...this.unsavedTotals].map((id) => [
      id,
      'totals',
      { ...this.byId.get(id)!.stats.totals },
    ]);
    this.unsavedTotals.clear();
    return changes;
  }

  /** Stores rejects with their origin (`originOf` for those the step gave none); counts them for this run. */
  async reject(
    step: StepRuntime,
    rejects: Reject[],
    originOf?: (record: unknown) => string | undefined,
  ): Promise<void> {
    step.stats.run.rejected += rejects.length;
    if (originOf) for (const reject of rejects) reject.origin ??= originOf(reject.record);
    const fresh = await this.context.deadLetters.add(step.declaration.id, rejects);
    if (!fresh) return;
    step.stats.rejected += fresh;
    this.count('rejected', step.declaration.id, fresh);
    this.context.events.emit({ type: 'reject', step: step.declaration.id, count: fresh, at: this.context.clock.now() });
  }

  count(counter: Counter, step: string, by: number): void {
    const [name, help] = COUNTERS[counter];
    this.context.metrics.counter(name, help, { step }).inc(by);
  }

  recordError(step: StepRuntime, error: unknown): void {
    const now = this.context.clock.now();
    step.stats.errors++;
    step.stats.lastError = errorMessage(error);
    step.errors.push({ at: now.toISOString(), message: errorMessage(error) });
    if (step.errors.length > RECENT_ERRORS) step.errors.shift();
    this.count('errors', step.declaration.id, 1);
    this.context.events.emit({ type: 'error', step: step.declaration.id, message: errorMessage(error), at: now });
  }

  /** Each step's records in the dead-letter store now. */
  countDeadLetters(): void {
    for (const step of this.byId.values()) step.stats.rejected = this.context.deadLetters.count([step.declaration.id]);
  }
}

const SECRET = /(password|secret|token|credential|apikey|api_key|private)/i;

/** A step's `with:` for its page: values of keys that look like secrets, and passwords in URLs, masked. */
function masked(value: unknown, key = ''): unknown {
  if (SECRET.test(key) && value !== null && value !== undefined && value !== '') return '••••';
  if (typeof value === 'string') return value.replace(/(\/\/[^:/@\s]+:)[^@/\s]+@/g, '$1••••@');
  if (Array.isArray(value)) return value.map((v) => masked(v));
  if (value && typeof value === 'object' && !(value instanceof Date))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v, k)]));
  return value;
}

/** A record with JSON values (Dates as ISO text, bigints as numbers or text). */
function jsonRow(row: Row): Row {
  return JSON.parse(
    JSON.stringify(row, (_, v) =>
      typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v,
    ),
  ) as Row;
}
