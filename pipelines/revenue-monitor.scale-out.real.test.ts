// The revenue monitor scaled out (MONITOR_STATE=postgres) on the real servers: one topic of four partitions holding a
// 3-hour backlog in the original's event shape (late events within and beyond the allowed lateness, duplicates, one
// with another amount, malformed messages, a stall), read by one worker and, in another database, by three `platform
// run` workers — a third added while they run, one SIGKILLed mid-run and started again — plus a server that only
// serves. Every table, every server's /api/kpis/latest and every alert state equal the independent computation.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PgPoolClient } from '../connections/postgres/pool.ts';
import { startPlatform } from '../tests/cli.ts';
import { runOnce, type PipelineRun } from '../tests/pipelines.ts';
import { Scratch, service } from '../tests/services.ts';
import {
  backlog,
  judge,
  MINUTE,
  parseMicros,
  statusOf,
  tsText,
  windowsOf,
  type Message,
  type MonitorEvent,
  type WindowRow,
} from './expectations/revenue-monitor.ts';
import { kpiTable } from './expectations/revenue-monitor-checks.ts';

const START = Date.UTC(2026, 1, 5, 6, 0);
const PARTITIONS = 4;

type Server = Awaited<ReturnType<typeof startPlatform>>;

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What a server says: the API's rows, status and reasons, the status card, the alert gauge of /metrics. */
async function said(get: (path: string) => Promise<Response>) {
  const api = (await (await get('/api/kpis/latest?limit=500')).json()) as {
    data: Record<string, unknown>[];
    status: string;
    reasons: string[];
  };
  const card = (await (await get('/api/views/monitor/status')).json()) as { status: string; reasons: string[] };
  const metrics = await (await get('/metrics')).text();
  const gauge = /platform_alert_state\{view="api",endpoint="kpis\/latest"\} (-?\d+)/.exec(metrics)?.[1];
  return {
    data: api.data,
    status: api.status,
    reasons: api.reasons,
    card: { status: card.status, reasons: card.reasons },
    gauge,
  };
}

