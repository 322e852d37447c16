// The runtime's one rule: a data error sends the affected records to dead-letter (with step, origin and error), the
// checkpoint advances and later data flows; only an infrastructure error retries with backoff and holds the checkpoint.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DataError,
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type Batch,
  type Row,
  type Sink,
  type SinkContext,
  type Source,
  type SourceRun,
  type StepInfo,
  type Transform,
} from '../sdk/index.ts';
import { builtinConnectionModules } from '../../connections/index.ts';
import { loadManifest } from '../manifest/index.ts';
import { PluginCatalog } from '../sdk/container.ts';
import { MemoryLogger } from '../sdk/logger.ts';
import { Pipeline } from './pipeline.ts';

/** `batches` batches of `size` records {n}; record n comes from `src:n`; the checkpoint is the last n. */
@injectable()
class Numbers implements Source {
  static commits: unknown[] = [];
  constructor(
    @inject(TOKENS.Config) private readonly config: { batches: number; size: number; bad?: number[]; wrong?: number[] },
  ) {}
  async *read(run: SourceRun): AsyncIterable<Batch> {
    let n = (run.checkpoint as number | undefined) ?? 0;
    for (let b = 0; b < this.config.batches && !run.signal.aborted; b++) {
      const records = Array.from({ length: this.config.size }, () => {
        n++;
        return {
          n,
          ...(this.config.bad?.includes(n) ? { bad: true } : {}),
          ...(this.config.wrong?.includes(n) ? { shape: 'wrong' } : {}),
        };
      });
      const first = n - records.length + 1;
      yield { records, checkpoint: n, origin: (index) => `src:${first + index}` };
    }
  }
  async commit(checkpoint: unknown) {
    Numbers.commits.push(checkpoint);
  }
}

/** A sink that refuses (a DataError) any write holding a bad record, or fails `down` times as a server that is away. */
@injectable()
class Picky implements Sink {
  static written: Row[] = [];
  static calls = 0;
  private failures = 0;
  constructor(@inject(TOKENS.Config) private readonly config: { down: number; whole: boolean }) {}
  async write(records: Row[], _ctx: SinkContext) {
    Picky.calls++;
    if (this.failures < this.config.down) {
      this.failures++;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    }
    const bad = records.find((r) => r.bad);
    if (bad) throw new DataError(`record ${bad.n} does not fit`, { wholeBatch: this.config.whole });
    Picky.written.push(...records);
  }
}

/** A transform that fails a batch with a record of the wrong shape the way DuckDB does. */
@injectable()
class Shape implements Transform {
  constructor(@inject(TOKENS.Step) private readonly step: StepInfo) {}
  process(records: Row[]) {
    if (records.some((r) => r.shape === 'wrong'))
      throw new Error(`${this.step.id}: Binder Error: Referenced column "amount" not found in FROM clause!`);
    return records;
  }
}

const modules = [
  pluginModule(
    { kind: 'source', name: 'numbers', summary: '', stability: 'stable', config: { type: 'object' } },
    Numbers,
  ),
  pluginModule(
    {
      kind: 'sink',
      name: 'picky',
      summary: '',
      stability: 'stable',
      config: {
        type: 'object',
        properties: { down: { type: 'integer', default: 0 }, whole: { type: 'boolean', default: false } },
      },
    },
    Picky,
  ),
  pluginModule(
    { kind: 'transform', name: 'shape', summary: '', stability: 'stable', config: { type: 'object' } },
    Shape,
  ),
];

async function run(yaml: string) {
  Picky.written = [];
  Picky.calls = 0;
  Numbers.commits = [];
  const dir = mkdtempSync(join(tmpdir(), 'rule-'));
  writeFileSync(join(dir, 'p.yaml'), yaml);
  const catalog = new PluginCatalog([...builtinConnectionModules, ...modules]);
  const logs: string[] = [];
  const pipeline = new Pipeline(await loadManifest(join(dir, 'p.yaml'), catalog, {}), catalog, {
    once: true,
    stateDir: dir,
    logger: new MemoryLogger(logs),
  });
  await pipeline.start();
  const { ok } = await pipeline.run();
  const dead = (await pipeline.deadLetters.list({ limit: 1000 })).entries
    .map((e) => [e.step, e.origin, e.reasons.join('; ')])
    .reverse();
  const stats = Object.fromEntries(pipeline.stats().map((s) => [s.id, s]));
  await pipeline.stop();
  return { ok, dead, logs, stats };
}

