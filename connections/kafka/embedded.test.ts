import { mkdtempSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedTopicLog } from './embedded.ts';
import { murmur2, partitionFor } from './client.ts';

const values = (batch: { messages: { value: Buffer }[] }) => batch.messages.map((m) => m.value.toString());

async function drain(log: EmbeddedTopicLog, group: string, topics = ['t'], maxBatch = 100) {
  const consumer = await log.consumer({ group, topics, from: 'earliest' });
  const got: { topic: string; partition: number; offset: string; value: string; key: string | null }[] = [];
  for await (const batch of consumer.batches(new AbortController().signal, { once: true, maxBatch })) {
    got.push(
      ...batch.messages.map((m) => ({
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        value: m.value.toString(),
        key: m.key,
      })),
    );
  }
  return { consumer, got };
}

describe('embedded topic log', () => {
  it('partitions by key like Kafka (murmur2), keeps order per partition, and ends a once-read at the high watermark', async () => {
    const log = new EmbeddedTopicLog(mkdtempSync(join(tmpdir(), 'log-')));
    await log.createTopic('t', { partitions: 3 });
    await log.produce(
      't',
      Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 5}`, value: JSON.stringify({ i }) })),
    );
    const { got } = await drain(log, 'g');
    expect(got).toHaveLength(30);
    for (const m of got) expect(m.partition).toBe(partitionFor(m.key!, 3));
    for (let p = 0; p < 3; p++) {
      const inPartition = got.filter((m) => m.partition === p);
      expect(inPartition.map((m) => Number(m.offset))).toEqual(inPartition.map((_, i) => i));
      const order = inPartition.map((m) => JSON.parse(m.value).i as number);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    // Kafka's own test vector for its murmur2 (UtilsTest): "21" → -973932308.
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(partitionFor('21', 3)).toBe((-973932308 & 0x7fffffff) % 3);
  });

  it('persists data and committed offsets across a restart; a group resumes after its last commit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-'));
    const first = new EmbeddedTopicLog(dir);
    await first.produce(
      't',
      ['a', 'b', 'c', 'd'].map((value) => ({ value })),
    );
    const consumer = await first.consumer({ group: 'g', topics: ['t'], from: 'earliest' });
    for await (const batch of consumer.batches(new AbortController().signal, { once: true, maxBatch: 2 })) {
      expect(values(batch)).toEqual(['a', 'b']);
      await consumer.commit([{ topic: 't', partition: 0, offset: '2' }]);
      break; // "killed" after committing the first batch
    }
    await first.close();
    appendFileSync(join(dir, 't', '0.log'), '{"t":1,"k":null,"v":"tor'); // a torn write from a crash is ignored
    const second = new EmbeddedTopicLog(dir);
    const { got } = await drain(second, 'g');
    expect(got.map((m) => m.value)).toEqual(['c', 'd']);
    expect((await drain(second, 'other')).got.map((m) => m.value)).toEqual(['a', 'b', 'c', 'd']);
    await second.close();
  });

  it('splits partitions between consumers of one group, and a latest consumer only sees new messages', async () => {
    const log = new EmbeddedTopicLog(mkdtempSync(join(tmpdir(), 'log-')));
    await log.createTopic('t', { partitions: 4 });
    await log.produce(
      't',
      Array.from({ length: 40 }, (_, i) => ({ key: String(i), value: String(i) })),
    );
    const a = await log.consumer({ group: 'g', topics: ['t'], from: 'earliest' });
    const b = await log.consumer({ group: 'g', topics: ['t'], from: 'earliest' });
    const read = async (c: typeof a) => {
      const out: string[] = [];
      for await (const batch of c.batches(new AbortController().signal, { once: true, maxBatch: 100 }))
        out.push(...values(batch));
      return out;
    };
    const [fromA, fromB] = await Promise.all([read(a), read(b)]);
    expect(fromA.length).toBeGreaterThan(0);
    expect(fromB.length).toBeGreaterThan(0);
    expect([...fromA, ...fromB].sort()).toEqual(Array.from({ length: 40 }, (_, i) => String(i)).sort());
    expect(fromA.filter((v) => fromB.includes(v))).toEqual([]);

    const late = await log.consumer({ group: 'late', topics: ['t'], from: 'latest' });
    const controller = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const batch of late.batches(controller.signal, { once: false, maxBatch: 100 })) {
        seen.push(...values(batch));
        controller.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    await log.produce('t', [{ key: 'x', value: 'new' }]);
    await reading;
    expect(seen).toEqual(['new']);
  });
});
