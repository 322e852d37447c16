// The shipped manifests against real servers, switched only by environment variables.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutBucketNotificationConfigurationCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaTopicClient } from '../core/connections/kafka/index.ts';
import type { DuckDbClient } from '../core/connections/duckdb/index.ts';
import { loadManifest } from '../core/manifest/index.ts';
import { MemoryLogger } from '../core/runtime/logger.ts';
import { Pipeline } from '../core/runtime/pipeline.ts';
import { createCatalog } from '../cli/catalog.ts';
import { expected as batchExpected, FEE_PERCENT, rawPath, readRaw, REGION_OF_STATE, STATE_OF_CITY, type Fact } from '../pipelines/expectations/batch-analytics.ts';
import { expectations as economicExpectations, sheets, WORKBOOK, type Row } from '../pipelines/expectations/economic-analytics.ts';
import { expectedOf, keyOf } from '../pipelines/expectations/sales-etl.ts';
import { repoRoot } from './cli.ts';
import { runOnce, tempStateDir, type PipelineRun } from './pipelines.ts';
import { Scratch, service, uniqueName } from './services.ts';

// Databases of their own (the manifests' table names must not collide), topics, groups, buckets: all removed at the end.
const scratch = new Scratch();
afterAll(() => scratch.drop());

/** A database of its own on the real server, so the manifest's table names do not collide. */
const freshDatabase = () => scratch.database('gm');

