// Revenue-monitor test data in the original's own format (ORIGINALS.md 004 §1: the 10 fields its generator writes)
// and an independent computation of every KPI column of every window, the late events and the status: plain
// TypeScript over the same messages, integer arithmetic (microseconds, cents, exact rationals), no DuckDB.
import { randomUUID } from 'node:crypto';
import { random } from './globemart.ts';

export interface MonitorEvent {
  event_id: string;
  /** As the original stores it: ISO with microseconds and an offset, e.g. 2026-02-05T03:07:01.112233+00:00. */
  event_ts: string;
  user_id: string;
  event_type: 'login' | 'purchase' | 'payment_failed';
  amount: number | null;
  status: string;
  gateway_name: string | null;
  response_code: string | null;
  latency_ms: number | null;
  retry_attempt: number;
}

/** A message in produce order: its partition, key and raw text. */
export interface Message {
  partition: number;
  key: string | null;
  value: string;
}

export const MINUTE = 60_000_000n;
const WINDOW = 5n * MINUTE;

/** Microseconds since the epoch → the original's text form (+00:00, six decimals). */
export function tsText(us: bigint): string {
  return (
    new Date(Number(us / 1000n)).toISOString().slice(0, 19) + '.' + String(us % 1_000_000n).padStart(6, '0') + '+00:00'
  );
}

/** An ISO date-time with a zone → microseconds (null when it is not one). */
export function parseMicros(text: string): bigint | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac = '', zone] = m;
  let ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  if (zone.toUpperCase() !== 'Z')
    ms -= (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 3600_000 + Number(zone.slice(4)) * 60_000);
  return BigInt(ms) * 1000n + BigInt(frac.padEnd(6, '0'));
}

const GATEWAYS = ['Stripe', 'Adyen', 'PayPal', 'VisaNet'];
const FAIL_CODES = ['05', '51', '14', '91'];

export interface BacklogOptions {
  /** First minute (ms since the epoch, a whole minute). */
  start: number;
  minutes: number;
  seed: number;
  /** Partition of an event: the test decides (one partition for the embedded log). */
  partitionOf?: (event: MonitorEvent) => number;
  /** Minutes without events (a stalled generator): windows after them are CRIT. */
  gap?: [number, number];
  /** Events per minute, as the original's generator: 10–40. */
  perMinute?: [number, number];
  /** Times to the millisecond (what a PostgreSQL source hands on) instead of the microsecond. */
  millis?: boolean;
}

/**
 * The original generator's events over `minutes` (10–40 a minute, login/purchase/payment_failed 60/30/10, amounts
 * U(5, 250), latencies 150–1600 ms for payments, retries 0/1/2 75/20/5), in three phases so every alert state shows:
 * the original's latencies (p95 over the SLA), fast payments (OK), and a failure spike (failure rate over 30%); a gap
 * with no events (stale); events arriving late (within and beyond the allowed 30 minutes), duplicates (one with
 * another amount: the first wins), events exactly on window boundaries, and malformed messages. Returned in arrival
 * (produce) order.
 */
