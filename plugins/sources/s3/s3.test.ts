import { describe, expect, it } from 'vitest';
import type { Row } from '../../../core/sdk/index.ts';
import { createTestStep } from '../../../core/testing.ts';
import type { ObjectStore } from '../../../connections/s3/index.ts';
import { s3Suite } from './suite.ts';
import source, { type S3Source } from './index.ts';

let n = 0;
s3Suite(
  'embedded folder',
  () => ({ type: 's3', endpoint: 'embedded' }),
  () => `bucket-${process.pid}-${n++}`,
);

describe('s3 source on bucket notifications, embedded store', () => {
  it('polls instead (the folder store publishes no events), so a new object is still read', async () => {
    const bucket = `events-${process.pid}`;
    const step = await createTestStep<S3Source>(
      source,
      'source',
      { bucket, pollInterval: '100ms', notifications: { connection: 'bus', topic: 's3-events' } },
      {
        connections: { lake: { type: 's3', endpoint: 'embedded' }, bus: { type: 'kafka', brokers: 'embedded' } },
        connection: 'lake',
      },
    );
    const store = await step.services.connections.get<ObjectStore>('lake');
    await store.ensureBucket(bucket);
    await store.put(bucket, 'a.csv', 'n\n1\n');
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 10_000);
    const seen: number[] = [];
    for await (const batch of step.plugin.read({ once: false, signal: controller.signal, checkpoint: undefined })) {
      seen.push(...(batch.records as Row[]).map((r) => r.n as number));
      if (seen.length === 1) await store.put(bucket, 'b.csv', 'n\n2\n'); // after the first listing: found by polling
      if (seen.length === 2) controller.abort();
    }
    clearTimeout(timer);
    expect(seen).toEqual([1, 2]);
    expect(step.logs.join('\n')).toContain(
      'publishes no bucket events: polling s3://' + bucket + '/ every 100ms instead',
    );
    await step.close();
  });
});
