// Drives the sources: once (`--once`), by schedule (cron, every), streaming (restarted from the last commit after a
// failure), by triggers (uploads, `after:` other steps). Each run reads batches with bounded read-ahead and hands
// each one to a batch transaction, in order.
import { Cron } from 'croner';
import type { Batch, Clock, Logger, Source, TriggerEvent } from '../sdk/types.ts';
import { errorMessage, rowCount } from '../sdk/index.ts';
import type { EventHub } from '../sdk/events.ts';
import { BatchOrigins } from './origins.ts';
import type { PromMetrics } from './metrics.ts';
import { BoundedQueue } from './queue.ts';
import { rebatch } from './rebatch.ts';
import type { StateStore } from './state.ts';
import { FAILED_AT, type SourceRuntime, type Steps } from './steps.ts';
import { BatchTransaction, release, type TransactionContext } from './transaction.ts';

/**
 * Counts of one source run, for upload responses: the records the source read, and the records this run sent to
 * dead-letter (from the source and every step after it; the steps' `run.rejected` count the same records).
 */
export interface RunResult {
  records: number;
  rejected: number;
}

export interface SchedulerContext {
  steps: Steps;
  state: StateStore;
  metrics: PromMetrics;
  events: EventHub;
  clock: Clock;
  logger: Logger;
  options: { once?: boolean; date?: string };
  /** Aborted when the pipeline stops. */
  abort: AbortController;
  /** Builds a step's plugin again (a streaming source restarted after a failure). */
  rebuild(source: SourceRuntime): Source;
  /** The state folder's epoch, for the transactions' batch ids. */
  epoch(): string;
}

export class Scheduler {
  private readonly tasks: Promise<unknown>[] = [];
  private readonly timers: { stop(): void }[] = [];
  /** Source runs that failed (the process's exit code says so). */
  failures = 0;

  private readonly abort: AbortController;