export function backlog(options: BacklogOptions): { messages: Message[]; events: MonitorEvent[] } {
  const rnd = random(options.seed);
  const int = (a: number, b: number) => a + Math.floor(rnd() * (b - a + 1));
  const weighted = <T>(items: T[], weights: number[]) => {
    let x = rnd() * weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < items.length; i++) if ((x -= weights[i]) < 0) return items[i];
    return items[items.length - 1];
  };
  const uuid = () => {
    const hex = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  };
  const [low, high] = options.perMinute ?? [10, 40];
  const third = options.minutes / 3;
  const arrivals: { at: bigint; seq: number; event: MonitorEvent; text?: string }[] = [];
  const events: MonitorEvent[] = [];
  let seq = 0;
  const start = BigInt(options.start) * 1000n;
  for (let minute = 0; minute < options.minutes; minute++) {
    if (options.gap && minute >= options.gap[0] && minute < options.gap[1]) continue;
    const phase = minute < third ? 'original' : minute < 2 * third ? 'fast' : 'failing';
    const offset = () => BigInt(options.millis ? Math.floor(rnd() * 60_000) * 1000 : Math.floor(rnd() * 60_000_000));
    const times = Array.from({ length: int(low, high) }, () => start + BigInt(minute) * MINUTE + offset()).sort(
      (a, b) => (a < b ? -1 : 1),
    );
    for (const us of times) {
      const type = weighted(
        ['login', 'purchase', 'payment_failed'] as const,
        phase === 'failing' ? [50, 25, 25] : [60, 30, 10],
      );
      const payment = type !== 'login';
      const event: MonitorEvent = {
        event_id: uuid(),
        event_ts: tsText(us),
        user_id: `user_${int(1, 2000)}`,
        event_type: type,
        amount: payment ? Math.round((5 + rnd() * 245) * 100) / 100 : null,
        status: type === 'payment_failed' ? 'fail' : 'success',
        gateway_name: payment ? GATEWAYS[int(0, 3)] : null,
        response_code: type === 'purchase' ? '00' : type === 'payment_failed' ? FAIL_CODES[int(0, 3)] : null,
        latency_ms: payment ? (phase === 'original' ? int(150, 1600) : int(150, 700)) : null,
        retry_attempt: payment ? weighted([0, 1, 2], [75, 20, 5]) : 0,
      };
      events.push(event);
      // 4% arrive late: most within the allowed 30 minutes, some beyond; 1% are sent twice.
      const roll = rnd();
      const delay = roll < 0.03 ? BigInt(int(2, 28)) * MINUTE : roll < 0.04 ? BigInt(int(32, 50)) * MINUTE : 0n;
      arrivals.push({ at: us + delay, seq: seq++, event });
      if (rnd() < 0.01) arrivals.push({ at: us + BigInt(int(0, 600)) * 1_000_000n, seq: seq++, event });
    }
  }
  // On the boundaries: 10:05:00.000000 opens a window, 10:04:59.999999 closes the one before.
  const boundary = start + 20n * MINUTE;
  for (const us of [boundary, boundary - (options.millis ? 1000n : 1n)]) {
    const event: MonitorEvent = {
      event_id: uuid(),
      event_ts: tsText(us),
      user_id: 'user_7',
      event_type: 'purchase',
      amount: 10.01,
      status: 'success',
      gateway_name: 'Stripe',
      response_code: '00',
      latency_ms: 333,
      retry_attempt: 0,
    };
    events.push(event);
    arrivals.push({ at: us, seq: seq++, event });
  }
  // A duplicate with another amount, a minute later: the first delivery counts.
  const first = events.find((e) => e.event_type === 'purchase')!;
  arrivals.push({ at: parseMicros(first.event_ts)! + MINUTE, seq: seq++, event: { ...first, amount: 9999.99 } });
  // Malformed: not JSON, an unknown type, a purchase without an amount.
  const some = parseMicros(events[10].event_ts)!;
  arrivals.push({ at: some, seq: seq++, event: first, text: '{"event_id": "broken' });
  arrivals.push({
    at: some,
    seq: seq++,
    event: first,
    text: JSON.stringify({ ...events[11], event_id: uuid(), event_type: 'refund' }),
  });
  arrivals.push({
    at: some,
    seq,
    event: first,
    text: JSON.stringify({ ...events[12], event_id: uuid(), event_type: 'purchase', amount: null }),
  });
  arrivals.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.seq - b.seq));
  const partitionOf = options.partitionOf ?? (() => 0);
  return {
    events,
    messages: arrivals.map((a) => ({
      partition: partitionOf(a.event),
      key: a.event.user_id,
      value: a.text ?? JSON.stringify(a.event),
    })),
  };
}

/** A fresh event at a given time (for tests near the current time). */
export function eventAt(
  us: bigint,
  type: MonitorEvent['event_type'],
  latency: number | null,
  amount: number | null,
  user = 'user_1',
): MonitorEvent {
  const payment = type !== 'login';
  return {
    event_id: randomUUID(),
    event_ts: tsText(us),
    user_id: user,
    event_type: type,
    amount: payment ? amount : null,
    status: type === 'payment_failed' ? 'fail' : 'success',
    gateway_name: payment ? 'Adyen' : null,
    response_code: type === 'purchase' ? '00' : type === 'payment_failed' ? '51' : null,
    latency_ms: payment ? latency : null,
    retry_attempt: 0,
  };
}

// ---------------------------------------------------------------- the independent computation

export interface Thresholds {
  latenessMinutes: number;
  freshnessCritMinutes: number;
  p95SlaMs: number;
  /** As a decimal text, e.g. '0.30'. */
  maxFailureRate: string;
}

