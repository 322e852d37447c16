import { describe, expect, it } from 'vitest';
import { chartData, chartOption, LIGHT, pieSlices } from './chart-options.ts';
import { computeDelta, formatDuration, formatValue, timeAgo } from './format.ts';
import type { WidgetModel, WidgetResult } from './types.ts';

describe('formatValue', () => {
  it('formats numbers readably', () => {
    expect(formatValue(1234.5678)).toBe('1,235');
    expect(formatValue(12.345)).toBe('12.35');
    expect(formatValue(0.12345)).toBe('0.123');
    expect(formatValue(1234567, { compact: true })).toBe('1.2M');
    expect(formatValue(98765, { compact: true })).toBe('98,765');
    expect(formatValue(98765, { compact: true, compactFrom: 1000 })).toBe('98.8K');
    expect(formatValue(1234567, { format: 'integer' })).toBe('1,234,567');
    expect(formatValue(42, { format: 'number', unit: 'ms' })).toBe('42 ms');
    expect(formatValue(99.5, { unit: '%' })).toBe('99.5%');
  });

  it('formats currencies, compact and full', () => {
    expect(formatValue(1234.5, { format: 'currency', currency: 'EUR' })).toBe('€1,234.50');
    expect(formatValue(1234567, { format: 'currency', currency: 'USD', compact: true })).toBe('$1.2M');
    expect(formatValue(123456, { format: 'currency', currency: 'EUR', compact: true })).toBe('€123.5K');
    expect(formatValue(1234.5, { format: 'currency', currency: 'EUR', locale: 'de-DE' })).toBe('1.234,50\u00a0€');
    expect(formatValue(5, { format: 'currency', currency: 'NOPE' })).toBe('$5.00');
  });

  it('formats fractions as percentages and durations', () => {
    expect(formatValue(0.0523, { format: 'percent' })).toBe('5.23%');
    expect(formatValue(0.25, { format: 'percent' })).toBe('25%');
    expect(formatValue(850, { format: 'duration' })).toBe('850 ms');
    expect(formatValue(1.25, { format: 'duration', unit: 's' })).toBe('1.3 s');
    expect(formatDuration(200_000)).toBe('3 min 20 s');
    expect(formatDuration(7_500_000)).toBe('2 h 5 min');
  });

  it('shows a dash for missing values and text as text', () => {
    expect(formatValue(null)).toBe('—');
    expect(formatValue(NaN)).toBe('—');
    expect(formatValue('<b>x</b>')).toBe('<b>x</b>');
    expect(formatValue('2024-03-01T10:00:00.000Z', { locale: 'en-US' })).toMatch(/Mar 1, 2024/);
    expect(formatValue('42')).toBe('42');
  });
});

describe('computeDelta', () => {
  it('computes the change and whether it is good news', () => {
    expect(computeDelta(110, 100)).toMatchObject({ direction: 'up', good: true, text: '+10.0%' });
    expect(computeDelta(90, 100)).toMatchObject({ direction: 'down', good: false, text: '−10.0%' });
    expect(computeDelta(90, 100, true)).toMatchObject({ direction: 'down', good: true });
    expect(computeDelta(5, 0)).toMatchObject({ ratio: null, text: 'new' });
    expect(computeDelta(100, 100)).toMatchObject({ direction: 'flat', good: null });
    expect(computeDelta(null, 100)).toBeNull();
  });
});

describe('timeAgo', () => {
  it('reads like speech', () => {
    const now = Date.parse('2024-01-01T12:00:00Z');
    expect(timeAgo('2024-01-01T11:59:55Z', now)).toBe('just now');
    expect(timeAgo('2024-01-01T11:55:00Z', now)).toBe('5 min ago');
    expect(timeAgo('2024-01-01T09:00:00Z', now)).toBe('3 h ago');
    expect(timeAgo(null, now)).toBe('never');
  });
});

const widget = (over: Partial<WidgetModel>): WidgetModel => ({
  id: 'w', type: 'line', title: 'W', width: 2, y: [], stack: false, downIsGood: false, sparkline: false, delta: false, columns: {}, pageSize: 10, filters: [], steps: [], ...over,
});
const result = (data: Record<string, unknown>[]): WidgetResult => ({
  data, statistics: { rows: data.length, elapsedMs: 0 },
  meta: { columns: Object.keys(data[0] ?? {}).map((name) => ({ name, type: typeof data[0][name] === 'number' ? 'number' : 'string' })), freshness: { steps: [], producer: null, lastCommitAt: null, watermark: null, rejected: 0, delivered: null } },
});

describe('chart options', () => {
  it('splits a long table into one series per value of `series`', () => {
    const rows = [{ ts: '2024-01-01T00:00:00Z', currency: 'USD', rate: 1.1 }, { ts: '2024-01-01T00:00:00Z', currency: 'GBP', rate: 0.86 }, { ts: '2024-01-01T01:00:00Z', currency: 'USD', rate: 1.2 }];
    const data = chartData(widget({ x: 'ts', y: ['rate'], series: 'currency' }), rows, result(rows).meta.columns);
    expect(data.time).toBe(true);
    expect(data.series.map((s) => [s.name, s.points.length])).toEqual([['USD', 2], ['GBP', 1]]);
  });

  it('keeps the top N bars and puts the rest of a pie in Other', () => {
    const rows = [{ c: 'a', v: 1 }, { c: 'b', v: 5 }, { c: 'c', v: 3 }];
    const option = chartOption(widget({ type: 'bar', top: 2 }), result(rows), LIGHT) as { xAxis: { data: string[] }; series: { data: number[] }[] };
    expect(option.xAxis.data).toEqual(['b', 'c']);
    expect(option.series[0].data).toEqual([5, 3]);
    expect(pieSlices([['a', 1], ['b', 5], ['c', 3], ['d', null]], 2)).toEqual([['b', 5], ['c', 3], ['Other', 1]]);
  });
});
