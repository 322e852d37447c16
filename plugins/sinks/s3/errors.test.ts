// The s3 sink's two error classes: a record that cannot be written (nested 10,000 deep) goes to dead-letter alone
// while the batch is put; an endpoint that does not answer is infrastructure.
import { describe, expect, it } from 'vitest';
import { createTestStep, expectErrorClass, freePort, writeLikeRuntime } from '../../../core/testing.ts';
import type { ObjectStore } from '../../../connections/s3/index.ts';
import plugin, { type S3Sink } from './index.ts';

describe('s3 sink errors', () => {
  it('data: rejects a record nested too deeply to write; puts the others', async () => {
    const step = await createTestStep<S3Sink>(
      plugin,
      'sink',
      { bucket: 'out', key: 'part-{uuid}.csv' },
      { connections: { lake: { type: 's3' } }, connection: 'lake' },
    );
    const deep = { id: 2, note: JSON.parse(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`) };
    const rejects = await writeLikeRuntime(step.plugin, [{ id: 1, note: 'a' }, deep, { id: 3, note: 'c' }]);
    expect(rejects.map((r) => r.record)).toEqual([deep]);
    const store = await step.services.connections.get<ObjectStore>('lake');
    const objects = (await store.list('out')).objects;
    const contents = await Promise.all(objects.map(async (o) => (await store.get('out', o.key)).toString()));
    expect(contents.flatMap((c) => c.trim().split('\n').slice(1)).sort()).toEqual(['1,a', '3,c']);
    await step.close();
  });

  it('infrastructure: an endpoint that does not answer', async () => {
    const step = await createTestStep<S3Sink>(
      plugin,
      'sink',
      { bucket: 'out', key: 'part-{uuid}.csv' },
      {
        connections: {
          lake: {
            type: 's3',
            endpoint: `http://127.0.0.1:${await freePort()}`,
            accessKeyId: 'a',
            secretAccessKey: 'b',
          },
        },
        connection: 'lake',
      },
    );
    await expectErrorClass(writeLikeRuntime(step.plugin, [{ id: 1 }]), 'infrastructure');
    await step.close();
  }, 30_000);
});
