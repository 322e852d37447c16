import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  asWholeResult,
  inject,
  injectable,
  pluginModule,
  SnapshotBuffer,
  TOKENS,
  type Batch,
  type Row,
  type Sink,
  type SinkContext,
  type Source,
  type SourceRun,
  type StepInfo,
  type Transform,
  type TransformContext,
} from '../sdk/index.ts';
import { builtinConnectionModules } from '../../connections/index.ts';
import { loadManifest } from '../manifest/index.ts';
import { PluginCatalog } from '../sdk/container.ts';
import { MemoryLogger } from '../sdk/logger.ts';
import { Pipeline } from './pipeline.ts';

/** Emits `total` numbered records in batches of `batch`; the checkpoint is the last number emitted. */
@injectable()
class Counter implements Source {
  static commits: unknown[] = [];
  constructor(@inject(TOKENS.Config) private readonly config: { total: number; batch: number }) {}
  async *read(run: SourceRun): AsyncIterable<Batch> {
    let n = (run.checkpoint as number | undefined) ?? 0;
    while (n < this.config.total && !run.signal.aborted) {
      const records = Array.from({ length: Math.min(this.config.batch, this.config.total - n) }, (_, i) => ({
        n: n + i + 1,
      }));
      n += records.length;
      yield {
        records,
        checkpoint: n,
        rejects: n === this.config.batch ? [{ record: 'garbage', reasons: ['unparseable'], origin: 'counter:1' }] : [],
      };
    }
  }
  async commit(checkpoint: unknown) {
    Counter.commits.push(checkpoint);
  }
}

@injectable()
class RejectOdd implements Transform {
  process(records: Row[], ctx: TransformContext) {
    return records.filter((r) => ((r.n as number) % 2 === 0 ? true : (ctx.reject(r, `n=${r.n} is odd`), false)));
  }
}

/** Keeps what it writes in `written[step]`; fails `failTimes` times, or for good at batches containing `failOn`. */
@injectable()
class MemorySink implements Sink {
  static written: Record<string, Row[]> = {};
  static failOn: { step: string; n: number } | null = null;
  static stateDuringWrite: unknown[] = [];
  private failures = 0;
  constructor(
    @inject(TOKENS.Config) private readonly config: { failTimes: number },
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.StateDir) private readonly stateDir: string,
  ) {}
  async write(records: Row[], _ctx: SinkContext) {
    MemorySink.stateDuringWrite.push(readCheckpoint(this.stateDir));
    if (this.failures < this.config.failTimes) {
      this.failures++;
      throw new Error('transient: connection reset');
    }
    if (MemorySink.failOn?.step === this.step.id && records.some((r) => r.n === MemorySink.failOn!.n))
      throw new Error('disk full');
    (MemorySink.written[this.step.id] ??= []).push(...records);
  }
}

/** A query over `TableQuery.rows`: each run emits the table's whole current content in pages of `page` rows. */
@injectable()
class TableQuery implements Source {
  static rows: Row[] = [];
  constructor(@inject(TOKENS.Config) private readonly config: { page: number }) {}
  read(run: SourceRun): AsyncIterable<Batch> {
    const { page } = this.config;
    async function* pages(): AsyncGenerator<Batch> {
      for (let i = 0; i < TableQuery.rows.length; i += page) yield { records: TableQuery.rows.slice(i, i + page) };
    }
    return asWholeResult(pages(), run.signal);
  }
}

/** Replaces its target `targets[step]` with what it is given, as replace-mode sinks do; `seen` keeps every content the target had. */
@injectable()
class ReplaceSink implements Sink {
  static targets: Record<string, Row[]> = {};
  static seen: Record<string, number[][]> = {};
  private readonly wholeResult = new SnapshotBuffer();
  constructor(@inject(TOKENS.Step) private readonly step: StepInfo) {}
  async write(batch: Row[], ctx: SinkContext) {
    const records = this.wholeResult.collect(batch, ctx.snapshot);
    if (!records) return;
    ReplaceSink.targets[this.step.id] = [...records];
    (ReplaceSink.seen[this.step.id] ??= []).push(records.map((r) => r.n as number));
    this.wholeResult.done();
  }
}

function readCheckpoint(stateDir: string): unknown {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')).nums?.checkpoint;
  } catch {
    return undefined;
  }
}

const modules = [
  pluginModule(
    {
      kind: 'source',
      name: 'counter',
      summary: '',
      stability: 'stable',
      config: { type: 'object', properties: { total: { type: 'integer' }, batch: { type: 'integer' } } },
    },
    Counter,
  ),
  pluginModule(
    { kind: 'transform', name: 'reject-odd', summary: '', stability: 'stable', config: { type: 'object' } },
    RejectOdd,
  ),
  pluginModule(
    {
      kind: 'source',
      name: 'table-query',
      summary: '',
      stability: 'stable',
      config: { type: 'object', properties: { page: { type: 'integer' } } },
    },
    TableQuery,
  ),
  pluginModule(
    { kind: 'sink', name: 'replace', summary: '', stability: 'stable', config: { type: 'object' } },
    ReplaceSink,
  ),
  pluginModule(
    {
      kind: 'sink',
      name: 'memory',
      summary: '',
      stability: 'stable',
      config: { type: 'object', properties: { failTimes: { type: 'integer', default: 0 } } },
    },
    MemorySink,
  ),
];

