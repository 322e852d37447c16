import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type Batch,
  type BatchIdentity,
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

/** Three batches of 4 numbers; every batch has a position unless `positions` is false. */
@injectable()
class Numbers implements Source {
  constructor(@inject(TOKENS.Config) private readonly config: { positions: boolean }) {}
  async *read(run: SourceRun): AsyncIterable<Batch> {
    for (let b = (run.checkpoint as number | undefined) ?? 0; b < 3; b++) {
      const records = [0, 1, 2, 3].map((i) => ({ n: b * 4 + i }));
      yield { records, checkpoint: b + 1, ...(this.config.positions ? { position: `numbers#${b}` } : {}) };
    }
  }
}

@injectable()
class Double implements Transform {
  process(records: Row[]) {
    return records.map((r) => ({ n: (r.n as number) * 2 }));
  }
}

/** Keeps every write's records and batch identity. */
@injectable()
class Recorder implements Sink {
  static writes: { sink: string; n: number[]; batch?: BatchIdentity }[] = [];
  constructor(@inject(TOKENS.Step) private readonly step: StepInfo) {}
  async write(records: Row[], ctx: SinkContext) {
    Recorder.writes.push({ sink: this.step.id, n: records.map((r) => r.n as number), batch: ctx.batch });
  }
}

const modules = [
  pluginModule(
    {
      kind: 'source',
      name: 'numbers',
      summary: '',
      stability: 'stable',
      config: { type: 'object', properties: { positions: { type: 'boolean', default: true } } },
    },
    Numbers,
  ),
  pluginModule(
    { kind: 'transform', name: 'double', summary: '', stability: 'stable', config: { type: 'object' } },
    Double,
  ),
  pluginModule(
    { kind: 'sink', name: 'recorder', summary: '', stability: 'stable', config: { type: 'object' } },
    Recorder,
  ),
];

const YAML = (source = '{ use: numbers }') => `name: ids
sources:
  nums: ${source}
transforms:
  doubled: { use: double, from: nums }
sinks:
  both: { use: recorder, from: [nums, doubled] }
  other: { use: recorder, from: nums }
`;

async function run(stateDir: string, yaml = YAML(), start?: (pipeline: Pipeline) => Promise<void>) {
  const file = join(mkdtempSync(join(tmpdir(), 'ids-manifest-')), 'ids.yaml');
  writeFileSync(file, yaml);
  const catalog = new PluginCatalog([...builtinConnectionModules, ...modules]);
  const pipeline = new Pipeline(await loadManifest(file, catalog, {}), catalog, {
    once: true,
    stateDir,
    logger: new MemoryLogger([]),
  });
  await pipeline.start();
  await start?.(pipeline);
  Recorder.writes = [];
  expect(await pipeline.run()).toEqual({ ok: true });
  await pipeline.stop();
  return Recorder.writes;
}

describe('batch identity (exactly-once appends)', () => {
  it('gives sinks a batch id made of the source position, the step it came through and the sink: the same for a batch delivered again', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ids-'));
    const copy = mkdtempSync(join(tmpdir(), 'ids-copy-'));
    // The copy is the state folder as a crash would leave it before the first commit: same epoch, no checkpoint
    // (and no lock: a crashed owner's lock is taken over, while this process still holds the one it copies).
    const first = await run(stateDir, YAML(), async () =>
      cpSync(stateDir, copy, { recursive: true, filter: (path) => !path.endsWith('platform.lock') }),
    );
    expect(first).toHaveLength(9);
    for (const write of first) {
      expect(write.batch).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f]{32}$/),
        writer: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
    }
    expect(first.find((w) => w.sink === 'other')!.batch!.origin).toBe('nums numbers#0');
    // One writer per sink; one id per (batch, input step, sink).
    expect(new Set(first.filter((w) => w.sink === 'both').map((w) => w.batch!.writer)).size).toBe(1);
    expect(first.find((w) => w.sink === 'both')!.batch!.writer).not.toBe(
      first.find((w) => w.sink === 'other')!.batch!.writer,
    );
    expect(new Set(first.map((w) => w.batch!.id)).size).toBe(9);

    const again = await run(copy);
    const key = (w: { sink: string; n: number[] }) => `${w.sink} ${w.n.join(',')}`;
    expect(new Map(again.map((w) => [key(w), w.batch]))).toEqual(new Map(first.map((w) => [key(w), w.batch])));

    // A fresh state folder is a new stream: new ids.
    const fresh = await run(mkdtempSync(join(tmpdir(), 'ids-')));
    expect(
      fresh.some((w) => first.some((f) => f.batch!.id === w.batch!.id || f.batch!.writer === w.batch!.writer)),
    ).toBe(false);
  });

  it('gives none when the source gives no position, and keeps split parts apart', async () => {
    expect(
      (await run(mkdtempSync(join(tmpdir(), 'ids-')), YAML('{ use: numbers, with: { positions: false } }'))).map(
        (w) => w.batch,
      ),
    ).toEqual(Array(9).fill(undefined));
    const split = (
      await run(mkdtempSync(join(tmpdir(), 'ids-')), YAML('{ use: numbers, policy: { batchSize: 3 } }'))
    ).filter((w) => w.sink === 'other');
    expect(split.map((w) => [w.n, w.batch!.origin])).toEqual([
      [[0, 1, 2], 'nums numbers#0#0'],
      [[3], 'nums numbers#0#1'],
      [[4, 5, 6], 'nums numbers#1#0'],
      [[7], 'nums numbers#1#1'],
      [[8, 9, 10], 'nums numbers#2#0'],
      [[11], 'nums numbers#2#1'],
    ]);
  });
});