export const ORIGINAL_THRESHOLDS: Thresholds = {
  latenessMinutes: 30,
  freshnessCritMinutes: 10,
  p95SlaMs: 1200,
  maxFailureRate: '0.30',
};

interface Accepted {
  id: string;
  us: bigint;
  user: string;
  type: string;
  cents: bigint | null;
  latency: number | null;
}

/** The checks of the manifest's validation, written again: the original's 10 fields, payments with an amount. */
function valid(e: Record<string, unknown>): boolean {
  const isInt = (v: unknown) => v === null || v === undefined || (Number.isInteger(v) && (v as number) >= 0);
  return (
    typeof e.event_id === 'string' &&
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(e.event_id) &&
    typeof e.event_ts === 'string' &&
    parseMicros(e.event_ts) !== null &&
    typeof e.user_id === 'string' &&
    /^user_[0-9]+$/.test(e.user_id) &&
    ['login', 'purchase', 'payment_failed'].includes(e.event_type as string) &&
    (e.amount === null || e.amount === undefined || (typeof e.amount === 'number' && e.amount >= 0)) &&
    (e.event_type === 'login' || typeof e.amount === 'number') &&
    isInt(e.latency_ms) &&
    isInt(e.retry_attempt)
  );
}

/**
 * Judges each message in topic order (per partition: an event older than the newest earlier valid event of its
 * partition minus the lateness is late), keeps the first delivery of each event_id, and returns the accepted events,
 * the late ones and the count of invalid messages.
 */
export function judge(messages: Message[], lateness = ORIGINAL_THRESHOLDS.latenessMinutes) {
  const newest = new Map<number, bigint>();
  const seen = new Set<string>();
  const accepted: Accepted[] = [];
  const late: string[] = [];
  let invalid = 0;
  for (const m of messages) {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(m.value) as Record<string, unknown>;
    } catch {
      invalid++;
      continue;
    }
    if (!valid(e)) {
      invalid++;
      continue;
    }
    const us = parseMicros(e.event_ts as string)!;
    const watermark = newest.get(m.partition);
    if (watermark !== undefined && us < watermark - BigInt(lateness) * MINUTE) {
      late.push(e.event_id as string);
      continue;
    }
    if (watermark === undefined || us > watermark) newest.set(m.partition, us);
    if (seen.has(e.event_id as string)) continue;
    seen.add(e.event_id as string);
    accepted.push({
      id: e.event_id as string,
      us,
      user: e.user_id as string,
      type: e.event_type as string,
      cents: typeof e.amount === 'number' ? BigInt(Math.round(e.amount * 100)) : null,
      latency: (e.latency_ms as number | null) ?? null,
    });
  }
  return { accepted, late, invalid };
}

/** A kpi_windows row as the DuckDB client returns it (DECIMAL and BIGINT as numbers, timestamps as ISO text here). */
export interface WindowRow {
  window_start: string;
  window_end: string;
  events_count: number;
  purchases_count: number;
  revenue: number;
  payment_fail_rate: number;
  active_users_30m: number;
  data_freshness_minutes: number;
  alert_flag: string;
  avg_latency_ms: number;
  p95_latency_ms: number;
  sla_breach_flag: boolean;
  alert_reason: string;
  failed_count: number;
}

function halfEven(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r2 = 2n * (n % d);
  return r2 > d || (r2 === d && q % 2n === 1n) ? q + 1n : q;
}

/** A decimal text as a fraction numerator / 10^scale. */
function fraction(text: string): [bigint, bigint] {
  const [whole, frac = ''] = text.split('.');
  return [BigInt(whole + frac), 10n ** BigInt(frac.length)];
}

/** The alert of one set of figures: flag, every reason in the original's order, SLA breach. */
export function alertOf(
  freshness: bigint,
  p95: bigint,
  failed: bigint,
  payments: bigint,
  t: Thresholds = ORIGINAL_THRESHOLDS,
) {
  const stale = freshness > BigInt(t.freshnessCritMinutes);
  const slow = p95 > BigInt(t.p95SlaMs);
  const [rn, rd] = fraction(t.maxFailureRate);
  const failing = failed * rd > payments * rn;
  const reasons: string[] = [];
  if (stale) reasons.push(`CRIT: Data freshness exceeded ${t.freshnessCritMinutes} minutes`);
  if (slow) reasons.push(`WARN: p95 latency ${p95}ms exceeded SLA`);
  if (failing) {
    const pct = halfEven(failed * 10000n, payments);
    reasons.push(`WARN: Payment failure rate ${pct / 100n}.${String(pct % 100n).padStart(2, '0')}%`);
  }
  return { flag: stale ? 'CRIT' : slow || failing ? 'WARN' : 'OK', reasons, sla: stale || slow };
}

