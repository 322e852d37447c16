// The kafka sink's two error classes, against the real broker: a message larger than the broker takes goes to
// dead-letter alone while the others are produced; brokers that do not answer are infrastructure.
import { describe, expect, it } from 'vitest';
import { createTestStep, expectErrorClass, freePort, writeLikeRuntime } from '../../../core/testing.ts';
import type { TopicClient } from '../../../connections/kafka/index.ts';
import { Scratch, service } from '../../../tests/services.ts';
import plugin, { type KafkaSink } from './index.ts';

describe('kafka sink errors', () => {
  it('data: rejects a message too large for the broker; produces the rest', async () => {
    const scratch = new Scratch();
    const topic = scratch.topic('sink-errors');
    const step = await createTestStep<KafkaSink>(
      plugin,
      'sink',
      { topic },
      { connections: { bus: { type: 'kafka', brokers: service('KAFKA_BROKERS') } }, connection: 'bus' },
    );
    const bus = await step.services.connections.get<TopicClient>('bus');
    try {
      const rejects = await writeLikeRuntime(step.plugin, [{ id: 1 }, { id: 2, blob: 'x'.repeat(2 << 20) }, { id: 3 }]);
      expect(rejects.map((r) => [(r.record as { id: number }).id, r.reasons[0]])).toEqual([
        [2, expect.stringMatching(/larger than|too large/i)],
      ]);
      const consumer = await bus.consumer({
        group: scratch.group('sink-errors-check'),
        topics: [topic],
        from: 'earliest',
      });
      const got: unknown[] = [];
      for await (const batch of consumer.batches(new AbortController().signal, { once: true, maxBatch: 100 }))
        got.push(...batch.messages.map((m) => JSON.parse(m.value.toString()).id));
      await consumer.close();
      expect(got).toEqual([1, 3]);
    } finally {
      await step.close();
      await scratch.drop();
    }
  }, 60_000);

  it('infrastructure: brokers that do not answer', async () => {
    const step = await createTestStep<KafkaSink>(
      plugin,
      'sink',
      { topic: 't' },
      {
        connections: {
          bus: { type: 'kafka', brokers: `127.0.0.1:${await freePort()}`, connectionTimeout: 300, retries: 0 },
        },
        connection: 'bus',
      },
    );
    await expectErrorClass(writeLikeRuntime(step.plugin, [{ id: 1 }]), 'infrastructure');
    await step.close();
  }, 30_000);
});
