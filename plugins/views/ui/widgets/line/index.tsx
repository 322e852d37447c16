// The `line` widget: Lines over time (or a numeric x); categories as horizontal bars.
import type { DataWidgetContribution } from '../contribution.ts';
import { SCALE, SeriesChartBody, SMOOTH } from '../series.tsx';

export default {
  type: 'line',
  query: true,
  properties: { smooth: SMOOTH, scale: SCALE },
  width: 2,
  skeleton: 'chart',
  csv: true,
  seriesDomain: true,
  Body: SeriesChartBody,
} as const satisfies DataWidgetContribution;
