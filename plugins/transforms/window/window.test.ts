import { describe, expect, it } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import plugin, { quantile, type WindowTransform } from './index.ts';

const at = (time: string, extra: Record<string, unknown> = {}) => ({ ts: `2024-05-01T${time}Z`, ...extra });

describe('window transform', () => {
  it('assigns events to clock-aligned tumbling windows at the boundaries and aggregates them', async () => {
    const step = await createTestStep<WindowTransform>(plugin, 'transform', {
      timeField: 'ts', size: '5m',
      aggregates: { events: { count: true }, revenue: { sumWhere: { field: 'type', in: ['purchase'], sum: 'amount' } }, p95: { p95: 'latency' }, users: { countDistinct: 'user' } },
    });
    const out = step.plugin.process([
      at('10:04:59.999', { type: 'purchase', amount: 10, latency: 100, user: 'a' }),
      at('10:05:00.000', { type: 'purchase', amount: 5, latency: 300, user: 'a' }),
      at('10:06:00.000', { type: 'login', user: 'b' }),
    ], step.context());
    expect(out).toEqual([
      { window_start: new Date('2024-05-01T10:00:00Z'), window_end: new Date('2024-05-01T10:05:00Z'), events: 1, revenue: 10, p95: 100, users: 1 },
      { window_start: new Date('2024-05-01T10:05:00Z'), window_end: new Date('2024-05-01T10:10:00Z'), events: 2, revenue: 5, p95: 300, users: 2 },
    ]);
  });

  it('lets a late event within the allowed lateness update its window, and rejects one beyond it; state survives a snapshot', async () => {
    const config = { timeField: 'ts', size: '5m', allowedLateness: '10m', aggregates: { events: { count: true }, avg: { avg: 'v' } } };
    const step = await createTestStep<WindowTransform>(plugin, 'transform', config);
    step.plugin.process([at('10:01:00', { v: 1 }), at('10:21:00', { v: 3 })], step.context());
    const restored = await createTestStep<WindowTransform>(plugin, 'transform', config);
    restored.plugin.restore(JSON.parse(JSON.stringify(step.plugin.snapshot())));
    const out = restored.plugin.process([at('10:12:00', { v: 5 }), at('10:22:00', { v: 5 }), at('10:02:00', { v: 9 })], restored.context());
    expect(out.map((r) => [(r.window_start as Date).toISOString().slice(11, 16), r.events, r.avg])).toEqual([['10:10', 1, 5], ['10:20', 2, 4]]);
    expect(restored.rejects.map((r) => r.reasons[0])).toEqual(['late beyond the allowed lateness of 10m (event at 2024-05-01T10:02:00.000Z, watermark 2024-05-01T10:11:00.000Z)']);
  });

  it('puts an event in every hopping window that contains it, and gives null (not NaN) for empty aggregates', async () => {
    const step = await createTestStep<WindowTransform>(plugin, 'transform', { timeField: 'ts', size: '10m', hop: '5m', aggregates: { n: { count: true }, p: { quantile: ['v', 0.5] } } });
    const out = step.plugin.process([at('10:07:00', { v: null })], step.context());
    expect(out.map((r) => [(r.window_start as Date).toISOString().slice(11, 16), r.n, r.p])).toEqual([['10:05', 1, null], ['10:00', 1, null]]);
  });

  it('computes quantiles by linear interpolation, like DuckDB quantile_cont', () => {
    expect(quantile([150, 220, 310, 480, 520, 610, 700, 880, 990, 1210, 1400, 1590], 0.95)).toBeCloseTo(1485.5, 9);
    expect(quantile([5], 0.95)).toBe(5);
    expect(quantile([], 0.95)).toBeNull();
  });
});