async function pipelineFor(yaml: string, stateDir: string, once = true) {
  const file = join(stateDir, 'pipeline.yaml');
  writeFileSync(file, yaml);
  const catalog = new PluginCatalog([...builtinConnectionModules, ...modules]);
  const manifest = await loadManifest(file, catalog, {});
  const logs: string[] = [];
  const pipeline = new Pipeline(manifest, catalog, { once, stateDir, logger: new MemoryLogger(logs) });
  await pipeline.start();
  return { pipeline, logs };
}

const YAML = (failTimes = 0) => `name: t
defaults: { backoff: 1ms, retries: 2 }
sources:
  nums: { use: counter, with: { total: 10, batch: 4 } }
transforms:
  even: { use: reject-odd, from: nums }
sinks:
  all: { use: memory, from: nums, with: { failTimes: ${failTimes} } }
  evens: { use: memory, from: even }
`;

function reset() {
  MemorySink.written = {};
  MemorySink.failOn = null;
  MemorySink.stateDuringWrite = [];
  Counter.commits = [];
}

describe('pipeline runner', () => {
  it('remembers when each step last committed, so a restarted process does not show "never updated"', async () => {
    reset();
    const stateDir = mkdtempSync(join(tmpdir(), 'pipeline-'));
    const first = await pipelineFor(YAML(), stateDir);
    expect(await first.pipeline.run()).toEqual({ ok: true });
    const committed = Object.fromEntries(first.pipeline.stats().map((s) => [s.id, s.lastCommitAt]));
    await first.pipeline.stop();
    expect(committed.nums).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(committed.all).toBe(committed.nums);

    const restarted = await pipelineFor(YAML(), stateDir);
    expect(Object.fromEntries(restarted.pipeline.stats().map((s) => [s.id, s.lastCommitAt]))).toEqual(committed);
    await restarted.pipeline.stop();
  });

  it('moves every batch through transforms to every sink, with rejects in dead-letter and stats', async () => {
    reset();
    const stateDir = mkdtempSync(join(tmpdir(), 'pipeline-'));
    const { pipeline } = await pipelineFor(YAML(), stateDir);
    expect(await pipeline.run()).toEqual({ ok: true });
    expect(MemorySink.written.all.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(MemorySink.written.evens.map((r) => r.n)).toEqual([2, 4, 6, 8, 10]);
    expect(Counter.commits).toEqual([4, 8, 10]);
    const stats = Object.fromEntries(
      pipeline.stats().map((s) => [s.id, [s.recordsIn, s.recordsOut, s.rejected, s.batches]]),
    );
    expect(stats).toEqual({ nums: [0, 10, 1, 3], even: [10, 5, 5, 3], all: [10, 10, 0, 3], evens: [5, 5, 0, 3] });
    const dead = await pipeline.deadLetters.list({});
    expect(dead.total).toBe(6);
    expect(dead.entries.at(-1)).toMatchObject({
      step: 'nums',
      reasons: ['unparseable'],
      origin: 'counter:1',
      record: 'garbage',
    });
    expect(dead.entries[0]).toMatchObject({ step: 'even', reasons: ['n=9 is odd'], record: { n: 9 } });
    expect(await pipeline.metrics.text()).toContain('platform_records_rejected_total{step="even"} 5');
    await pipeline.stop();
  });

  it('commits a checkpoint only after every sink wrote its batch', async () => {
    reset();
    const stateDir = mkdtempSync(join(tmpdir(), 'pipeline-'));
    const { pipeline } = await pipelineFor(YAML(), stateDir);
    await pipeline.run();
    // While batch k was being written, the stored checkpoint was still that of batch k-1.
    expect(MemorySink.stateDuringWrite.filter((_, i) => i % 2 === 0)).toEqual([undefined, 4, 8]);
    expect(readCheckpoint(stateDir)).toBe(10);
    await pipeline.stop();
  });

  it('retries a transient sink failure with backoff and loses nothing', async () => {
    reset();
    const stateDir = mkdtempSync(join(tmpdir(), 'pipeline-'));
    const { pipeline, logs } = await pipelineFor(YAML(2), stateDir);
    expect(await pipeline.run()).toEqual({ ok: true });
    expect(MemorySink.written.all.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(pipeline.stats().find((s) => s.id === 'all')!.errors).toBe(2);
    expect(logs.filter((l) => l.includes('transient: connection reset — retry'))).toHaveLength(2);
    expect(logs.some((l) => l.includes('all (') && l.includes('pipeline.yaml:8'))).toBe(true);
    await pipeline.stop();
  });

  it('stops at a persistent failure without committing, and a restart resumes from the last commit', async () => {
    reset();
    const stateDir = mkdtempSync(join(tmpdir(), 'pipeline-'));
    MemorySink.failOn = { step: 'all', n: 6 }; // sink `all` cannot write the second batch (5..8)
    const first = await pipelineFor(YAML(), stateDir);
    expect(await first.pipeline.run()).toEqual({ ok: false });
    await first.pipeline.stop();
    expect(readCheckpoint(stateDir)).toBe(4);
    expect(first.logs.some((l) => l.includes('nums: run failed') && l.includes('disk full'))).toBe(true);

    MemorySink.failOn = null;
    const second = await pipelineFor(YAML(), stateDir);
    expect(await second.pipeline.run()).toEqual({ ok: true });
    await second.pipeline.stop();
    // Every record exactly once in the sink that failed; the other sink saw batch 2 twice (at-least-once).
    expect(MemorySink.written.all.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(MemorySink.written.evens.map((r) => r.n)).toEqual([2, 4, 6, 8, 6, 8, 10]);
    expect(readCheckpoint(stateDir)).toBe(10);
    // Dead letters persist across restarts and are counted in the new run's stats.
    expect(second.pipeline.stats().find((s) => s.id === 'nums')!.rejected).toBe(1);
  });
});

describe('pipeline runner with a source emitting whole results', () => {
  const yaml = `name: t
defaults: { backoff: 1ms, retries: 1 }
sources:
  query: { use: table-query, with: { page: 3 }, policy: { batchSize: 2 } }
transforms:
  even: { use: reject-odd, from: query }
sinks:
  copy: { use: replace, from: query }
  evens: { use: replace, from: even }
  log: { use: memory, from: query }
`;
  const runOnce = async (stateDir: string, rows: number[]) => {
    TableQuery.rows = rows.map((n) => ({ n }));
    const { pipeline } = await pipelineFor(yaml, stateDir);
    const commits: { step: string; records: number; snapshot?: boolean }[] = [];
    pipeline.events.on(
      (e) => void (e.type === 'commit' && commits.push({ step: e.step, records: e.records, snapshot: e.snapshot })),
    );
    expect(await pipeline.run()).toEqual({ ok: true });
    await pipeline.stop();
    return commits;
  };
  const target = (step: string) => ReplaceSink.targets[step].map((r) => r.n as number);

  it('replaces a target with a result of several pages whole, and empties it when the result shrinks to nothing', async () => {
    ReplaceSink.targets = {};
    ReplaceSink.seen = {};
    MemorySink.written = {};
    const stateDir = mkdtempSync(join(tmpdir(), 'pipeline-'));
    // 7 rows in pages of 3, split again to batches of 2 by the policy: 5 batches, one whole result.
    await runOnce(stateDir, [1, 2, 3, 4, 5, 6, 7]);
    expect(target('copy')).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(target('evens')).toEqual([2, 4, 6]);
    // The targets only ever held whole results, never a page of one.
    expect(ReplaceSink.seen).toEqual({ copy: [[1, 2, 3, 4, 5, 6, 7]], evens: [[2, 4, 6]] });

    // Only odd rows now: the transform lets nothing through, and `evens` must become empty (not keep 2, 4, 6).
    await runOnce(stateDir, [1, 3]);
    expect(target('copy')).toEqual([1, 3]);
    expect(target('evens')).toEqual([]);

    // The query's result is empty: every replaced target becomes empty; the appending sink gets nothing new.
    const commits = await runOnce(stateDir, []);
    expect(target('copy')).toEqual([]);
    expect(target('evens')).toEqual([]);
    expect(MemorySink.written.log.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 1, 3]);
    // The commit of an empty result says it ended a whole result, so `trigger: after` steps re-run on it.
    expect(commits).toEqual(
      expect.arrayContaining([
        { step: 'copy', records: 0, snapshot: true },
        { step: 'query', records: 0, snapshot: true },
      ]),
    );
  });

  it('re-runs a `trigger: after` source when an upstream result became empty (a commit of 0 records that ended a whole result)', async () => {
    MemorySink.written = {};
    TableQuery.rows = [];
    const stateDir = mkdtempSync(join(tmpdir(), 'pipeline-'));
    const { pipeline } = await pipelineFor(
      `name: t
sources:
  query: { use: table-query, with: { page: 3 } }
  follow: { use: counter, with: { total: 2, batch: 2 }, trigger: { after: [copy], debounce: 10ms } }
sinks:
  copy: { use: replace, from: query }
  followed: { use: memory, from: follow }
`,
      stateDir,
      false,
    );
    const running = pipeline.run();
    for (let i = 0; i < 200 && !MemorySink.written.followed; i++) await new Promise((r) => setTimeout(r, 10));
    await pipeline.stop();
    await running;
    expect(MemorySink.written.followed?.map((r) => r.n)).toEqual([1, 2]);
  });
});
