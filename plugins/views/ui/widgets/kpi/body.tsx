// KPI card body: the value, its change against the previous period (coloured by downIsGood) and a sparkline.
import type { JSX } from 'preact';
import { computeDelta, formatValue, toNumber, type FieldContext } from '../../format.ts';
import { kpiValue, periodLabel } from '../../rows.ts';
import type { WidgetModel, WidgetResult } from '../../types.ts';

export function KpiBody({
  widget,
  result,
  context,
}: {
  widget: WidgetModel;
  result: WidgetResult;
  context: FieldContext;
}): JSX.Element {
  const { locale } = context;
  const row = result.data[0];
  const value = kpiValue(row, widget.y);
  const previous =
    row && 'previous' in row
      ? row.previous
      : result.meta.previous
        ? kpiValue(result.meta.previous, widget.y)
        : undefined;
  const format = {
    format: widget.format,
    currency: widget.currency ?? context.currency,
    unit: widget.unit,
    decimals: widget.decimals,
    locale,
    timeZone: context.timeZone,
  };
  const delta = previous === undefined ? null : computeDelta(value, previous, widget.downIsGood, locale);
  const period = result.meta.period;
  const caption = period
    ? `vs previous ${periodLabel(Date.parse(period.to) - Date.parse(period.from))}`
    : 'vs previous';
  const f = result.meta.freshness;
  const waiting = !f.lastCommitAt && (f.delivered ?? 0) === 0;
  const arrow = delta?.direction === 'up' ? '▲' : delta?.direction === 'down' ? '▼' : '●';
  const tone = delta?.good === null || delta === null ? 'flat' : delta.good ? 'good' : 'bad';
  return (
    <div class="kpi">
      <div class="kpi-value" title={formatValue(value, format)} data-value={toNumber(value) ?? ''}>
        {formatValue(value, { ...format, compact: true })}
      </div>
      <div class="kpi-meta">
        {delta ? (
          <span
            class={`delta delta-${tone}`}
            data-delta={delta.ratio ?? ''}
            title={`Previous: ${formatValue(previous, format)}`}
          >
            <span aria-hidden="true">{arrow}</span> {delta.text}
          </span>
        ) : waiting ? (
          <span class="kpi-caption" data-empty="waiting">
            No data committed yet
          </span>
        ) : widget.delta ? (
          <span class="delta delta-flat" title="No value for the previous period">
            — no comparison
          </span>
        ) : null}
        {delta && <span class="kpi-caption">{caption}</span>}
      </div>
      {widget.sparkline && <Sparkline points={result.meta.sparkline ?? []} />}
    </div>
  );
}

/** A small area+line chart as inline SVG (rendered on the server too). */
export function Sparkline({ points }: { points: [string | number, number | null][] }): JSX.Element {
  const values = points.map((p) => p[1]).filter((v): v is number => v !== null);
  if (values.length < 2) return <div class="spark spark-empty" />;
  const w = 120;
  const h = 32;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const xy = points.map(
    (p, i) => [(i / (points.length - 1)) * w, h - 2 - (((p[1] ?? min) - min) / span) * (h - 4)] as const,
  );
  const line = xy.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join('');
  return (
    <svg class="spark" viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none" aria-hidden="true">
      <path class="spark-area" d={`${line}L${w},${h}L0,${h}Z`} />
      <path class="spark-line" d={line} vector-effect="non-scaling-stroke" />
    </svg>
  );
}
