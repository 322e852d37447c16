import { describe, expect, it } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import { DuckDbClient } from '../../../connections/duckdb/index.ts';
import plugin, { quantile, type WindowTransform } from './index.ts';

const at = (time: string, extra: Record<string, unknown> = {}) => ({ ts: `2024-05-01T${time}Z`, ...extra });
const hhmm = (d: unknown) => (d as Date).toISOString().slice(11, 16);

describe('window transform', () => {
  it('assigns events to clock-aligned tumbling windows at the boundaries and aggregates them; empty aggregates are null', async () => {
    const step = await createTestStep<WindowTransform>(plugin, 'transform', {
      timeField: 'ts',
      size: '5m',
      aggregates: {
        events: { count: true },
        purchases: { countWhere: { field: 'type', in: ['purchase'] } },
        revenue: { sumWhere: { field: 'type', in: ['purchase'], sum: 'amount' } },
        total: { sum: 'amount' },
        avg: { avg: 'latency' },
        min: { min: 'latency' },
        max: { max: 'latency' },
        p95: { p95: 'latency' },
        users: { countDistinct: 'user' },
      },
    });
    const out = step.plugin.process(
      [
        at('10:04:59.999', { type: 'purchase', amount: 10, latency: 100, user: 'a' }),
        at('10:05:00.000', { type: 'purchase', amount: 5, latency: 300, user: 'a' }),
        at('10:06:00.000', { type: 'login', user: 'b' }),
        at('10:07:00.000', { type: 'payment_failed', amount: 7, latency: 'n/a', user: 'b' }),
        at('10:10:00.000', { type: 'login' }),
      ],
      step.context(),
    );
    expect(out).toEqual([
      {
        window_start: new Date('2024-05-01T10:00:00Z'),
        window_end: new Date('2024-05-01T10:05:00Z'),
        events: 1,
        purchases: 1,
        revenue: 10,
        total: 10,
        avg: 100,
        min: 100,
        max: 100,
        p95: 100,
        users: 1,
      },
      {
        window_start: new Date('2024-05-01T10:05:00Z'),
        window_end: new Date('2024-05-01T10:10:00Z'),
        events: 3,
        purchases: 1,
        revenue: 5,
        total: 12,
        avg: 300,
        min: 300,
        max: 300,
        p95: 300,
        users: 2,
      },
      {
        window_start: new Date('2024-05-01T10:10:00Z'),
        window_end: new Date('2024-05-01T10:15:00Z'),
        events: 1,
        purchases: 0,
        revenue: null,
        total: null,
        avg: null,
        min: null,
        max: null,
        p95: null,
        users: 0,
      },
    ]);
    expect(step.rejects).toEqual([]);
  });

  it('splits windows by groupBy fields (a missing one is null)', async () => {
    const step = await createTestStep<WindowTransform>(plugin, 'transform', {
      timeField: 'ts',
      size: '1h',
      groupBy: ['country'],
      aggregates: { n: { count: true }, amount: { sum: 'amount' } },
    });
    const out = step.plugin.process(
      [
        at('10:01:00', { country: 'US', amount: 1 }),
        at('10:02:00', { country: 'FR', amount: 2 }),
        at('10:03:00', { country: 'US', amount: 3.5 }),
        at('10:04:00', { amount: 4 }),
      ],
      step.context(),
    );
    expect(out.map((r) => [hhmm(r.window_start), r.country, r.n, r.amount])).toEqual([
      ['10:00', 'US', 2, 4.5],
      ['10:00', 'FR', 1, 2],
      ['10:00', null, 1, 4],
    ]);
  });

  it('lets a late event within the allowed lateness update its window, and rejects one beyond it; state survives a JSON snapshot', async () => {
    const config = {
      timeField: 'ts',
      size: '5m',
      allowedLateness: '10m',
      aggregates: { events: { count: true }, avg: { avg: 'v' }, p: { p95: 'v' }, users: { countDistinct: 'u' } },
    };
    const step = await createTestStep<WindowTransform>(plugin, 'transform', config);
    step.plugin.process([at('10:01:00', { v: 1, u: 'a' }), at('10:12:00', { v: 3, u: 'a' })], step.context());
    step.plugin.process([at('10:21:00', { v: 3, u: 'b' })], step.context()); // watermark 10:11 from now on: 10:00–10:05 and 10:05–10:10 close
    const restored = await createTestStep<WindowTransform>(plugin, 'transform', config);
    restored.plugin.restore(JSON.parse(JSON.stringify(step.plugin.snapshot())));
    const out = restored.plugin.process(
      [
        at('10:12:30', { v: 5, u: 'a' }),
        at('10:22:00', { v: 5, u: 'c' }),
        at('10:02:00', { v: 9 }),
        at('10:09:59', { v: 9 }),
      ],
      restored.context(),
    );
    expect(out.map((r) => [hhmm(r.window_start), r.events, r.avg, r.p, r.users])).toEqual([
      ['10:10', 2, 4, 4.9, 1],
      ['10:20', 2, 4, 4.9, 2],
    ]);
    expect(restored.rejects).toEqual([
      {
        record: at('10:02:00', { v: 9 }),
        reasons: [
          'late beyond allowed lateness (10m): event at 2024-05-01T10:02:00.000Z, watermark 2024-05-01T10:11:00.000Z',
        ],
      },
      {
        record: at('10:09:59', { v: 9 }),
        reasons: [
          'late beyond allowed lateness (10m): event at 2024-05-01T10:09:59.000Z, watermark 2024-05-01T10:11:00.000Z',
        ],
      },
    ]);
    // Closed windows' state is gone; open ones are kept.
    expect(restored.plugin.snapshot().windows.map((w) => hhmm(new Date(w.start)))).toEqual(['10:10', '10:20']);
  });

  it('puts an event in every hopping window that contains it', async () => {
    const step = await createTestStep<WindowTransform>(plugin, 'transform', {
      timeField: 'ts',
      size: '10m',
      hop: '5m',
      aggregates: { n: { count: true }, p: { quantile: ['v', 0.5] } },
    });
    const out = step.plugin.process([at('10:07:00', { v: null }), at('10:10:00', { v: 4 })], step.context());
    expect(out.map((r) => [hhmm(r.window_start), hhmm(r.window_end), r.n, r.p])).toEqual([
      ['10:05', '10:15', 2, 4],
      ['10:00', '10:10', 1, null],
      ['10:10', '10:20', 1, 4],
    ]);
  });

  it('reads event times as Dates, ISO strings (no zone: UTC) or epoch ms, and rejects records without one', async () => {
    const step = await createTestStep<WindowTransform>(plugin, 'transform', {
      timeField: 'ts',
      size: '1d',
      aggregates: { n: { count: true } },
    });
    const out = step.plugin.process(
      [
        { ts: new Date('2024-05-01T23:59:59Z') },
        { ts: '2024-05-01 00:00:00' },
        { ts: '2024-05-01' },
        { ts: Date.UTC(2024, 4, 2) },
        { ts: 'soon' },
        {},
      ],
      step.context(),
    );
    expect(out.map((r) => [(r.window_start as Date).toISOString(), r.n])).toEqual([
      ['2024-05-01T00:00:00.000Z', 3],
      ['2024-05-02T00:00:00.000Z', 1],
    ]);
    expect(step.rejects.map((r) => r.reasons)).toEqual([['ts: not a time ("soon")'], ['ts: not a time (missing)']]);
  });

  it('computes p95 exactly like an independent DuckDB quantile_cont over the same events', async () => {
    const values = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 1451) + 150);
    const events = values.map((v, i) => ({ ts: new Date(Date.UTC(2024, 4, 1, 10, 0, 0) + i * 1000), v, g: i % 3 }));
    const step = await createTestStep<WindowTransform>(plugin, 'transform', {
      timeField: 'ts',
      size: '5m',
      groupBy: ['g'],
      aggregates: { p95: { p95: 'v' }, q: { quantile: ['v', 0.37] }, avg: { avg: 'v' } },
    });
    const latest = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < events.length; i += 64)
      for (const r of step.plugin.process(events.slice(i, i + 64), step.context()))
        latest.set(`${(r.window_start as Date).toISOString()}|${r.g}`, r);
    const db = await DuckDbClient.open(':memory:');
    await db.exec('CREATE TABLE e (ts TIMESTAMPTZ, v DOUBLE, g INTEGER)');
    await db.exec(`INSERT INTO e VALUES ${events.map((e) => `('${e.ts.toISOString()}', ${e.v}, ${e.g})`).join(', ')}`);
    const expected = await db.query(
      `SELECT time_bucket(INTERVAL 5 MINUTE, ts) AS window_start, g, quantile_cont(v, 0.95) AS p95, quantile_cont(v, 0.37) AS q, avg(v) AS avg FROM e GROUP BY ALL ORDER BY ALL`,
    );
    db.close();
    expect(expected.length).toBe(6);
    for (const row of expected) {
      const ours = latest.get(`${(row.window_start as Date).toISOString()}|${row.g}`)!;
      expect(ours.p95).toBeCloseTo(row.p95 as number, 9);
      expect(ours.q).toBeCloseTo(row.q as number, 9);
      expect(ours.avg).toBeCloseTo(row.avg as number, 9);
    }
  });

  it('computes quantiles by linear interpolation between the closest ranks', () => {
    expect(quantile([150, 220, 310, 480, 520, 610, 700, 880, 990, 1210, 1400, 1590], 0.95)).toBeCloseTo(1485.5, 9);
    expect(quantile([5], 0.95)).toBe(5);
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
    expect(quantile([], 0.95)).toBeNull();
  });

  it('rejects configs that cannot work, naming the step', async () => {
    await expect(
      createTestStep(
        plugin,
        'transform',
        { timeField: 'ts', size: '5m', hop: '10m', aggregates: { n: { count: true } } },
        { id: 'kpis' },
      ),
    ).rejects.toThrow('kpis: hop (10m) cannot be longer than size (5m)');
    await expect(
      createTestStep(
        plugin,
        'transform',
        { timeField: 'ts', size: '5m', groupBy: ['n'], aggregates: { n: { count: true } } },
        { id: 'kpis' },
      ),
    ).rejects.toThrow('kpis: aggregate n has the name of a groupBy field');
    await expect(
      createTestStep(plugin, 'transform', { timeField: 'ts', size: '5 minutes', aggregates: { n: { count: true } } }),
    ).rejects.toThrow('window.with.size: "5 minutes" is not a duration above 0');
    await expect(
      createTestStep(plugin, 'transform', { timeField: 'ts', size: '0s', aggregates: { n: { count: true } } }),
    ).rejects.toThrow('window.with.size: "0s" is not a duration above 0');
  });
});