  constructor(private readonly context: SchedulerContext) {
    this.abort = context.abort;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /**
   * Runs the sources. With `once`, every batch source runs once, streaming sources read to their current end,
   * `after:`-triggered sources run after the others, and the promise resolves when all is done.
   * Otherwise it runs until `stop()`.
   */
  async run(): Promise<{ ok: boolean }> {
    const { options, logger } = this.context;
    const sources = [...this.context.steps.sources.values()];
    if (options.once) {
      // `trigger: after` orders a --once run: first every untriggered source, then the triggered ones by dependency.
      await Promise.allSettled(sources.filter((s) => !s.declaration.trigger).map((s) => this.drive(s, true)));
      for (const source of this.orderedTriggered()) {
        if (source.declaration.trigger?.after.length)
          await this.runSource(source, { type: 'step', step: source.declaration.trigger.after[0], records: 0 });
        else logger.info(`${source.declaration.id}: not run with --once (it runs on upload)`);
      }
      return { ok: this.failures === 0 };
    }
    // A scheduled or streaming source runs by itself even when it also has a trigger.
    for (const source of sources) {
      if (!source.declaration.trigger || source.declaration.schedule || source.definition.spec.streaming)
        this.tasks.push(this.drive(source, false));
    }
    this.wireAfterTriggers();
    await new Promise<void>((resolveStop) =>
      this.abort.signal.addEventListener('abort', () => resolveStop(), { once: true }),
    );
    await Promise.allSettled(this.tasks);
    return { ok: this.failures === 0 };
  }

  /** Stops reading: schedules and triggers end, runs stop after their current batch. Returns the runs to wait for. */
  stop(): Promise<unknown>[] {
    if (!this.abort.signal.aborted) this.abort.abort();
    for (const timer of this.timers) timer.stop();
    return this.tasks;
  }

  /** A triggered source's run, for whoever fired it (an upload): a failure is thrown to it, naming the step that gave up. */
  fire(stepId: string, event: TriggerEvent): Promise<RunResult> {
    const source = this.context.steps.sources.get(stepId);
    if (!source) throw new Error(`"${stepId}" is not a source step`);
    if (!source.declaration.trigger) throw new Error(`source "${stepId}" has no trigger: in the manifest`);
    return this.runSource(source, event, true);
  }

  /** Sources triggered after other steps, in the order of their dependencies. */
  private orderedTriggered(): SourceRuntime[] {
    const { steps } = this.context;
    const triggered = [...steps.sources.values()].filter((s) => s.declaration.trigger);
    const depth = (s: SourceRuntime): number =>
      Math.max(
        0,
        ...(s.declaration.trigger?.after ?? [])
          .flatMap((a) => steps.upstream(a))
          .map((id) => steps.sources.get(id))
          .filter((x): x is SourceRuntime => !!x && x !== s && !!x.declaration.trigger)
          .map((x) => 1 + depth(x)),
      );
    return triggered.sort((a, b) => depth(a) - depth(b));
  }

  private wireAfterTriggers(): void {
    for (const source of this.context.steps.sources.values()) {
      const after = source.declaration.trigger?.after ?? [];
      // A streaming source is always reading; `after` only orders it in --once runs.
      if (!after.length || (source.definition.spec.streaming && !source.declaration.schedule)) continue;
      // Commits are gathered for `debounce` and then trigger one run; a pending run is not pushed back by
      // further commits, so a steady stream still triggers a run every `debounce` (never starves).
      let timer: NodeJS.Timeout | undefined;
      let lastStep = after[0];
      let records = 0;
      const off = this.context.events.on((event) => {
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
    const { clock, logger } = this.context;
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
        await clock.sleep(Math.max(1000, source.declaration.policy.backoffMs * 5), this.abort.signal);
        await source.plugin.close?.().catch(() => undefined);
        source.plugin = this.context.rebuild(source);
      }
      return;
    }
    const tick = () => {
      if (this.abort.signal.aborted) return;
      this.tasks.push(this.runSource(source, { type: 'schedule', at: clock.now() }).catch(() => undefined));
    };
    if (schedule.cron) {
      const job = new Cron(schedule.cron, { timezone: schedule.timezone, protect: true }, tick);
      this.timers.push(job);
      logger.info(
        `${source.declaration.id}: scheduled "${schedule.cron}"${schedule.timezone ? ' ' + schedule.timezone : ''}, next run ${job.nextRun()?.toISOString()}`,
      );
    } else if (schedule.everyMs) {
      const interval = setInterval(tick, schedule.everyMs);
      this.timers.push({ stop: () => clearInterval(interval) });
    }
    if (schedule.runOnStart) tick();
  }

  /** One run of a source: read batches (bounded read-ahead), process each through the graph, commit in order. */
  private runSource(source: SourceRuntime, trigger?: TriggerEvent, rethrow = false): Promise<RunResult> {
    const { state, metrics, logger, options, steps } = this.context;
    return source.runs.run(async () => {
      const id = source.declaration.id;
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
          const run = {
            signal: stopRun.signal,
            once: options.once ?? false,
            date: options.date,
            checkpoint: state.forStep(id).get('checkpoint'),
            trigger,
          };
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
          metrics
            .histogram('platform_batch_seconds', 'Time to process and commit one source batch', { step: id })
            .observe((performance.now() - t0) / 1000);
          if (batch.lag !== undefined)
            metrics.gauge('platform_source_lag', 'Records the source has not read yet', { step: id }).set(batch.lag);
          if (Date.now() - lastProgress > 5000) {
            lastProgress = Date.now();
            const seconds = (lastProgress - started) / 1000;
            logger.info(
              `${id}: ${result.records.toLocaleString('en-US')} records so far (${Math.round(result.records / seconds).toLocaleString('en-US')}/s)`,
            );
          }
        }
        await reader;
        // The data part of a run alone (start-up excluded): benchmarks read it at debug level.
        logger.debug(`${id}: run read and committed`, { ...result, ms: Date.now() - started });
        return result;
      } catch (error) {
        this.failures++;
        steps.recordError(source, error);
        logger.error(
          `${id}: run failed${error instanceof Error && FAILED_AT.has(error) ? ` at ${FAILED_AT.get(error)}` : ''}, nothing after the last committed batch was committed: ${errorMessage(error)}`,
        );
        // Unblock the reader (it may be waiting for room in the queue) and let the source end its read.
        stopRun.abort();
        queue.close();
        await reader.catch(() => undefined);
        // Batches read ahead but never processed may hold DuckDB tables.
        for await (const left of queue) await release([left.records]);
        if (rethrow)
          throw error instanceof Error && FAILED_AT.has(error)
            ? new Error(`${FAILED_AT.get(error)}: ${errorMessage(error)}`, { cause: error })
            : error;
        return result;
      } finally {
        this.abort.signal.removeEventListener('abort', stopWithPipeline);
      }
    });
  }

  /** One source batch as a transaction: its rejects stored, delivered downstream, committed, released. Returns the rejects. */
  private async processBatch(source: SourceRuntime, batch: Batch): Promise<number> {
    const { steps } = this.context;
    const context: TransactionContext = { ...this.context, epoch: this.context.epoch() };
    const origin =
      batch.position !== undefined ? { source: source.declaration.id, position: batch.position } : undefined;
    const transaction = new BatchTransaction(context, new BatchOrigins(batch.records, batch.origin), {
      part: batch.snapshot,
      origin,
    });
    // The source's own DuckDB table is dropped once the batch is done, like every table made for it downstream.
    transaction.hold(batch.records);
    try {
      let rejected = 0;
      if (batch.rejects?.length) {
        await steps.reject(source, batch.rejects);
        rejected += batch.rejects.length;
      }
      const size = steps.sourceBatch(source, batch);
      await transaction.deliver(source.declaration.id, batch.records);
      await transaction.commit(source, batch, size);
      return rejected + transaction.rejected;
    } finally {
      await transaction.release();
    }
  }
}
