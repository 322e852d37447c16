import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EmbeddedTopicLog } from '../core/connections/kafka/index.ts';
import type { DuckDbClient } from '../core/connections/duckdb/index.ts';
import { platform } from '../tests/cli.ts';
import { runOnce, tempStateDir } from '../tests/pipelines.ts';

interface Event {
  event_id: string;
  event_ts: string;
  user_id: string;
  event_type: 'login' | 'purchase' | 'payment_failed';
  amount?: number | null;
  latency_ms?: number | null;
  gateway?: string | null;
  status?: string;
  response_code?: string | null;
  retry_attempt?: number;
}

function event(ts: string, type: Event['event_type'], latency?: number, amount?: number, user = 'user_1'): Event {
  const payment = type !== 'login';
  return {
    event_id: randomUUID(), event_ts: ts, user_id: user, event_type: type, status: type === 'purchase' ? 'success' : type === 'login' ? 'ok' : 'failed',
    amount: payment ? amount ?? 10 : null, latency_ms: payment ? latency ?? 200 : null, gateway: payment ? 'Stripe' : null,
    response_code: type === 'purchase' ? '00' : type === 'payment_failed' ? '51' : null, retry_attempt: 0,
  };
}

async function publish(stateDir: string, messages: (Event | string)[]) {
  const log = new EmbeddedTopicLog(join(stateDir, 'topics'));
  await log.produce('payment-events', messages.map((m) => ({ key: typeof m === 'string' ? null : m.user_id, value: typeof m === 'string' ? m : JSON.stringify(m) })));
  await log.close();
}

const env = (stateDir: string, extra: Record<string, string> = {}) => ({ MONITOR_SIMULATE: 'false', MONITOR_KAFKA_BROKERS: 'embedded', MONITOR_DUCKDB_PATH: join(stateDir, 'monitor.duckdb'), MONITOR_CSV_EXPORT: join(stateDir, 'kpis.csv'), ...extra });

/** quantile_cont: linear interpolation between closest ranks, the definition the KPIs use. */
function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = 0.95 * (sorted.length - 1);
  const lower = Math.floor(position);
  return sorted[lower] + (sorted[Math.min(lower + 1, sorted.length - 1)] - sorted[lower]) * (position - lower);
}

