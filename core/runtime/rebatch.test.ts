import { describe, expect, it } from 'vitest';
import type { Batch, Row } from '../sdk/types.ts';
import { rowCount } from '../sdk/index.ts';
import { rebatch } from './rebatch.ts';
import { BoundedQueue } from './queue.ts';

async function* batches(...list: [number, unknown?, number?][]): AsyncGenerator<Batch> {
  let n = 0;
  for (const [size, checkpoint, delayMs] of list) {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    yield { records: Array.from({ length: size }, () => ({ n: ++n })), checkpoint };
  }
}

async function collect(source: AsyncIterable<Batch>) {
  const out: [number[], unknown][] = [];
  for await (const b of source) out.push([(b.records as Row[]).map((r) => r.n as number), b.checkpoint]);
  return out;
}

describe('rebatch', () => {
  it('splits large batches; only the last part carries the checkpoint', async () => {
    expect(await collect(rebatch(batches([5, 'a'], [2, 'b']), 2))).toEqual([
      [[1, 2], undefined],
      [[3, 4], undefined],
      [[5], 'a'],
      [[6, 7], 'b'],
    ]);
  });

  it('merges small batches up to the size, keeping the newest checkpoint', async () => {
    expect(await collect(rebatch(batches([1, 'a'], [1, 'b'], [1, 'c'], [1, 'd']), 3, 10_000))).toEqual([
      [[1, 2, 3], 'c'],
      [[4], 'd'],
    ]);
  });

  it('emits a partial batch when the timeout passes', async () => {
    expect(await collect(rebatch(batches([1, 'a'], [1, 'b', 120]), 100, 30))).toEqual([
      [[1], 'a'],
      [[2], 'b'],
    ]);
  });

  it('passes batches through untouched without size or timeout', async () => {
    expect(await collect(rebatch(batches([3, 'a'], [1, 'b'])))).toEqual([
      [[1, 2, 3], 'a'],
      [[4], 'b'],
    ]);
  });

  it('keeps the first and last marks of a whole result through splits and merges, and keeps an empty last batch', async () => {
    async function* result(...sizes: number[]): AsyncGenerator<Batch> {
      let n = 0;
      for (const [i, size] of sizes.entries()) {
        yield {
          records: Array.from({ length: size }, () => ({ n: ++n })),
          snapshot: { first: i === 0, last: i === sizes.length - 1 },
        };
      }
    }
    const marks = async (source: AsyncIterable<Batch>) => {
      const out: [number, boolean, boolean][] = [];
      for await (const b of source) out.push([rowCount(b.records), b.snapshot!.first, b.snapshot!.last]);
      return out;
    };
    // Split: 5 rows in parts of 2 → first on the head only, last on the tail only.
    expect(await marks(rebatch(result(5, 0), 2))).toEqual([
      [2, true, false],
      [2, false, false],
      [1, false, false],
      [0, false, true],
    ]);
    // Merged up to 10 rows: one batch that is both first and last (the empty last page merged in).
    expect(await marks(rebatch(result(3, 4, 0), 10, 10_000))).toEqual([[7, true, true]]);
    // An empty result stays one empty batch, both first and last.
    expect(await marks(rebatch(result(0), 2))).toEqual([[0, true, true]]);
  });
});

describe('BoundedQueue', () => {
  it('makes the producer wait while full (backpressure) and delivers everything in order', async () => {
    const queue = new BoundedQueue<number>(2);
    const pushed: number[] = [];
    const producer = (async () => {
      for (let i = 1; i <= 5; i++) {
        await queue.push(i);
        pushed.push(i);
      }
      queue.close();
    })();
    await new Promise((r) => setTimeout(r, 20));
    expect(pushed).toEqual([1, 2]); // the third push waits for room
    const got: number[] = [];
    for await (const item of queue) got.push(item);
    await producer;
    expect(got).toEqual([1, 2, 3, 4, 5]);
  });

  it('queues an item that weighs the whole capacity only alone', async () => {
    const queue = new BoundedQueue<string>(2);
    const pushed: string[] = [];
    const producer = (async () => {
      for (const [item, weight] of [
        ['a', 1],
        ['heavy', 2],
        ['b', 1],
      ] as const) {
        await queue.push(item, weight);
        pushed.push(item);
      }
      queue.close();
    })();
    await new Promise((r) => setTimeout(r, 20));
    expect(pushed).toEqual(['a']); // the heavy one waits until the queue is empty
    const got: string[] = [];
    for await (const item of queue) got.push(item);
    await producer;
    expect(got).toEqual(['a', 'heavy', 'b']);
  });
});
