// Reading values out of result rows, the same way on the server (deltas, sparklines) and in the browser.
import type { Row } from './types.ts';

/** A KPI's value: the `y` column, else `value`, else the first column. */
export function kpiValue(row: Row | null | undefined, y?: string | string[]): unknown {
  if (!row) return undefined;
  const column = ([] as string[]).concat(y ?? [])[0];
  if (column && column in row) return row[column];
  if ('value' in row) return row.value;
  return Object.values(row)[0];
}

/** The label of a period length: 24 h → "24 h", 7 d → "7 days". */
export function periodLabel(ms: number): string {
  const day = 86_400_000;
  if (ms >= day && ms % day === 0) return ms === day ? '24 h' : `${ms / day} days`;
  const hours = ms / 3_600_000;
  if (hours >= 1) return `${Math.round(hours * 10) / 10} h`;
  return `${Math.round(ms / 60_000)} min`;
}
