// GlobeMart on real servers: the original's PostgreSQL table in a database of its own and the FX producers' messages
// on a Kafka topic of its own (both dropped afterwards), switched only by environment variables.
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runOnce, tempStateDir } from '../tests/pipelines.ts';
import { service, uniqueName } from '../tests/services.ts';
import { expected, FX_ZONE, scenario, SHOP_DDL } from './expectations/globemart.ts';
import { expectDashboard, wanted, warehouseFigures } from './expectations/globemart-checks.ts';

describe('GlobeMart on real PostgreSQL and Kafka', () => {
  it("the original's transactions table and the producers' flat + nested ticks give every figure of an independent computation; a currency quoted late converts then", async () => {
    const database = uniqueName('gm').toLowerCase();
    const topic = uniqueName('fx-rates');
    const group = uniqueName('globemart-fx');
    const admin = new pg.Client({ connectionString: service('PG_URL') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(service('PG_URL'));
    url.pathname = `/${database}`;
    const kafka = new Kafka({ brokers: [service('KAFKA_BROKERS')], logLevel: logLevel.NOTHING });
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    const producer = kafka.producer();
    await producer.connect();
    try {
      const data = scenario();
      const shop = new pg.Client({ connectionString: url.toString() });
      await shop.connect();
      await shop.query(SHOP_DDL);
      for (const r of data.shop) {
        await shop.query('INSERT INTO transactions VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
          r.transaction_id,
          r.user_id,
          r.country,
          r.currency,
          r.amount,
          r.product_category,
          r.transaction_time,
          r.batch_id,
        ]);
      }
      await shop.end();
      // One partition, no key, the raw JSON text: as the original's docker-compose and producers have it.
      await kafkaAdmin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await producer.send({ topic, messages: data.fx.map((value) => ({ value })) });

      const stateDir = tempStateDir('globemart-real');
      const env = {
        GLOBEMART_SIMULATE: 'false',
        GLOBEMART_PG_URL: url.toString(),
        GLOBEMART_KAFKA_BROKERS: service('KAFKA_BROKERS'),
        GLOBEMART_FX_TOPIC: topic,
        GLOBEMART_FX_GROUP: group,
        GLOBEMART_FX_TIMEZONE: FX_ZONE,
        GLOBEMART_DUCKDB_PATH: join(stateDir, 'analytics.duckdb'),
      };
      const first = await runOnce('globemart', env, stateDir);
      expect(first.ok, first.logs.filter((l) => l.includes('ERROR') || l.includes('WARN')).join('\n')).toBe(true);
      expect(first.logs.some((l) => l.includes('connection shop (postgres): real'))).toBe(true);
      expect(first.logs.some((l) => l.includes('connection bus (kafka): real'))).toBe(true);
      const want = expected(data.shop, data.fx);
      expect(await warehouseFigures(first)).toEqual(wanted(want));
      await expectDashboard(first, want);
      expect(first.pipeline.deadLetters.count(['fx-ticks', 'fx-entries', 'fx-rates-checked', 'valid-fx'])).toBe(
        want.fx.notJson + want.fx.rejectedMessages + want.fx.rejectedRates + want.fx.rejectedCodes,
      );
      expect(first.pipeline.deadLetters.count(['valid-transactions'])).toBe(want.rejected);
      await first.pipeline.stop();

      await producer.send({ topic, messages: data.lateFx.map((value) => ({ value })) });
      const late = await runOnce('globemart', env, stateDir);
      const wantLate = expected(data.shop, [...data.fx, ...data.lateFx]);
      expect(await warehouseFigures(late)).toEqual(wanted(wantLate));
      expect(wantLate.pending.length).toBeLessThan(want.pending.length);
      await late.pipeline.stop();
    } finally {
      await producer.disconnect();
      await kafkaAdmin.deleteGroups([group]).catch(() => undefined);
      await kafkaAdmin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await kafkaAdmin.disconnect();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  }, 180_000);
});