describe('revenue monitor scaled out on real Kafka and PostgreSQL (MONITOR_STATE=postgres)', () => {
  it('one worker, and three workers (one added while running, one SIGKILLed mid-run and restarted), give identical kpi_windows, /api/kpis/latest and alert states from every server, equal to the independent computation', async () => {
    // Each user's events on one partition (a keyed producer); partition 3's producer runs 40 minutes behind, so
    // lateness must be judged per partition (one watermark for all would throw most of its events away).
    const data = backlog({
      start: START,
      minutes: 180,
      seed: 31,
      gap: [100, 160],
      perMinute: [20, 50],
      partitionOf: (e: MonitorEvent) => Number(e.user_id.slice(5)) % PARTITIONS,
    });
    const messages: Message[] = data.messages.map((m) => {
      if (m.partition !== 3) return m;
      try {
        const e = JSON.parse(m.value) as MonitorEvent;
        return { ...m, value: JSON.stringify({ ...e, event_ts: tsText(parseMicros(e.event_ts)! - 40n * MINUTE) }) };
      } catch {
        return m;
      }
    });
    const want = judge(messages);
    const rows = windowsOf(want.accepted);
    // The scenario covers what it claims.
    expect(rows.length).toBeGreaterThanOrEqual(36);
    expect(new Set(rows.map((r) => r.alert_flag))).toEqual(new Set(['OK', 'WARN', 'CRIT']));
    expect(want.late.length).toBeGreaterThan(10);
    expect(judge(messages.map((m) => ({ ...m, partition: 0 }))).late.length).toBeGreaterThan(want.late.length + 100);
    expect(messages.length - want.accepted.length - want.late.length - want.invalid).toBeGreaterThan(30); // duplicates
    const status = statusOf(rows, want.accepted, new Date());
    const listed = [...rows].reverse().map((w: WindowRow) => ({ ...w, partial: false })); // 2026-02-05: long complete

    const scratch = new Scratch();
    const topic = scratch.topic('payments');
    const oneGroup = scratch.group('monitor-one');
    const threeGroup = scratch.group('monitor-three');
    const kafka = new Kafka({ brokers: [service('KAFKA_BROKERS')], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const producer = kafka.producer();
    const servers: Server[] = [];
    const pools: pg.Pool[] = [];
    let one: PipelineRun | undefined;
    try {
      const oneUrl = await scratch.database('monitor_one');
      const threeUrl = await scratch.database('monitor_three');
      await admin.connect();
      await producer.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
      for (let i = 0; i < messages.length; i += 500) {
        await producer.send({
          topic,
          messages: messages.slice(i, i + 500).map((m) => ({ partition: m.partition, key: m.key, value: m.value })),
        });
      }
      const env = {
        MONITOR_SIMULATE: 'false',
        MONITOR_KAFKA_BROKERS: service('KAFKA_BROKERS'),
        MONITOR_TOPIC: topic,
        MONITOR_STATE: 'postgres',
      };

      // One worker, in big batches.
      const oneDir = mkdtempSync(join(tmpdir(), 'monitor-one-'));
      one = await runOnce(
        'revenue-monitor',
        {
          ...env,
          MONITOR_STATE_PG_URL: oneUrl,
          MONITOR_GROUP: oneGroup,
          MONITOR_BATCH_SIZE: '500',
          MONITOR_CSV_EXPORT: join(oneDir, 'kpis.csv'),
        },
        oneDir,
      );
      expect(one.ok, one.logs.filter((l) => /ERROR|WARN/.test(l)).join('\n')).toBe(true);
      expect(one.logs.some((l) => l.includes('connection postgres (postgres): real'))).toBe(true);
      expect(await kpiTable(one, 'postgres')).toEqual(rows);

      // Three workers in small batches (so that each has work in flight when the next joins or one is killed).
      const three = new pg.Pool({ connectionString: threeUrl, max: 2 });
      pools.push(three);
      const stored = async () =>
        Number((await three.query('SELECT count(*) AS n FROM events').catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n);
      const dir = mkdtempSync(join(tmpdir(), 'monitor-three-'));
      const workerEnv = { ...env, MONITOR_STATE_PG_URL: threeUrl, MONITOR_GROUP: threeGroup, MONITOR_BATCH_SIZE: '8' };
      const start = async (name: string, extra: Record<string, string> = {}) => {
        const server = await startPlatform(
          ['run', 'pipelines/revenue-monitor.yaml', '--port', '0', '--state-dir', join(dir, name)],
          { env: { ...workerEnv, ...extra }, timeoutMs: 120_000 },
        );
        servers.push(server);
        return server;
      };
      const readBy = async (server: Server) => {
        const graph = (await (await fetch(`${server.url}/api/pipeline`)).json()) as {
          steps: { id: string; recordsOut: number }[];
        };
        return graph.steps.find((s) => s.id === 'events')?.recordsOut ?? 0;
      };
      const began = Date.now();
      const [first, second] = await Promise.all([start('worker-1'), start('worker-2')]);
      await until('the first events are stored', async () => (await stored()) > 0, 90_000);
      // Added while running: the group deals the four partitions again, over three members.
      const third = await start('worker-3');
      await until('the third worker reads its partitions', async () => (await readBy(third)) > 0, 90_000);
      const atJoin = await stored();
      await until('the first worker reads after the rebalance', async () => (await readBy(first)) > 0, 60_000);
      await until('a third of the events is stored', async () => (await stored()) >= want.accepted.length / 3, 90_000);
      // SIGKILL mid-run: its batch in flight is lost (never committed to PostgreSQL or to Kafka) or written but not
      // committed to Kafka (read again by whoever gets the partition); either way no figure may change.
      const beforeKill = await stored();
      const readByFirst = await readBy(first);
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('close', r));
      servers.splice(servers.indexOf(first), 1);
      expect(beforeKill).toBeLessThan(want.accepted.length); // the kill came before the end
      const restarted = await start('worker-1'); // the dead process's state folder, taken over
      const server = await start('server', { MONITOR_EVENTS_FROM: 'none' }); // serves only
      await until(
        'every accepted event is stored and every partition committed',
        async () => {
          if ((await stored()) !== want.accepted.length) return false;
          const committed = (await admin.fetchOffsets({ groupId: threeGroup, topics: [topic] }))[0].partitions;
          const ends = await admin.fetchTopicOffsets(topic);
          return ends.every((e) => committed.find((c) => c.partition === e.partition)?.offset === e.high);
        },
        150_000,
      );
      console.log(
        `three workers: ${atJoin} of ${want.accepted.length} events stored when the third joined, ${beforeKill} when the first (${readByFirst} read) was killed; done ${Math.round((Date.now() - began) / 1000)} s after the start`,
      );
      const shared = PgPoolClient.create(threeUrl, 1);
      try {
        expect(await kpiTable(shared)).toEqual(rows);
        expect(await kpiTable(shared)).toEqual(await kpiTable(one, 'postgres'));
        expect(
          (await shared.query<{ event_id: string }>('SELECT event_id FROM events ORDER BY event_id')).map(
            (r) => r.event_id,
          ),
        ).toEqual(want.accepted.map((e) => e.id).sort());
      } finally {
        await shared.close();
      }
      // Each of the three did part of the work (the restarted one reads what is left of the partitions it is dealt).
      expect(readByFirst).toBeGreaterThan(0);
      expect(await readBy(second)).toBeGreaterThan(0);
      expect(await readBy(third)).toBeGreaterThan(0);

      // Every server says the same, and what the independent computation says.
      const app = await one.app();
      const views = [
        await said((path) => Promise.resolve(app.request(path))),
        ...(await Promise.all([second, third, restarted, server].map((s) => said((path) => fetch(`${s.url}${path}`))))),
      ];
      for (const view of views) {
        expect(view.data).toEqual(listed);
        expect({ status: view.status, reasons: view.reasons }).toEqual({
          status: status.status,
          reasons: status.reasons,
        });
        expect(view.card).toEqual({ status: status.status, reasons: status.reasons });
        expect(view.gauge).toBe(String({ OK: 0, WARN: 1, CRIT: 2 }[status.status as 'OK']));
      }
      // Late events were judged the same whoever read them: the dead letters of the three workers hold exactly them.
      const late = new Set<string>();
      for (const worker of [second, third, restarted]) {
        const { entries } = (await (
          await fetch(`${worker.url}/api/dead-letter?steps=shared-on-time&limit=1000`)
        ).json()) as { entries: { record: { event_id: string } }[] };
        for (const e of entries) late.add(e.record.event_id);
      }
      expect([...late].sort()).toEqual([...want.late].sort());

      const codes = await Promise.all(servers.splice(0).map((s) => s.stop('SIGTERM')));
      expect(codes).toEqual([0, 0, 0, 0]);
    } finally {
      await Promise.all(servers.map((s) => s.stop('SIGKILL')));
      await one?.pipeline.stop();
      await Promise.all(pools.map((p) => p.end()));
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      await scratch.drop();
    }
  }, 300_000);
});
