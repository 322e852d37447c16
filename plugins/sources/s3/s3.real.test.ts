import { afterAll, describe, expect, it } from 'vitest';
import type { Row } from '../../../core/sdk/index.ts';
import { createTestStep, readAll } from '../../../core/testing.ts';
import { Scratch, service } from '../../../tests/services.ts';
import { s3Suite } from './suite.ts';
import source, { type S3Source } from './index.ts';
import type { ObjectStore } from '../../../connections/s3/index.ts';
import sink, { type S3Sink } from '../../sinks/s3/index.ts';

const minio = () => ({
  type: 's3',
  endpoint: service('S3_ENDPOINT'),
  accessKeyId: service('S3_ACCESS_KEY'),
  secretAccessKey: service('S3_SECRET_KEY'),
  region: service('S3_REGION'),
});
// Buckets (and the event consumer group) of this file's tests, deleted at the end (MinIO and Kafka are shared).
const scratch = new Scratch();
afterAll(() => scratch.drop());
s3Suite('MinIO', minio, () => scratch.bucket('b'));

describe('s3 sink objects on MinIO', () => {
  it('carry their content type and metadata: pipeline, step, records, batch and source position', async () => {
    const { S3Client, HeadObjectCommand } = await import('@aws-sdk/client-s3');
    const bucket = scratch.bucket('typed');
    const admin = new S3Client({
      endpoint: service('S3_ENDPOINT'),
      region: service('S3_REGION'),
      forcePathStyle: true,
      credentials: { accessKeyId: service('S3_ACCESS_KEY'), secretAccessKey: service('S3_SECRET_KEY') },
    });
    const batch = { id: 'a'.repeat(32), writer: 'w'.repeat(32), origin: 'files data/é.csv:10:17#0' };
    for (const format of ['csv', 'parquet'] as const) {
      const step = await createTestStep<S3Sink>(
        sink,
        'sink',
        { bucket, key: `${format}/{YYYY}/part-{uuid}.${format}`, format, partitionBy: 'day' },
        { connections: { lake: minio() }, connection: 'lake', id: 'lake-out' },
      );
      await step.plugin.write(
        [
          { n: 1, day: '2024-01-01' },
          { n: 2, day: '2024-01-01' },
          { n: 3, day: '2025-01-01' },
        ],
        { reject: () => undefined, batch },
      );
      const head = await admin.send(
        new HeadObjectCommand({
          Bucket: bucket,
          Key: `${format}/2024/part-aaaaaaaa-aaaa-8aaa-aaaa-aaaaaaaaaaaa.${format}`,
        }),
      );
      expect(head.ContentType).toBe(format === 'csv' ? 'text/csv' : 'application/vnd.apache.parquet');
      expect(head.Metadata).toEqual({
        pipeline: 'test',
        step: 'lake-out',
        records: '2',
        batch: batch.id,
        source: encodeURIComponent(batch.origin),
      });
      await step.close();
    }
    admin.destroy();
  });
});

