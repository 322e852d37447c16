// Draws a TimeChart with uPlot (browser only; loaded by pages that have a time chart): straight segments unless
// smoothing is asked, gaps where periods are missing, the period still in progress apart (dashed / paler), axes
// bounded by the data's range with labels as precise as their step, a tooltip in the column's format.
import uPlot from 'uplot';
import { axisLabels, tooltipValue, type ChartTheme, type TimeChart } from '../chart-options.ts';
import { formatTime, type FieldContext } from '../format.ts';

export interface TimeChartHandle {
  update(chart: TimeChart, theme: ChartTheme): void;
  dispose(): void;
}

const DAY = 86_400_000;

/** Tick labels of the time axis in the view's zone: days as "Mar 2", times as "14:00" (the day at midnight). */
function timeTicks(chart: TimeChart, timeZone: string) {
  const zone = chart.days ? 'UTC' : timeZone;
  const month = new Intl.DateTimeFormat('en-US', { timeZone: zone, month: 'short', day: 'numeric' });
  return (_u: uPlot, splits: number[], _axis: number, _space: number, increment: number) =>
    splits.map((ms) => {
      const clock = formatTime(ms, { timeZone: zone, seconds: increment < 60_000, zone: false }).slice(11);
      if (increment >= DAY || chart.days) return month.format(ms);
      return clock.startsWith('00:00') ? `${month.format(ms)}` : clock;
    });
}

function seriesPath(chart: TimeChart): uPlot.Series.PathBuilder | undefined {
  if (chart.kind === 'bar') return uPlot.paths.bars!({ size: [0.7, 48], align: 0 });
  if (chart.smooth) return uPlot.paths.spline!();
  return uPlot.paths.linear!();
}

function options(
  chart: TimeChart,
  theme: ChartTheme,
  context: FieldContext,
  width: number,
  height: number,
  tooltip: HTMLElement,
): uPlot.Options {
  const font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  const [xMin, xMax] =
    chart.xRange[0] === chart.xRange[1]
      ? [chart.xRange[0] - (chart.step ?? 3_600_000) / 2, chart.xRange[1] + (chart.step ?? 3_600_000) / 2]
      : chart.kind === 'bar'
        ? [chart.xRange[0] - (chart.step ?? 0) / 2, chart.xRange[1] + (chart.step ?? 0) / 2]
        : chart.xRange;
  const axis = (index: 0 | 1): uPlot.Axis => {
    const a = chart.axes[index];
    const labels = axisLabels(a, context);
    const splits: number[] = [];
    for (let v = a.min; v <= a.max + a.step / 1e6; v += a.step) splits.push(Number(v.toPrecision(12)));
    return {
      scale: index === 0 ? 'y' : 'y2',
      side: index === 0 ? 3 : 1,
      stroke: theme.muted,
      font,
      size: 64,
      gap: 6,
      grid: { show: index === 0, stroke: theme.grid, width: 1 },
      ticks: { show: false },
      splits: () => splits,
      values: (_u, values) => values.map((v) => labels(v)),
    };
  };
  const series: uPlot.Series[] = [{}];
  for (const line of chart.series) {
    const base: uPlot.Series = {
      label: line.name,
      stroke: line.color,
      width: chart.kind === 'bar' ? 0 : 2,
      scale: line.axis === 0 ? 'y' : 'y2',
      spanGaps: false,
      paths: seriesPath(chart),
      points: { show: chart.kind !== 'bar' && chart.x.length <= 40, size: 5, fill: line.color },
      fill: chart.kind === 'bar' ? line.color : chart.kind === 'area' ? `${line.color}2e` : undefined,
    };
    series.push(base);
  }
  // The period in progress: its own series holding only the last segment, dashed (or a pale bar), no tooltip row.
  for (const line of chart.series) {
    series.push({
      label: `${line.name} (partial)`,
      stroke: line.color,
      width: chart.kind === 'bar' ? 0 : 2,
      dash: [5, 4],
      scale: line.axis === 0 ? 'y' : 'y2',
      paths: seriesPath(chart),
      points: { show: chart.kind !== 'bar', size: 6, fill: theme.tooltip, stroke: line.color, width: 2 },
      fill: chart.kind === 'bar' ? `${line.color}66` : chart.kind === 'area' ? `${line.color}14` : undefined,
    });
  }
  return {
    width,
    height,
    ms: 1,
    legend: { show: false },
    padding: [12, 24, 0, 0],
    tzDate:
      chart.days || context.timeZone === 'UTC'
        ? (ts) => uPlot.tzDate(new Date(ts), 'UTC')
        : (ts) => uPlot.tzDate(new Date(ts), context.timeZone),
    scales: {
      x: { time: chart.time, range: () => [xMin, xMax] },
      y: { range: () => [chart.axes[0].min, chart.axes[0].max] },
      ...(chart.axes[1] ? { y2: { range: () => [chart.axes[1].min, chart.axes[1].max] } } : {}),
    },
    axes: [
      {
        stroke: theme.muted,
        font,
        grid: { show: false },
        ticks: { stroke: theme.grid, size: 4 },
        space: 70,
        ...(chart.time ? { values: timeTicks(chart, context.timeZone) } : {}),
        // Whole days tick on midnights only (never "Dec 2, Dec 2" for a noon between two days).
        ...(chart.days ? { incrs: [1, 2, 7, 14, 30, 61, 91, 182, 365].map((d) => d * DAY) } : {}),
      },
      axis(0),
      ...(chart.axes[1] ? [axis(1)] : []),
    ],
    series,
    cursor: { points: { size: 7 }, drag: { x: false, y: false } },
    hooks: {
      setCursor: [(u) => showTooltip(u, chart, context, tooltip)],
    },
  };
}

