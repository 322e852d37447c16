// The `pie` widget: shares of a whole as a donut, the `top` largest and the rest as Other.
import type { DataWidgetContribution } from '../contribution.ts';
import { TOP } from '../series.tsx';
import { PieBody } from './body.tsx';

export default {
  type: 'pie',
  query: true,
  properties: { top: TOP },
  width: 2,
  skeleton: 'chart',
  csv: true,
  Body: PieBody,
} as const satisfies DataWidgetContribution;
