// ECharts options from a widget and its rows (pure: no DOM, no echarts import; unit-testable).
import { formatValue, isTimestamp, toNumber } from './format.ts';
import type { ColumnInfo, Row, WidgetModel, WidgetResult } from './types.ts';

export interface ChartTheme {
  text: string;
  muted: string;
  grid: string;
  background: string;
  tooltip: string;
  palette: string[];
}

export const LIGHT: ChartTheme = {
  text: '#1f2937', muted: '#6b7280', grid: '#eceef2', background: 'transparent', tooltip: '#ffffff',
  palette: ['#4f46e5', '#0ea5e9', '#10b981', '#f59e0b', '#ef4444', '#8b5cf6', '#14b8a6', '#ec4899', '#84cc16', '#64748b'],
};

export const DARK: ChartTheme = {
  text: '#e5e7eb', muted: '#9ca3af', grid: '#262b36', background: 'transparent', tooltip: '#1b1f29',
  palette: ['#818cf8', '#38bdf8', '#34d399', '#fbbf24', '#f87171', '#a78bfa', '#2dd4bf', '#f472b6', '#a3e635', '#94a3b8'],
};

export interface Series {
  name: string;
  points: [string | number, number | null][];
}

/** The x column, value columns and series of a chart widget's rows. */
export function chartData(widget: WidgetModel, data: Row[], columns: ColumnInfo[]): { x: string; ys: string[]; series: Series[]; time: boolean } {
  const names = columns.map((c) => c.name);
  const x = widget.x ?? names[0] ?? 'x';
  const numeric = (name: string) => columns.find((c) => c.name === name)?.type === 'number';
  const ys = widget.y.length ? widget.y : names.filter((n) => n !== x && n !== widget.series && numeric(n));
  const time = data.some((row) => typeof row[x] === 'string' && (isTimestamp(row[x] as string) || /^\d{4}-\d{2}-\d{2}$/.test(row[x] as string)));
  let series: Series[];
  if (widget.series) {
    const groups = new Map<string, Series>();
    for (const row of data) {
      const key = row[widget.series] === null || row[widget.series] === undefined ? '(none)' : String(row[widget.series]);
      if (!groups.has(key)) groups.set(key, { name: key, points: [] });
      groups.get(key)!.points.push([xValue(row[x]), toNumber(row[ys[0]])]);
    }
    series = [...groups.values()];
  } else {
    series = ys.map((y) => ({ name: widget.columns[y]?.label ?? y, points: data.map((row) => [xValue(row[x]), toNumber(row[y])] as [string | number, number | null]) }));
  }
  if (widget.type === 'bar' && widget.top && !widget.series && series[0]) {
    const order = series[0].points.map((p, i) => [p[1] ?? -Infinity, i] as const).sort((a, b) => b[0] - a[0]).slice(0, widget.top).map(([, i]) => i);
    series = series.map((s) => ({ ...s, points: order.map((i) => s.points[i]) }));
  }
  return { x, ys, series, time };
}

/** Whole days (DATE values, or timestamps at UTC midnight): the time axis then ticks by day, never by hour. */
function wholeDays(series: Series[]): boolean {
  const midnight = /^\d{4}-\d{2}-\d{2}([T ]00:00:00(\.0+)?(Z|[+-]00(:?00)?)?)?$/;
  return series.some((s) => s.points.length > 0) && series.every((s) => s.points.every(([x]) => typeof x === 'string' && midnight.test(x)));
}

/** 'Mar 1' at a UTC midnight, nothing at the hours between. */
function dayLabel(locale: string): (value: number) => string {
  const format = new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric', timeZone: 'UTC' });
  return (value) => (value % 86_400_000 === 0 ? format.format(value) : '');
}

function xValue(value: unknown): string | number {
  if (typeof value === 'number') return value;
  if (value === null || value === undefined) return '(none)';
  return String(value);
}

