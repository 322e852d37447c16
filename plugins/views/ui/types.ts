// What the server hands the UI (server-rendered, then hydrated in the browser). JSON only: no SQL, no secrets.
import type { WidgetTypeName } from './widgets/index.ts';

export type Format = 'number' | 'currency' | 'percent' | 'integer' | 'duration';
/** The registered widget types (widgets/index.ts). */
export type WidgetType = WidgetTypeName;
export type FilterType = 'select' | 'multiSelect' | 'dateRange' | 'timeRange';
export type AlertState = 'OK' | 'WARN' | 'CRIT' | 'NoData' | 'Error';
export type ColumnType = 'number' | 'string' | 'boolean' | 'timestamp' | 'date' | 'json' | 'null';
export type Row = Record<string, unknown>;

export interface ValueFormat {
  format?: Format;
  /** ISO 4217 code for `currency`, e.g. EUR. */
  currency?: string;
  /** Suffix for number/integer (e.g. 'ms', '%'); for duration the input unit: 'ms' (default) or 's'. */
  unit?: string;
  /** Fraction digits (default: sensible per format). */
  decimals?: number;
}

export interface ColumnSpec extends ValueFormat {
  label?: string;
  /** Money in the currency named by another column of the same row (e.g. an amount next to its currency). */
  currencyColumn?: string;
}

export interface ColumnInfo {
  name: string;
  type: ColumnType;
}

export interface Option {
  value: string;
  label: string;
}

/** A filter as the UI sees it; `value` is in URL form (timeRange: '24h'; dateRange: 'YYYY-MM-DD..YYYY-MM-DD'). */
export interface FilterModel {
  id: string;
  type: FilterType;
  label: string;
  options: Option[];
  value: string | string[] | null;
  /** The value when nothing is chosen (select/multiSelect: null = all). */
  defaultValue: string | string[] | null;
  dependsOn: string[];
  /** Options come from a query and are refetched when a filter it depends on changes. */
  dynamic: boolean;
}

export interface WidgetModel extends ValueFormat {
  id: string;
  type: WidgetType;
  title: string;
  description?: string;
  /** Grid columns out of 4. */
  width: number;
  /** Chart height in px. */
  height?: number;
  x?: string;
  y: string[];
  series?: string;
  stack: boolean;
  top?: number;
  downIsGood: boolean;
  sparkline: boolean;
  delta: boolean;
  columns: Record<string, ColumnSpec>;
  pageSize: number;
  /** Ids of the filters that change the widget's data (in its {{where}}/{{and}} or used as :<filter>). */
  filters: string[];
  /** Labels of the page's filters that do not change this widget (shown on the card). */
  ignores?: string[];
  /** Steps whose commits refresh the widget: the sinks writing what its query reads. */
  steps: string[];
  /** line/area: draw smoothed curves (off unless asked). */
  smooth?: boolean;
  /** Series on one axis, or each as % change from its first point (auto: when their ranges differ tenfold). */
  scale?: 'auto' | 'shared' | 'indexed';
  // A widget type adds its own fields to this interface from its folder (widgets/<type>/index.tsx: declare module).
}

export interface Freshness {
  /** Every step upstream of the widget (inclusive), through files, topics and tables between steps. */
  steps: string[];
  /** The step whose output the widget reads (the first of `producers`). */
  producer: string | null;
  /** The steps writing what the widget reads. */
  producers?: string[];
  lastCommitAt: string | null;
  watermark: string | null;
  /** Records rejected by those steps, all time (what the dead-letter store holds for them). */
  rejected: number;
  /** Of those, rejected since this pipeline process started. */
  rejectedRun?: number;
  /** Records the producer received or wrote; null when unknown. */
  delivered: number | null;
}

export interface WidgetResult {
  data: Row[];
  statistics: { rows: number; elapsedMs: number };
  meta: {
    columns: ColumnInfo[];
    freshness: Freshness;
    truncated?: boolean;
    /** KPI: the first row of the same query over the previous period. */
    previous?: Row | null;
    /** KPI: [x, y] points. */
    sparkline?: [string | number, number | null][];
    /** The period compared with, for the delta's tooltip. */
    period?: { from: string; to: string; previousFrom: string; previousTo: string } | null;
    /** True when at least one filter the widget responds to is set. */
    filtered?: boolean;
    /** Tables: rows matching the search, over all pages. */
    total?: number;
    /** Charts with `series`: every name the series column takes with no filter set (colours stay with names). */
    domain?: string[];
    /** True when a rollup the view derived from the query answered (see the widget's `rollup`). */
    rollup?: boolean;
  };
  /** Alert widgets. */
  status?: AlertState;
  reasons?: string[];
  /** Set instead of data when the query failed. */
  error?: string;
}

export interface PageModel {
  id: string;
  title: string;
  description?: string;
  pipeline: string;
  paths: { pages: string; api: string };
  refreshMs: number;
  locale: string;
  /** Zone of every timestamp on the page (named next to them). */
  timeZone: string;
  currency?: string;
  filters: FilterModel[];
  widgets: WidgetModel[];
  results: Record<string, WidgetResult>;
  freshness: Freshness;
  /** Messages about the request, e.g. ignored URL parameters. */
  notices: string[];
  /** Why the page has no widgets, when it has none. */
  empty?: string;
}

/** The pipeline graph as the page draws it (see pipeline-layout.ts). */
export interface GraphLayout {
  width: number;
  height: number;
  nodes: { id: string; x: number; y: number }[];
  edges: { from: string; to: string; kind: 'flow' | 'data'; points: [number, number][] }[];
}
