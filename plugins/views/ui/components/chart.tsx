// A chart card body. Ranked categories (horizontal bars) and shares (a donut) are HTML/SVG rendered on the server
// too; time series are drawn by uPlot in the browser, whose code only pages with a time chart load.
import { createContext, type JSX } from 'preact';
import { useContext, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { barRows, chartData, DARK, LIGHT, pieSlices, seriesColors, timeChart, type ChartTheme, type TimeChart } from '../chart-options.ts';
import { formatCell, type FieldContext } from '../format.ts';
import type { WidgetModel, WidgetResult } from '../types.ts';
import type { TimeChartHandle } from './timeseries.ts';

/** Provided by the browser entry: loads the time-series drawing code on first use. Absent on the server. */
export interface ChartHost {
  load(): Promise<{ mountTimeChart(element: HTMLElement, chart: TimeChart, theme: ChartTheme, context: FieldContext): TimeChartHandle }>;
}

export const ChartContext = createContext<ChartHost | null>(null);

interface ChartProps {
  widget: WidgetModel;
  result: WidgetResult;
  theme: 'light' | 'dark';
  context: FieldContext;
  now: number;
  /** All names the widget's series can take (colours stay with their names when a filter narrows the set). */
  domain?: string[];
}

export function ChartBody(props: ChartProps): JSX.Element {
  const { widget, result } = props;
  const time = useMemo(() => chartData(widget, result.data, result.meta.columns).time, [widget, result]);
  if (widget.type === 'pie') return <PieBody {...props} />;
  if (!time && typeof result.data[0]?.[widget.x ?? result.meta.columns[0]?.name ?? ''] !== 'number') return <BarsBody {...props} />;
  return <TimeSeriesBody {...props} />;
}

function TimeSeriesBody({ widget, result, theme, context, now, domain }: ChartProps): JSX.Element {
  const host = useContext(ChartContext);
  const element = useRef<HTMLDivElement>(null);
  const handle = useRef<TimeChartHandle | null>(null);
  const palette = theme === 'dark' ? DARK : LIGHT;
  const chart = useMemo(() => timeChart(widget, result, palette, now, domain), [widget, result, palette, now, domain]);
  const [ready, setReady] = useState(false);
  // The drawing code arrives later: it must draw what the chart and theme are then, not when it was asked for.
  const latest = useRef({ chart, palette });
  latest.current = { chart, palette };
  useEffect(() => {
    if (!host || !element.current) return;
    let gone = false;
    void host.load().then((drawing) => {
      if (gone || !element.current) return;
      handle.current = drawing.mountTimeChart(element.current, latest.current.chart, latest.current.palette, context);
      setReady(true);
    });
    return () => {
      gone = true;
      handle.current?.dispose();
      handle.current = null;
    };
  }, [host]);
  useEffect(() => handle.current?.update(chart, palette), [chart, palette]);
  const height = widget.height ?? 260;
  const legend = chart.series.length > 1 || chart.indexed;
  return (
    <div class="chart-box">
      {legend && (
        <ul class="legend" aria-label="Series">
          {chart.series.map((s) => <li key={s.name}><span class="legend-mark" style={{ background: s.color }} />{s.name}</li>)}
        </ul>
      )}
      {chart.indexed && <p class="chart-note">Change from the first point shown (%): the series are on different scales. Hover for the values.</p>}
      <div class="chart" style={{ height: `${height}px` }} data-rows={result.data.length}>
        <div class="chart-canvas" ref={element} data-chart={widget.id} data-series={chart.series.map((s) => s.name).join('|')} />
        {!ready && <div class="skeleton sk-chart chart-placeholder" />}
      </div>
      {chart.series.some((s) => s.partialLast) && <p class="chart-note">The last {chart.days ? 'day' : 'period'} is still in progress (dashed).</p>}
    </div>
  );
}

function BarsBody({ widget, result, theme, context }: ChartProps): JSX.Element {
  const { rows, series, max, min } = useMemo(() => barRows(widget, result, theme === 'dark' ? DARK : LIGHT), [widget, result, theme]);
  const span = max - min || 1;
  const format = (column: string, value: number | null) => formatCell(value, { name: column, type: 'number' }, { format: widget.format, currency: widget.currency, unit: widget.unit, decimals: widget.decimals, ...widget.columns[column] }, context);
  return (
    <div class="bars" data-chart={widget.id} style={widget.height ? { maxHeight: `${widget.height}px` } : undefined}>
      {series.length > 1 && (
        <ul class="legend" aria-label="Series">{series.map((s) => <li key={s.name}><span class="legend-mark" style={{ background: s.color }} />{s.name}</li>)}</ul>
      )}
      <table class="bar-table">
        <tbody>
          {rows.map((row) => (
            <tr key={row.label} data-label={row.label}>
              <th scope="row" class="bar-label">{row.label}</th>
              <td class="bar-cell">
                {row.values.map((v, i) => (
                  <div class="bar-line" key={v.name} data-value={v.value ?? ''}>
                    <span class="bar-track">
                      <span class="bar-fill" style={{ left: `${((Math.min(0, v.value ?? 0) - min) / span) * 100}%`, width: `${(Math.abs(v.value ?? 0) / span) * 100}%`, background: v.color }} />
                    </span>
                    <span class="bar-value">{format(series[i].column, v.value)}</span>
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function PieBody({ widget, result, theme, context }: ChartProps): JSX.Element {
  const palette = theme === 'dark' ? DARK : LIGHT;
  const { series } = chartData(widget, result.data, result.meta.columns);
  const slices = pieSlices(series[0]?.points ?? [], widget.top);
  const total = slices.reduce((sum, [, v]) => sum + v, 0) || 1;
  const colors = seriesColors(slices.map(([name]) => String(name)), palette.palette);
  const column = series[0]?.column;
  const format = (value: number) => formatCell(value, { name: column ?? '', type: 'number' }, { format: widget.format, currency: widget.currency, unit: widget.unit, decimals: widget.decimals, ...(column ? widget.columns[column] : {}) }, context);
  let angle = 0;
  const arcs = slices.map(([name, value]) => {
    const start = angle;
    angle += (value / total) * Math.PI * 2;
    return { name: String(name), value, start, end: angle };
  });
  const point = (a: number, r: number) => `${(50 + r * Math.sin(a)).toFixed(3)} ${(50 - r * Math.cos(a)).toFixed(3)}`;
  const arc = (start: number, end: number) => {
    if (end - start >= Math.PI * 2 - 1e-9) end = start + Math.PI * 2 - 1e-4;
    const large = end - start > Math.PI ? 1 : 0;
    return `M${point(start, 46)}A46 46 0 ${large} 1 ${point(end, 46)}L${point(end, 28)}A28 28 0 ${large} 0 ${point(start, 28)}Z`;
  };
  return (
    <div class="pie" data-chart={widget.id}>
      <svg viewBox="0 0 100 100" class="pie-svg" role="img" aria-label={widget.title}>
        {arcs.map((a) => <path key={a.name} d={arc(a.start, a.end)} fill={colors.get(a.name)} stroke="var(--surface)" stroke-width="0.8"><title>{`${a.name}: ${format(a.value)} (${((a.value / total) * 100).toFixed(1)}%)`}</title></path>)}
      </svg>
      <ul class="pie-legend">
        {arcs.map((a) => (
          <li key={a.name} data-label={a.name} data-value={a.value}>
            <span class="legend-mark" style={{ background: colors.get(a.name) }} />
            <span class="pie-name">{a.name}</span>
            <span class="pie-value">{format(a.value)}</span>
            <span class="pie-share">{((a.value / total) * 100).toFixed(1)}%</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
