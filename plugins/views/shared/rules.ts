// Alert rules: evaluated on the first row of a query, shared by the dashboard's alert widget and the api view.
import type { ConfigOf, Row } from '../../../core/sdk/index.ts';

export type AlertState = 'OK' | 'WARN' | 'CRIT' | 'NoData' | 'Error';
export type AlertRule = ConfigOf<typeof RULE_SCHEMA>[number];
export type RuleOp = AlertRule['when']['op'];

export interface AlertResult {
  status: AlertState;
  /** One line per rule that fired, in rule order (or why there is no status). */
  reasons: string[];
}

const SEVERITY: Record<'OK' | 'WARN' | 'CRIT', number> = { OK: 0, WARN: 1, CRIT: 2 };

export const RULE_SCHEMA = {
  type: 'array',
  description:
    'Ordered rules evaluated on the first row of the query. Every rule that fires is listed; the worst state wins. No row → NoData; query error → Error.',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['when', 'state'],
    properties: {
      when: {
        type: 'object',
        additionalProperties: false,
        required: ['field', 'op'],
        description: 'The condition on one column of the first row.',
        properties: {
          field: { type: 'string', description: 'Column of the first row.' },
          op: { enum: ['>', '>=', '<', '<=', '==', '!=', 'isNull'], description: 'Comparison; isNull needs no value.' },
          value: { description: 'The threshold (a number compares numerically, anything else as text).' },
        },
      },
      state: { enum: ['WARN', 'CRIT'], description: 'State when the condition holds.' },
      reason: {
        type: 'string',
        description:
          "Text shown when it fires; {column} placeholders take values from the row and {threshold} the rule's value, formatted like the column (a dashboard's columns: formats).",
        examples: ['failure rate {failure_rate} above {threshold}'],
      },
    },
  },
  examples: [
    [
      {
        when: { field: 'failure_rate', op: '>', value: 0.05 },
        state: 'CRIT',
        reason: 'failure rate {failure_rate} above 5%',
      },
    ],
  ],
} as const;

/** Shows a value of `field` in a reason (a dashboard formats it like the column: 0.31 → 31%). */
export type ShowValue = (field: string, value: unknown) => string;

/** Evaluates `rules` on `rows[0]`; pass `error` when the query failed. */
export function evaluateRules(
  rules: AlertRule[],
  rows: Row[] | undefined,
  error?: unknown,
  showValue: ShowValue = (_, v) => show(v),
): AlertResult {
  if (error !== undefined)
    return { status: 'Error', reasons: [error instanceof Error ? error.message : String(error)] };
  const row = rows?.[0];
  if (!row) return { status: 'NoData', reasons: ['the query returned no row'] };
  let status: 'OK' | 'WARN' | 'CRIT' = 'OK';
  const reasons: string[] = [];
  for (const rule of rules) {
    if (!holds(row[rule.when.field], rule.when.op, rule.when.value)) continue;
    reasons.push(reasonOf(rule, row, showValue));
    if (SEVERITY[rule.state] > SEVERITY[status]) status = rule.state;
  }
  return { status, reasons };
}

function holds(actual: unknown, op: RuleOp, expected: unknown): boolean {
  if (op === 'isNull')
    return actual === null || actual === undefined || (typeof actual === 'number' && Number.isNaN(actual));
  if (actual === null || actual === undefined)
    return op === '!='
      ? expected !== null && expected !== undefined
      : op === '==' && (expected === null || expected === undefined);
  const a = comparable(actual);
  const b = comparable(expected);
  const numeric = typeof a === 'number' && typeof b === 'number';
  if (!numeric && op !== '==' && op !== '!=') {
    if (typeof a === 'number' || typeof b === 'number') return false; // a number against text: no ordering
  }
  const [x, y] = numeric ? [a, b] : [String(a), String(b)];
  switch (op) {
    case '>':
      return x > y;
    case '>=':
      return x >= y;
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '==':
      return x === y;
    case '!=':
      return x !== y;
  }
}

/** Numbers, numeric strings and bigints compare as numbers; Dates by time; booleans as themselves. */
function comparable(value: unknown): unknown {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  if (typeof value === 'boolean') return String(value);
  return value;
}

function reasonOf(rule: AlertRule, row: Row, showValue: ShowValue): string {
  const { field, op, value } = rule.when;
  const threshold = showValue(field, comparable(value));
  if (!rule.reason)
    return op === 'isNull' ? `${field} is null` : `${field} ${op} ${threshold} (is ${showValue(field, row[field])})`;
  return rule.reason.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
    if (Object.hasOwn(row, name)) return showValue(name, row[name]);
    return name === 'threshold' ? threshold : whole;
  });
}

function show(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number')
    return value.toLocaleString('en-US', { maximumFractionDigits: Math.abs(value) < 1 ? 4 : 2 });
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** Order for sorting or picking the worst of several results. */
export function severity(state: AlertState): number {
  return { OK: 0, NoData: 1, WARN: 2, Error: 3, CRIT: 4 }[state];
}
