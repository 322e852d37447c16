// One batch's way through the graph as a transaction: delivered to every step downstream of where it enters
// (transforms now, in order; sink writes gathered), committed once every sink has it (checkpoint, transform
// snapshots, commit times and counters in one atomic state write), and released (the DuckDB tables made for it).
import { createHash } from 'node:crypto';
import type {
  Batch,
  BatchIdentity,
  Clock,
  Logger,
  Reject,
  Row,
  Rows,
  Sink,
  SinkContext,
  SnapshotPart,
  TransformContext,
} from '../sdk/types.ts';
import { errorMessage, isDataError, recordsOf, rowCount } from '../sdk/index.ts';
import { allRejected, refusedRecords } from '../sdk/isolate.ts';
import type { EventHub } from '../sdk/events.ts';
import type { PromMetrics } from './metrics.ts';
import type { BatchOrigins } from './origins.ts';
import type { StateChange, StateStore } from './state.ts';
import type { SourceRuntime, StepRuntime, Steps } from './steps.ts';

/** How long a sink's refused batch may be bisected before the parts still failing are rejected whole. */
const ISOLATE_BUDGET_MS = 30_000;

/** What a transaction needs of the running pipeline. */
export interface TransactionContext {
  steps: Steps;
  state: StateStore;
  metrics: PromMetrics;
  events: EventHub;
  clock: Clock;
  logger: Logger;
  /** Made once with the state folder; batch ids derive from it (see `batchIdentity`). */
  epoch: string;
}

/** The source step and the position of the source batch a delivery comes from (see `Batch.position`). */
export interface BatchOrigin {
  source: string;
  position: string;
}

/**
 * A batch on its way through the graph. `deliver` sends rows from a step to its outputs; `commit` waits for the
 * sinks and stores the checkpoint with everything the batch changed; `release` drops the tables made for it.
 */
export class BatchTransaction {
  /** Transform snapshots taken after this batch, stored with its checkpoint. */
  readonly snapshots = new Map<string, unknown>();
  /** The sinks that have the batch, with how many records each kept. */
  readonly written: { step: StepRuntime; records: number }[] = [];
  /** The transforms the batch went through (they committed with it). */
  readonly passed = new Set<StepRuntime>();
  /** Records sent to dead-letter by the steps downstream (a sink's once its write is done). */
  rejected = 0;
  private readonly writes: Promise<void>[] = [];
  /** Every DuckDB table made for this batch (by the source or a transform). */
  private readonly held: Rows[] = [];

  constructor(
    private readonly context: TransactionContext,
    readonly origins: BatchOrigins,
    /** Where the batch sits in a whole result, and where it comes from (for sinks' batch ids). */
    private readonly batch: { part?: SnapshotPart; origin?: BatchOrigin } = {},
  ) {}

  /** Rows to drop when the transaction is released (the source's own DuckDB table, a transform's output). */
  hold(rows: Rows): void {
    this.held.push(rows);
  }

  /**
   * Sends records from `fromId` to its outputs: transforms run now (in order), sink writes are gathered.
   * An empty batch reaches sinks only when it is part of a whole result (`part`): they must learn that the result
   * ended, even empty (a replaced table or collection then becomes empty instead of keeping stale rows).
   */
  async deliver(fromId: string, records: Rows): Promise<void> {
    const { steps } = this.context;
    const { part, origin } = this.batch;
    const size = rowCount(records);
    for (const outputId of steps.get(fromId)!.outputs) {
      const step = steps.get(outputId)!;
      if (size === 0 && step.declaration.kind === 'sink' && !part) continue;
      if (step.declaration.kind === 'transform') {
        const { output, rejects } = await steps.timed(step, () => this.transform(step, fromId, records));
        if (output !== records) this.hold(output);
        this.passed.add(step);
        const produced = rowCount(output);
        steps.countIn(step, size, produced);
        steps.keepSample(step, output);
        if (rejects.length) await steps.reject(step, rejects, (record) => this.origins.originOf(record));
        this.rejected += rejects.length;
        const transform = steps.transforms.get(outputId)!;
        if (transform.snapshot) this.snapshots.set(outputId, transform.snapshot());
        if (produced || part) await this.deliver(outputId, output);
      } else if (step.declaration.kind === 'sink') {
        const identity = origin ? batchIdentity(this.context.epoch, origin, fromId, outputId) : undefined;
        this.writes.push(
          steps
            .timed(step, () => this.write(step, records, identity))
            .then(async ({ inDuckDb, rejects }) => {
              if (inDuckDb) step.stats.batchesInDuckDb++;
              // A sink writing a whole result at its last batch reports the rejects of all its pages then.
              const kept = Math.max(0, size - rejects.length);
              steps.countIn(step, size, kept);
              if (size) steps.keepSample(step, records);
              if (rejects.length) await steps.reject(step, rejects, (record) => this.origins.originOf(record));
              this.rejected += rejects.length;
              this.written.push({ step, records: kept });
            }),
        );
      }
    }
  }

