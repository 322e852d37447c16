import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { EmbeddedTopicLog } from '../connections/kafka/index.ts';
import type { DuckDbClient } from '../connections/duckdb/index.ts';
import type { SqlClient } from '../core/sdk/index.ts';
import { platform } from '../tests/cli.ts';
import { runOnce, tempStateDir, type PipelineRun } from '../tests/pipelines.ts';
import {
  backlog,
  eventAt,
  judge,
  MINUTE,
  parseMicros,
  statusOf,
  windowsOf,
  type Message,
  type MonitorEvent,
} from './expectations/revenue-monitor.ts';
import { expectEverywhere, kpiTable } from './expectations/revenue-monitor-checks.ts';

const TOPIC = 'payment-events';
/** The original's example date: 2026-02-05, from 00:00 UTC. */
const START = Date.UTC(2026, 1, 5, 0, 0);

async function publish(stateDir: string, messages: Message[]) {
  const log = new EmbeddedTopicLog(join(stateDir, 'topics'));
  await log.createTopic(TOPIC, { partitions: 1 });
  await log.produce(
    TOPIC,
    messages.map((m) => ({ key: m.key, value: m.value })),
  );
  await log.close();
}

const env = (stateDir: string, extra: Record<string, string> = {}) => ({
  MONITOR_SIMULATE: 'false',
  MONITOR_KAFKA_BROKERS: 'embedded',
  MONITOR_DUCKDB_PATH: join(stateDir, 'monitor.duckdb'),
  MONITOR_CSV_EXPORT: join(stateDir, 'kpis.csv'),
  ...extra,
});

async function lateIds(run: PipelineRun): Promise<string[]> {
  const { entries } = await run.pipeline.deadLetters.list({ steps: ['on-time'], limit: 10_000 });
  return entries.map((e) => (e.record as { event_id: string }).event_id).sort();
}

async function eventCount(run: PipelineRun): Promise<number> {
  const db = await run.pipeline.connections.get<DuckDbClient>('warehouse');
  return (await db.query<{ n: number }>('SELECT count(*) AS n FROM events'))[0].n;
}

/** Three hours of the original's events: 36 windows, a 16-minute stall, late, duplicate and malformed messages. */
const THREE_HOURS = backlog({ start: START, minutes: 180, seed: 4, gap: [100, 116] });

