// The dashboard's configuration (`with:` of a `use: dashboard` step), as validated by schema.ts.
import type { AlertRule } from '../shared/rules.ts';
import type { ColumnSpec, FilterType, Format, WidgetType } from '../ui/types.ts';

export interface FilterConfig {
  type: FilterType;
  label?: string;
  /** SQL column (expression) the filter constrains in `{{where}}`. */
  column?: string;
  /** Table for the options of a select without `options`/`query`, and for `anchor: latest`. */
  table?: string;
  options?: (string | number | { value: string | number; label?: string })[];
  /** SQL returning value[, label]; may use `{{where}}` / `:<filter>` of the filters in `dependsOn`. */
  query?: string;
  dependsOn?: string[];
  default?: string | number | (string | number)[];
  /** timeRange: ranges end now, or at the newest value of `column` in `table`. */
  anchor?: 'now' | 'latest';
  /** select/multiSelect: the type values are validated and bound as. */
  valueType?: 'string' | 'integer' | 'number';
}

// A type, not an interface: a widget type's layout rule reads it as a record (widgets/contribution.ts).
export type WidgetConfig = {
  id: string;
  type: WidgetType;
  title?: string;
  description?: string;
  query?: string;
  format?: Format;
  currency?: string;
  unit?: string;
  decimals?: number;
  x?: string;
  y?: string | string[];
  series?: string;
  stack?: boolean;
  smooth?: boolean;
  scale?: 'auto' | 'shared' | 'indexed';
  top?: number;
  downIsGood?: boolean;
  sparkline?: boolean | string;
  delta?: 'previousPeriod' | 'none';
  rules?: AlertRule[];
  target?: string | string[];
  accept?: string | string[];
  maxBytes?: number;
  pageSize?: number;
  limit?: number;
  columns?: Record<string, ColumnSpec>;
  filters?: string[];
  filterColumns?: Record<string, string>;
  from?: string[];
  width?: number;
  height?: number;
  text?: string;
  /** Answer from a rollup the view derives from the query: auto (when it pays), always, off. */
  rollup?: 'auto' | 'always' | 'off';
};

export interface DashboardConfig {
  title?: string;
  description?: string;
  refresh: string;
  tables?: string[];
  filters?: Record<string, FilterConfig>;
  widgets?: WidgetConfig[];
  viewRole: string;
  uploadRole: string;
  locale: string;
  timeZone: string;
  currency?: string;
  maxUploadBytes: number;
}

/** Ids a widget cannot take: they name other endpoints of the view's API. */
export const RESERVED_WIDGET_IDS = ['events', 'filters', 'upload', 'assets', 'openapi'];
