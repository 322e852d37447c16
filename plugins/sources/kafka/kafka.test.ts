import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestStep, readAll } from '../../../core/testing.ts';
import { recordsOf } from '../../../core/sdk/index.ts';
import type { TopicClient } from '../../../connections/kafka/index.ts';
import source, { nonFiniteAsNull, type KafkaSource } from './index.ts';
import sink, { type KafkaSink } from '../../sinks/kafka/index.ts';

function embedded(stateDir: string) {
  return { connections: { bus: { type: 'kafka', brokers: 'embedded', partitions: 2 } }, connection: 'bus', stateDir };
}

describe('kafka source and sink (embedded topic log)', () => {
  it('round-trips records keyed by a field; malformed messages become dead letters with their offset', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'kafka-'));
    const producer = await createTestStep<KafkaSink>(
      sink,
      'sink',
      { topic: 'events', key: 'user', partitions: 2 },
      embedded(stateDir),
    );
    const records = Array.from({ length: 50 }, (_, i) => ({
      id: i,
      user: `u${i % 7}`,
      at: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
    }));
    await producer.plugin.write(records);
    const bus = await producer.services.connections.get<TopicClient>('bus');
    await bus.produce('events', [{ key: 'u1', value: '{not json' }]);
    await producer.close();

    const consumer = await createTestStep<KafkaSource>(
      source,
      'source',
      { topics: 'events', group: 'g', metadata: true },
      embedded(stateDir),
    );
    const { records: got, rejects, checkpoint } = await readAll(consumer.plugin);
    expect(
      got.map(({ id, user, at }) => ({ id, user, at })).sort((a, b) => (a.id as number) - (b.id as number)),
    ).toEqual(records);
    expect(new Set(got.map((r) => r._partition)).size).toBe(2);
    expect(rejects).toHaveLength(1);
    expect(rejects[0].record).toBe('{not json');
    expect(rejects[0].reasons[0]).toMatch(/^invalid JSON: /);
    expect(rejects[0].origin).toMatch(/^events\/\d@\d+$/);
    expect(checkpoint).toBeDefined();
    await consumer.close();
  });

  it('produces a batch with an identity once: delivered again (whole, or after a produce cut short, or after a restart) nothing doubles', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'kafka-'));
    const ctx = (n?: number) => ({
      reject: () => undefined,
      ...(n ? { batch: { id: `${n}`.repeat(32), writer: 'w'.repeat(32), origin: `files #${n}` } } : {}),
    });
    const records = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ n: from + i, ...(i % 2 ? { user: `u${from + i}` } : {}) }));
    const producer = await createTestStep<KafkaSink>(
      sink,
      'sink',
      { topic: 'once', key: 'user', partitions: 2 },
      embedded(stateDir),
    );
    await producer.plugin.write(records(0, 4), ctx(1));
    await producer.plugin.write(records(0, 4), ctx(1));
    // Batch 2's produce was cut short after its first three messages; then it comes again, whole.
    const bus = await producer.services.connections.get<TopicClient>('bus');
    await bus.produceOnce(
      'once',
      records(4, 3).map((r) => ({ key: (r.user as string | undefined) ?? null, value: JSON.stringify(r) })),
      ctx(2).batch!,
    );
    await producer.plugin.write(records(4, 5), ctx(2));
    await producer.close();
    // A restarted process reads the marks back from the log.
    const restarted = await createTestStep<KafkaSink>(
      sink,
      'sink',
      { topic: 'once', key: 'user', partitions: 2 },
      embedded(stateDir),
    );
    await restarted.plugin.write(records(4, 5), ctx(2));
    await restarted.plugin.write(records(9, 1), ctx());
    await restarted.plugin.write(records(9, 1), ctx()); // without identity: produced each time, as before
    await restarted.close();
    const consumer = await createTestStep<KafkaSource>(
      source,
      'source',
      { topics: 'once', group: 'g' },
      embedded(stateDir),
    );
    expect(
      (await readAll(consumer.plugin)).records.map((r) => r.n).sort((a, b) => (a as number) - (b as number)),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9]);
    await consumer.close();
  });

  it('commits offsets only when told (after the sinks): an uncommitted batch is read again', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'kafka-'));
    const producer = await createTestStep<KafkaSink>(
      sink,
      'sink',
      { topic: 't' },
      { ...embedded(stateDir), connections: { bus: { type: 'kafka' } } },
    );
    await producer.plugin.write([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await producer.close();
    const options = { ...embedded(stateDir), connections: { bus: { type: 'kafka' } } };
    const first = await createTestStep<KafkaSource>(
      source,
      'source',
      { topics: 't', group: 'g', maxBatch: 2 },
      options,
    );
    for await (const batch of first.plugin.read({
      once: true,
      signal: new AbortController().signal,
      checkpoint: undefined,
    })) {
      expect(await recordsOf(batch.records)).toEqual([{ n: 1 }, { n: 2 }]);
      await first.plugin.commit(batch.checkpoint);
      break;
    }
    await first.close();
    const second = await createTestStep<KafkaSource>(source, 'source', { topics: 't', group: 'g' }, options);
    expect((await readAll(second.plugin)).records).toEqual([{ n: 3 }]);
    await second.close();
    const third = await createTestStep<KafkaSource>(source, 'source', { topics: 't', group: 'g' }, options);
    expect((await readAll(third.plugin)).records).toEqual([{ n: 3 }]); // still not committed: read again
    await third.close();
  });

  it('commits in the background and in order; a failed commit fails the next one, a last one is waited for on close', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'kafka-'));
    const options = { ...embedded(stateDir), connections: { bus: { type: 'kafka' } } };
    const producer = await createTestStep<KafkaSink>(sink, 'sink', { topic: 'c' }, options);
    await producer.plugin.write(Array.from({ length: 6 }, (_, n) => ({ n })));
    await producer.close();
    const first = await createTestStep<KafkaSource>(
      source,
      'source',
      { topics: 'c', group: 'g', maxBatch: 2 },
      options,
    );
    const checkpoints: unknown[] = [];
    for await (const batch of first.plugin.read({
      once: true,
      signal: new AbortController().signal,
      checkpoint: undefined,
    }))
      checkpoints.push(batch.checkpoint);
    expect(checkpoints).toHaveLength(3);
    await first.plugin.commit(checkpoints[0]);
    await first.plugin.commit(checkpoints[1]); // not awaited by the broker yet: close waits for it
    await first.close();
    const second = await createTestStep<KafkaSource>(
      source,
      'source',
      { topics: 'c', group: 'g', maxBatch: 2 },
      options,
    );
    const batches = [];
    for await (const batch of second.plugin.read({
      once: true,
      signal: new AbortController().signal,
      checkpoint: undefined,
    }))
      batches.push(batch);
    expect(await Promise.all(batches.map((b) => recordsOf(b.records)))).toEqual([[{ n: 4 }, { n: 5 }]]);
    // The broker refuses a commit: the call itself returns, the next commit reports it.
    const consumer = (second.plugin as unknown as { consumer: { commit(): Promise<void> } }).consumer;
    consumer.commit = async () => {
      throw new Error('coordinator not available');
    };
    await second.plugin.commit(batches[0].checkpoint);
    // Time passes before anyone asks (a run that failed for another reason waits before closing its source): the
    // failed commit must not be an unhandled rejection, which would end the process.
    await new Promise((r) => setTimeout(r, 50));
    await expect(second.plugin.commit(batches[0].checkpoint)).rejects.toThrow('coordinator not available');
    await second.close();
    expect(second.logs.join('\n')).toContain(
      'last offset commit failed, its messages will be read again: coordinator not available',
    );
  });

  it("produces a field's text as the message value as it is (exact shapes made upstream); a record without it goes to dead-letter", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'kafka-'));
    const options = { ...embedded(stateDir), connections: { bus: { type: 'kafka' } } };
    const producer = await createTestStep<KafkaSink>(
      sink,
      'sink',
      { topic: 'v', key: 'id', value: 'message' },
      options,
    );
    const message = '{"invoice_id": 3, "items": [{"product_id": 4, "quantity": 2}]}';
    await producer.plugin.write(
      [
        { id: 3, message },
        { id: 4, message: null },
      ],
      {
        reject: (record, reasons) => void producer.rejects.push({ record, reasons: ([] as string[]).concat(reasons) }),
      },
    );
    expect(producer.rejects).toEqual([
      { record: { id: 4, message: null }, reasons: ['message: missing (the message value; text expected)'] },
    ]);
    const bus = await producer.services.connections.get<TopicClient>('bus');
    const consumer = await bus.consumer({ group: 'raw', topics: ['v'], from: 'earliest' });
    for await (const batch of consumer.batches(new AbortController().signal, { once: true, maxBatch: 10 })) {
      expect(batch.messages.map((m) => [m.key, m.value.toString('utf8')])).toEqual([['3', message]]);
    }
    await consumer.close();
    await producer.close();
  });

  it("reads Python's NaN/Infinity tokens as null with nanAsNull (dead-letter without it), never inside strings", async () => {
    expect(nonFiniteAsNull('{"a": NaN, "b": "NaN and -Infinity", "c": [Infinity, -Infinity], "d": "\\"NaN"}')).toBe(
      '{"a": null, "b": "NaN and -Infinity", "c": [null, null], "d": "\\"NaN"}',
    );
    const stateDir = mkdtempSync(join(tmpdir(), 'kafka-'));
    const options = { ...embedded(stateDir), connections: { bus: { type: 'kafka' } } };
    const producer = await createTestStep<KafkaSink>(sink, 'sink', { topic: 'py' }, options);
    const bus = await producer.services.connections.get<TopicClient>('bus');
    await bus.createTopic('py');
    await bus.produce('py', [{ value: '{"product_id": 2, "category": NaN, "name": "NaN"}' }]);
    await producer.close();
    for (const [nanAsNull, group] of [
      [true, 'lenient'],
      [false, 'strict'],
    ] as const) {
      const consumer = await createTestStep<KafkaSource>(source, 'source', { topics: 'py', group, nanAsNull }, options);
      const { records, rejects } = await readAll(consumer.plugin);
      expect(records).toEqual(nanAsNull ? [{ product_id: 2, category: null, name: 'NaN' }] : []);
      expect(rejects.length).toBe(nanAsNull ? 0 : 1);
      await consumer.close();
    }
  });
});
