// The shipped manifests against real servers, switched only by environment variables.
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { KafkaTopicClient } from '../core/connections/kafka/index.ts';
import type { DuckDbClient } from '../core/connections/duckdb/index.ts';
import { MemoryLogger } from '../core/runtime/logger.ts';
import { runOnce, tempStateDir } from './pipelines.ts';
import { service, uniqueName } from './services.ts';

/** A database of its own on the real server, so the manifest's table names do not collide. */
async function freshDatabase(): Promise<string> {
  const name = uniqueName('gm').toLowerCase();
  const admin = new pg.Client({ connectionString: service('PG_URL') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(service('PG_URL'));
  url.pathname = `/${name}`;
  return url.toString();
}

describe('shipped pipelines on real PostgreSQL and Kafka', () => {
  it('globemart.yaml: transactions from PostgreSQL, FX ticks from a Kafka topic, USD revenue in DuckDB', async () => {
    const pgUrl = await freshDatabase();
    const topic = uniqueName('fx');
    const shop = new pg.Client({ connectionString: pgUrl });
    await shop.connect();
    await shop.query(`CREATE TABLE transactions (transaction_id text, user_id text, country text, currency text, amount numeric(12,2), product_category text, transaction_time timestamptz, batch_id text)`);
    await shop.query(`INSERT INTO transactions VALUES
      ('TX-0000000101-2024', 'USER-1', 'DE', 'EUR', 80, 'Books', '2024-05-01T10:30:00Z', 'b'),
      ('TX-0000000102-2024', 'USER-2', 'Japan', '¥', 5000, 'Toys', '2024-05-01T10:40:00Z', 'b'),
      ('TX-0000000103-2024', 'USER-3', 'US', 'USD', 12.5, 'Food', '2024-05-01T10:50:00Z', 'b'),
      ('TX-bad', 'USER-4', 'US', 'USD', -1, 'Food', '2024-05-01T10:55:00Z', 'b')`);
    await shop.end();
    const kafka = new KafkaTopicClient([service('KAFKA_BROKERS')], 'test', new MemoryLogger());
    await kafka.createTopic(topic, { partitions: 1 });
    await kafka.produce(topic, [{ key: 'USD', value: JSON.stringify({ timestamp: '2024-05-01T10:00:00Z', base: 'USD', rates: { EUR: 0.8, JPY: 125 } }) }]);
    await kafka.close();
    const stateDir = tempStateDir('globemart-real');
    const run = await runOnce('globemart', {
      GLOBEMART_SIMULATE: 'false', GLOBEMART_PG_URL: pgUrl, GLOBEMART_KAFKA_BROKERS: service('KAFKA_BROKERS'),
      GLOBEMART_FX_TOPIC: topic, GLOBEMART_DUCKDB_PATH: join(stateDir, 'analytics.duckdb'),
    }, stateDir);
    expect(run.ok, run.logs.filter((l) => l.includes("ERROR") || l.includes("WARN")).join("\n")).toBe(true);
    expect(run.logs.some((l) => l.includes('connection shop (postgres): real'))).toBe(true);
    expect(run.logs.some((l) => l.includes('connection bus (kafka): real'))).toBe(true);
    const db = await run.pipeline.connections.get<DuckDbClient>('warehouse');
    expect(await db.query('SELECT transaction_id, country, currency, usd_amount FROM revenue ORDER BY 1')).toEqual([
      { transaction_id: 'TX-0000000101-2024', country: 'DE', currency: 'EUR', usd_amount: 100 },
      { transaction_id: 'TX-0000000102-2024', country: 'JP', currency: 'JPY', usd_amount: 40 },
      { transaction_id: 'TX-0000000103-2024', country: 'US', currency: 'USD', usd_amount: 12.5 },
    ]);
    expect(run.pipeline.deadLetters.count(['valid-transactions'])).toBe(1);
    await run.pipeline.stop();
  }, 120_000);

  it('revenue-monitor.yaml: events from a real Kafka topic become 5-minute KPI windows', async () => {
    const topic = uniqueName('payments');
    const kafka = new KafkaTopicClient([service('KAFKA_BROKERS')], 'test', new MemoryLogger());
    await kafka.createTopic(topic, { partitions: 2 });
    const events = [
      { event_type: 'purchase', event_ts: '2024-05-01T10:01:00Z', amount: 100, latency_ms: 300 },
      { event_type: 'payment_failed', event_ts: '2024-05-01T10:02:00Z', amount: 20, latency_ms: 900 },
      { event_type: 'login', event_ts: '2024-05-01T10:03:00Z', amount: null, latency_ms: null },
      { event_type: 'purchase', event_ts: '2024-05-01T10:06:00Z', amount: 50, latency_ms: 400 },
    ].map((e, i) => ({ event_id: randomUUID(), user_id: `user_${i + 1}`, status: 'x', gateway: e.amount === null ? null : 'Adyen', response_code: null, retry_attempt: 0, ...e }));
    await kafka.produce(topic, events.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })));
    await kafka.close();
    const stateDir = tempStateDir('monitor-real');
    const run = await runOnce('revenue-monitor', {
      MONITOR_SIMULATE: 'false', MONITOR_KAFKA_BROKERS: service('KAFKA_BROKERS'), MONITOR_TOPIC: topic,
      MONITOR_DUCKDB_PATH: join(stateDir, 'monitor.duckdb'), MONITOR_CSV_EXPORT: join(stateDir, 'kpis.csv'),
    }, stateDir);
    expect(run.ok, run.logs.filter((l) => l.includes("ERROR") || l.includes("WARN")).join("\n")).toBe(true);
    const db = await run.pipeline.connections.get<DuckDbClient>('warehouse');
    expect(await db.query('SELECT events, purchases, failed, revenue, failure_rate FROM kpi_windows ORDER BY window_start')).toEqual([
      { events: 3, purchases: 1, failed: 1, revenue: 100, failure_rate: 0.5 },
      { events: 1, purchases: 1, failed: 0, revenue: 50, failure_rate: 0 },
    ]);
    await run.pipeline.stop();
  }, 120_000);
});
