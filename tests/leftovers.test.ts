// The leftover check of tests/leftovers.ts on the real servers: what a test makes and does not remove is named;
// what Scratch removes is not.
import { readFileSync } from 'node:fs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { KafkaTopicClient } from '../connections/kafka/real.ts';
import { MemoryLogger } from '../core/sdk/logger.ts';
import { inventory, leftovers } from './leftovers.ts';
import { repoRoot } from './cli.ts';
import { Scratch, service, uniqueName } from './services.ts';

describe('leftovers on the shared real servers', () => {
  it('names the table, topic, bucket and databases a test left, and nothing once Scratch removed them', async () => {
    const env = JSON.parse(readFileSync(`${repoRoot}/.services/env.json`, 'utf8')) as Record<string, string>;
    const before = await inventory(env);
    expect([...before.keys()]).toEqual(
      expect.arrayContaining([
        'PostgreSQL database',
        'PostgreSQL table',
        'Kafka topic',
        'Kafka consumer group',
        'MongoDB database',
        'S3 bucket',
      ]),
    );
    const scratch = new Scratch();
    const table = uniqueName('left_table');
    const topic = scratch.topic('left_topic');
    const bucket = scratch.bucket('left-bucket');
    const mongo = scratch.mongoDatabase('left_mongo');
    const database = await scratch.database('left_db');
    const shared = new pg.Client({ connectionString: service('PG_URL') });
    await shared.connect();
    try {
      await shared.query(`CREATE TABLE ${table} (id integer)`);
      const kafka = new KafkaTopicClient([service('KAFKA_BROKERS')], 'test', new MemoryLogger());
      await kafka.createTopic(topic);
      await kafka.close();
      const s3 = new S3Client({
        endpoint: service('S3_ENDPOINT'),
        region: service('S3_REGION'),
        forcePathStyle: true,
        credentials: { accessKeyId: service('S3_ACCESS_KEY'), secretAccessKey: service('S3_SECRET_KEY') },
      });
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      s3.destroy();
      const { MongoClient } = await import('mongodb');
      const client = new MongoClient(service('MONGO_URL'));
      await client.db(mongo).collection('c').insertOne({ a: 1 });
      await client.close();

      const left = leftovers(before, await inventory(env)).join('\n');
      for (const name of [`public.${table}`, topic, bucket, mongo, new URL(database).pathname.slice(1)])
        expect(left).toContain(name);
    } finally {
      await shared.query(`DROP TABLE IF EXISTS ${table}`);
      await shared.end();
      await scratch.drop();
    }
    const after = leftovers(before, await inventory(env)).join('\n');
    for (const name of [table, topic, bucket, mongo, new URL(database).pathname.slice(1)])
      expect(after).not.toContain(name);
  }, 60_000);
});
