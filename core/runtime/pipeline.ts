import type { Container } from 'inversify';
import type { Manifest } from '../manifest/index.ts';
import type {
  Clock,
  DeadLetterQuery,
  Logger,
  Reject,
  ReplayResult,
  Row,
  Sink,
  Source,
  StepStats,
  Transform,
  View,
} from '../sdk/types.ts';
import { errorMessage } from '../sdk/index.ts';
import { systemClock } from '../sdk/clock.ts';
import { ConnectionRegistry } from '../sdk/connections.ts';
import { PluginCatalog, createRuntimeContainer, instantiateStep, type CoreServices } from '../sdk/container.ts';
import { EventHub } from '../sdk/events.ts';
import { AccessControl } from './access.ts';
import { DeadLetterStore } from './deadletter.ts';
import { producersOf, sqlViews } from './lineage.ts';
import { PromMetrics } from './metrics.ts';
import { Mutex } from './queue.ts';
import { Replay } from './replay.ts';
import { Scheduler } from './scheduler.ts';
import { StateFolder, stateDirOf, withStateDir } from './state-folder.ts';
import { StateStore } from './state.ts';
import { Steps, type StepRuntime } from './steps.ts';

export type { RunResult } from './scheduler.ts';

/** How long each phase of stop() may take before the process stops waiting for it. */
const STOP_TIMEOUT_MS = 10_000;

export interface PipelineOptions {
  once?: boolean;
  date?: string;
  /** Default: `.platform/<pipeline name>` in the working directory (or PLATFORM_STATE_DIR). */
  stateDir?: string;
  logger: Logger;
  clock?: Clock;
}

/**
 * A running pipeline: builds every step through the container, has its scheduler drive the sources, and each
 * source batch go through the graph as a batch transaction whose checkpoint is committed only after every downstream
 * sink has written it (at-least-once; effectively once with idempotent sinks). The pieces: `steps.ts` (the steps,
 * their counters and how one step takes one batch), `scheduler.ts` (drivers, triggers, restarts), `transaction.ts`
 * (deliver, commit, release), `replay.ts` (dead letters again), `state-folder.ts` (locks, epoch, modes, checkpoints).
 */
export class Pipeline {
  readonly services: CoreServices;
  readonly stateDir: string;
  private readonly state: StateStore;
  readonly metrics = new PromMetrics();
  readonly events = new EventHub();
  readonly connections: ConnectionRegistry;
  readonly deadLetters: DeadLetterStore;
  readonly access: AccessControl;
  private readonly steps: Steps;
  private readonly scheduler: Scheduler;
  private readonly folder: StateFolder;
  private readonly runtime: Container;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** Made once with the state folder; batch ids derive from it. */
  private epoch = '';

  constructor(
    readonly manifest: Manifest,
    readonly catalog: PluginCatalog,
    readonly options: PipelineOptions,
  ) {
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.stateDir = stateDirOf(manifest.name, options.stateDir);
    this.deadLetters = new DeadLetterStore(this.stateDir, {
      retention: manifest.deadLetter?.retention,
      logger: this.logger,
    });
    const connections = manifest.connections.map((c) => ({ ...c, config: withStateDir(c.config, this.stateDir) }));
    this.connections = new ConnectionRegistry(
      connections,
      catalog.connectionTypes(),
      this.stateDir,
      this.logger,
      manifest.file,
    );
    const state = (this.state = new StateStore(this.stateDir));
    this.folder = new StateFolder(this.stateDir, state, this.logger);
    this.access = new AccessControl(manifest.access);
    const views = sqlViews(manifest.connections);
    const { metrics, events, deadLetters, clock, logger } = this;
    // Aborted by stop(): sources stop reading, retries stop waiting.
    const abort = new AbortController();
    this.steps = new Steps({
      manifest,
      catalog,
      state,
      metrics,
      events,
      deadLetters,
      clock,
      logger,
      signal: abort.signal,
      sqlViews: views,
      configOf: (d) => withStateDir(d.config, this.stateDir),
    });
    this.scheduler = new Scheduler({
      steps: this.steps,
      state,
      metrics,
      events,
      clock,
      logger,
      options,
      abort,
      rebuild: (source) => this.build(source) as Source,
      epoch: () => this.epoch,
    });
    this.services = {
      logger,
      metrics,
      clock,
      connections: this.connections,
      state,
      events,
      status: {
        name: manifest.name,
        steps: () => [...this.steps.byId.values()].map((s) => ({ ...s.stats })),
        step: (id) => (this.steps.get(id) ? { ...this.steps.get(id)!.stats } : undefined),
        upstream: (id) => this.steps.upstream(id),
        details: (id) => this.steps.details(id),
        producers: (connection, sql) => producersOf(manifest.steps, connection, sql, views),
      },
      deadLetters,
      triggers: {
        fire: (step, event) => this.scheduler.fire(step, event),
        targets: (type) =>
          manifest.steps
            .filter((s) => (type === 'upload' ? s.trigger?.upload : type === 'step' ? s.trigger?.after.length : false))
            .map((s) => s.id),
      },
      access: this.access,
      stateDir: this.stateDir,
    };
    this.runtime = createRuntimeContainer(catalog, this.services);
  }

