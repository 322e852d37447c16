// What the series charts (line, area, bar) share: their schema fragments and their card body (components/chart.tsx:
// uPlot over a time or numeric x, horizontal bars over categories).
import type { JSX } from 'preact';
import { ChartBody } from '../components/chart.tsx';
import type { DataBodyProps } from './contribution.ts';

export const STACK = { type: 'boolean', default: false, description: 'Stack the series (area/bar).' } as const;
export const SMOOTH = {
  type: 'boolean',
  default: false,
  description: 'line/area: smoothed curves (off: a curve between points can show values that never happened).',
} as const;
export const SCALE = {
  enum: ['auto', 'shared', 'indexed'],
  default: 'auto',
  description:
    "line/area with several series: shared: one axis; indexed: each series as % change from its first point; auto: indexed when the series' ranges differ tenfold (e.g. JPY next to EUR).",
} as const;
export const TOP = {
  type: 'integer',
  minimum: 1,
  description: 'bar/pie: keep the N largest (pie groups the rest as Other).',
} as const;

export function SeriesChartBody({ widget, result, theme, context, now }: DataBodyProps): JSX.Element {
  // The chart marks a period still in progress against the minute, not every tick of the clock.
  return (
    <ChartBody
      widget={widget}
      result={result}
      theme={theme}
      context={context}
      now={Math.floor(now / 60_000) * 60_000}
      domain={result.meta.domain}
    />
  );
}
