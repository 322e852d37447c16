// sales-etl.yaml against real servers (MinIO, Apache Kafka, PostgreSQL), switched only by its environment variables.
import {
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketNotificationConfigurationCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest } from '../core/manifest/index.ts';
import { MemoryLogger } from '../core/sdk/logger.ts';
import { Pipeline } from '../core/runtime/pipeline.ts';
import { createCatalog } from '../cli/catalog.ts';
import { repoRoot } from '../tests/cli.ts';
import { runOnce, tempStateDir } from '../tests/pipelines.ts';
import { freshDatabase, service, uniqueName } from '../tests/services.ts';
import { expectedOf, keyOf, kpis, loaded, originalSheet, toCsv } from './expectations/sales-etl.ts';

describe('sales-etl.yaml on real MinIO, Kafka and PostgreSQL', () => {
  it("sets up the bucket notification from the documented variables, loads the day's sheet, then a malformed object and a good sheet dropped while it runs are both handled without a restart", async () => {
    const database = await freshDatabase('sales');
    const bucket = uniqueName('sales').toLowerCase().replaceAll('_', '-');
    const group = uniqueName('sales-etl');
    const admin = new S3Client({
      endpoint: service('S3_ENDPOINT'),
      region: service('S3_REGION'),
      forcePathStyle: true,
      credentials: { accessKeyId: service('S3_ACCESS_KEY'), secretAccessKey: service('S3_SECRET_KEY') },
    });
    const kafka = new Kafka({ brokers: [service('KAFKA_BROKERS')], logLevel: logLevel.NOTHING }).admin();
    await kafka.connect();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    // Only the documented variables: no bucket, no notification rule made by hand.
    const env = {
      SALES_S3_ENDPOINT: service('S3_ENDPOINT'),
      SALES_S3_ACCESS_KEY: service('S3_ACCESS_KEY'),
      SALES_S3_SECRET_KEY: service('S3_SECRET_KEY'),
      SALES_S3_REGION: service('S3_REGION'),
      SALES_S3_BUCKET: bucket,
      SALES_KAFKA_BROKERS: service('KAFKA_BROKERS'),
      SALES_S3_EVENTS_TOPIC: service('S3_NOTIFY_TOPIC'),
      SALES_S3_EVENTS_ARN: service('S3_NOTIFY_ARN'),
      SALES_S3_EVENTS_GROUP: group,
      SALES_PG_URL: database.url,
      SALES_SIMULATE: 'true',
      SALES_ROWS_PER_DAY: '90',
    };
    const salesOf = async () =>
      (
        await client.query(`SELECT sale_id, to_char(sale_date, 'YYYY-MM-DD') AS sale_date, product_name, product_category, quantity_sold,
      total_value::float8 AS total_value, gross_profit::float8 AS gross_profit, sales_channel, sales_region, sales_rep, discount, to_char(payment_date, 'YYYY-MM-DD') AS payment_date,
      to_char(delivery_date, 'YYYY-MM-DD') AS delivery_date, source_key, source_line FROM sales_data ORDER BY sale_id`)
      ).rows;
    const stateDir = tempStateDir('sales-real');
    try {
      // 1. A --once run for one day: the generator's sheet is put in MinIO under CSV/ and loaded.
      const run = await runOnce('sales-etl', env, stateDir, { date: '2024-05-01' });
      expect(run.ok, run.logs.filter((l) => /ERROR|WARN/.test(l)).join('\n')).toBe(true);
      for (const connection of ['landing (s3)', 'bus (kafka)', 'sales-db (postgres)'])
        expect(
          run.logs.some((l) => l.includes(`connection ${connection}: real`)),
          connection,
        ).toBe(true);
      const csv = await (
        await admin.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf('2024-05-01') }))
      ).Body!.transformToString();
      const first = expectedOf(keyOf('2024-05-01'), csv);
      expect(await salesOf()).toEqual(loaded([first.valid]));
      expect(run.pipeline.deadLetters.count(['valid-sales'])).toBe(first.invalid.size);
      await run.pipeline.stop();

      // 2. Streaming, the generator off: the pipeline adds the bucket rule, then reads objects as their events arrive.
      const catalog = createCatalog();
      const manifest = await loadManifest(join(repoRoot, 'pipelines', 'sales-etl.yaml'), catalog, {
        ...process.env,
        ...env,
        SALES_SIMULATE: 'false',
        SALES_POLL_EVERY: '1h',
      });
      const streaming = new Pipeline(manifest, catalog, { stateDir, logger: new MemoryLogger([]) });
      await streaming.start();
      const running = streaming.run();
      const joined = async () => (await kafka.describeGroups([group])).groups[0]?.state === 'Stable';
      for (let waited = 0; !(await joined()) && waited < 30_000; waited += 500)
        await new Promise((r) => setTimeout(r, 500));
      const rules =
        (await admin.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }))).QueueConfigurations ?? [];
      expect(
        rules.map((q) => [q.QueueArn, q.Events, q.Filter?.Key?.FilterRules?.map((f) => `${f.Name}=${f.Value}`)]),
      ).toEqual([[service('S3_NOTIFY_ARN'), ['s3:ObjectCreated:*'], ['prefix=CSV/']]]);
      // A malformed object first (the manifest's old layout), then a good sheet of the original's.
      await admin.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'CSV/old-layout.csv',
          Body: 'sale_id,sold_at,product,quantity\nS-1,2024-05-02T10:00:00Z,Laptop,1\n',
        }),
      );
      const good = toCsv(originalSheet('2024-05-02', 40, 21));
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf('2024-05-02'), Body: good }));
      const second = expectedOf(keyOf('2024-05-02'), good);
      const want = loaded([first.valid, second.valid]);
      for (let waited = 0; (await salesOf()).length < want.length && waited < 30_000; waited += 500)
        await new Promise((r) => setTimeout(r, 500));
      expect(await salesOf()).toEqual(want);
      expect(streaming.deadLetters.count(['sheet-shape'])).toBe(1);
      // The dashboard's KPIs over both days equal the computation from the two sheets.
      const { createServer } = await import('../core/server/app.ts');
      const app = await createServer(streaming);
      const value = async (id: string) =>
        ((await (await app.request(`/api/views/dashboard/${id}`)).json()) as { data: { value: number }[] }).data[0]
          .value;
      const figures = kpis(want);
      expect(await value('total_revenue')).toBe(figures.totalRevenue);
      expect(await value('gross_profit_margin')).toBeCloseTo(figures.grossProfitMargin, 12);
      expect(await value('total_quantity')).toBe(figures.totalQuantity);
      await streaming.stop();
      expect((await running).ok).toBe(true);
    } finally {
      await client.end();
      await database.drop();
      for (const object of (await admin.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? [])
        await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key! }));
      await admin.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      admin.destroy();
      await kafka.deleteGroups([group]).catch(() => undefined);
      await kafka.disconnect();
    }
  }, 150_000);
});
