// What a chart draws, from a widget and its rows (pure: no DOM, no chart library; the same on the server and in the
// browser). Time series go to uPlot in the browser (components/timeseries.ts); ranked categories are drawn as
// horizontal bars in HTML (components/chart.tsx); shares are the pie's (widgets/pie/).
import {
  axisFormatter,
  formatCell,
  formatValue,
  isDate,
  isTimestamp,
  niceScale,
  toNumber,
  type FieldContext,
} from './format.ts';
import type { ColumnInfo, ColumnSpec, Row, WidgetModel, WidgetResult } from './types.ts';

export interface ChartTheme {
  text: string;
  muted: string;
  grid: string;
  background: string;
  tooltip: string;
  palette: string[];
}

/** Twenty distinct colours; a series keeps its colour by name (see seriesColors). */
export const LIGHT: ChartTheme = {
  text: '#1f2937',
  muted: '#6b7280',
  grid: '#eceef2',
  background: 'transparent',
  tooltip: '#ffffff',
  palette: [
    '#4f46e5',
    '#0ea5e9',
    '#10b981',
    '#f59e0b',
    '#ef4444',
    '#8b5cf6',
    '#14b8a6',
    '#ec4899',
    '#84cc16',
    '#64748b',
    '#b45309',
    '#1d4ed8',
    '#be185d',
    '#15803d',
    '#7c3aed',
    '#ea580c',
    '#0891b2',
    '#a16207',
    '#9f1239',
    '#4d7c0f',
  ],
};

export const DARK: ChartTheme = {
  text: '#e5e7eb',
  muted: '#9ca3af',
  grid: '#262b36',
  background: 'transparent',
  tooltip: '#1b1f29',
  palette: [
    '#818cf8',
    '#38bdf8',
    '#34d399',
    '#fbbf24',
    '#f87171',
    '#a78bfa',
    '#2dd4bf',
    '#f472b6',
    '#a3e635',
    '#94a3b8',
    '#d97706',
    '#60a5fa',
    '#db2777',
    '#4ade80',
    '#c084fc',
    '#fb923c',
    '#22d3ee',
    '#eab308',
    '#fb7185',
    '#84cc16',
  ],
};

export interface Series {
  name: string;
  /** The value column it shows (a `series:` split shows the first y column for each value). */
  column: string;
  points: [string | number, number | null][];
}

