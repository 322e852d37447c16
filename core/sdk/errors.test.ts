// The one classification of errors, checked on the errors the engines really throw (DuckDB, PostgreSQL — embedded
// PGlite and the real server —, FerretDB through the MongoDB driver, MinIO through the AWS SDK, Kafka through kafkajs).
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { MongoClient } from 'mongodb';
import { PGlite } from '@electric-sql/pglite';
import { DuckDbClient } from '../../connections/duckdb/client.ts';
import { service, uniqueName } from '../../tests/services.ts';
import { expectErrorClass, freePort } from './testing.ts';
import { DataError, classifyError, isDataError, refusesWholeBatch } from './index.ts';

describe('classifyError', () => {
  it('takes a DataError, also as the cause of a wrapping error, and calls what it does not know infrastructure', () => {
    expect(classifyError(new DataError('bad record'))).toBe('data');
    expect(classifyError(new Error('sink: writing failed', { cause: new DataError('bad record') }))).toBe('data');
    expect(classifyError(new Error('something odd'))).toBe('infrastructure');
    expect(classifyError('a string')).toBe('infrastructure');
    expect(refusesWholeBatch(new Error('x', { cause: new DataError('shape', { wholeBatch: true }) }))).toBe(true);
    expect(refusesWholeBatch(new DataError('one record'))).toBe(false);
  });

  it("knows V8's limits hit by one record (too deep, too long) and JSON syntax as data; Node's system errors as infrastructure", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    try {
      JSON.stringify(deep);
    } catch (error) {
      expect(classifyError(error)).toBe('data');
    }
    try {
      JSON.parse('{"a":');
    } catch (error) {
      expect(classifyError(error)).toBe('data');
    }
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOSPC', 'EAI_AGAIN'])
      expect(classifyError(Object.assign(new Error(code), { code }))).toBe('infrastructure');
  });

  it("classifies DuckDB's errors by their type: conversion, binder, constraint, catalog are data; IO is infrastructure", async () => {
    const db = await DuckDbClient.open(':memory:');
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    await db.exec('INSERT INTO t VALUES (1)');
    await expectErrorClass(db.query("SELECT CAST('x' AS INTEGER)"), 'data');
    await expectErrorClass(db.query('SELECT amount FROM t'), 'data');
    await expectErrorClass(db.exec('INSERT INTO t VALUES (1)'), 'data');
    await expectErrorClass(db.query('SELECT * FROM missing'), 'data');
    await expectErrorClass(db.query('SELECT 2147483647::INTEGER + 1'), 'data');
    await expectErrorClass(db.query("SELECT * FROM read_csv('/nonexistent/x.csv')"), 'infrastructure');
    // A plugin's wrapping message keeps the engine's words: still recognised.
    const wrapped = await expectErrorClass(
      db.query('SELECT amount FROM t').catch((e: Error) => {
        throw new Error(`enrich: ${e.message}`);
      }),
      'data',
    );
    expect(wrapped.message).toMatch(/^enrich: Binder Error/);
    db.close();
  });

  it("classifies PostgreSQL's errors by SQLSTATE (embedded PGlite and the real server): 22/23/42 data; 57/08 and refused connections infrastructure", async () => {
    const lite = await PGlite.create();
    await lite.exec('CREATE TABLE t (id int PRIMARY KEY, name varchar(3))');
    await expectErrorClass(lite.query("SELECT 'x'::int"), 'data');
    await lite.exec("INSERT INTO t VALUES (1, 'a')");
    await expectErrorClass(lite.query("INSERT INTO t VALUES (1, 'b')"), 'data');
    await expectErrorClass(lite.query("INSERT INTO t VALUES (2, 'toolong')"), 'data');
    await lite.close();

    const client = new pg.Client({ connectionString: service('PG_URL') });
    await client.connect();
    try {
      await expectErrorClass(client.query('SELECT 1/0'), 'data');
      await expectErrorClass(client.query('SELECT no_such_column FROM pg_class'), 'data');
      await client.query('SET statement_timeout = 10');
      await expectErrorClass(client.query('SELECT pg_sleep(1)'), 'infrastructure'); // 57014 query_canceled
    } finally {
      await client.end();
    }
    const down = new pg.Client({
      connectionString: `postgres://x:y@127.0.0.1:${await freePort()}/x`,
      connectionTimeoutMillis: 2000,
    });
    await expectErrorClass(down.connect(), 'infrastructure');
  });

  it('classifies MongoDB-wire errors (FerretDB): a duplicate key is data; a server that does not answer is infrastructure', async () => {
    const client = new MongoClient(service('MONGO_URL'), { serverSelectionTimeoutMS: 3000 });
    const name = uniqueName('errors');
    await client.connect();
    try {
      const collection = client.db(name).collection('docs');
      await collection.insertOne({ _id: 1 as never });
      await expectErrorClass(collection.insertOne({ _id: 1 as never }), 'data');
    } finally {
      await client
        .db(name)
        .dropDatabase()
        .catch(() => undefined);
      await client.close();
    }
    const down = new MongoClient(`mongodb://127.0.0.1:${await freePort()}/`, { serverSelectionTimeoutMS: 300 });
    await expectErrorClass(down.connect(), 'infrastructure');
  });

  it('classifies S3 errors (MinIO through the AWS SDK): a missing key is data, a missing bucket or a refused connection infrastructure', async () => {
    const { S3Client, GetObjectCommand, CreateBucketCommand, DeleteBucketCommand, ListObjectsV2Command } =
      await import('@aws-sdk/client-s3');
    const credentials = { accessKeyId: service('S3_ACCESS_KEY'), secretAccessKey: service('S3_SECRET_KEY') };
    const s3 = new S3Client({
      endpoint: service('S3_ENDPOINT'),
      region: service('S3_REGION'),
      forcePathStyle: true,
      credentials,
    });
    const bucket = uniqueName('errors').toLowerCase().replace(/_/g, '-');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    try {
      await expectErrorClass(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'nothing-here.csv' })), 'data');
      await expectErrorClass(s3.send(new ListObjectsV2Command({ Bucket: `${bucket}-missing` })), 'infrastructure');
    } finally {
      await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
      s3.destroy();
    }
    const down = new S3Client({
      endpoint: `http://127.0.0.1:${await freePort()}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials,
      maxAttempts: 1,
    });
    await expectErrorClass(down.send(new ListObjectsV2Command({ Bucket: bucket })), 'infrastructure');
    down.destroy();
  });

  it('classifies Kafka errors (kafkajs against the real broker): a message too large is data; an unreachable broker infrastructure', async () => {
    const { Kafka, logLevel } = await import('kafkajs');
    const kafka = new Kafka({ brokers: [service('KAFKA_BROKERS')], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const topic = uniqueName('errors');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    try {
      await expectErrorClass(producer.send({ topic, messages: [{ value: 'x'.repeat(2 << 20) }] }), 'data');
    } finally {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
    const down = new Kafka({
      brokers: [`127.0.0.1:${await freePort()}`],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 300,
      retry: { retries: 0 },
    }).producer();
    await expectErrorClass(down.connect(), 'infrastructure');
  });

  it('isDataError says the same as classifyError', () => {
    expect(isDataError(new DataError('x'))).toBe(true);
    expect(isDataError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(false);
  });
});
