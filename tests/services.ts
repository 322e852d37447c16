// Where the real servers started by `scripts/services/up.sh` listen. Integration tests fail with a clear
// message when a server is not up: they never fall back to a mock.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const envFile = fileURLToPath(new URL('../.services/env.json', import.meta.url));

export type ServiceKey =
  | 'PG_URL' | 'KAFKA_BROKERS' | 'KAFKA3_BROKERS' | 'MONGO_URL'
  | 'S3_ENDPOINT' | 'S3_ACCESS_KEY' | 'S3_SECRET_KEY' | 'S3_REGION' | 'S3_NOTIFY_ARN' | 'S3_NOTIFY_TOPIC'
  | 'FERRETDB_BIN' | 'MINIO_BIN';

export function service(key: ServiceKey): string {
  const env = existsSync(envFile) ? (JSON.parse(readFileSync(envFile, 'utf8')) as Record<string, string>) : {};
  const value = env[key];
  if (!value) throw new Error(`${key} is not set in .services/env.json: start the real servers with \`npm run services:up\` (npm test does it)`);
  return value;
}

/** A name unique to this test run, for tables, topics, buckets and databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** A PostgreSQL database of its own on the real server (tables of a manifest never collide); drop it afterwards. */
export async function freshDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const { default: pg } = await import('pg');
  const name = uniqueName(prefix).toLowerCase();
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: service('PG_URL') });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(service('PG_URL'));
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