describe('shipped pipelines on real PostgreSQL and Kafka', () => {
  it('globemart.yaml: transactions from PostgreSQL, FX ticks from a Kafka topic, USD revenue in DuckDB', async () => {
    const pgUrl = await freshDatabase();
    const topic = scratch.topic('fx');
    scratch.groups.add('globemart-fx'); // the manifest's consumer group
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
    const topic = scratch.topic('payments');
    scratch.groups.add('revenue-monitor'); // the manifest's consumer group
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

const errorsOf = (run: PipelineRun) => run.logs.filter((l) => l.includes('ERROR') || l.includes('WARN')).join('\n');
const isReal = (run: PipelineRun, connection: string) => run.logs.some((l) => l.includes(`connection ${connection}: real`));

function s3Admin(): S3Client {
  return new S3Client({
    endpoint: service('S3_ENDPOINT'), region: service('S3_REGION'), forcePathStyle: true,
    credentials: { accessKeyId: service('S3_ACCESS_KEY'), secretAccessKey: service('S3_SECRET_KEY') },
  });
}

describe('new shipped pipelines on real Kafka, MongoDB, MinIO and PostgreSQL', () => {
  it('economic-analytics.yaml: the uploaded workbook goes through real Kafka topics; MongoDB holds the analytics of an independent computation', async () => {
    const want = economicExpectations(await sheets());
    const book = await sheets();
    const database = scratch.mongoDatabase('stock');
    const prefix = `${uniqueName('econ')}-`;
    scratch.prefixes.add(prefix); // the manifest's three topics and consumer groups
    const stateDir = tempStateDir('econ-real');
    const env = {
      ECON_KAFKA_BROKERS: service('KAFKA_BROKERS'), ECON_MONGO_URL: service('MONGO_URL'), ECON_MONGO_DATABASE: database,
      ECON_TOPIC_PREFIX: prefix, ECON_DUCKDB_PATH: join(stateDir, 'analytics.duckdb'), ECON_LAKE_DIR: join(stateDir, 'lake'),
    };
    // 1. The upload produces each sheet's rows to its (new) topic on the real Kafka.
    const first = await runOnce('economic-analytics', env, stateDir);
    expect(first.ok, errorsOf(first)).toBe(true);
    expect(isReal(first, 'bus (kafka)')).toBe(true);
    expect(isReal(first, 'hot (mongodb)')).toBe(true);
    const body = new FormData();
    body.append('file', new File([readFileSync(WORKBOOK)], 'stock_data.xlsx'));
    const response = await (await first.app()).request('/api/views/upload/upload/workbook', { method: 'POST', body });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ records: book.Products.length + book.Clients.length + book.Invoices.length, rejected: 0 });
    await first.pipeline.stop();

    // 2. The consumers read the topics to their end, validate, derive and write MongoDB.
    const second = await runOnce('economic-analytics', env, stateDir);
    expect(second.ok, errorsOf(second)).toBe(true);
    const mongo = new MongoClient(service('MONGO_URL'));
    try {
      const db = mongo.db(database);
      const read = async (name: string, key: string) =>
        (await db.collection(name).find({}).toArray()).map(({ _id, ...d }) => d as Row).sort((a, b) => String(a[key]).localeCompare(String(b[key])));
      const winners = (await read('product_winners', 'product_id')).sort((a, b) => Number(a.rank) - Number(b.rank));
      expect(winners.map(({ rank, product_id, total_profit }) => ({ rank, product_id, total_profit }))).toEqual(want.winners);
      expect((await read('loss_risk_products', 'product_id')).map(({ product_id, risk, last_movement }) => ({ product_id, risk, last_movement }))).toEqual(want.lossRisk);
      expect((await read('clients', 'client_id')).map(({ client_id, total_revenue_generated, loyalty_tier, eligible_promo }) => ({ client_id, total_revenue_generated, loyalty_tier, eligible_promo })))
        .toEqual(want.loyalty);
      const inventory = await read('inventory', 'product_id');
      expect(inventory.map((p) => p.product_id)).toEqual(want.products.map((p) => p.product_id).sort());
      const olive = want.products.find((p) => p.product_id === 'P001')!;
      expect(inventory.find((p) => p.product_id === 'P001')).toMatchObject({ name: olive.name, category: olive.category, buy_price: olive.buy_price, sell_price: olive.sell_price, quantity: olive.quantity, source_file: 'stock_data.xlsx' });
      // The dirty rows came through Kafka too, and were rejected with their reasons.
      expect(second.pipeline.deadLetters.count(['valid-products'])).toBe(book.Products.length - want.products.length);
      expect(second.pipeline.deadLetters.count(['valid-invoices'])).toBe(book.Invoices.length - want.invoices.length);
      await second.pipeline.stop();
      await db.dropDatabase();
    } finally {
      await mongo.close();
    }
  }, 120_000);

  it('sales-etl.yaml: the day\'s sheet lands in MinIO, is loaded into PostgreSQL, and a new object is read from its bucket event on Kafka', async () => {
    const pgUrl = await freshDatabase();
    const bucket = scratch.bucket('sales');
    // The bucket and its notification rule are set up outside the pipeline, as its header says.
    const admin = s3Admin();
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    await admin.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: { QueueConfigurations: [{ QueueArn: service('S3_NOTIFY_ARN'), Events: ['s3:ObjectCreated:*'] }] } }));
    const env = {
      SALES_S3_ENDPOINT: service('S3_ENDPOINT'), SALES_S3_ACCESS_KEY: service('S3_ACCESS_KEY'), SALES_S3_SECRET_KEY: service('S3_SECRET_KEY'), SALES_S3_REGION: service('S3_REGION'),
      SALES_S3_BUCKET: bucket, SALES_KAFKA_BROKERS: service('KAFKA_BROKERS'), SALES_S3_EVENTS_TOPIC: service('S3_NOTIFY_TOPIC'), SALES_S3_EVENTS_GROUP: scratch.group('sales-etl'),
      SALES_PG_URL: pgUrl, SALES_SIMULATE: 'true', SALES_ROWS_PER_DAY: '200',
    };
    const stateDir = tempStateDir('sales-real');
    const pgClient = new pg.Client({ connectionString: pgUrl });
    await pgClient.connect();
    const salesOf = async (date: string) => (await pgClient.query(
      'SELECT sale_id, source_key, source_line, product, category, quantity, amount::float8 AS amount FROM sales WHERE sale_date = $1 ORDER BY sale_id', [date])).rows;
    const wantRows = (csv: string, date: string) => expectedOf(csv).valid.sort((a, b) => (a.sale_id < b.sale_id ? -1 : 1))
      .map((s) => ({ sale_id: s.sale_id, source_key: keyOf(date), source_line: s.line, product: s.product, category: s.category, quantity: s.quantity, amount: s.amount }));
    try {
      // 1. A --once run for one day: the generated sheet is put in MinIO and loaded.
      const run = await runOnce('sales-etl', env, stateDir, { date: '2024-05-01' });
      expect(run.ok, errorsOf(run)).toBe(true);
      for (const connection of ['landing (s3)', 'bus (kafka)', 'sales-db (postgres)']) expect(isReal(run, connection), connection).toBe(true);
      const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect((listed.Contents ?? []).map((o) => o.Key)).toEqual([keyOf('2024-05-01')]);
      const csv = await (await admin.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf('2024-05-01') }))).Body!.transformToString();
      const { valid, invalid } = expectedOf(csv);
      expect(valid.length + invalid.size).toBe(200);
      expect(await salesOf('2024-05-01')).toEqual(wantRows(csv, '2024-05-01'));
      expect(run.pipeline.deadLetters.count(['valid-sales'])).toBe(invalid.size);
      expect((await pgClient.query('SELECT count(*)::int AS n FROM sales_sheet_lines')).rows).toEqual([{ n: 200 }]);
      await run.pipeline.stop();

      // 2. Streaming, the generator off: an object put by someone else is read when its event arrives on Kafka.
      const header = csv.slice(0, csv.indexOf('\n')).split(',');
      const line = (values: Record<string, string>) => header.map((h) => values[h] ?? '').join(',');
      const sale = { sold_at: '2024-05-02T09:30:00.000Z', sale_date: '2024-05-02', product: 'Novel', category: 'Books', quantity: '2', unit_price: '12.50', customer: 'Ada Lovelace', store: 'Online', region: 'North', payment_method: 'card' };
      const dropped = [header.join(','), line({ ...sale, sale_id: 'S-2024-05-02-1' }), line({ ...sale, sale_id: 'S-2024-05-02-2', product: 'Laptop', category: 'Electronics', quantity: '1', unit_price: '999.99' }),
        line({ ...sale, sale_id: 'S-2024-05-02-3', quantity: '-1' })].join('\n') + '\n';
      const catalog = createCatalog();
      const manifest = await loadManifest(join(repoRoot, 'pipelines', 'sales-etl.yaml'), catalog, { ...process.env, ...env, SALES_SIMULATE: 'false', SALES_POLL_EVERY: '1h' });
      const streaming = new Pipeline(manifest, catalog, { stateDir, logger: new MemoryLogger([]) });
      await streaming.start();
      const running = streaming.run();
      // The source joins its consumer group only after its catch-up listing: once it is a member, an object put
      // can only be read from its bucket event.
      const kafkaAdmin = new Kafka({ brokers: [service('KAFKA_BROKERS')], logLevel: logLevel.NOTHING }).admin();
      await kafkaAdmin.connect();
      const joined = async () => (await kafkaAdmin.describeGroups([env.SALES_S3_EVENTS_GROUP])).groups[0]?.state === 'Stable';
      for (let waited = 0; !(await joined()) && waited < 30_000; waited += 500) await new Promise((r) => setTimeout(r, 500));
      await kafkaAdmin.disconnect();
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf('2024-05-02'), Body: dropped }));
      for (let waited = 0; (await salesOf('2024-05-02')).length < 2 && waited < 30_000; waited += 500) await new Promise((r) => setTimeout(r, 500));
      expect(await salesOf('2024-05-02')).toEqual(wantRows(dropped, '2024-05-02'));
      expect(wantRows(dropped, '2024-05-02').map((s) => s.amount)).toEqual([25, 999.99]);
      expect(await salesOf('2024-05-01')).toEqual(wantRows(csv, '2024-05-01')); // the first day is not read again
      expect(streaming.deadLetters.count(['valid-sales'])).toBe(invalid.size + 1);
      await streaming.stop();
      expect((await running).ok).toBe(true);
    } finally {
      await pgClient.end();
      admin.destroy();
    }
  }, 120_000);

  it('batch-analytics.yaml: a 2-day backfill fills the real PostgreSQL star schema as computed from the raw CSV', async () => {
    const pgUrl = await freshDatabase();
    const stateDir = tempStateDir('batch-real');
    const dataDir = join(stateDir, 'data');
    const dates = ['2024-03-01', '2024-03-02'];
    const facts: Fact[] = [];
    for (const date of dates) {
      const run = await runOnce('batch-analytics', { BATCH_PG_URL: pgUrl, BATCH_DATA_DIR: dataDir }, stateDir, { date });
      expect(run.ok, errorsOf(run)).toBe(true);
      expect(isReal(run, 'warehouse (postgres)')).toBe(true);
      await run.pipeline.stop();
      const day = batchExpected(readRaw(rawPath(dataDir, date)));
      expect(day.rejected.size + day.duplicates).toBeGreaterThan(0);
      facts.push(...day.facts);
    }
    expect(facts.length).toBeGreaterThan(900); // 500 a day, less duplicates and rejects
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    try {
      const rows = (await client.query(`SELECT f.transaction_id, d.full_date::text AS day, ch.channel_name AS channel, ci.city_name AS city, cu.customer_id,
          f.amount::float8 AS amount, f.status, f.processing_time::float8 AS processing_time, f.processing_delay_bucket AS bucket, f.revenue::float8 AS revenue
        FROM fact_transactions f JOIN dim_date d USING (date_key) JOIN dim_channel ch USING (channel_key) JOIN dim_city ci USING (city_key)
        JOIN dim_customer cu USING (customer_key) ORDER BY transaction_id`)).rows;
      expect(rows).toEqual([...facts].sort((a, b) => (a.transaction_id < b.transaction_id ? -1 : 1)));
      // Dimensions: each natural key once, with its attributes.
      expect((await client.query('SELECT date_key, full_date::text AS day, weekday_flag FROM dim_date ORDER BY 1')).rows).toEqual(dates.map((day) => ({
        date_key: Number(day.replaceAll('-', '')), day, weekday_flag: [0, 6].includes(new Date(`${day}T00:00:00Z`).getUTCDay()) ? 0 : 1 })));
      const channels = [...new Set(facts.map((f) => f.channel))].sort();
      expect((await client.query('SELECT channel_name, fee_percent::float8 AS fee FROM dim_channel ORDER BY 1')).rows).toEqual(channels.map((c) => ({ channel_name: c, fee: FEE_PERCENT[c] })));
      const cities = [...new Set(facts.map((f) => f.city))].sort();
      expect((await client.query('SELECT city_name, state, region FROM dim_city ORDER BY 1')).rows)
        .toEqual(cities.map((c) => ({ city_name: c, state: STATE_OF_CITY[c], region: REGION_OF_STATE[STATE_OF_CITY[c]] })));
      const customers = [...new Set(facts.map((f) => f.customer_id))].sort((a, b) => a - b);
      expect((await client.query('SELECT customer_id, segment FROM dim_customer ORDER BY 1')).rows)
        .toEqual(customers.map((id) => ({ customer_id: id, segment: id % 10 < 6 ? 'Retail' : id % 10 < 9 ? 'SME' : 'Corporate' })));
      expect((await client.query('SELECT count(*)::int AS n FROM dim_customer')).rows).toEqual([{ n: customers.length }]);
    } finally {
      await client.end();
    }
  }, 120_000);
});