/** The ECharts option for a line, area, bar or pie widget. */
export function chartOption(widget: WidgetModel, result: WidgetResult, theme: ChartTheme, locale = 'en-US'): Record<string, unknown> {
  const { series, time, ys } = chartData(widget, result.data, result.meta.columns);
  const formatOf = (y: string | undefined) => ({ ...widget, ...(widget.columns[y ?? ''] ?? {}), locale });
  const fullOf = (y: string | undefined) => (v: unknown) => formatValue(v, formatOf(y));
  const shortOf = (y: string | undefined) => (v: unknown) => formatValue(v, { ...formatOf(y), compact: true, compactFrom: 1000, decimals: undefined });
  const full = fullOf(ys[0]);
  const tooltip = {
    backgroundColor: theme.tooltip, borderColor: theme.grid, textStyle: { color: theme.text, fontSize: 12 },
    valueFormatter: full, confine: true,
  };
  const base = { color: theme.palette, backgroundColor: theme.background, textStyle: { fontFamily: 'inherit', color: theme.text }, animationDuration: 400 };
  const legend = { show: series.length > 1, type: 'scroll', top: 0, icon: 'roundRect', itemWidth: 10, itemHeight: 10, textStyle: { color: theme.muted } };

  if (widget.type === 'pie') {
    const points = pieSlices(series[0]?.points ?? [], widget.top);
    return {
      ...base, tooltip: { ...tooltip, trigger: 'item' },
      legend: { ...legend, show: points.length > 0, type: 'scroll', orient: 'vertical', right: 0, top: 'middle' },
      series: [{
        type: 'pie', radius: ['48%', '74%'], center: ['38%', '50%'], avoidLabelOverlap: true, padAngle: points.length > 1 ? 1 : 0,
        itemStyle: { borderRadius: 4, borderColor: 'transparent' }, label: { show: false },
        emphasis: { label: { show: true, fontWeight: 600, color: theme.text, formatter: (p: { name: string; percent: number }) => `${p.name}\n${p.percent.toFixed(1)}%` } },
        data: points.map(([name, value]) => ({ name: String(name), value })),
      }],
    };
  }

  // Dates have no time zone: a chart of whole days is drawn in UTC, so each day sits on its own midnight everywhere.
  const days = time && wholeDays(series);
  const axisLine = { lineStyle: { color: theme.grid } };
  const splitLine = { lineStyle: { color: theme.grid } };
  const xAxis = time
    ? {
      type: 'time', axisLine, splitLine: { show: false },
      // ECharts still ticks a few days by hours (it ignores minInterval on time axes): days label only their midnights.
      axisLabel: { color: theme.muted, hideOverlap: true, formatter: days ? dayLabel(locale) : { year: '{yyyy}', month: '{MMM}', day: '{MMM} {d}', hour: '{HH}:{mm}', minute: '{HH}:{mm}', second: '{HH}:{mm}:{ss}' } },
    }
    : { type: 'category', axisLine, axisTick: { show: false }, axisLabel: { color: theme.muted, hideOverlap: true, interval: 'auto' } };
  const kind = widget.type === 'bar' ? 'bar' : 'line';
  // Lines (rates, latencies) zoom on their range; areas and bars start at zero. Value columns in another unit than
  // the first (a count next to revenue) get an axis of their own on the right, or they would be flat along zero.
  const unit = (y: string) => { const f = formatOf(y); return `${f.format ?? 'number'} ${f.currency ?? ''} ${f.unit ?? ''}`; };
  const right = widget.series ? [] : ys.filter((y) => unit(y) !== unit(ys[0]));
  const axis = (y: string | undefined) => ({ type: 'value', scale: widget.type === 'line', axisLabel: { color: theme.muted, formatter: shortOf(y) }, splitLine });
  const yAxis = right.length ? [axis(ys[0]), { ...axis(right[0]), splitLine: { show: false } }] : axis(ys[0]);
  const categories = [...new Set(series.flatMap((s) => s.points.map((p) => String(p[0]))))];
  const many = series.reduce((n, s) => Math.max(n, s.points.length), 0) > 40;
  return {
    ...base,
    ...(days ? { useUTC: true } : {}),
    grid: { left: 8, right: right.length ? 8 : 16, top: series.length > 1 ? 36 : 16, bottom: 8, containLabel: true },
    tooltip: { ...tooltip, trigger: 'axis', axisPointer: { type: kind === 'bar' ? 'shadow' : 'line' } },
    legend,
    xAxis,
    yAxis,
    series: series.map((s, i) => ({
      name: s.name,
      type: kind,
      ...(right.length ? { yAxisIndex: right.includes(ys[i]) ? 1 : 0, tooltip: { valueFormatter: fullOf(ys[i]) } } : {}),
      data: time ? s.points : categories.map((c) => s.points.find((p) => String(p[0]) === c)?.[1] ?? null),
      stack: widget.stack ? 'total' : undefined,
      ...(kind === 'line'
        ? { smooth: 0.25, showSymbol: !many, symbolSize: 5, lineStyle: { width: 2 }, areaStyle: widget.type === 'area' ? { opacity: 0.18 } : undefined, connectNulls: false }
        : { barMaxWidth: 36, itemStyle: { borderRadius: widget.stack ? 0 : [4, 4, 0, 0] } }),
    })),
    ...(time ? {} : { xAxis: { ...xAxis, data: categories } }),
  };
}

/** The `top` largest slices, the rest summed as "Other". */
export function pieSlices(points: [string | number, number | null][], top?: number): [string | number, number][] {
  const sorted = points.filter((p): p is [string | number, number] => p[1] !== null).sort((a, b) => b[1] - a[1]);
  if (!top || sorted.length <= top) return sorted;
  const rest = sorted.slice(top).reduce((sum, p) => sum + p[1], 0);
  return [...sorted.slice(0, top), ['Other', rest]];
}
