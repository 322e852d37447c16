// economic-analytics.yaml against real servers (Apache Kafka, FerretDB), switched only by its environment variables.
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { tempStateDir, type PipelineRun } from '../tests/pipelines.ts';
import { service, uniqueName } from '../tests/services.ts';
import { ORIGINAL_SAMPLE_DAY, originalStockData, writeWorkbook } from './data/make-stock-data.ts';
import { analytics, originalMessages, readWorkbook, type Row } from './expectations/economic-analytics.ts';
import { expectFigures, pickKeys, sortBy, uploadAndProcess } from './expectations/economic-analytics-run.ts';

describe('economic-analytics.yaml on real Kafka and FerretDB', () => {
  it("the original's four-sheet workbook goes through real topics in the original's message shapes; DuckDB, MongoDB and the dashboard hold an independent computation's figures", async () => {
    const stateDir = tempStateDir('econ-real');
    const file = join(stateDir, 'stock_data.xlsx');
    await writeWorkbook(file, originalStockData());
    const book = await readWorkbook(file);
    const want = analytics(originalMessages(book), { asOf: ORIGINAL_SAMPLE_DAY });
    const database = uniqueName('stock').toLowerCase();
    const prefix = `${uniqueName('econ')}-`;
    const env = {
      ECON_KAFKA_BROKERS: service('KAFKA_BROKERS'),
      ECON_MONGO_URL: service('MONGO_URL'),
      ECON_MONGO_DATABASE: database,
      ECON_TOPIC_PREFIX: prefix,
      ECON_DUCKDB_PATH: join(stateDir, 'analytics.duckdb'),
      ECON_LAKE_DIR: join(stateDir, 'lake'),
      ECON_AS_OF: ORIGINAL_SAMPLE_DAY,
    };
    const kafka = new Kafka({ brokers: [service('KAFKA_BROKERS')], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const mongo = new MongoClient(service('MONGO_URL'));
    const topics = ['topic-inventory-updates', 'topic-clients', 'topic-raw-sales'].map((t) => `${prefix}${t}`);
    const peek = `${prefix}peek`;
    let run: PipelineRun | undefined;
    try {
      const processed = await uploadAndProcess(stateDir, file, {}, env);
      const uploaded = processed.uploaded;
      run = processed.run;
      expect(uploaded).toMatchObject({
        records: Object.values(book).reduce((n, rows) => n + rows.length, 0),
        rejected: 0,
      });
      expect(run.logs.some((l) => l.includes('connection bus (kafka): real'))).toBe(true);
      expect(run.logs.some((l) => l.includes('connection hot (mongodb): real'))).toBe(true);

      // The real topics hold the original's messages.
      const consumer = kafka.consumer({ groupId: peek });
      await consumer.connect();
      await consumer.subscribe({ topic: `${prefix}topic-raw-sales`, fromBeginning: true });
      const sales: Row[] = [];
      await consumer.run({
        eachMessage: async ({ message }) => void sales.push(JSON.parse(message.value!.toString('utf8')) as Row),
      });
      for (let waited = 0; sales.length < book.Invoices.length + 1 && waited < 20_000; waited += 250)
        await new Promise((r) => setTimeout(r, 250));
      await consumer.disconnect();
      expect(sales.find((m) => m.invoice_id === 3)).toEqual({
        invoice_id: 3,
        client_id: 1,
        timestamp: '2025-12-27 13:49:04',
        total_amount: 11100,
        items: [{ product_id: 4, quantity: 2 }],
      });
      expect(sales).toHaveLength(book.Invoices.length + 1);

      await expectFigures(run, want);
      // And read straight from the database, not through the pipeline's connection.
      const db = mongo.db(database);
      const read = async (name: string) =>
        (await db.collection(name).find({}).toArray()).map(({ _id, ...d }) => d as Row);
      expect(
        pickKeys(
          (await read('product_winners')).sort((a, b) => Number(a.rank) - Number(b.rank)),
          ['rank', 'product_id', 'total_profit'],
        ),
      ).toEqual(want.winners.map(({ rank, product_id, total_profit }) => ({ rank, product_id, total_profit })));
      expect(
        pickKeys(sortBy(await read('clients'), 'client_id'), [
          'client_id',
          'total_revenue_generated',
          'loyalty_tier',
          'eligible_promo',
        ]),
      ).toEqual(want.loyalty);
      expect(pickKeys(sortBy(await read('loss_risk_products'), 'product_id'), ['product_id', 'risk'])).toEqual(
        want.lossRisk.map(({ product_id, risk }) => ({ product_id, risk })),
      );
      expect(run.pipeline.deadLetters.count(['valid-invoices', 'invoice-rows'])).toBe(want.rejected.sales.length);
    } finally {
      await run?.pipeline.stop();
      await mongo
        .db(database)
        .dropDatabase()
        .catch(() => undefined);
      await mongo.close();
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
      if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
      await admin.deleteTopics({ topics }).catch(() => undefined);
      await admin.disconnect();
    }
  }, 120_000);
});
