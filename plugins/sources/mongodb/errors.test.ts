// The mongodb source's two error classes: a document a later step refuses goes to dead-letter naming its
// collection and cursor value; a server that does not answer is infrastructure.
import { describe, expect, it } from 'vitest';
import { createTestStep, expectErrorClass, freePort, readAll } from '../../../core/testing.ts';
import type { DocumentStore } from '../../../connections/mongodb/index.ts';
import { runManifest } from '../../../tests/manifest.ts';
import source, { type MongoSource } from './index.ts';

describe('mongodb source errors', () => {
  it('data: a document validate refuses names its collection and cursor value; the others land', async () => {
    const yaml = `name: mongo-errors
connections:
  docs: { type: mongodb, url: embedded }
sources:
  invoices: { use: mongodb, connection: docs, with: { collection: invoices, cursor: seq } }
transforms:
  checked: { use: validate, from: invoices, with: { schema: { properties: { total: { type: number } } } } }
sinks:
  out: { use: console, from: checked }
`;
    const setup = await runManifest(yaml);
    const store = await setup.pipeline.connections.get<DocumentStore>('docs', 'mongodb');
    await store.insertMany('invoices', [
      { _id: 'i1', seq: 1, total: 10 },
      { _id: 'i2', seq: 2, total: 'ten' },
      { _id: 'i3', seq: 3, total: 30 },
    ]);
    await setup.pipeline.stop();
    const run = await runManifest(yaml, setup.dir);
    expect(run.ok).toBe(true);
    expect(run.dead.map((e) => [e.step, e.origin, e.reasons[0]])).toEqual([
      ['checked', 'invoices (seq=2)', 'total: must be number'],
    ]);
    expect(run.pipeline.stats().find((s) => s.id === 'out')!.recordsOut).toBe(2);
    await run.pipeline.stop();
  });

  it('infrastructure: a server that does not answer', async () => {
    const step = await createTestStep<MongoSource>(
      source,
      'source',
      { collection: 'c' },
      {
        connections: { docs: { type: 'mongodb', url: `mongodb://127.0.0.1:${await freePort()}/` } },
        connection: 'docs',
      },
    );
    await expectErrorClass(readAll(step.plugin), 'infrastructure');
    await step.close();
  }, 30_000);
});
