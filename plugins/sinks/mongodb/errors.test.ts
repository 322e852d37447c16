// The mongodb sink's two error classes, against FerretDB: a document the server refuses (a field name it cannot
// store, a document over 16 MB) goes to dead-letter alone while the others are written; a server that does not
// answer is infrastructure.
import { describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import { createTestStep, expectErrorClass, freePort, writeLikeRuntime } from '../../../core/testing.ts';
import { service, uniqueName } from '../../../tests/services.ts';
import plugin, { type MongoSink } from './index.ts';

describe('mongodb sink errors', () => {
  it('data: rejects the documents the server refuses, one by one; upserts the rest', async () => {
    const database = uniqueName('sink_errors');
    const step = await createTestStep<MongoSink>(
      plugin,
      'sink',
      { collection: 'docs', key: ['id'] },
      { connections: { docs: { type: 'mongodb', url: service('MONGO_URL'), database } }, connection: 'docs' },
    );
    const client = new MongoClient(service('MONGO_URL'));
    try {
      const records = [
        { id: 1, v: 'a' },
        { id: 2, $bad: 1 },
        { id: 3, big: 'x'.repeat(17 << 20) },
        { id: 4, v: 'd' },
      ];
      const rejects = await writeLikeRuntime(step.plugin, records);
      expect(rejects.map((r) => (r.record as { id: number }).id)).toEqual([2, 3]);
      expect(rejects[0].reasons[0]).toMatch(/\$bad/);
      await client.connect();
      const stored = await client
        .db(database)
        .collection('docs')
        .find({}, { projection: { _id: 0 } })
        .sort({ id: 1 })
        .toArray();
      expect(stored).toEqual([
        { id: 1, v: 'a' },
        { id: 4, v: 'd' },
      ]);
    } finally {
      await client
        .db(database)
        .dropDatabase()
        .catch(() => undefined);
      await client.close();
      await step.close();
    }
  }, 60_000);

  it('infrastructure: a server that does not answer', async () => {
    const step = await createTestStep<MongoSink>(
      plugin,
      'sink',
      { collection: 'c', key: ['id'] },
      {
        connections: { docs: { type: 'mongodb', url: `mongodb://127.0.0.1:${await freePort()}/` } },
        connection: 'docs',
      },
    );
    await expectErrorClass(writeLikeRuntime(step.plugin, [{ id: 1 }]), 'infrastructure');
    await step.close();
  }, 30_000);
});