/**
 * Every clock-aligned 5-minute window from the first accepted event's to the newest one's, with the original's KPI
 * definitions (bugs fixed): see the header of pipelines/revenue-monitor.yaml for each column.
 */
export function windowsOf(accepted: Accepted[], t: Thresholds = ORIGINAL_THRESHOLDS): WindowRow[] {
  if (!accepted.length) return [];
  const times = accepted.map((e) => e.us);
  const floor = (us: bigint) => (us / WINDOW) * WINDOW;
  const first = floor(times.reduce((a, b) => (a < b ? a : b)));
  const last = floor(times.reduce((a, b) => (a > b ? a : b)));
  const rows: WindowRow[] = [];
  for (let start = first; start <= last; start += WINDOW) {
    const end = start + WINDOW;
    const inside = accepted.filter((e) => e.us >= start && e.us < end);
    const purchases = inside.filter((e) => e.type === 'purchase');
    const failed = BigInt(inside.filter((e) => e.type === 'payment_failed').length);
    const payments = BigInt(purchases.length) + failed;
    const revenue = purchases.reduce((sum, e) => sum + e.cents!, 0n);
    const latencies = inside
      .map((e) => e.latency)
      .filter((l): l is number => l !== null)
      .map(BigInt)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const n = BigInt(latencies.length);
    const avg = n === 0n ? 0n : (2n * latencies.reduce((a, b) => a + b, 0n) + n) / (2n * n);
    let p95 = 0n;
    if (n > 0n) {
      const k = 19n * (n - 1n);
      const i = k / 20n;
      const lower = latencies[Number(i)];
      const upper = latencies[Number(i + 1n < n ? i + 1n : n - 1n)];
      p95 = halfEven(20n * lower + (upper - lower) * (k % 20n), 20n);
    }
    const users = new Set(accepted.filter((e) => e.us >= end - 30n * MINUTE && e.us < end).map((e) => e.user));
    const before = accepted.filter((e) => e.us < end).reduce((a, e) => (e.us > a ? e.us : a), 0n);
    const freshness = (end - before) / MINUTE;
    const alert = alertOf(freshness, p95, failed, payments, t);
    rows.push({
      window_start: new Date(Number(start / 1000n)).toISOString(),
      window_end: new Date(Number(end / 1000n)).toISOString(),
      events_count: inside.length,
      purchases_count: purchases.length,
      revenue: Number(revenue) / 100,
      payment_fail_rate: payments === 0n ? 0 : Number((2n * failed * 10000n + payments) / (2n * payments)) / 10000,
      active_users_30m: users.size,
      data_freshness_minutes: Number(freshness),
      alert_flag: alert.flag,
      avg_latency_ms: Number(avg),
      p95_latency_ms: Number(p95),
      sla_breach_flag: alert.sla,
      alert_reason: alert.reasons.join('; ') || 'All metrics within SLA',
      failed_count: Number(failed),
    });
  }
  return rows;
}

/**
 * The status at `now`: the last complete window (end ≤ now; the newest with `latest`), with the freshness as of now.
 */
export function statusOf(
  rows: WindowRow[],
  accepted: Accepted[],
  now: Date,
  t: Thresholds = ORIGINAL_THRESHOLDS,
  latest = false,
) {
  const judged = [...rows].reverse().find((r) => latest || Date.parse(r.window_end) <= now.getTime());
  if (!judged) return { status: 'NoData', reasons: ['the query returned no row'], window: null };
  const newest = accepted.reduce((a, e) => (e.us > a ? e.us : a), 0n);
  const nowUs = BigInt(now.getTime()) * 1000n;
  const freshness = nowUs > newest ? (nowUs - newest) / MINUTE : 0n;
  const alert = alertOf(
    freshness,
    BigInt(judged.p95_latency_ms),
    BigInt(judged.failed_count),
    BigInt(judged.purchases_count + judged.failed_count),
    t,
  );
  return { status: alert.flag, reasons: alert.reasons, window: judged.window_start };
}