  get views(): Map<string, View> {
    return this.steps.views;
  }

  /**
   * Constructs every step's plugin without opening connections or running anything, so configuration errors
   * a plugin finds in its constructor (e.g. a dashboard's widget layout) surface in `platform validate`.
   */
  check(): string[] {
    const problems: string[] = [];
    for (const step of this.steps.byId.values()) {
      try {
        this.build(step);
      } catch (error) {
        const message = errorMessage(error);
        problems.push(
          message.includes(this.manifest.file)
            ? message
            : `${this.manifest.file}:${step.declaration.line} ${step.declaration.id}: ${message}`,
        );
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
      this.folder.lock();
      this.epoch = await this.folder.epoch();
      // The dead-letter index opens while the connections do.
      const deadLetters = this.deadLetters.ready.then(() => this.steps.countDeadLetters());
      deadLetters.catch(() => undefined); // awaited below
      await this.folder.openConnections(this.connections, this.options.once ?? false);
      await deadLetters;
      this.folder.checkCheckpoints(this.steps);
      this.buildSteps();
    } catch (error) {
      await this.connections.closeAll();
      this.folder.release();
      throw error;
    }
  }

  private buildSteps(): void {
    const { sources, transforms, sinks, views } = this.steps;
    for (const step of this.steps.byId.values()) {
      const plugin = this.build(step);
      switch (step.declaration.kind) {
        case 'source':
          sources.set(step.declaration.id, Object.assign(step, { plugin: plugin as Source, runs: new Mutex() }));
          break;
        case 'transform': {
          const transform = plugin as Transform;
          const saved = this.state.forStep(step.declaration.id).get('snapshot');
          if (saved !== undefined) transform.restore?.(saved);
          transforms.set(step.declaration.id, transform);
          break;
        }
        case 'sink':
          sinks.set(step.declaration.id, plugin as Sink);
          break;
        case 'view':
          views.set(step.declaration.id, plugin as View);
          break;
      }
    }
  }

  private build(step: StepRuntime): unknown {
    return instantiateStep(this.runtime, step.definition, step.info, step.config, this.services);
  }

  /**
   * Runs the sources (see `Scheduler.run`): with `once`, until every source ran once; otherwise until `stop()`.
   */
  run(): Promise<{ ok: boolean }> {
    return this.scheduler.run();
  }

  /** Graceful stop: sources stop reading, queued batches drain and commit, plugins and connections close. */
  async stop(): Promise<void> {
    await this.settleWithin('running steps', this.scheduler.stop());
    const { sources, transforms, sinks, views } = this.steps;
    const closing = [...sources.values()]
      .map((s) => s.plugin.close?.())
      .concat(
        [...transforms.values()].map((t) => t.close?.()),
        [...sinks.values()].map((s) => s.close?.()),
        [...views.values()].map((v) => v.close?.()),
      );
    await this.settleWithin('steps', closing);
    await this.settleWithin('connections', [this.connections.closeAll(), this.deadLetters.close()]);
    this.folder.release();
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
    if (result === 'late')
      this.logger.warn(
        `stop: ${what} did not finish within ${STOP_TIMEOUT_MS / 1000} s (a server unreachable?); not waiting longer`,
      );
  }

  get signal(): AbortSignal {
    return this.scheduler.signal;
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
    return this.steps.upstream(id);
  }

  /** Runs a transform step on records, as `platform test` does: returns output and rejects. */
  async runTransform(id: string, records: Row[]): Promise<{ output: Row[]; rejects: Reject[] }> {
    const transform = this.steps.transforms.get(id);
    if (!transform) throw new Error(`"${id}" is not a transform step`);
    const rejects: Reject[] = [];
    const output = await transform.process(records, {
      input: 'test',
      reject: (record, reasons) => void rejects.push({ record, reasons: ([] as string[]).concat(reasons) }),
    });
    return { output, rejects };
  }

  /** Replays dead letters through the steps that rejected them (see `Replay.run`). */
  replay(query: DeadLetterQuery, options: { chunk?: number } = {}): Promise<ReplayResult> {
    const { steps, state, metrics, events, clock, logger, deadLetters, epoch } = this;
    return new Replay({ steps, state, metrics, events, clock, logger, deadLetters, epoch }).run(query, options);
  }
}
