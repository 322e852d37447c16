// What charts draw: series in a fixed order and colour, gaps as gaps, the period in progress apart, series on
// different scales as change from their first point, axes within the data's range, ranked categories
// (a pie's slices: widgets/widgets.test.ts).
import { describe, expect, it } from 'vitest';
import { barRows, chartData, LIGHT, seriesColors, timeChart } from './chart-options.ts';
import type { WidgetModel, WidgetResult } from './types.ts';

const widget = (over: Partial<WidgetModel>): WidgetModel => ({
  id: 'w',
  type: 'line',
  title: 'W',
  width: 2,
  y: [],
  stack: false,
  downIsGood: false,
  sparkline: false,
  delta: false,
  columns: {},
  pageSize: 10,
  filters: [],
  steps: [],
  ...over,
});
const result = (data: Record<string, unknown>[]): WidgetResult => ({
  data,
  statistics: { rows: data.length, elapsedMs: 0 },
  meta: {
    columns: Object.keys(data[0] ?? {}).map((name) => ({
      name,
      type: typeof data[0][name] === 'number' ? 'number' : 'string',
    })),
    freshness: { steps: [], producer: null, lastCommitAt: null, watermark: null, rejected: 0, delivered: null },
  },
});
const hour = (h: number) => new Date(Date.UTC(2026, 11, 6, h)).toISOString();

describe('series', () => {
  it('splits a long table into one series per value, in name order whatever order rows come in', () => {
    const rows = [
      { ts: hour(0), currency: 'USD', rate: 1.1 },
      { ts: hour(0), currency: 'GBP', rate: 0.86 },
      { ts: hour(1), currency: 'USD', rate: 1.2 },
    ];
    const data = chartData(widget({ x: 'ts', y: ['rate'], series: 'currency' }), rows, result(rows).meta.columns);
    expect(data.time).toBe(true);
    expect(data.series.map((s) => [s.name, s.points.length])).toEqual([
      ['GBP', 1],
      ['USD', 2],
    ]);
  });

  it('gives each name its own colour, the same across loads and when a filter narrows the names', () => {
    const names = ['AUD', 'BRL', 'CAD', 'CHF', 'CNY', 'EUR', 'GBP', 'INR', 'JPY', 'NOK', 'SEK', 'USD'];
    const all = seriesColors(names, LIGHT.palette, names);
    expect(new Set(all.values()).size).toBe(12);
    expect(seriesColors([...names].reverse(), LIGHT.palette, names)).toEqual(all);
    const some = seriesColors(['BRL', 'CNY'], LIGHT.palette, names);
    expect(some.get('BRL')).toBe(all.get('BRL'));
    expect(some.get('CNY')).toBe(all.get('CNY'));
  });
});

describe('time series', () => {
  const now = Date.parse('2026-12-06T10:30:00Z');

  it('draws straight segments, breaks the line where hours are missing and marks the hour in progress', () => {
    const rows = [0, 1, 2, 7, 8, 9, 10].map((h) => ({ hour: hour(h), sales: 100 + h }));
    const chart = timeChart(widget({ x: 'hour', y: ['sales'], format: 'currency' }), result(rows), LIGHT, now);
    expect(chart.smooth).toBe(false);
    expect(chart.step).toBe(3_600_000);
    expect(chart.series[0].values).toEqual([100, 101, 102, null, 107, 108, 109, 110]);
    expect(chart.x[3]).toBe(Date.parse(hour(3)));
    expect(chart.series[0].partialLast).toBe(true); // 10:00–11:00 has not ended at 10:30
    expect(chart.xRange).toEqual([Date.parse(hour(0)), Date.parse(hour(10))]); // never past the data
    expect(
      timeChart(widget({ x: 'hour', y: ['sales'] }), result(rows.slice(0, 3)), LIGHT, now).series[0].partialLast,
    ).toBe(false);
  });

  it('bounds a line axis by the data and starts areas and bars at zero', () => {
    const rows = [
      { t: hour(1), v: 1040 },
      { t: hour(2), v: 1110 },
    ];
    expect(timeChart(widget({ x: 't', y: ['v'] }), result(rows), LIGHT, now).axes[0]).toMatchObject({
      min: 1040,
      max: 1120,
      step: 20,
    });
    expect(timeChart(widget({ type: 'area', x: 't', y: ['v'] }), result(rows), LIGHT, now).axes[0]).toMatchObject({
      min: 0,
    });
  });

  it('shows series on different scales as change from their first point, keeping the values for the tooltip', () => {
    const rows = [
      { t: hour(1), c: 'EUR', r: 0.9 },
      { t: hour(1), c: 'JPY', r: 150 },
      { t: hour(2), c: 'EUR', r: 0.918 },
      { t: hour(2), c: 'JPY', r: 147 },
    ];
    const chart = timeChart(widget({ x: 't', y: ['r'], series: 'c', decimals: 4 }), result(rows), LIGHT, now);
    expect(chart.indexed).toBe(true);
    expect(chart.series.map((s) => s.name)).toEqual(['EUR', 'JPY']);
    expect(chart.series[0].values.map((v) => Number(v!.toFixed(4)))).toEqual([0, 0.02]);
    expect(chart.series[1].raw).toEqual([150, 147]);
    expect(chart.axes[0].format.format).toBe('percent');
    expect(
      timeChart(widget({ x: 't', y: ['r'], series: 'c', scale: 'shared' }), result(rows), LIGHT, now).indexed,
    ).toBe(false);
  });

  it('puts a column in another unit on a right axis', () => {
    const both = widget({
      x: 't',
      y: ['revenue', 'orders'],
      columns: { revenue: { format: 'currency' }, orders: { format: 'integer' } },
    });
    const chart = timeChart(
      both,
      result([
        { t: hour(1), revenue: 120_000, orders: 300 },
        { t: hour(2), revenue: 90_000, orders: 250 },
      ]),
      LIGHT,
      now,
    );
    expect(chart.axes).toHaveLength(2);
    expect(chart.series.map((s) => s.axis)).toEqual([0, 1]);
  });

  it('labels whole days as days', () => {
    const chart = timeChart(
      widget({ x: 'day', y: ['v'] }),
      result([
        { day: '2024-03-01', v: 1 },
        { day: '2024-03-02', v: 2 },
      ]),
      LIGHT,
      now,
    );
    expect(chart.days).toBe(true);
  });
});

describe('ranked categories', () => {
  it('draws categories as horizontal bars, largest first, labels whole', () => {
    const rows = [
      { c: 'a long city name that must not be cut', v: 1 },
      { c: 'b', v: 5 },
      { c: 'c', v: 3 },
    ];
    const { rows: bars, max } = barRows(widget({ type: 'bar', top: 2 }), result(rows), LIGHT);
    expect(bars.map((r) => r.label)).toEqual(['b', 'c']);
    expect(max).toBe(5);
    expect(barRows(widget({ type: 'bar' }), result(rows), LIGHT).rows.at(-1)!.label).toBe(
      'a long city name that must not be cut',
    );
  });
});