describe('data errors go to dead-letter, infrastructure errors retry', () => {
  it('bisects a batch the sink refuses down to the records it refuses: the others are written in order, the checkpoint moves on', async () => {
    const { ok, dead, logs, stats } = await run(`name: t
defaults: { backoff: 1ms, retries: 3 }
sources:
  nums: { use: numbers, with: { batches: 3, size: 1000, bad: [17, 1500, 1501, 2999] } }
sinks:
  out: { use: picky, from: nums }
`);
    expect(ok).toBe(true);
    expect(dead).toEqual([
      ['out', 'src:17', 'record 17 does not fit'],
      ['out', 'src:1500', 'record 1500 does not fit'],
      ['out', 'src:1501', 'record 1501 does not fit'],
      ['out', 'src:2999', 'record 2999 does not fit'],
    ]);
    const expected = Array.from({ length: 3000 }, (_, i) => i + 1).filter((n) => ![17, 1500, 1501, 2999].includes(n));
    expect(Picky.written.map((r) => r.n)).toEqual(expected);
    expect(Numbers.commits).toEqual([1000, 2000, 3000]);
    // No retry for a data error; a few writes per refused record (log2 of the batch each), not one per record.
    expect(logs.some((l) => l.includes('retry'))).toBe(false);
    expect(Picky.calls).toBeLessThan(3 + 4 * 2 * 10);
    expect([stats.out.recordsIn, stats.out.recordsOut, stats.out.run.rejected, stats.out.rejected]).toEqual([
      3000, 2996, 4, 4,
    ]);
  });

  it('sends a batch whose shape the sink refuses (wholeBatch) to dead-letter together, without bisecting it', async () => {
    const { ok, dead } = await run(`name: t
sources:
  nums: { use: numbers, with: { batches: 2, size: 100, bad: [5] } }
sinks:
  out: { use: picky, from: nums, with: { whole: true } }
`);
    expect(ok).toBe(true);
    expect(dead).toHaveLength(100);
    expect(dead[0]).toEqual(['out', 'src:1', 'record 5 does not fit']);
    expect(Picky.calls).toBe(2);
    expect(Picky.written.map((r) => r.n)).toEqual(Array.from({ length: 100 }, (_, i) => i + 101));
  });

  it('sends the batch a transform cannot take (a DuckDB Binder Error) to dead-letter with its origins; the next batch flows', async () => {
    const { ok, dead, stats } = await run(`name: t
sources:
  nums: { use: numbers, with: { batches: 3, size: 10, wrong: [12] } }
transforms:
  enrich: { use: shape, from: nums }
sinks:
  out: { use: picky, from: enrich }
`);
    expect(ok).toBe(true);
    expect(dead).toEqual(
      Array.from({ length: 10 }, (_, i) => [
        'enrich',
        `src:${i + 11}`,
        'enrich: Binder Error: Referenced column "amount" not found in FROM clause!',
      ]),
    );
    expect(Picky.written.map((r) => r.n)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => i + 1),
      ...Array.from({ length: 10 }, (_, i) => i + 21),
    ]);
    expect(Numbers.commits).toEqual([10, 20, 30]);
    expect(stats.enrich.errors).toBe(1);
  });

  it('retries an infrastructure error with backoff and loses nothing; when retries run out the checkpoint holds', async () => {
    const recovered = await run(`name: t
defaults: { backoff: 1ms, retries: 3 }
sources:
  nums: { use: numbers, with: { batches: 2, size: 5 } }
sinks:
  out: { use: picky, from: nums, with: { down: 2 } }
`);
    expect(recovered.ok).toBe(true);
    expect(recovered.logs.filter((l) => l.includes('ECONNREFUSED') && l.includes('retry'))).toHaveLength(2);
    expect(Picky.written.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(recovered.dead).toEqual([]);

    const failed = await run(`name: t
defaults: { backoff: 1ms, retries: 2 }
sources:
  nums: { use: numbers, with: { batches: 2, size: 5 } }
sinks:
  out: { use: picky, from: nums, with: { down: 10 } }
`);
    expect(failed.ok).toBe(false);
    expect(Numbers.commits).toEqual([]);
    expect(failed.dead).toEqual([]);
  });

  it('answers whoever fired a run (an upload) with the step that failed and its error, and counts this run as the stats do', async () => {
    Picky.written = [];
    const dir = mkdtempSync(join(tmpdir(), 'rule-'));
    writeFileSync(
      join(dir, 'p.yaml'),
      `name: t
defaults: { backoff: 1ms, retries: 1 }
sources:
  nums: { use: numbers, trigger: { upload: true }, with: { batches: 1, size: 4, bad: [2] } }
sinks:
  out: { use: picky, from: nums }
  down: { use: picky, from: nums, with: { down: 5 } }
`,
    );
    const catalog = new PluginCatalog([...builtinConnectionModules, ...modules]);
    const pipeline = new Pipeline(await loadManifest(join(dir, 'p.yaml'), catalog, {}), catalog, {
      stateDir: dir,
      logger: new MemoryLogger(),
    });
    await pipeline.start();
    const upload = { type: 'upload' as const, file: join(dir, 'x.csv'), filename: 'x.csv', view: 'v' };
    await expect(pipeline.services.triggers.fire('nums', upload)).rejects.toThrow(
      /^down \(.*p\.yaml:7\): connect ECONNREFUSED 127\.0\.0\.1:5432$/,
    );
    await pipeline.stop();

    writeFileSync(
      join(dir, 'p.yaml'),
      `name: t
sources:
  nums: { use: numbers, trigger: { upload: true }, with: { batches: 1, size: 4, bad: [2] } }
sinks:
  out: { use: picky, from: nums }
`,
    );
    const healthy = new Pipeline(await loadManifest(join(dir, 'p.yaml'), catalog, {}), catalog, {
      stateDir: join(dir, 'again'),
      logger: new MemoryLogger(),
    });
    await healthy.start();
    expect(await healthy.services.triggers.fire('nums', upload)).toEqual({ records: 4, rejected: 1 });
    expect(healthy.stats().reduce((sum, s) => sum + s.run.rejected, 0)).toBe(1);
    await healthy.stop();
  });

  it("keeps each record's origin through merged and split batches (policy batchSize)", async () => {
    const { dead } = await run(`name: t
sources:
  nums: { use: numbers, with: { batches: 5, size: 3, bad: [2, 7, 14] }, policy: { batchSize: 4 } }
sinks:
  out: { use: picky, from: nums }
`);
    expect(dead.map(([, origin]) => origin)).toEqual(['src:2', 'src:7', 'src:14']);
    expect(Picky.written.map((r) => r.n)).toEqual([1, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 15]);
  });
});
