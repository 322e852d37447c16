import { describe, expect, it } from 'vitest';
import { chartOption } from './chart-options.ts';
import type { WidgetModel, WidgetResult } from './types.ts';

const theme = { palette: ['#000'], background: '#fff', text: '#000', muted: '#666', grid: '#eee', tooltip: '#fff' };
const widget = { id: 'trend', type: 'line', x: 'day', y: ['revenue'], columns: {} } as unknown as WidgetModel;
const result = (days: string[]) => ({
  data: days.map((day, i) => ({ day, revenue: 100 + i })),
  statistics: { rows: days.length, elapsedMs: 1 },
  meta: { columns: [{ name: 'day', type: 'string' }, { name: 'revenue', type: 'number' }], freshness: { lastCommitAt: null, steps: [] } },
}) as unknown as WidgetResult;
type Option = { useUTC?: boolean; xAxis: { type: string; axisLabel: { formatter: unknown } } };
const option = (days: string[]) => chartOption(widget, result(days), theme) as Option;

describe('chart options', () => {
  it('labels a time axis of whole days with days only, drawn in UTC (no 06:00/12:00 labels between daily points)', () => {
    for (const days of [['2024-03-01', '2024-03-02', '2024-03-04'], ['2024-03-01T00:00:00.000Z', '2024-03-02T00:00:00.000Z']]) {
      const { useUTC, xAxis } = option(days);
      expect(useUTC).toBe(true);
      expect(xAxis.type).toBe('time');
      const label = xAxis.axisLabel.formatter as (value: number) => string;
      expect(label(Date.parse('2024-03-02T00:00:00Z'))).toBe('Mar 2');
      expect(label(Date.parse('2024-03-02T06:00:00Z'))).toBe('');
    }
  });

  it('keeps hour labels (local time) when the points have times of day', () => {
    const { useUTC, xAxis } = option(['2024-03-01T00:00:00.000Z', '2024-03-01T06:00:00.000Z']);
    expect(useUTC).toBeUndefined();
    expect(xAxis.axisLabel.formatter).toMatchObject({ hour: '{HH}:{mm}' });
  });

  it('puts a value column in another unit (a count next to revenue) on a right axis with its own format', () => {
    const both = { ...widget, y: ['revenue', 'orders'], columns: { revenue: { label: 'Revenue', format: 'currency' }, orders: { label: 'Orders', format: 'integer' } } } as unknown as WidgetModel;
    const rows = {
      ...result([]), data: [{ day: '2024-03-01T10:00:00Z', revenue: 120_000, orders: 300 }, { day: '2024-03-01T11:00:00Z', revenue: 90_000, orders: 250 }],
      meta: { columns: [{ name: 'day', type: 'string' }, { name: 'revenue', type: 'number' }, { name: 'orders', type: 'number' }], freshness: { lastCommitAt: null, steps: [] } },
    } as unknown as WidgetResult;
    type Axis = { axisLabel: { formatter: (v: number) => string } };
    const { yAxis, series } = chartOption(both, rows, theme) as { yAxis: Axis[]; series: { yAxisIndex: number; tooltip: { valueFormatter: (v: number) => string } }[] };
    expect(yAxis).toHaveLength(2);
    expect(yAxis[0].axisLabel.formatter(120_000)).toBe('$120K');
    expect(yAxis[1].axisLabel.formatter(300)).toBe('300');
    expect(series.map((s) => s.yAxisIndex)).toEqual([0, 1]);
    expect(series[1].tooltip.valueFormatter(300)).toBe('300');
    // Columns in the same unit share one axis.
    const same = { ...both, columns: { revenue: { format: 'currency' }, orders: { format: 'currency' } } } as unknown as WidgetModel;
    expect(Array.isArray((chartOption(same, rows, theme) as { yAxis: unknown }).yAxis)).toBe(false);
  });
});
