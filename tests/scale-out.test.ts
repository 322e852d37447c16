// Scale-out through the engines: two `platform run` processes with the same manifest share a topic's
// partitions through Kafka's consumer group and together write every record exactly once into an upserting sink.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { KafkaTopicClient } from '../connections/kafka/real.ts';
import { MemoryLogger } from '../core/sdk/logger.ts';
import { startPlatform } from './cli.ts';
import { Scratch, service, uniqueName } from './services.ts';

describe('scale-out with a Kafka consumer group (real Kafka and PostgreSQL)', () => {
  it('two processes split the partitions and write every record once; SIGTERM stops each cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scale-'));
    // A database, topic and group of this test's own, removed at the end (the servers are shared).
    const scratch = new Scratch();
    const topic = scratch.topic('orders');
    scratch.groups.add(`${topic}-workers`);
    const pgUrl = await scratch.database('scale');
    const table = uniqueName('orders');
    const manifest = join(dir, 'scale.yaml');
    writeFileSync(
      manifest,
      `name: scale-out
connections:
  bus: { type: kafka, brokers: "\${BROKERS}" }
  db: { type: postgres, url: "\${PG}" }
sources:
  orders:
    use: kafka
    connection: bus
    with: { topics: "\${TOPIC}", group: "\${TOPIC}-workers", startFrom: earliest, maxBatch: 100 }
sinks:
  table:
    use: postgres
    from: orders
    connection: db
    with: { table: "\${TABLE}", mode: upsert, key: [id], createTable: true, columns: { id: integer, amount: numeric } }
`,
    );
    const client = new KafkaTopicClient([service('KAFKA_BROKERS')], 'test', new MemoryLogger());
    await client.createTopic(topic, { partitions: 4 });
    const env = { BROKERS: service('KAFKA_BROKERS'), PG: pgUrl, TOPIC: topic, TABLE: table };
    const workers = await Promise.all(
      [1, 2].map((n) =>
        startPlatform(['run', manifest, '--port', '0', '--state-dir', join(dir, `state-${n}`)], { env }),
      ),
    );
    const db = new pg.Pool({ connectionString: pgUrl });
    try {
      // Both members join before the data flows, so the group deals them two partitions each.
      const admin = client.kafka.admin();
      await admin.connect();
      const joined = Date.now();
      let members = 0;
      while (Date.now() - joined < 60_000) {
        const { groups } = await admin.describeGroups([`${topic}-workers`]);
        members = groups[0]?.state === 'Stable' ? groups[0].members.length : 0;
        if (members === 2) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      await admin.disconnect();
      expect(members).toBe(2);
      const total = 2000;
      for (let i = 0; i < total; i += 500) {
        // Every id is sent twice: the upsert keeps one row per id.
        const batch = Array.from({ length: 500 }, (_, j) => ({
          key: `k${i + j}`,
          value: JSON.stringify({ id: i + j, amount: (i + j) / 4 }),
        }));
        await client.produce(topic, [...batch, ...batch]);
      }
      const started = Date.now();
      let count = 0;
      while (Date.now() - started < 60_000) {
        count = await db
          .query(`SELECT count(*)::int AS n FROM ${table}`)
          .then((r) => r.rows[0].n as number)
          .catch(() => 0);
        if (count === total) break;
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(count).toBe(total);
      const { rows } = await db.query(
        `SELECT count(DISTINCT id)::int AS ids, sum(amount)::float AS amount FROM ${table}`,
      );
      expect(rows[0]).toEqual({ ids: total, amount: (total * (total - 1)) / 2 / 4 });
      const share = await Promise.all(
        workers.map(async (w) => {
          const graph = (await (await fetch(`${w.url}/api/pipeline`)).json()) as {
            steps: { id: string; recordsOut: number }[];
          };
          return graph.steps.find((s) => s.id === 'orders')!.recordsOut;
        }),
      );
      expect(share.every((n) => n > 0)).toBe(true); // both processes did part of the work
      expect(share[0] + share[1]).toBeGreaterThanOrEqual(2 * total);
    } finally {
      const codes = await Promise.all(workers.map((w) => w.stop('SIGTERM')));
      await db.end();
      await client.close();
      await scratch.drop();
      expect(codes).toEqual([0, 0]);
      for (const w of workers) expect(w.output()).toContain('stopped cleanly');
    }
  }, 150_000);
});
