// The `bar` widget: Bars over time (or a numeric x); categories ranked as horizontal bars.
import type { DataWidgetContribution } from '../contribution.ts';
import { SeriesChartBody, STACK, TOP } from '../series.tsx';

export default {
  type: 'bar',
  query: true,
  properties: { stack: STACK, top: TOP },
  width: 2,
  skeleton: 'chart',
  csv: true,
  seriesDomain: true,
  Body: SeriesChartBody,
} as const satisfies DataWidgetContribution;
