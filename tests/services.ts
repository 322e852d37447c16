// Where the real servers started by `scripts/services/up.sh` listen. Integration tests fail with a clear
// message when a server is not up: they never fall back to a mock.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const envFile = fileURLToPath(new URL('../.services/env.json', import.meta.url));

export type ServiceKey =
  | 'PG_URL'
  | 'KAFKA_BROKERS'
  | 'KAFKA3_BROKERS'
  | 'MONGO_URL'
  | 'S3_ENDPOINT'
  | 'S3_ACCESS_KEY'
  | 'S3_SECRET_KEY'
  | 'S3_REGION'
  | 'S3_NOTIFY_ARN'
  | 'S3_NOTIFY_TOPIC'
  | 'FERRETDB_BIN'
  | 'MINIO_BIN';

export function service(key: ServiceKey): string {
  const env = existsSync(envFile) ? (JSON.parse(readFileSync(envFile, 'utf8')) as Record<string, string>) : {};
  const value = env[key];
  if (!value)
    throw new Error(
      `${key} is not set in .services/env.json: start the real servers with \`npm run services:up\` (npm test does it)`,
    );
  return value;
}

/** A name unique to this test run, for tables, topics, buckets and databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/**
 * What a test makes on the shared real servers — PostgreSQL databases, Kafka topics and consumer groups, MinIO
 * buckets, MongoDB databases — with unique names, removed again by `drop()` (call it in `afterAll`/`finally`):
 * operators' pipelines share these servers, and `tests/leftovers.ts` fails a run that leaves anything behind.
 */
export class Scratch {
  readonly databases = new Set<string>();
  readonly topics = new Set<string>();
  readonly groups = new Set<string>();
  readonly buckets = new Set<string>();
  readonly mongoDatabases = new Set<string>();
  /** Name prefixes: every topic and consumer group starting with one is deleted (names a manifest makes from a prefix). */
  readonly prefixes = new Set<string>();

  constructor(private readonly brokers = () => service('KAFKA_BROKERS')) {}

  /** A new database on the real PostgreSQL server; its URL. */
  async database(prefix: string): Promise<string> {
    const name = uniqueName(prefix).toLowerCase();
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: service('PG_URL') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    this.databases.add(name);
    const url = new URL(service('PG_URL'));
    url.pathname = `/${name}`;
    return url.toString();
  }

  topic(prefix: string): string {
    const name = uniqueName(prefix);
    this.topics.add(name);
    return name;
  }

  group(prefix: string): string {
    const name = uniqueName(prefix);
    this.groups.add(name);
    return name;
  }

  /** A bucket name (S3 rules: lower case, digits, dashes); made by whoever uses it. */
  bucket(prefix: string): string {
    const name = uniqueName(prefix).toLowerCase().replaceAll('_', '-');
    this.buckets.add(name);
    return name;
  }

  mongoDatabase(prefix: string): string {
    const name = uniqueName(prefix).toLowerCase();
    this.mongoDatabases.add(name);
    return name;
  }

  /** Removes everything noted; a failure to remove one thing does not stop the others (the first error is thrown). */
  async drop(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        errors.push(error);
      }
    };
    if (this.databases.size) {
      await attempt(async () => {
        const { default: pg } = await import('pg');
        const admin = new pg.Client({ connectionString: service('PG_URL') });
        await admin.connect();
        try {
          // WITH (FORCE): a pool a failed test left open must not keep its database alive.
          for (const name of this.databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await admin.end();
        }
        this.databases.clear();
      });
    }
    if (this.topics.size || this.groups.size || this.prefixes.size) await attempt(() => this.dropKafka());
    if (this.buckets.size) await attempt(() => this.dropBuckets());
    if (this.mongoDatabases.size) {
      await attempt(async () => {
        const { MongoClient } = await import('mongodb');
        const client = new MongoClient(service('MONGO_URL'));
        try {
          for (const name of this.mongoDatabases) await client.db(name).dropDatabase();
        } finally {
          await client.close();
        }
        this.mongoDatabases.clear();
      });
    }
    if (errors.length) throw errors[0];
  }

  private async dropKafka(): Promise<void> {
    const { Kafka, logLevel } = await import('kafkajs');
    const admin = new Kafka({
      clientId: 'test-scratch',
      brokers: this.brokers().split(','),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const existing = await admin.listTopics();
      const prefixed = (name: string) => [...this.prefixes].some((p) => name.startsWith(p));
      const topics = existing.filter((t) => this.topics.has(t) || prefixed(t));
      if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
      // Groups that read them: their members have left (a group with members cannot be deleted).
      // Groups named after a topic (`<topic>.…`) are the kafka sink's ledgers of written batches.
      const ofTopic = (group: string) => [...this.topics].some((t) => group.startsWith(`${t}.`));
      const groups = (await admin.listGroups()).groups
        .map((g) => g.groupId)
        .filter((g) => this.groups.has(g) || prefixed(g) || ofTopic(g));
      // A SIGKILLed member stays until its session times out (30 s, connections/kafka/real.ts): wait past that.
      const deadline = Date.now() + 45_000;
      while (groups.length && Date.now() < deadline) {
        const results = await admin
          .deleteGroups(groups)
          .catch((error: { groups?: { groupId: string; errorCode: number }[] }) => error.groups ?? []);
        const left = results
          .filter((r) => r.errorCode && r.errorCode !== 69 /* GROUP_ID_NOT_FOUND */)
          .map((r) => r.groupId);
        groups.splice(0, groups.length, ...left);
        if (groups.length) await new Promise((r) => setTimeout(r, 500)); // NON_EMPTY_GROUP: a member still leaving
      }
      if (groups.length) {
        const described = (await admin.describeGroups(groups)).groups.map(
          (g) => `${g.groupId} (${g.state}: ${g.members.map((m) => `${m.clientId} from ${m.clientHost}`).join(', ')})`,
        );
        throw new Error(`consumer groups still in use after 45 s: ${described.join('; ')}`);
      }
      this.topics.clear();
      this.groups.clear();
      this.prefixes.clear();
    } finally {
      await admin.disconnect();
    }
  }

  private async dropBuckets(): Promise<void> {
    const { S3Client, ListObjectsV2Command, DeleteObjectsCommand, DeleteBucketCommand } =
      await import('@aws-sdk/client-s3');
    const s3 = new S3Client({
      endpoint: service('S3_ENDPOINT'),
      region: service('S3_REGION'),
      forcePathStyle: true,
      credentials: { accessKeyId: service('S3_ACCESS_KEY'), secretAccessKey: service('S3_SECRET_KEY') },
    });
    try {
      for (const bucket of this.buckets) {
        try {
          for (;;) {
            const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
            const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
            if (!keys.length) break;
            await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
          }
          await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
        } catch (error) {
          if ((error as Error).name !== 'NoSuchBucket') throw error;
        }
      }
      this.buckets.clear();
    } finally {
      s3.destroy();
    }
  }
}

/** A PostgreSQL database of its own on the real server (tables of a manifest never collide); drop it afterwards. */
export async function freshDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const scratch = new Scratch();
  return { url: await scratch.database(prefix), drop: () => scratch.drop() };
}