describe('revenue monitor pipeline (embedded)', () => {
  it("validates events as the manifest's own tests say: platform test passes them", async () => {
    const result = await platform(['test', 'pipelines/revenue-monitor.yaml']);
    expect(result.stdout).toMatch(/\n4 passed, 0 failed\n/);
    expect(result.code).toBe(0);
  }, 120_000);

  it('a 3-hour backlog read in one go gives every window, equal to an independent computation, and the same table as the events read live', async () => {
    const want = judge(THREE_HOURS.messages);
    const rows = windowsOf(want.accepted);
    // The scenario covers what it claims: 36 windows, every alert state, late events on both sides of 30 minutes.
    expect(rows).toHaveLength(36);
    expect(new Set(rows.map((r) => r.alert_flag))).toEqual(new Set(['OK', 'WARN', 'CRIT']));
    expect(
      rows.some((r) => r.alert_reason.includes('p95 latency')) &&
        rows.some((r) => r.alert_reason.includes('Payment failure rate')),
    ).toBe(true);
    expect(want.late.length).toBeGreaterThan(10);
    expect(THREE_HOURS.messages.length - THREE_HOURS.events.length).toBeGreaterThan(30); // duplicates and malformed messages too

    const stateDir = tempStateDir('monitor-backlog');
    await publish(stateDir, THREE_HOURS.messages);
    const run = await runOnce('revenue-monitor', env(stateDir), stateDir);
    expect(run.ok, run.logs.join('\n')).toBe(true);
    await expectEverywhere(run, join(stateDir, 'kpis.csv'), rows, statusOf(rows, want.accepted, new Date()));
    expect(await lateIds(run)).toEqual([...want.late].sort());
    expect(run.pipeline.deadLetters.count(['events', 'checked'])).toBe(want.invalid);
    expect(await eventCount(run)).toBe(want.accepted.length);
    const table = await kpiTable(run);
    await run.pipeline.stop();

    // Live: the same messages arriving in 12 parts (about 15 minutes each), one run after each, restarts in between.
    const live = tempStateDir('monitor-live');
    const part = Math.ceil(THREE_HOURS.messages.length / 12);
    let sent = 0;
    while (sent < THREE_HOURS.messages.length) {
      await publish(live, THREE_HOURS.messages.slice(sent, sent + part));
      sent += Math.min(part, THREE_HOURS.messages.length - sent);
      const step = await runOnce('revenue-monitor', env(live), live);
      expect(step.ok).toBe(true);
      await step.pipeline.stop();
    }
    expect(sent).toBe(THREE_HOURS.messages.length);
    const final = await runOnce('revenue-monitor', env(live), live);
    expect(await kpiTable(final)).toEqual(table);
    expect(await lateIds(final)).toEqual([...want.late].sort());
    await final.pipeline.stop();
  }, 300_000);

  it('judges lateness per event in topic order: batch sizes 1, 7, 1,000 and 100,000 give identical tables; a replay into the same warehouse changes nothing', async () => {
    // Half an hour at 3–6 events a minute keeps the 1-event batches (~0.1 s each) quick; late events and duplicates included.
    const hour = backlog({ start: START, minutes: 30, seed: 11, perMinute: [3, 6] }).messages;
    // Right after the newest event so far: one 31 minutes older (late, though a batch-wide watermark taken before it
    // would let it in) and one 29 minutes older (on time: it updates a window long written).
    const at = Math.floor((hour.length * 2) / 3);
    const newest = hour
      .slice(0, at)
      .map((m) => {
        try {
          return parseMicros((JSON.parse(m.value) as MonitorEvent).event_ts);
        } catch {
          return null;
        }
      })
      .reduce<bigint>((a, b) => (b !== null && b > a ? b : a), 0n);
    const tooLate = eventAt(newest - 31n * MINUTE, 'purchase', 500, 77.77, 'user_31');
    const justInTime = eventAt(newest - 29n * MINUTE, 'purchase', 500, 22.22, 'user_29');
    hour.splice(
      at,
      0,
      ...[tooLate, justInTime].map((e) => ({ partition: 0, key: e.user_id, value: JSON.stringify(e) })),
    );
    const want = judge(hour);
    const rows = windowsOf(want.accepted);
    expect(want.late).toContain(tooLate.event_id);
    expect(want.accepted.map((e) => e.id)).toContain(justInTime.event_id);
    const tables: unknown[] = [];
    let first: { stateDir: string; duckdb: string } | undefined;
    for (const size of ['1', '7', '1000', '100000']) {
      const stateDir = tempStateDir(`monitor-batch-${size}`);
      await publish(stateDir, hour);
      const run = await runOnce('revenue-monitor', env(stateDir, { MONITOR_BATCH_SIZE: size }), stateDir);
      expect(run.ok).toBe(true);
      const batches = run.pipeline.stats().find((s) => s.id === 'events')!.batches;
      expect(batches).toBe(Math.ceil(hour.length / Number(size)));
      tables.push({ windows: await kpiTable(run), late: await lateIds(run), events: await eventCount(run) });
      expect(await kpiTable(run)).toEqual(rows);
      await run.pipeline.stop();
      first ??= { stateDir, duckdb: join(stateDir, 'monitor.duckdb') };
    }
    for (const table of tables.slice(1)) expect(table).toEqual(tables[0]);
    expect(tables[0]).toMatchObject({ late: [...want.late].sort(), events: want.accepted.length });

    // A replay: the topic read again from its start (a new consumer, no checkpoint) into the warehouse that holds it.
    const replay = tempStateDir('monitor-replay');
    await publish(replay, hour);
    const again = await runOnce('revenue-monitor', { ...env(replay), MONITOR_DUCKDB_PATH: first!.duckdb }, replay);
    expect(again.ok).toBe(true);
    expect(await kpiTable(again)).toEqual(rows);
    expect(await lateIds(again)).toEqual([...want.late].sort()); // judged as the first time: the watermark comes from the stored offsets
    expect(await eventCount(again)).toBe(want.accepted.length);
    await again.pipeline.stop();
  }, 300_000);

  it('marks the window in progress partial and judges the last complete one (freshness as of now); MONITOR_ALERT_ON=latest judges the newest', async () => {
    // Keep at least 90 s before the next window boundary, so the windows do not change under the test.
    const window = 5 * 60_000;
    if (Date.now() % window > window - 90_000)
      await new Promise((r) => setTimeout(r, window - (Date.now() % window) + 1000));
    const now = BigInt(Date.now()) * 1000n;
    const current = (now / (5n * MINUTE)) * 5n * MINUTE;
    const events = [
      // Two windows ago: fine. The last complete window: slow payments (p95 over 1,200 ms). The one in progress: failures.
      eventAt(current - 9n * MINUTE, 'purchase', 300, 20.1),
      eventAt(current - 8n * MINUTE, 'login', null, null, 'user_2'),
      eventAt(current - 4n * MINUTE, 'purchase', 1500, 30.2),
      eventAt(current - 3n * MINUTE, 'purchase', 1400, 40.3, 'user_3'),
      eventAt(current - 2n * MINUTE, 'payment_failed', 1300, 5.5, 'user_4'),
      eventAt(current + 1000n, 'payment_failed', 200, 7.7, 'user_5'),
      eventAt(current + 2000n, 'payment_failed', 210, 8.8, 'user_6'),
    ];
    const messages = events.map((e) => ({ partition: 0, key: e.user_id, value: JSON.stringify(e) }));
    const want = judge(messages);
    const rows = windowsOf(want.accepted);
    expect(rows.map((r) => r.alert_flag)).toEqual(['OK', 'WARN', 'WARN']);
    const stateDir = tempStateDir('monitor-partial');
    await publish(stateDir, messages);
    const run = await runOnce('revenue-monitor', env(stateDir), stateDir);
    const status = statusOf(rows, want.accepted, new Date());
    // p95 of 1,300/1,400/1,500 ms: 1,400 + 100 × 0.9 = 1,490; one failure in three payments: 33.33%.
    expect(status).toEqual({
      status: 'WARN',
      reasons: ['WARN: p95 latency 1490ms exceeded SLA', 'WARN: Payment failure rate 33.33%'],
      window: rows[1].window_start,
    });
    const api = await expectEverywhere(run, join(stateDir, 'kpis.csv'), rows, status);
    expect(api.data.map((r) => r.partial)).toEqual([true, false, false]);
    await run.pipeline.stop();

    const latest = await runOnce('revenue-monitor', env(stateDir, { MONITOR_ALERT_ON: 'latest' }), stateDir);
    const judged = (await (await (await latest.app()).request('/api/kpis/latest')).json()) as {
      status: string;
      reasons: string[];
    };
    expect(judged).toMatchObject({ status: 'WARN', reasons: ['WARN: Payment failure rate 100.00%'] });
    await latest.pipeline.stop();
  }, 120_000);

  it("reads the original's table raw_events instead (MONITOR_EVENTS_FROM=postgres): every window equal to an independent computation; a late row recomputes its window", async () => {
    const data = backlog({ start: START, minutes: 60, seed: 9, millis: true });
    const stateDir = tempStateDir('monitor-pg');
    const db = await PGlite.create(join(stateDir, 'pglite'));
    await db.exec(`CREATE TABLE raw_events (event_id TEXT PRIMARY KEY, event_ts TIMESTAMPTZ NOT NULL, user_id TEXT NOT NULL, event_type TEXT NOT NULL,
      amount NUMERIC(10,2), status TEXT, gateway_name TEXT, response_code TEXT, latency_ms INTEGER, retry_attempt INTEGER NOT NULL DEFAULT 0)`);
    // The original's insert, a repeated event_id ignored (in arrival order, a few hundred rows a statement to keep the
    // test quick). Malformed messages never reach a table.
    const rows: Message[] = [];
    for (const m of data.messages) {
      try {
        const e = JSON.parse(m.value) as MonitorEvent;
        if (
          ['login', 'purchase', 'payment_failed'].includes(e.event_type) &&
          (e.event_type === 'login' || e.amount !== null)
        )
          rows.push(m);
      } catch {
        /* not JSON: a producer's error, never in the table */
      }
    }
    for (let i = 0; i < rows.length; i += 300) {
      const chunk = rows.slice(i, i + 300).map((m) => JSON.parse(m.value) as MonitorEvent);
      const values = chunk
        .map((_, r) => `(${Array.from({ length: 10 }, (_, c) => `$${r * 10 + c + 1}`).join(', ')})`)
        .join(', ');
      await db.query(
        `INSERT INTO raw_events VALUES ${values} ON CONFLICT (event_id) DO NOTHING`,
        chunk.flatMap((e) => [
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
        ]),
      );
    }
    await db.close();
    // Every row is in the table before the first read: read by event time, none is late.
    const inOrder = [...rows].sort((a, b) =>
      Number(
        parseMicros((JSON.parse(a.value) as MonitorEvent).event_ts)! -
          parseMicros((JSON.parse(b.value) as MonitorEvent).event_ts)!,
      ),
    );
    const want = judge(inOrder);
    expect(want.late).toEqual([]);
    const pgEnv = env(stateDir, {
      MONITOR_EVENTS_FROM: 'postgres',
      MONITOR_PG_URL: 'embedded',
      MONITOR_PG_POLL_EVERY: '1h',
    });
    const run = await runOnce('revenue-monitor', pgEnv, stateDir);
    expect(run.ok, run.logs.join('\n')).toBe(true);
    expect(run.logs.some((l) => l.includes('connection events-db (postgres): embedded'))).toBe(true);
    const expectedRows = windowsOf(want.accepted);
    await expectEverywhere(
      run,
      join(stateDir, 'kpis.csv'),
      expectedRows,
      statusOf(expectedRows, want.accepted, new Date()),
    );
    await run.pipeline.stop();

    // A row inserted late, 10 minutes older than the newest (within the 30-minute lookback): its window is recomputed.
    const newest = want.accepted.reduce((a, e) => (e.us > a ? e.us : a), 0n);
    const lateRow = eventAt(newest - 10n * MINUTE, 'purchase', 999, 123.45, 'user_999');
    const again = await PGlite.create(join(stateDir, 'pglite'));
    await again.query(`INSERT INTO raw_events VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, [
      lateRow.event_id,
      lateRow.event_ts,
      lateRow.user_id,
      lateRow.event_type,
      lateRow.amount,
      lateRow.status,
      lateRow.gateway_name,
      lateRow.response_code,
      lateRow.latency_ms,
      lateRow.retry_attempt,
    ]);
    await again.close();
    const second = await runOnce('revenue-monitor', pgEnv, stateDir);
    const withLate = judge([...inOrder, { partition: 0, key: null, value: JSON.stringify(lateRow) }]);
    expect(withLate.late).toEqual([]); // 10 minutes late is within the allowed 30
    expect(await kpiTable(second)).toEqual(windowsOf(withLate.accepted));
    await second.pipeline.stop();
  }, 180_000);

  it('MONITOR_STATE=postgres (here embedded PGlite): the same rules in PostgreSQL give every figure of the independent computation, on the table, the API, the CSV export and the dashboard', async () => {
    const want = judge(THREE_HOURS.messages);
    const rows = windowsOf(want.accepted);
    const stateDir = tempStateDir('monitor-pg-state');
    await publish(stateDir, THREE_HOURS.messages);
    const run = await runOnce(
      'revenue-monitor',
      env(stateDir, { MONITOR_STATE: 'postgres', MONITOR_BATCH_SIZE: '250' }),
      stateDir,
    );
    expect(run.ok, run.logs.join('\n')).toBe(true);
    expect(run.logs.some((l) => l.includes('connection postgres (postgres): embedded'))).toBe(true);
    await expectEverywhere(
      run,
      join(stateDir, 'kpis.csv'),
      rows,
      statusOf(rows, want.accepted, new Date()),
      new Date(),
      'postgres',
    );
    const { entries } = await run.pipeline.deadLetters.list({ steps: ['shared-on-time'], limit: 10_000 });
    expect(entries.map((e) => (e.record as { event_id: string }).event_id).sort()).toEqual([...want.late].sort());
    const db = await run.pipeline.connections.get<SqlClient>('postgres');
    expect(await db.query('SELECT count(*)::int AS n FROM events')).toEqual([{ n: want.accepted.length }]);
    // The DuckDB warehouse is not used (nor created) in this mode.
    expect(existsSync(join(stateDir, 'monitor.duckdb'))).toBe(false);
    await run.pipeline.stop();
  }, 300_000);

  it('says NoData, not an error, when there are no events at all', async () => {
    const stateDir = tempStateDir('monitor');
    const run = await runOnce('revenue-monitor', env(stateDir), stateDir);
    const app = await run.app();
    const res = await app.request('/api/kpis/latest');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ data: [], status: 'NoData' });
    expect(await (await app.request('/api/views/monitor/status')).json()).toMatchObject({ status: 'NoData' });
    expect((await app.request('/views/monitor')).status).toBe(200);
    await run.pipeline.stop();
  }, 120_000);
});
