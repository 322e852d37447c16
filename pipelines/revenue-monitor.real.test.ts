// The revenue monitor on real servers: a Kafka topic of three partitions, and the original's PostgreSQL table
// raw_events in a database of its own (topic, group and database dropped afterwards).
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runOnce, tempStateDir, type PipelineRun } from '../tests/pipelines.ts';
import { service, uniqueName } from '../tests/services.ts';
import {
  backlog,
  eventAt,
  judge,
  MINUTE,
  parseMicros,
  statusOf,
  tsText,
  windowsOf,
  type MonitorEvent,
} from './expectations/revenue-monitor.ts';
import { expectEverywhere, kpiTable } from './expectations/revenue-monitor-checks.ts';

const START = Date.UTC(2026, 1, 5, 6, 0);
const errors = (run: PipelineRun) => run.logs.filter((l) => l.includes('ERROR') || l.includes('WARN')).join('\n');

async function lateIds(run: PipelineRun): Promise<string[]> {
  return (await run.pipeline.deadLetters.list({ steps: ['on-time'], limit: 10_000 })).entries
    .map((e) => (e.record as { event_id: string }).event_id)
    .sort();
}

describe('revenue monitor on real Kafka and PostgreSQL', () => {
  it('a 3-hour backlog on a 3-partition topic (lateness judged per partition) gives every window of an independent computation; a replay changes nothing', async () => {
    // Each user's events on one partition (as a keyed producer does), the partition chosen here so the expectation knows it.
    const data = backlog({
      start: START,
      minutes: 180,
      seed: 21,
      gap: [60, 75],
      partitionOf: (e: MonitorEvent) => Number(e.user_id.slice(5)) % 3,
    });
    // Partition 2's producer runs 45 minutes behind (its clock or its queue): on time within its partition, while a
    // single watermark across partitions would throw most of its events away.
    const messages = data.messages.map((m) => {
      if (m.partition !== 2) return m;
      try {
        const e = JSON.parse(m.value) as MonitorEvent;
        return { ...m, value: JSON.stringify({ ...e, event_ts: tsText(parseMicros(e.event_ts)! - 45n * MINUTE) }) };
      } catch {
        return m;
      }
    });
    const want = judge(messages);
    const rows = windowsOf(want.accepted);
    expect(rows).toHaveLength(45);
    expect(judge(messages.map((m) => ({ ...m, partition: 0 }))).late.length).toBeGreaterThan(want.late.length + 100);
    const topic = uniqueName('payments');
    const group = uniqueName('monitor');
    const replayGroup = uniqueName('monitor-replay');
    const kafka = new Kafka({ brokers: [service('KAFKA_BROKERS')], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer();
    await producer.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
      for (let i = 0; i < messages.length; i += 500) {
        await producer.send({
          topic,
          messages: messages.slice(i, i + 500).map((m) => ({ partition: m.partition, key: m.key, value: m.value })),
        });
      }
      const stateDir = tempStateDir('monitor-real');
      const env = {
        MONITOR_SIMULATE: 'false',
        MONITOR_KAFKA_BROKERS: service('KAFKA_BROKERS'),
        MONITOR_TOPIC: topic,
        MONITOR_GROUP: group,
        MONITOR_DUCKDB_PATH: join(stateDir, 'monitor.duckdb'),
        MONITOR_CSV_EXPORT: join(stateDir, 'kpis.csv'),
        MONITOR_BATCH_SIZE: '250',
      };
      const run = await runOnce('revenue-monitor', env, stateDir);
      expect(run.ok, errors(run)).toBe(true);
      expect(run.logs.some((l) => l.includes('connection bus (kafka): real'))).toBe(true);
      await expectEverywhere(run, join(stateDir, 'kpis.csv'), rows, statusOf(rows, want.accepted, new Date()));
      expect(await lateIds(run)).toEqual([...want.late].sort());
      expect(run.pipeline.deadLetters.count(['events', 'checked'])).toBe(want.invalid);
      await run.pipeline.stop();

      // A replay: another consumer group reads the topic from its start into the same warehouse.
      const replay = tempStateDir('monitor-real-replay');
      const again = await runOnce(
        'revenue-monitor',
        {
          ...env,
          MONITOR_GROUP: replayGroup,
          MONITOR_CSV_EXPORT: join(replay, 'kpis.csv'),
          MONITOR_BATCH_SIZE: '1000',
        },
        replay,
      );
      expect(again.ok, errors(again)).toBe(true);
      expect(await kpiTable(again)).toEqual(rows);
      expect(await lateIds(again)).toEqual([...want.late].sort());
      await again.pipeline.stop();
    } finally {
      await producer.disconnect();
      await admin.deleteGroups([group, replayGroup]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  }, 240_000);

  it("reads the original's raw_events table on a real PostgreSQL (MONITOR_EVENTS_FROM=postgres); a late row within the lookback recomputes its window", async () => {
    const database = uniqueName('monitoring_db').toLowerCase();
    const admin = new pg.Client({ connectionString: service('PG_URL') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(service('PG_URL'));
    url.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query(`CREATE TABLE raw_events (event_id TEXT PRIMARY KEY, event_ts TIMESTAMPTZ NOT NULL, user_id TEXT NOT NULL, event_type TEXT NOT NULL,
        amount NUMERIC(10,2), status TEXT, gateway_name TEXT, response_code TEXT, latency_ms INTEGER, retry_attempt INTEGER NOT NULL DEFAULT 0)`);
      const insert = (e: MonitorEvent) =>
        client.query(
          `INSERT INTO raw_events VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (event_id) DO NOTHING`,
          [
            e.event_id,
            e.event_ts,
            e.user_id,
            e.event_type,
            e.amount,
            e.status,
            e.gateway_name,
            e.response_code,
            e.latency_ms,
            e.retry_attempt,
          ],
        );
      // The original's generator: one insert per event (an hour of them), a repeated event_id ignored.
      const data = backlog({ start: START, minutes: 60, seed: 5, millis: true });
      const inserted: { partition: number; key: string | null; value: string }[] = [];
      for (const m of data.messages) {
        try {
          const e = JSON.parse(m.value) as MonitorEvent;
          if (
            !['login', 'purchase', 'payment_failed'].includes(e.event_type) ||
            (e.event_type !== 'login' && e.amount === null)
          )
            continue;
          await insert(e);
          inserted.push(m);
        } catch {
          /* not JSON: never in the table */
        }
      }
      const byTime = (list: typeof inserted) =>
        [...list].sort((a, b) =>
          (JSON.parse(a.value) as MonitorEvent).event_ts < (JSON.parse(b.value) as MonitorEvent).event_ts ? -1 : 1,
        );
      const want = judge(byTime(inserted));
      const stateDir = tempStateDir('monitor-real-pg');
      const env = {
        MONITOR_SIMULATE: 'false',
        MONITOR_EVENTS_FROM: 'postgres',
        MONITOR_PG_URL: url.toString(),
        MONITOR_PG_POLL_EVERY: '1h',
        MONITOR_DUCKDB_PATH: join(stateDir, 'monitor.duckdb'),
        MONITOR_CSV_EXPORT: join(stateDir, 'kpis.csv'),
      };
      const run = await runOnce('revenue-monitor', env, stateDir);
      expect(run.ok, errors(run)).toBe(true);
      expect(run.logs.some((l) => l.includes('connection events-db (postgres): real'))).toBe(true);
      const rows = windowsOf(want.accepted);
      await expectEverywhere(run, join(stateDir, 'kpis.csv'), rows, statusOf(rows, want.accepted, new Date()));
      await run.pipeline.stop();

      const newest = want.accepted.reduce((a, e) => (e.us > a ? e.us : a), 0n);
      const late = eventAt(newest - 20n * MINUTE, 'payment_failed', 1599, 42.42, 'user_1999');
      await insert(late);
      const second = await runOnce('revenue-monitor', env, stateDir);
      expect(await kpiTable(second)).toEqual(
        windowsOf(judge(byTime([...inserted, { partition: 0, key: null, value: JSON.stringify(late) }])).accepted),
      );
      await second.pipeline.stop();
    } finally {
      await client.end();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  }, 240_000);
});
