// The `kpi` widget: one value, its change over the previous period and a sparkline (the engine computes both).
import type { DataWidgetContribution } from '../contribution.ts';
import { KpiBody } from './body.tsx';

export default {
  type: 'kpi',
  query: true,
  properties: {
    downIsGood: { type: 'boolean', default: false, description: 'KPI: a decrease is shown green (e.g. failure rate).' },
    sparkline: {
      type: ['boolean', 'string'],
      default: false,
      description:
        'KPI: true splits the time range into 12 buckets and runs the query for each; or SQL returning (x, y) points.',
    },
    delta: {
      enum: ['previousPeriod', 'none'],
      description:
        'KPI: compare with the same query over the previous equal period (default when the KPI responds to a time filter). A query may instead return a column "previous".',
    },
  },
  width: 1,
  skeleton: 'kpi',
  Body: KpiBody,
} as const satisfies DataWidgetContribution;
