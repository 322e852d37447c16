// The `alert` widget: a status (OK / WARN / CRIT / NoData / Error) from rules over its query's rows, with the reasons.
import { RULE_SCHEMA } from '../../../shared/rules.ts';
import type { DataWidgetContribution } from '../contribution.ts';
import { AlertBody } from './body.tsx';

export default {
  type: 'alert',
  query: true,
  properties: { rules: RULE_SCHEMA },
  width: 2,
  check: (config) => (Array.isArray(config.rules) && config.rules.length ? undefined : 'needs rules'),
  skeleton: 'chart',
  // A failed query or no rows is a state of the alert (Error, NoData), shown as such.
  shows: { error: true, empty: true },
  Body: AlertBody,
} as const satisfies DataWidgetContribution;
