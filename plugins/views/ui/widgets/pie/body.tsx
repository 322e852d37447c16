// Pie card body: shares as a donut in SVG (rendered on the server too), the largest `top` slices and the rest as Other.
import type { JSX } from 'preact';
import { chartData, DARK, LIGHT, seriesColors } from '../../chart-options.ts';
import { formatCell, type FieldContext } from '../../format.ts';
import type { WidgetModel, WidgetResult } from '../../types.ts';

interface PieProps {
  widget: WidgetModel;
  result: WidgetResult;
  theme: 'light' | 'dark';
  context: FieldContext;
}

/** The `top` largest slices, the rest summed as "Other". */
export function pieSlices(points: [string | number, number | null][], top?: number): [string | number, number][] {
  const sorted = points
    .filter((p): p is [string | number, number] => p[1] !== null && p[1] > 0)
    .sort((a, b) => b[1] - a[1]);
  if (!top || sorted.length <= top) return sorted;
  const rest = sorted.slice(top).reduce((sum, p) => sum + p[1], 0);
  return [...sorted.slice(0, top), ['Other', rest]];
}

export function PieBody({ widget, result, theme, context }: PieProps): JSX.Element {
  const palette = theme === 'dark' ? DARK : LIGHT;
  const { series } = chartData(widget, result.data, result.meta.columns);
  const slices = pieSlices(series[0]?.points ?? [], widget.top);
  const total = slices.reduce((sum, [, v]) => sum + v, 0) || 1;
  const colors = seriesColors(
    slices.map(([name]) => String(name)),
    palette.palette,
  );
  const column = series[0]?.column;
  const format = (value: number) =>
    formatCell(
      value,
      { name: column ?? '', type: 'number' },
      {
        format: widget.format,
        currency: widget.currency,
        unit: widget.unit,
        decimals: widget.decimals,
        ...(column ? widget.columns[column] : {}),
      },
      context,
    );
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
        {arcs.map((a) => (
          <path
            key={a.name}
            d={arc(a.start, a.end)}
            fill={colors.get(a.name)}
            stroke="var(--surface)"
            stroke-width="0.8"
          >
            <title>{`${a.name}: ${format(a.value)} (${((a.value / total) * 100).toFixed(1)}%)`}</title>
          </path>
        ))}
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