  /**
   * One batch through a transform: its DuckDB path when it has one for these rows, else records. Infrastructure
   * errors are retried; a data error (a shape the step cannot take, a value it cannot convert) sends the batch's
   * records to dead-letter with the error and the batch goes on without them.
   */
  async transform(step: StepRuntime, fromId: string, records: Rows): Promise<{ output: Rows; rejects: Reject[] }> {
    const { steps } = this.context;
    const transform = steps.transforms.get(step.declaration.id)!;
    try {
      return await steps.retrying(step, async () => {
        const rejects: Reject[] = [];
        const ctx = transformContext(fromId, rejects, steps.get(fromId)!.outputs.length === 1);
        const inDuckDb = await transform.processInDuckDb?.(records, ctx);
        const output = inDuckDb ?? (await transform.process(await this.origins.recordsOf(records), ctx));
        if (inDuckDb && !Array.isArray(records)) step.stats.batchesInDuckDb++;
        return { output, rejects };
      });
    } catch (error) {
      if (!isDataError(error)) throw error;
      steps.recordError(step, error);
      const all = await this.origins.recordsOf(records);
      this.context.logger.warn(`${steps.label(step)}: ${all.length} record(s) to dead-letter: ${errorMessage(error)}`);
      return { output: [], rejects: allRejected(all, error) };
    }
  }

  /**
   * One batch into a sink. Infrastructure errors are retried; a data error is not: the batch is written again in
   * halves until the records the sink refuses are found (`isolateRejects`), and they go to dead-letter while the
   * others are written. Part of a whole result (a replacing write) cannot be split, nor a batch whose shape the
   * sink refuses (DataError `wholeBatch`): their records go together.
   */
  async write(
    step: StepRuntime,
    records: Rows,
    identity?: BatchIdentity,
  ): Promise<{ inDuckDb: boolean; rejects: Reject[] }> {
    const { steps } = this.context;
    const { part } = this.batch;
    const sink = steps.sinks.get(step.declaration.id)!;
    const attempt = (rows: Rows, batch = identity) =>
      steps.retrying(step, async () => {
        // Rejects of a failed attempt are dropped: the retry finds them again.
        const rejects: Reject[] = [];
        const ctx: SinkContext = {
          reject: (record, reasons, origin) =>
            void rejects.push({ record, reasons: ([] as string[]).concat(reasons), origin }),
          ...(part ? { snapshot: part } : {}),
          ...(batch ? { batch } : {}),
        };
        return { inDuckDb: await writeRows(sink, rows, ctx), rejects };
      });
    try {
      return await attempt(records);
    } catch (error) {
      if (!isDataError(error)) throw error;
      steps.recordError(step, error);
      const all = await this.origins.recordsOf(records);
      this.context.logger.warn(
        `${steps.label(step)}: refused a batch of ${all.length} record(s) (${errorMessage(error)}); finding the records it refuses`,
      );
      // Each part written while bisecting is a batch of its own (an exactly-once sink must not take it for the whole).
      const partOf = (half: Row[]) =>
        identity && { ...identity, id: digest(identity.id, String(all.indexOf(half[0])), String(half.length)) };
      const rejects = await refusedRecords(all, error, async (half) => (await attempt(half, partOf(half))).rejects, {
        splittable: !part,
        deadlineMs: Date.now() + ISOLATE_BUDGET_MS,
      });
      return { inDuckDb: false, rejects };
    }
  }

  /** Waits for every sink write of the batch. */
  async settle(): Promise<void> {
    await Promise.all(this.writes);
  }

