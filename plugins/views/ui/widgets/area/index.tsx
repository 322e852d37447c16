// The `area` widget: Filled lines over time (or a numeric x); categories as horizontal bars.
import type { DataWidgetContribution } from '../contribution.ts';
import { SCALE, SeriesChartBody, SMOOTH, STACK } from '../series.tsx';

export default {
  type: 'area',
  query: true,
  properties: { stack: STACK, smooth: SMOOTH, scale: SCALE },
  width: 2,
  skeleton: 'chart',
  csv: true,
  seriesDomain: true,
  Body: SeriesChartBody,
} as const satisfies DataWidgetContribution;