function aligned(chart: TimeChart): uPlot.AlignedData {
  const full = chart.series.map((line) =>
    line.values.map((v, i) => (line.partialLast && i === line.values.length - 1 ? null : v)),
  );
  const partial = chart.series.map((line) =>
    line.values.map((v, i) => {
      if (!line.partialLast) return null;
      const last = line.values.length - 1;
      // A line's dashed part joins the last complete point to the partial one; a bar is the partial one alone.
      return i === last || (chart.kind !== 'bar' && i === last - 1) ? v : null;
    }),
  );
  return [chart.x, ...full, ...partial] as uPlot.AlignedData;
}

function showTooltip(u: uPlot, chart: TimeChart, context: FieldContext, tooltip: HTMLElement) {
  const index = u.cursor.idx;
  if (index === null || index === undefined || u.cursor.left === undefined || u.cursor.left < 0) {
    tooltip.hidden = true;
    return;
  }
  const x = chart.x[index];
  const when = chart.time
    ? chart.days
      ? new Date(x).toISOString().slice(0, 10)
      : formatTime(x, { timeZone: context.timeZone, seconds: false })
    : String(x);
  const partial = chart.series.some((l) => l.partialLast) && index === chart.x.length - 1;
  tooltip.replaceChildren();
  const head = document.createElement('div');
  head.className = 'tip-head';
  head.textContent = partial ? `${when} · in progress` : when;
  tooltip.append(head);
  for (const line of chart.series) {
    if (line.raw[index] === null) continue;
    const row = document.createElement('div');
    row.className = 'tip-row';
    const mark = document.createElement('span');
    mark.className = 'tip-mark';
    mark.style.background = line.color;
    const name = document.createElement('span');
    name.className = 'tip-name';
    name.textContent = line.name;
    const value = document.createElement('span');
    value.className = 'tip-value';
    value.textContent = tooltipValue(line, index, chart.indexed, context);
    row.append(mark, name, value);
    tooltip.append(row);
  }
  tooltip.hidden = false;
  const left = u.cursor.left + u.over.offsetLeft;
  const room = u.over.parentElement!.clientWidth;
  tooltip.style.left = `${Math.min(left + 12, Math.max(0, room - tooltip.offsetWidth - 4))}px`;
  tooltip.style.top = `${Math.max(0, (u.cursor.top ?? 0) + u.over.offsetTop - tooltip.offsetHeight - 12)}px`;
}

/** Draws `chart` into `element`, resized with it. */
export function mountTimeChart(
  element: HTMLElement,
  chart: TimeChart,
  theme: ChartTheme,
  context: FieldContext,
): TimeChartHandle {
  const tooltip = document.createElement('div');
  tooltip.className = 'chart-tip';
  tooltip.hidden = true;
  tooltip.setAttribute('role', 'tooltip');
  const size = () => ({ width: Math.max(element.clientWidth, 120), height: Math.max(element.clientHeight, 80) });
  let current = chart;
  let plot = new uPlot(options(chart, theme, context, size().width, size().height, tooltip), aligned(chart), element);
  element.append(tooltip);
  element.addEventListener('mouseleave', () => (tooltip.hidden = true));
  const resize = new ResizeObserver(() => plot.setSize(size()));
  resize.observe(element);
  (element as HTMLElement & { chartData?: TimeChart }).chartData = chart;
  return {
    update(next, nextTheme) {
      current = next;
      plot.destroy();
      plot = new uPlot(
        options(current, nextTheme, context, size().width, size().height, tooltip),
        aligned(current),
        element,
      );
      element.append(tooltip);
      (element as HTMLElement & { chartData?: TimeChart }).chartData = next;
    },
    dispose() {
      resize.disconnect();
      plot.destroy();
      tooltip.remove();
    },
  };
}