  /**
   * The batch is in every sink: now, and only now, the source's checkpoint moves, with the transforms' snapshots,
   * the commit times the pages show after a restart and the counters kept across restarts, in one atomic write.
   * Then the source hears of it and every step that committed says so (live pages, `after:` triggers).
   */
  async commit(
    source: SourceRuntime | undefined,
    batch: Pick<Batch, 'checkpoint' | 'snapshot'>,
    records: number,
  ): Promise<void> {
    await this.settle();
    const { steps, state, metrics, events } = this.context;
    const at = this.context.clock.now();
    const iso = at.toISOString();
    const committed = [...(source ? [{ step: source as StepRuntime, records }] : []), ...this.written];
    const changes: StateChange[] = snapshotChanges(this.snapshots);
    if (source && batch.checkpoint !== undefined) changes.push([source.declaration.id, 'checkpoint', batch.checkpoint]);
    for (const { step } of committed) changes.push([step.declaration.id, 'lastCommitAt', iso]);
    // The transforms the batch went through committed with it too (the pipeline page shows when each step last did).
    for (const step of this.passed) {
      changes.push([step.declaration.id, 'lastCommitAt', iso]);
      step.stats.lastCommitAt = iso;
    }
    changes.push(...steps.totalsChanges());
    await state.update(changes);
    if (source && batch.checkpoint !== undefined) await source.plugin.commit?.(batch.checkpoint);
    for (const { step, records: count } of committed) {
      step.stats.lastCommitAt = iso;
      metrics
        .gauge('platform_last_commit_timestamp_seconds', 'Unix time of the last successful commit', {
          step: step.declaration.id,
        })
        .set(at.getTime() / 1000);
      events.emit({
        type: 'commit',
        step: step.declaration.id,
        records: count,
        at,
        ...(batch.snapshot?.last ? { snapshot: true } : {}),
      });
    }
  }

  /**
   * The end of a replay's chunk: the sinks have the records; the transforms' snapshots are stored and the sinks'
   * commits announced (a replay moves no checkpoint).
   */
  async commitReplayed(): Promise<void> {
    await this.settle();
    await this.context.state.update(snapshotChanges(this.snapshots));
    const at = this.context.clock.now();
    for (const { step, records } of this.written)
      this.context.events.emit({ type: 'commit', step: step.declaration.id, records, at });
  }

  /** Drops the DuckDB tables held for the batch (records need nothing). A failed drop only costs memory. */
  async release(): Promise<void> {
    await release(this.held.splice(0));
  }
}

/**
 * A batch's identity at one sink: the same for the same source position reaching the same sink through the same
 * step, so a batch delivered again after a crash is recognised by the sink (exactly-once appends); different in a
 * fresh state folder (its new epoch), where reading everything again is meant to write everything again.
 */
function batchIdentity(epoch: string, origin: BatchOrigin, input: string, sink: string): BatchIdentity {
  return {
    id: digest(epoch, origin.source, origin.position, input, sink),
    writer: digest(epoch, sink),
    origin: `${origin.source} ${origin.position}`,
  };
}

/** 32 hex characters naming the parts (NUL-separated, so no two lists of parts give the same text). */
function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

export function transformContext(input: string, rejects: Reject[], exclusive = false): TransformContext {
  return {
    input,
    exclusive,
    reject: (record, reasons, origin) =>
      void rejects.push({ record, reasons: ([] as string[]).concat(reasons), origin }),
  };
}

/** Writes through the sink's DuckDB path when the rows are a DuckDB table it can take (true), else as records. */
async function writeRows(sink: Sink, rows: Rows, ctx: SinkContext): Promise<boolean> {
  if (!Array.isArray(rows) && sink.writeFromDuckDb && (await sink.writeFromDuckDb(rows, ctx))) return true;
  await sink.write(await recordsOf(rows), ctx);
  return false;
}

/** Drops the tables among a batch's rows (records need nothing). A failed drop only costs memory. */
export async function release(rows: Rows[]): Promise<void> {
  await Promise.all(rows.map((r) => (Array.isArray(r) ? undefined : r.release().catch(() => undefined))));
}

/** The transforms' snapshots of a batch as state changes. */
function snapshotChanges(snapshots: Map<string, unknown>): StateChange[] {
  return [...snapshots].map(([step, snapshot]) => [step, 'snapshot', snapshot]);
}
