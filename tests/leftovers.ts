// Vitest global setup: what the test run leaves on the shared real servers. Operators' pipelines share the
// PostgreSQL database `platform`, the Kafka brokers, MinIO and FerretDB, so every test removes what it made
// (`Scratch` in tests/services.ts). This lists those servers' databases, schemas, tables, topics, consumer groups,
// buckets and MongoDB databases before the run and after it, and names whatever is new at the end. With
// PLATFORM_LEFTOVERS=fail (scripts/test.sh sets it: the servers are the run's own) the run fails then; otherwise
// (a targeted run next to other people's tests) it only warns.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const envFile = fileURLToPath(new URL('../.services/env.json', import.meta.url));

type Inventory = Map<string, Set<string>>;

/** Everything on the shared servers that a test could make, by kind ("PostgreSQL table", "Kafka topic", …). */
export async function inventory(env: Record<string, string>): Promise<Inventory> {
  const found: Inventory = new Map();
  const add = (kind: string, names: string[]) => found.set(kind, new Set(names));
  const within = <T>(ms: number, work: Promise<T>) =>
    Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
  const tasks: Promise<void>[] = [];
  if (env.PG_URL) {
    tasks.push(
      (async () => {
        const { default: pg } = await import('pg');
        const client = new pg.Client({ connectionString: env.PG_URL, connectionTimeoutMillis: 2000 });
        await client.connect();
        try {
          add(
            'PostgreSQL database',
            (await client.query('SELECT datname FROM pg_database WHERE NOT datistemplate')).rows.map((r) => r.datname),
          );
          add(
            'PostgreSQL schema',
            (
              await client.query(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'",
              )
            ).rows.map((r) => r.nspname),
          );
          add(
            'PostgreSQL table',
            (
              await client.query(`SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'`)
            ).rows.map((r) => r.name),
          );
        } finally {
          await client.end();
        }
      })().catch(() => undefined),
    );
  }
  for (const [key, label] of [
    ['KAFKA_BROKERS', 'Kafka'],
    ['KAFKA3_BROKERS', 'Kafka (3 nodes)'],
  ] as const) {
    if (!env[key]) continue;
    tasks.push(
      within(
        10_000,
        (async () => {
          const { Kafka, logLevel } = await import('kafkajs');
          const admin = new Kafka({
            clientId: 'leftovers',
            brokers: env[key].split(','),
            logLevel: logLevel.NOTHING,
            connectionTimeout: 2000,
            retry: { retries: 1 },
          }).admin();
          await admin.connect();
          try {
            // Kafka's own topics (__consumer_offsets, __transaction_state) and MinIO's event topic belong to the servers.
            add(
              `${label} topic`,
              (await admin.listTopics()).filter((t) => !t.startsWith('__') && t !== env.S3_NOTIFY_TOPIC),
            );
            add(
              `${label} consumer group`,
              (await admin.listGroups()).groups.map((g) => g.groupId),
            );
          } finally {
            await admin.disconnect();
          }
        })(),
      ).catch(() => undefined),
    );
  }
  if (env.MONGO_URL) {
    tasks.push(
      (async () => {
        const { MongoClient } = await import('mongodb');
        const client = new MongoClient(env.MONGO_URL, { serverSelectionTimeoutMS: 2000 });
        try {
          add(
            'MongoDB database',
            (await client.db('admin').admin().listDatabases()).databases.map((d) => d.name),
          );
        } finally {
          await client.close();
        }
      })().catch(() => undefined),
    );
  }
  if (env.S3_ENDPOINT) {
    tasks.push(
      (async () => {
        const { S3Client, ListBucketsCommand } = await import('@aws-sdk/client-s3');
        const s3 = new S3Client({
          endpoint: env.S3_ENDPOINT,
          region: env.S3_REGION,
          forcePathStyle: true,
          maxAttempts: 1,
          credentials: { accessKeyId: env.S3_ACCESS_KEY, secretAccessKey: env.S3_SECRET_KEY },
        });
        try {
          add(
            'S3 bucket',
            ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name!),
          );
        } finally {
          s3.destroy();
        }
      })().catch(() => undefined),
    );
  }
  await Promise.all(tasks);
  return found;
}

/** What is in `after` and not in `before`, one line per kind ("Kafka topic: a, b"). */
export function leftovers(before: Inventory, after: Inventory): string[] {
  const lines: string[] = [];
  for (const [kind, names] of after) {
    const known = before.get(kind);
    if (!known) continue; // the server did not answer before the run: nothing to compare with
    const added = [...names].filter((n) => !known.has(n)).sort();
    if (added.length) lines.push(`${kind}: ${added.join(', ')}`);
  }
  return lines;
}

export default async function setup(): Promise<() => Promise<void>> {
  if (!existsSync(envFile)) return async () => undefined;
  const env = JSON.parse(readFileSync(envFile, 'utf8')) as Record<string, string>;
  const before = await inventory(env);
  return async () => {
    const left = leftovers(before, await inventory(env));
    if (!left.length) return;
    const message = `the tests left these on the shared real servers (remove them in the test that made them, e.g. with Scratch from tests/services.ts):\n  ${left.join('\n  ')}`;
    if (process.env.PLATFORM_LEFTOVERS === 'fail') {
      process.exitCode = 1;
      throw new Error(message);
    }
    console.warn(
      `warning: ${message}\n(a run of other tests next to this one may have made them; PLATFORM_LEFTOVERS=fail makes this an error, as in npm test)`,
    );
  };
}