describe('revenue monitor pipeline (embedded)', () => {
  it('validates events as the manifest\'s own tests say: platform test passes them', async () => {
    const result = await platform(['test', 'pipelines/revenue-monitor.yaml']);
    expect(result.stdout).toMatch(/\n4 passed, 0 failed\n/);
    expect(result.code).toBe(0);
  });

  it('computes clock-aligned 5-minute windows, p95 and failure rate like an independent computation, and updates a window for a late event', async () => {
    const stateDir = tempStateDir('monitor');
    const latencies = [150, 220, 310, 480, 520, 610, 700, 880, 990, 1210, 1400, 1590];
    await publish(stateDir, [
      event('2024-05-01T10:04:59.999Z', 'login', undefined, undefined, 'user_7'),
      event('2024-05-01T10:01:00.000Z', 'purchase', 300, 50),
      event('2024-05-01T10:02:00.000Z', 'payment_failed', 1500, 20),
      ...latencies.map((l, i) => event(`2024-05-01T10:05:${String(i).padStart(2, '0')}.000Z`, i % 4 === 0 ? 'payment_failed' : 'purchase', l, 10 + i, `user_${i}`)),
      event('2024-05-01T10:10:00.000Z', 'login', undefined, undefined, 'user_9'), // a window with no payments
      '{"event_id": "not json',
      JSON.stringify({ ...event('2024-05-01T10:06:00Z', 'purchase'), event_id: 'nope', event_type: 'refund' }),
    ]);
    const run = await runOnce('revenue-monitor', env(stateDir), stateDir);
    expect(run.ok).toBe(true);
    const db = await run.pipeline.connections.get<DuckDbClient>('warehouse');
    const windows = await db.query('SELECT * FROM kpi_windows ORDER BY window_start');
    expect(windows.map((w) => [(w.window_start as Date).toISOString(), w.events])).toEqual([
      ['2024-05-01T10:00:00.000Z', 3], // 10:04:59.999 belongs to 10:00–10:05
      ['2024-05-01T10:05:00.000Z', 12], // 10:05:00.000 starts the next window
      ['2024-05-01T10:10:00.000Z', 1],
    ]);
    const w5 = windows[1];
    const failed = latencies.filter((_, i) => i % 4 === 0).length;
    expect(w5.purchases).toBe(12 - failed);
    expect(w5.failed).toBe(failed);
    expect(w5.failure_rate).toBeCloseTo(failed / 12, 12);
    expect(w5.p95_latency_ms).toBeCloseTo(p95(latencies), 9);
    expect(w5.avg_latency_ms).toBeCloseTo(latencies.reduce((a, b) => a + b, 0) / latencies.length, 9);
    expect(w5.revenue).toBe(latencies.map((_, i) => (i % 4 === 0 ? 0 : 10 + i)).reduce((a, b) => a + b, 0));
    expect(windows[0]).toMatchObject({ purchases: 1, failed: 1, revenue: 50, failure_rate: 0.5 });
    expect(windows[2]).toMatchObject({ events: 1, purchases: 0, failed: 0, revenue: 0, failure_rate: null, p95_latency_ms: null });
    // The export file holds the KPI table after the commit, with a header and ISO timestamps.
    const exported = readFileSync(join(stateDir, 'kpis.csv'), 'utf8').trim().split('\n');
    expect(exported[0]).toBe('window_start,window_end,events,purchases,failed,revenue,failure_rate,avg_latency_ms,p95_latency_ms');
    expect(exported.slice(1).map((line) => line.split(',').slice(0, 3).join(','))).toEqual([
      '2024-05-01T10:00:00.000Z,2024-05-01T10:05:00.000Z,3', '2024-05-01T10:05:00.000Z,2024-05-01T10:10:00.000Z,12', '2024-05-01T10:10:00.000Z,2024-05-01T10:15:00.000Z,1',
    ]);
    const dead = await run.pipeline.deadLetters.list({});
    expect(dead.total).toBe(2);
    expect(dead.entries.map((e) => e.step).sort()).toEqual(['checked', 'events']);
    expect(dead.entries.find((e) => e.step === 'checked')!.reasons).toEqual(['event_id: must match format "uuid"', 'event_type: must be one of "login", "purchase", "payment_failed"']);
    await run.pipeline.stop();

    // A late event (within the allowed 30 minutes) updates its window; one beyond it goes to dead-letter.
    await publish(stateDir, [event('2024-05-01T10:03:00.000Z', 'purchase', 400, 70), event('2024-05-01T09:00:00.000Z', 'purchase', 400, 70)]);
    const again = await runOnce('revenue-monitor', env(stateDir), stateDir);
    const db2 = await again.pipeline.connections.get<DuckDbClient>('warehouse');
    expect(await db2.query("SELECT events, purchases, revenue FROM kpi_windows WHERE window_start = TIMESTAMPTZ '2024-05-01 10:00:00+00'")).toEqual([{ events: 4, purchases: 2, revenue: 120 }]);
    const late = await again.pipeline.deadLetters.list({ steps: ['on-time'] });
    expect(late.entries.map((e) => e.reasons)).toEqual([['late beyond the allowed lateness of 30 minutes (event at 2024-05-01T09:00:00.000Z)']]);
    await again.pipeline.stop();
  });

  it('serves /api/kpis/latest newest first with bounded limits, nulls for empty rates, one rule set with every reason, CSV and health', async () => {
    const stateDir = tempStateDir('monitor');
    await publish(stateDir, [
      event('2024-05-01T10:01:00.000Z', 'purchase', 1300, 40),
      event('2024-05-01T10:02:00.000Z', 'payment_failed', 1500, 20),
      event('2024-05-01T10:06:00.000Z', 'login'),
    ]);
    const run = await runOnce('revenue-monitor', env(stateDir), stateDir);
    const app = await run.app();
    const latest = (await (await app.request('/api/kpis/latest?limit=2')).json()) as { data: Record<string, unknown>[]; status: string; reasons: string[] };
    expect(latest.data.map((r) => r.window_start)).toEqual(['2024-05-01T10:05:00.000Z', '2024-05-01T10:00:00.000Z']);
    expect(latest.data[0].failure_rate).toBeNull(); // no payments in that window: null, never NaN
    expect(latest.data[0].p95_latency_ms).toBeNull();
    expect(latest.data[1].failure_rate).toBe(0.5);
    expect(latest.data[0].active_users_30m).toBe(1);
    // Rules on the newest window: stale data (events from 2024) → CRIT; its p95 is null, its failure rate null.
    expect(latest.status).toBe('CRIT');
    // The same evaluation feeds the metrics: 2 = CRIT.
    expect(await (await app.request('/metrics')).text()).toContain('platform_alert_state{view="api",endpoint="kpis/latest"} 2');
    expect(latest.reasons).toHaveLength(1);
    expect(latest.reasons[0]).toMatch(/^data is stale: newest event [\d,]+ s ago \(limit 600 s\)$/);
    for (const bad of ['0', '501', 'ten']) {
      const res = await app.request(`/api/kpis/latest?limit=${bad}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/^limit must be/);
    }
    expect(((await (await app.request('/api/kpis/latest')).json()) as { data: unknown[] }).data).toHaveLength(2); // default 50
    const csv = await (await app.request('/api/kpis/latest?limit=5&format=csv')).text();
    // Tableau/Excel-friendly: a UTF-8 BOM and CRLF line ends.
    const [header, first] = csv.replace(/^\uFEFF/, '').trim().split(/\r?\n/);
    expect(header).toBe('window_start,window_end,events,purchases,failed,revenue,failure_rate,avg_latency_ms,p95_latency_ms,active_users_30m,freshness_s');
    expect(first.startsWith('2024-05-01T10:05:00.000Z,2024-05-01T10:10:00.000Z,1,0,0,0,,,,1,')).toBe(true);
    const health = await app.request('/health');
    expect(health.status).toBe(200);
    expect(await app.request('/api/kpis/latest', { headers: { origin: 'https://elsewhere.example' } }).then((r) => r.headers.get('access-control-allow-origin'))).toBeNull();
    await run.pipeline.stop();

    // Every rule that fires is listed, in the rule set's order; the worst state wins.
    await publish(stateDir, [event('2024-05-01T10:11:00.000Z', 'purchase', 1300, 40), event('2024-05-01T10:12:00.000Z', 'payment_failed', 1500, 20)]);
    const strict = await runOnce('revenue-monitor', env(stateDir, { MONITOR_P95_SLA_MS: '1000', MONITOR_MAX_FAILURE_RATE: '0.2' }), stateDir);
    const app2 = await strict.app();
    const all = (await (await app2.request('/api/kpis/latest?limit=1')).json()) as { status: string; reasons: string[] };
    expect(all.status).toBe('CRIT');
    expect(all.reasons.map((r) => r.split(':')[0])).toEqual(['data is stale', 'SLA breach', 'payment failure rate 0.5 above 0.2'].map((r) => r.split(':')[0]));
    expect(all.reasons[1]).toMatch(/^SLA breach: p95 payment latency [\d,.]+ ms above 1000 ms$/);
    await strict.pipeline.stop();
    // Without stale data only the WARN rules fire: the status is WARN (thresholds from the environment).
    const relaxed = await runOnce('revenue-monitor', env(stateDir, { MONITOR_STALE_AFTER_S: '1e12', MONITOR_P95_SLA_MS: '1000', MONITOR_MAX_FAILURE_RATE: '0.2' }), stateDir);
    const warn = (await (await (await relaxed.app()).request('/api/kpis/latest?limit=1')).json()) as { status: string; reasons: string[] };
    expect(warn.status).toBe('WARN');
    expect(warn.reasons).toHaveLength(2);
    await relaxed.pipeline.stop();
  });

  it('says NoData, not an error, when there are no events at all', async () => {
    const stateDir = tempStateDir('monitor');
    const run = await runOnce('revenue-monitor', env(stateDir), stateDir);
    const app = await run.app();
    const res = await app.request('/api/kpis/latest');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ data: [], status: 'NoData' });
    const page = await app.request('/views/monitor');
    expect(page.status).toBe(200);
    await run.pipeline.stop();
  });
});
