// The kafka source's two error classes: a message it cannot parse, or whose record a later step refuses, goes to
// dead-letter with topic/partition@offset and its offset is committed (one bad message never blocks a partition);
// brokers that do not answer are infrastructure.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestStep, expectErrorClass, freePort, readAll } from '../../../core/testing.ts';
import type { TopicClient } from '../../../connections/kafka/index.ts';
import { runManifest } from '../../../tests/manifest.ts';
import type { DuckDbClient } from '../../../connections/duckdb/index.ts';
import source, { type KafkaSource } from './index.ts';

describe('kafka source errors', () => {
  it('data: a message that is not JSON and a record validate refuses both carry topic/partition@offset; the rest lands and the offsets move on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kafka-errors-'));
    const yaml = `name: kafka-errors
connections:
  bus: { type: kafka, brokers: embedded }
sources:
  events: { use: kafka, connection: bus, with: { topics: payments, startFrom: earliest } }
transforms:
  checked: { use: validate, from: events, with: { schema: { required: [id, amount], properties: { amount: { type: number, exclusiveMinimum: 0 } } } } }
sinks:
  out: { use: csv, from: checked, with: { path: "${join(dir, 'out.csv')}", mode: append } }
`;
    const first = await runManifest(
      yaml.replace(
        '{ use: kafka, connection: bus, with: { topics: payments, startFrom: earliest } }',
        '{ use: kafka, connection: bus, trigger: { upload: true }, with: { topics: payments, startFrom: earliest } }',
      ),
      dir,
    );
    const bus = await first.pipeline.connections.get<TopicClient>('bus', 'kafka');
    await bus.createTopic('payments');
    await bus.produce('payments', [
      { key: null, value: '{"id":1,"amount":10}' },
      { key: null, value: '{not json' },
      { key: null, value: '{"id":3,"amount":-5}' },
      { key: null, value: '{"id":4,"amount":4}' },
    ]);
    await first.pipeline.stop();

    const run = await runManifest(yaml, dir);
    expect(run.ok).toBe(true);
    expect(run.dead.map((e) => [e.step, e.origin, e.reasons[0]])).toEqual([
      ['events', 'payments/0@1', expect.stringMatching(/^invalid JSON: /)],
      ['checked', 'payments/0@2', 'amount: must be > 0'],
    ]);
    expect(run.pipeline.stats().find((s) => s.id === 'out')!.recordsOut).toBe(2);
    await run.pipeline.stop();
    // Everything was committed: a second run reads nothing again.
    const again = await runManifest(yaml, dir);
    expect(again.pipeline.stats().find((s) => s.id === 'events')!.recordsOut).toBe(0);
    await again.pipeline.stop();
  });

  it('data: JSON messages read by DuckDB (kafka → sql → duckdb): a message that is not JSON goes to dead-letter alone, the rest lands with the values JSON.parse gives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kafka-json-texts-'));
    const yaml = `name: kafka-json-texts
connections:
  bus: { type: kafka, brokers: embedded }
  warehouse: { type: duckdb, path: "${join(dir, 'w.duckdb')}", init: ["CREATE TABLE IF NOT EXISTS paid (id INTEGER, amount DOUBLE, note VARCHAR, paid_at TIMESTAMPTZ)"] }
sources:
  events: { use: kafka, connection: bus, with: { topics: payments, startFrom: earliest, maxBatch: 100 } }
transforms:
  typed: { use: sql, from: events, connection: warehouse, with: { query: "SELECT id, amount, note, CAST(paid_at AS TIMESTAMPTZ) AS paid_at FROM input", rejectWhere: "amount <= 0", rejectReason: "'amount must be > 0'" } }
sinks:
  table: { use: duckdb, from: typed, connection: warehouse, with: { table: paid } }
`;
    const first = await runManifest(
      yaml.replace('with: { topics: payments,', 'trigger: { upload: true }, with: { topics: payments,'),
      dir,
    );
    const bus = await first.pipeline.connections.get<TopicClient>('bus', 'kafka');
    await bus.createTopic('payments');
    await bus.produce('payments', [
      { key: null, value: '{"id":1,"amount":10,"note":"a\\nb","paid_at":"2024-05-01T10:00:00Z"}' },
      { key: null, value: '{"id":2,"amount":' },
      { key: null, value: '{\n  "id": 3,\n  "amount": -5\n}' },
      { key: null, value: '{"id":4,"amount":4.5,"paid_at":"2024-05-01T10:00:01.250Z","extra":true}' },
    ]);
    await first.pipeline.stop();

    const run = await runManifest(yaml, dir);
    expect(run.ok).toBe(true);
    expect(run.dead.map((e) => [e.step, e.origin, e.reasons[0]])).toEqual([
      ['events', 'payments/0@1', expect.stringMatching(/^invalid JSON: /)],
      ['typed', 'payments/0@2', 'amount must be > 0'],
    ]);
    const stats = (id: string) => run.pipeline.stats().find((s) => s.id === id)!;
    // The batch went into DuckDB as JSON text, not as JS records.
    expect([stats('typed').batchesInDuckDb, stats('table').batchesInDuckDb, stats('table').recordsOut]).toEqual([
      1, 1, 2,
    ]);
    const warehouse = await run.pipeline.connections.get<DuckDbClient>('warehouse', 'duckdb');
    expect(
      await warehouse.query('SELECT id, amount, note, epoch_ms(paid_at) AS paid_at FROM paid ORDER BY id'),
    ).toEqual([
      { id: 1, amount: 10, note: 'a\nb', paid_at: Date.parse('2024-05-01T10:00:00Z') },
      { id: 4, amount: 4.5, note: null, paid_at: Date.parse('2024-05-01T10:00:01.250Z') },
    ]);
    await run.pipeline.stop();
  });

  it('data: replays a message once the format is fixed (a string topic read as json, then as string)', async () => {
    const step = await createTestStep<KafkaSource>(
      source,
      'source',
      { topics: 't', format: 'string', metadata: true },
      { connections: { bus: { type: 'kafka' } }, connection: 'bus' },
    );
    expect(step.plugin.replayRecord('plain text', 't/2@41')).toEqual([
      { value: 'plain text', _topic: 't', _partition: 2, _offset: '41' },
    ]);
    const json = await createTestStep<KafkaSource>(
      source,
      'source',
      { topics: 't' },
      { connections: { bus: { type: 'kafka' } }, connection: 'bus' },
    );
    await expectErrorClass(async () => json.plugin.replayRecord('plain text', 't/2@41'), 'data');
  });

  it('infrastructure: brokers that do not answer', async () => {
    const step = await createTestStep<KafkaSource>(
      source,
      'source',
      { topics: 't' },
      {
        connections: {
          bus: { type: 'kafka', brokers: `127.0.0.1:${await freePort()}`, connectionTimeout: 300, retries: 0 },
        },
        connection: 'bus',
      },
    );
    await expectErrorClass(readAll(step.plugin), 'infrastructure');
    await step.close();
  }, 30_000);
});