describe('s3 connection errors (real server)', () => {
  it('says the credentials are wrong, naming the connection and never the secret', async () => {
    const step = await createTestStep<S3Source>(
      source,
      'source',
      { bucket: 'x' },
      { connections: { lake: { ...minio(), secretAccessKey: 'not-the-secret' } }, connection: 'lake' },
    );
    const error = (await readAll(step.plugin).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(
      /^connection "lake" \(s3, manifest:\?\): S3 http:\/\/127\.0\.0\.1:59000: SignatureDoesNotMatch/,
    );
    expect(error.message).not.toContain('not-the-secret');
  });

  it('says the endpoint is unreachable', async () => {
    const step = await createTestStep<S3Source>(
      source,
      'source',
      { bucket: 'x' },
      { connections: { lake: { ...minio(), endpoint: 'http://127.0.0.1:1' } }, connection: 'lake' },
    );
    await expect(readAll(step.plugin)).rejects.toThrow(
      /^connection "lake" \(s3, manifest:\?\): S3 http:\/\/127\.0\.0\.1:1: /,
    );
  });
});

describe('s3 source on bucket notifications (MinIO → Kafka)', () => {
  it('catches up by listing, then reads each new object when its event arrives', async () => {
    const { S3Client, PutBucketNotificationConfigurationCommand } = await import('@aws-sdk/client-s3');
    const bucket = scratch.bucket('events');
    const step = await createTestStep<S3Source>(
      source,
      'source',
      {
        bucket,
        prefix: 'daily/',
        notifications: { connection: 'bus', topic: service('S3_NOTIFY_TOPIC'), group: scratch.group('events') },
      },
      {
        connections: { lake: minio(), bus: { type: 'kafka', brokers: service('KAFKA_BROKERS') } },
        connection: 'lake',
      },
    );
    const store = await step.services.connections.get<import('../../../connections/s3/index.ts').ObjectStore>('lake');
    await store.ensureBucket(bucket);
    const admin = new S3Client({
      endpoint: service('S3_ENDPOINT'),
      region: service('S3_REGION'),
      forcePathStyle: true,
      credentials: { accessKeyId: service('S3_ACCESS_KEY'), secretAccessKey: service('S3_SECRET_KEY') },
    });
    await admin.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: {
          QueueConfigurations: [{ QueueArn: service('S3_NOTIFY_ARN'), Events: ['s3:ObjectCreated:*'] }],
        },
      }),
    );
    await store.put(bucket, 'daily/before.csv', 'n\n1\n'); // there before the source starts: found by the catch-up listing
    const controller = new AbortController();
    const seen: number[] = [];
    const checkpoints: unknown[] = [];
    const reading = (async () => {
      for await (const batch of step.plugin.read({ once: false, signal: controller.signal, checkpoint: undefined })) {
        seen.push(...(batch.records as Row[]).map((r) => r.n as number));
        if (batch.checkpoint) {
          checkpoints.push(batch.checkpoint);
          await step.plugin.commit(batch.checkpoint);
        }
        if (seen.length >= 3) controller.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 4000)); // the consumer joins its group
    await store.put(bucket, 'daily/2024-01-02 sales.csv', 'n\n2\n3\n'); // a space in the key: events URL-encode it
    const timer = setTimeout(() => controller.abort(), 30_000);
    await reading;
    clearTimeout(timer);
    expect(seen).toEqual([1, 2, 3]);
    expect(checkpoints.some((c) => (c as { offsets?: unknown[] }).offsets?.length)).toBe(true);
    admin.destroy();
    await step.close();
  }, 60_000);

  it('sets up the bucket notification from queueArn (keeping the rules there), stops with a clear error without it, and lists for an object whose event was lost', async () => {
    const {
      S3Client,
      PutBucketNotificationConfigurationCommand,
      GetBucketNotificationConfigurationCommand,
      DeleteObjectCommand,
      DeleteBucketCommand,
      ListObjectsV2Command,
    } = await import('@aws-sdk/client-s3');
    const admin = new S3Client({
      endpoint: service('S3_ENDPOINT'),
      region: service('S3_REGION'),
      forcePathStyle: true,
      credentials: { accessKeyId: service('S3_ACCESS_KEY'), secretAccessKey: service('S3_SECRET_KEY') },
    });
    const bucket = scratch.bucket('notify');
    const connections = { lake: minio(), bus: { type: 'kafka', brokers: service('KAFKA_BROKERS') } };
    const config = (extra: Record<string, unknown>) => ({
      bucket,
      prefix: 'CSV/',
      createBucket: true,
      notifications: { connection: 'bus', topic: service('S3_NOTIFY_TOPIC'), group: scratch.group('notify'), ...extra },
    });
    try {
      // Without queueArn and without a rule: the source says what is missing and how to fix it.
      const unset = await createTestStep<S3Source>(source, 'source', config({ queueArn: '' }), {
        connections,
        connection: 'lake',
        id: 'sheets',
      });
      const error = await (async () => {
        for await (const _ of unset.plugin.read({
          once: false,
          signal: new AbortController().signal,
          checkpoint: undefined,
        }))
          break;
      })().catch((e: Error) => e);
      expect((error as Error).message).toMatch(
        new RegExp(`^sheets: s3://${bucket}/CSV/ sends no object-created events .*Give notifications.queueArn`),
      );
      await unset.close();

      // With queueArn: the rule is added next to the one already there (another prefix).
      await admin.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: bucket,
          NotificationConfiguration: {
            QueueConfigurations: [
              {
                Id: 'other',
                QueueArn: service('S3_NOTIFY_ARN'),
                Events: ['s3:ObjectRemoved:*'],
                Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'archive/' }] } },
              },
            ],
          },
        }),
      );
      const step = await createTestStep<S3Source>(
        source,
        'source',
        { ...config({ queueArn: service('S3_NOTIFY_ARN') }), pollInterval: '2s' },
        { connections, connection: 'lake' },
      );
      const store = await step.services.connections.get<ObjectStore>('lake');
      const controller = new AbortController();
      const seen: number[] = [];
      const reading = (async () => {
        for await (const batch of step.plugin.read({ once: false, signal: controller.signal, checkpoint: undefined })) {
          seen.push(...(batch.records as Row[]).map((r) => r.n as number));
          if (batch.checkpoint) await step.plugin.commit(batch.checkpoint);
          if (seen.length >= 2) controller.abort();
        }
      })();
      const rules = async () =>
        (await admin.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }))).QueueConfigurations ?? [];
      for (let waited = 0; (await rules()).length < 2 && waited < 20_000; waited += 250)
        await new Promise((r) => setTimeout(r, 250));
      expect(
        (await rules()).map((q) => [q.QueueArn, q.Events, q.Filter?.Key?.FilterRules?.map((f) => f.Value)]).sort(),
      ).toEqual(
        [
          [service('S3_NOTIFY_ARN'), ['s3:ObjectCreated:*'], ['CSV/']],
          [service('S3_NOTIFY_ARN'), ['s3:ObjectRemoved:*'], ['archive/']],
        ].sort(),
      );
      await new Promise((r) => setTimeout(r, 4000)); // the consumer joins its group
      await store.put(bucket, 'CSV/one.csv', 'n\n1\n'); // read from its event
      for (let waited = 0; seen.length < 1 && waited < 20_000; waited += 250)
        await new Promise((r) => setTimeout(r, 250));
      expect(seen).toEqual([1]);
      // An object whose event is lost (the rule gone meanwhile) is found by the listing every pollInterval.
      await admin.send(
        new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: {} }),
      );
      await store.put(bucket, 'CSV/two.csv', 'n\n2\n');
      const timer = setTimeout(() => controller.abort(), 30_000);
      await reading;
      clearTimeout(timer);
      expect(seen).toEqual([1, 2]);
      await step.close();
    } finally {
      for (const object of (await admin.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? [])
        await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key! }));
      await admin.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      admin.destroy();
    }
  }, 90_000);
});