/** The x column, value columns and series of a chart widget's rows; series by name order (legend order fixed). */
export function chartData(
  widget: WidgetModel,
  data: Row[],
  columns: ColumnInfo[],
): { x: string; ys: string[]; series: Series[]; time: boolean } {
  const names = columns.map((c) => c.name);
  const x = widget.x ?? names[0] ?? 'x';
  const numeric = (name: string) => columns.find((c) => c.name === name)?.type === 'number';
  const ys = widget.y.length ? widget.y : names.filter((n) => n !== x && n !== widget.series && numeric(n));
  const time = data.some(
    (row) => typeof row[x] === 'string' && (isTimestamp(row[x] as string) || isDate(row[x] as string)),
  );
  let series: Series[];
  if (widget.series) {
    const groups = new Map<string, Series>();
    for (const row of data) {
      const key =
        row[widget.series] === null || row[widget.series] === undefined ? '(none)' : String(row[widget.series]);
      if (!groups.has(key)) groups.set(key, { name: key, column: ys[0], points: [] });
      groups.get(key)!.points.push([xValue(row[x]), toNumber(row[ys[0]])]);
    }
    series = [...groups.values()].sort((a, b) => a.name.localeCompare(b.name));
  } else {
    series = ys.map((y) => ({
      name: widget.columns[y]?.label ?? y,
      column: y,
      points: data.map((row) => [xValue(row[x]), toNumber(row[y])] as [string | number, number | null]),
    }));
  }
  if (widget.type === 'bar' && widget.top && !widget.series && series[0]) {
    const order = series[0].points
      .map((p, i) => [p[1] ?? -Infinity, i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, widget.top)
      .map(([, i]) => i);
    series = series.map((s) => ({ ...s, points: order.map((i) => s.points[i]) }));
  }
  return { x, ys, series, time };
}

function xValue(value: unknown): string | number {
  if (typeof value === 'number') return value;
  if (value === null || value === undefined) return '(none)';
  return String(value);
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * A colour per series name that does not depend on the order rows arrive in: each name starts at its own slot of
 * the palette and, if that slot is taken, the next free one, names placed in alphabetical order over `domain` (all
 * names the widget can show, so a filtered subset keeps the colours of the full chart).
 */
export function seriesColors(names: string[], palette: string[], domain: string[] = []): Map<string, string> {
  const all = [...new Set([...domain, ...names])].sort((a, b) => a.localeCompare(b));
  const taken = new Map<number, string>();
  const out = new Map<string, string>();
  for (const name of all) {
    let slot = hash(name) % palette.length;
    for (let i = 0; i < palette.length && taken.has(slot); i++) slot = (slot + 1) % palette.length;
    taken.set(slot, name);
    out.set(name, palette[slot]);
  }
  return out;
}

/** The display options of a value column: the widget's format, overridden by the column's own. */
export function columnFormat(widget: WidgetModel, column: string | undefined): ColumnSpec {
  const { format, currency, unit, decimals } = widget;
  return { format, currency, unit, decimals, ...(column ? (widget.columns[column] ?? {}) : {}) };
}

// ---- Time series -------------------------------------------------------------------------------------------------

export interface TimeSeriesLine {
  name: string;
  color: string;
  /** Values aligned with `TimeChart.x` (null: a gap). Indexed charts hold % change; `raw` the values. */
  values: (number | null)[];
  raw: (number | null)[];
  /** 0: the left axis, 1: the right one (a column in another unit). */
  axis: 0 | 1;
  /** The last point is a period still in progress: drawn apart (dashed, or a paler bar). */
  partialLast: boolean;
  format: ColumnSpec;
}

export interface TimeChart {
  kind: 'line' | 'area' | 'bar';
  /** Milliseconds since the epoch (time axis) or numbers (a numeric x). */
  x: number[];
  time: boolean;
  /** Whole days: ticks label days, in UTC (a date has no zone). */
  days: boolean;
  /** The x range drawn: the data's own, never beyond it. */
  xRange: [number, number];
  /** Typical distance between points (for gaps and the partial last period). */
  step: number | null;
  series: TimeSeriesLine[];
  /** Left and right axes: bounds, tick step, and the format of their labels. */
  axes: { min: number; max: number; step: number; format: ColumnSpec }[];
  /** Series shown as % change from their first point (their ranges differ tenfold). */
  indexed: boolean;
  stack: boolean;
  smooth: boolean;
}

function median(values: number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The time series of a line, area or bar widget over a time (or numeric) x axis. */
export function timeChart(
  widget: WidgetModel,
  result: WidgetResult,
  theme: ChartTheme,
  now = Date.now(),
  domain: string[] = [],
): TimeChart {
  const { series, ys } = chartData(widget, result.data, result.meta.columns);
  const parse = (x: string | number) =>
    typeof x === 'number' ? x : isDate(x) ? Date.parse(`${x}T00:00:00Z`) : Date.parse(x);
  const time = series.some((s) => s.points.some((p) => typeof p[0] === 'string'));
  const xs = [
    ...new Set(series.flatMap((s) => s.points.map((p) => parse(p[0]))).filter((x) => Number.isFinite(x))),
  ].sort((a, b) => a - b);
  const step = median(
    xs
      .slice(1)
      .map((x, i) => x - xs[i])
      .filter((d) => d > 0),
  );
  // A missing period between two points is a gap, not a line across it: a null where a point is missing.
  const filled: number[] = [];
  for (const x of xs) {
    const last = filled.at(-1);
    if (step && last !== undefined && x - last > step * 1.5) filled.push(last + step);
    filled.push(x);
  }
  const days = time && xs.length > 0 && xs.every((x) => x % 86_400_000 === 0);
  const colors = seriesColors(
    series.map((s) => s.name),
    theme.palette,
    domain,
  );
  const unitOf = (column: string) =>
    JSON.stringify([
      columnFormat(widget, column).format ?? 'number',
      columnFormat(widget, column).currency ?? '',
      columnFormat(widget, column).unit ?? '',
    ]);
  const right = widget.series ? [] : ys.filter((y) => unitOf(y) !== unitOf(ys[0]));
  const lines: TimeSeriesLine[] = series.map((s) => {
    const byX = new Map(s.points.map((p) => [parse(p[0]), p[1]]));
    const raw = filled.map((x) => byX.get(x) ?? null);
    const lastX = [...byX.keys()]
      .filter((x) => byX.get(x) !== null)
      .sort((a, b) => a - b)
      .at(-1);
    // The newest period has not ended yet (its end is after now): its value is still growing.
    const partialLast = Boolean(
      time && step && lastX !== undefined && lastX === xs.at(-1) && lastX + step > now && lastX <= now,
    );
    return {
      name: s.name,
      color: colors.get(s.name)!,
      values: raw,
      raw,
      axis: right.includes(s.column) ? 1 : 0,
      partialLast,
      format: columnFormat(widget, s.column),
    };
  });
  // Series far apart in scale (JPY next to EUR) are compared as change from their first point.
  const spans = lines
    .map((l) => Math.max(...l.raw.filter((v): v is number => v !== null).map(Math.abs), 0))
    .filter((v) => v > 0);
  const indexed =
    widget.type !== 'bar' &&
    !widget.stack &&
    lines.length > 1 &&
    right.length === 0 &&
    (widget.scale === 'indexed' ||
      ((widget.scale ?? 'auto') === 'auto' && spans.length > 1 && Math.max(...spans) / Math.min(...spans) >= 10));
  if (indexed) {
    for (const line of lines) {
      const base = line.raw.find((v) => v !== null && v !== 0) ?? null;
      line.values = line.raw.map((v) => (v === null || base === null ? null : v / base - 1));
    }
  }
  const axisOf = (index: 0 | 1) => {
    const members = lines.filter((l) => l.axis === index);
    let values = members.flatMap((l) => l.values.filter((v): v is number => v !== null));
    if (widget.stack && widget.type !== 'line')
      values = filled.map((_, i) => members.reduce((sum, l) => sum + (l.values[i] ?? 0), 0));
    // Bars and areas start at zero (their length is the value); lines show the data's own range.
    const zero = widget.type !== 'line' && !indexed;
    const low = values.length ? Math.min(...values) : 0;
    const high = values.length ? Math.max(...values) : 1;
    const scale = niceScale(zero ? Math.min(0, low) : low, zero ? Math.max(0, high) : high);
    const format: ColumnSpec = indexed ? { format: 'percent' } : (members[0]?.format ?? columnFormat(widget, ys[0]));
    return { ...scale, format };
  };
  const axes = right.length ? [axisOf(0), axisOf(1)] : [axisOf(0)];
  return {
    kind: widget.type === 'bar' ? 'bar' : widget.type === 'area' ? 'area' : 'line',
    x: filled,
    time,
    days,
    xRange: [filled[0] ?? 0, filled.at(-1) ?? 1],
    step,
    series: lines,
    axes,
    indexed,
    stack: widget.stack,
    smooth: widget.smooth ?? false,
  };
}

/** Axis tick labels of a time chart's value axis. */
export function axisLabels(axis: TimeChart['axes'][number], context: FieldContext): (value: number) => string {
  return axisFormatter(
    { ...axis.format, currency: axis.format.currency ?? context.currency, locale: context.locale },
    axis.step,
    Math.max(Math.abs(axis.min), Math.abs(axis.max)),
  );
}

/** A value in a tooltip: the column's format in full; indexed charts add the change ("0.9234 (+0.4%)"). */
export function tooltipValue(line: TimeSeriesLine, index: number, indexed: boolean, context: FieldContext): string {
  const raw = line.raw[index];
  const text = formatCell(raw, { name: line.name, type: 'number' }, line.format, context);
  if (!indexed || raw === null) return text;
  const change = line.values[index];
  return change === null
    ? text
    : `${text} (${formatValue(change, { format: 'percent', decimals: 1, locale: context.locale }).replace(/^(?=\d)/, '+')})`;
}

// ---- Ranked categories --------------------------------------------------------------------------------------

export interface BarRow {
  label: string;
  values: { name: string; value: number | null; color: string }[];
}

/** Categories as rows of horizontal bars, largest first for a single series (a ranking), with every label whole. */
export function barRows(
  widget: WidgetModel,
  result: WidgetResult,
  theme: ChartTheme,
): { rows: BarRow[]; series: { name: string; color: string; column: string }[]; max: number; min: number } {
  const { series } = chartData(widget, result.data, result.meta.columns);
  const colors = seriesColors(
    series.map((s) => s.name),
    theme.palette,
  );
  const single = series.length === 1;
  const labels = [...new Set(series.flatMap((s) => s.points.map((p) => String(p[0]))))];
  let rows: BarRow[] = labels.map((label) => ({
    label,
    values: series.map((s) => ({
      name: s.name,
      value: s.points.find((p) => String(p[0]) === label)?.[1] ?? null,
      color: single ? theme.palette[0] : colors.get(s.name)!,
    })),
  }));
  if (single) rows = rows.sort((a, b) => (b.values[0].value ?? -Infinity) - (a.values[0].value ?? -Infinity));
  const all = rows.flatMap((r) =>
    r.values.map((v) => (widget.stack ? r.values.reduce((sum, x) => sum + (x.value ?? 0), 0) : (v.value ?? 0))),
  );
  return {
    rows,
    series: series.map((s) => ({
      name: s.name,
      color: single ? theme.palette[0] : colors.get(s.name)!,
      column: s.column,
    })),
    max: Math.max(0, ...all),
    min: Math.min(0, ...all),
  };
}
