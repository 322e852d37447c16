// The body of a series chart (line, area, bar). Ranked categories (horizontal bars) are HTML rendered on the server
// too; time series are drawn by uPlot in the browser, whose code only pages with a time chart load.
import { createContext, type JSX } from 'preact';
import { useContext, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { barRows, chartData, DARK, LIGHT, timeChart, type ChartTheme, type TimeChart } from '../chart-options.ts';
import { formatCell, type FieldContext } from '../format.ts';
import type { WidgetModel, WidgetResult } from '../types.ts';
import type { TimeChartHandle } from './timeseries.ts';

/** Provided by the browser entry: loads the time-series drawing code on first use. Absent on the server. */
export interface ChartHost {
  load(): Promise<{
    mountTimeChart(element: HTMLElement, chart: TimeChart, theme: ChartTheme, context: FieldContext): TimeChartHandle;
  }>;
}

export const ChartContext = createContext<ChartHost | null>(null);

export interface ChartProps {
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
  if (!time && typeof result.data[0]?.[widget.x ?? result.meta.columns[0]?.name ?? ''] !== 'number')
    return <BarsBody {...props} />;
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
          {chart.series.map((s) => (
            <li key={s.name}>
              <span class="legend-mark" style={{ background: s.color }} />
              {s.name}
            </li>
          ))}
        </ul>
      )}
      {chart.indexed && (
        <p class="chart-note">
          Change from the first point shown (%): the series are on different scales. Hover for the values.
        </p>
      )}
      <div class="chart" style={{ height: `${height}px` }} data-rows={result.data.length}>
        <div
          class="chart-canvas"
          ref={element}
          data-chart={widget.id}
          data-series={chart.series.map((s) => s.name).join('|')}
        />
        {!ready && <div class="skeleton sk-chart chart-placeholder" />}
      </div>
      {chart.series.some((s) => s.partialLast) && (
        <p class="chart-note">The last {chart.days ? 'day' : 'period'} is still in progress (dashed).</p>
      )}
    </div>
  );
}

function BarsBody({ widget, result, theme, context }: ChartProps): JSX.Element {
  const { rows, series, max, min } = useMemo(
    () => barRows(widget, result, theme === 'dark' ? DARK : LIGHT),
    [widget, result, theme],
  );
  const span = max - min || 1;
  const format = (column: string, value: number | null) =>
    formatCell(
      value,
      { name: column, type: 'number' },
      {
        format: widget.format,
        currency: widget.currency,
        unit: widget.unit,
        decimals: widget.decimals,
        ...widget.columns[column],
      },
      context,
    );
  return (
    <div class="bars" data-chart={widget.id} style={widget.height ? { maxHeight: `${widget.height}px` } : undefined}>
      {series.length > 1 && (
        <ul class="legend" aria-label="Series">
          {series.map((s) => (
            <li key={s.name}>
              <span class="legend-mark" style={{ background: s.color }} />
              {s.name}
            </li>
          ))}
        </ul>
      )}
      <table class="bar-table">
        <tbody>
          {rows.map((row) => (
            <tr key={row.label} data-label={row.label}>
              <th scope="row" class="bar-label">
                {row.label}
              </th>
              <td class="bar-cell">
                {row.values.map((v, i) => (
                  <div class="bar-line" key={v.name} data-value={v.value ?? ''}>
                    <span class="bar-track">
                      <span
                        class="bar-fill"
                        style={{
                          left: `${((Math.min(0, v.value ?? 0) - min) / span) * 100}%`,
                          width: `${(Math.abs(v.value ?? 0) / span) * 100}%`,
                          background: v.color,
                        }}
                      />
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
