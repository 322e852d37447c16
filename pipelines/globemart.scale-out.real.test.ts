// GlobeMart scaled out (GLOBEMART_STATE=postgres) on the real servers: two `platform run` workers read the original's
// shop table and FX topic (one partition, as the original's) and convert in a shared PostgreSQL database; the worker
// reading the FX topic is SIGKILLed and the other takes the partition over; rows and ticks arriving meanwhile convert.
// Every figure, from the database and from each worker's dashboard, equals the independent computation.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PgPoolClient } from '../connections/postgres/pool.ts';
import { startPlatform } from '../tests/cli.ts';
import { Scratch, service } from '../tests/services.ts';
import { expected, FX_ZONE, scenario, SHOP_DDL, type ShopRow } from './expectations/globemart.ts';
import { expectDashboard, wanted, warehouseFigures } from './expectations/globemart-checks.ts';

type Server = Awaited<ReturnType<typeof startPlatform>>;

describe('GlobeMart scaled out on real PostgreSQL and Kafka (GLOBEMART_STATE=postgres)', () => {
  it('two workers convert into one shared database; the FX reader SIGKILLed, the other takes its partition over; every figure equals the independent computation on every dashboard', async () => {
    const data = scenario();
    // The shop's rows in two parts by time: the second is inserted while the workers run.
    const cut = new Date(data.start + 3 * 3600_000).toISOString();
    const early = data.shop.filter((r) => r.transaction_time < cut);
    const later = data.shop.filter((r) => r.transaction_time >= cut);
    const scratch = new Scratch();
    const topic = scratch.topic('fx-rates');
    const group = scratch.group('globemart-fx');
    const kafka = new Kafka({ brokers: [service('KAFKA_BROKERS')], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const producer = kafka.producer();
    const servers: Server[] = [];
    let shop: pg.Client | undefined;
    let state: PgPoolClient | undefined;
    try {
      const shopUrl = await scratch.database('gm_shop');
      const stateUrl = await scratch.database('gm_state');
      shop = new pg.Client({ connectionString: shopUrl });
      await shop.connect();
      await shop.query(SHOP_DDL);
      const insert = async (rows: ShopRow[]) => {
        for (const r of rows) {
          await shop!.query('INSERT INTO transactions VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
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
      };
      await insert(early);
      await admin.connect();
      await producer.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await producer.send({ topic, messages: data.fx.map((value) => ({ value })) });

      state = PgPoolClient.create(stateUrl, 1);
      const figures = () => warehouseFigures(state!).catch(() => undefined);
      const until = async (what: string, want: ReturnType<typeof wanted>, timeoutMs: number) => {
        const started = Date.now();
        let seen: unknown;
        while (JSON.stringify((seen = await figures())) !== JSON.stringify(want)) {
          if (Date.now() - started > timeoutMs) expect(seen, `timed out waiting until ${what}`).toEqual(want);
          await new Promise((r) => setTimeout(r, 500));
        }
      };
      const dir = mkdtempSync(join(tmpdir(), 'globemart-workers-'));
      const env = {
        GLOBEMART_SIMULATE: 'false',
        GLOBEMART_STATE: 'postgres',
        GLOBEMART_STATE_PG_URL: stateUrl,
        GLOBEMART_PG_URL: shopUrl,
        GLOBEMART_KAFKA_BROKERS: service('KAFKA_BROKERS'),
        GLOBEMART_FX_TOPIC: topic,
        GLOBEMART_FX_GROUP: group,
        GLOBEMART_FX_TIMEZONE: FX_ZONE,
        GLOBEMART_LOAD_EVERY: '2s',
      };
      const start = async (name: string) => {
        const server = await startPlatform(
          ['run', 'pipelines/globemart.yaml', '--port', '0', '--state-dir', join(dir, name)],
          { env, timeoutMs: 120_000 },
        );
        servers.push(server);
        return server;
      };
      const fxRead = async (server: Server) => {
        const graph = (await (await fetch(`${server.url}/api/pipeline`)).json()) as {
          steps: { id: string; recordsOut: number }[];
        };
        return graph.steps.find((s) => s.id === 'fx-ticks')?.recordsOut ?? 0;
      };
      const workers = await Promise.all([start('worker-1'), start('worker-2')]);
      await until('the first part is converted', wanted(expected(early, data.fx)), 90_000);

      // The worker that reads the FX partition dies; rows and a currency's first ticks arrive meanwhile.
      const reading = (await fxRead(workers[0])) > 0 ? workers[0] : workers[1];
      const other = reading === workers[0] ? workers[1] : workers[0];
      expect(await fxRead(reading)).toBeGreaterThan(0);
      expect(await fxRead(other)).toBe(0); // one partition: one reader
      reading.child.kill('SIGKILL');
      await new Promise((r) => reading.child.once('close', r));
      servers.splice(servers.indexOf(reading), 1);
      await insert(later);
      await producer.send({ topic, messages: data.lateFx.map((value) => ({ value })) });
      const want = expected(data.shop, [...data.fx, ...data.lateFx]);
      await until('the rest is converted by the survivor, with the late currency', wanted(want), 120_000);
      expect(await fxRead(other)).toBeGreaterThan(0); // it took the partition over
      expect(want.pending.length).toBeGreaterThan(0); // MXN: never quoted
      const restarted = await start('worker-1-again');
      for (const server of [other, restarted]) await expectDashboard((path) => fetch(`${server.url}${path}`), want);
      const stopping = servers.splice(0);
      const codes = await Promise.all(stopping.map((s) => s.stop('SIGTERM')));
      expect(codes).toEqual([0, 0]);
      // No third-party warning an operator cannot act on (on Node 24, kafkajs's TimeoutNegativeWarning).
      for (const server of [...stopping, reading]) expect(server.output()).not.toMatch(/Warning/);
    } finally {
      await Promise.all(servers.map((s) => s.stop('SIGKILL')));
      await state?.close();
      await shop?.end();
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      await scratch.drop();
    }
  }, 300_000);
});
