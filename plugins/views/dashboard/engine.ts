// Runs a widget's query for one request: filters bound, KPI deltas over the previous period, sparklines, alert rules.
import type { DeadLetters, PipelineStatus, Row, SqlClient } from '../../../core/sdk/index.ts';
import { pagedQuery, timedQuery, type Timed } from '../shared/http.ts';
import { freshnessOf } from '../shared/pipeline.ts';
import { evaluateRules } from '../shared/rules.ts';
import { columnsOf, normalizeRows, toJsonValue } from '../shared/serialize.ts';
import { bindQuery, type BoundQuery } from '../shared/sql.ts';
import { kpiValue } from '../ui/rows.ts';
import type { WidgetModel, WidgetResult } from '../ui/types.ts';
import { uploadTargets, type DashboardConfig, type WidgetConfig } from './config.ts';
import type { Filters, FilterValue, TimeWindow } from './filters.ts';

/** A widget with what the view resolved for it: the filters it responds to and the steps behind it. */
export interface Widget {
  config: WidgetConfig;
  applies: string[];
  from: string[];
}

export interface RequestState {
  values: Record<string, FilterValue>;
  windows: Record<string, TimeWindow | null>;
}

const SPARK_BUCKETS = 12;

export class Engine {
  constructor(
    private readonly connection: SqlClient | undefined,
    private readonly filters: Filters,
    private readonly status: PipelineStatus,
    private readonly deadLetters: DeadLetters,
  ) {}

  private get client(): SqlClient {
    if (!this.connection) throw new Error('the view has no connection: set connection: on the step');
    return this.connection;
  }

  /** The widget's query with the request's filters bound (or those of the previous period). */
  bound(widget: Widget, state: RequestState, options: { previous?: boolean; sql?: string; windows?: Record<string, TimeWindow | null> } = {}): BoundQuery {
    const input = this.filters.bindInput(widget.applies, state.values, options.windows ?? state.windows, { columns: widget.config.filterColumns, previous: options.previous });
    return bindQuery(options.sql ?? widget.config.query ?? 'SELECT 1 WHERE FALSE', input);
  }

  /** The time window a widget's delta and sparkline use: the first active time filter it responds to. */
  timeWindow(widget: Widget, state: RequestState): { id: string; window: TimeWindow } | null {
    for (const id of widget.applies) {
      const window = state.windows[id];
      if (window) return { id, window };
    }
    return null;
  }

  hasDelta(widget: Widget, state?: RequestState): boolean {
    if (widget.config.type !== 'kpi' || widget.config.delta === 'none') return false;
    if (!state) return widget.applies.some((id) => ['timeRange', 'dateRange'].includes(this.filters.defs[id].type)) || widget.config.delta === 'previousPeriod';
    return Boolean(this.timeWindow(widget, state)?.window.previous);
  }

  async run(widget: Widget, state: RequestState, page: { limit: number; offset: number }): Promise<WidgetResult> {
    const freshness = freshnessOf(this.status, this.deadLetters, widget.from);
    const filtered = widget.applies.some((id) => this.filters.isActive(id, state.values[id]));
    const { config } = widget;
    if (!config.query) return { data: [], statistics: { rows: 0, elapsedMs: 0 }, meta: { columns: [], freshness, filtered } };
    let result: Timed & { truncated?: boolean };
    try {
      result = await pagedQuery(this.client, this.bound(widget, state), page.limit, page.offset);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const alert = config.type === 'alert' ? evaluateRules(config.rules ?? [], undefined, error) : {};
      return { data: [], statistics: { rows: 0, elapsedMs: 0 }, meta: { columns: [], freshness, filtered }, error: message, ...alert };
    }
    const out: WidgetResult = {
      data: normalizeRows(result.rows),
      statistics: { rows: result.rows.length, elapsedMs: result.elapsedMs },
      meta: { columns: columnsOf(result.rows), freshness, truncated: result.truncated, filtered },
    };
    if (config.type === 'alert') Object.assign(out, evaluateRules(config.rules ?? [], result.rows));
    if (config.type === 'kpi') await this.kpiExtras(widget, state, result.rows, out);
    return out;
  }

  private async kpiExtras(widget: Widget, state: RequestState, rows: Row[], out: WidgetResult): Promise<void> {
    const time = this.timeWindow(widget, state);
    const first = rows[0];
    if (this.hasDelta(widget, state) && time?.window.previous && !(first && 'previous' in first)) {
      const previous = await timedQuery(this.client, this.bound(widget, state, { previous: true })).catch(() => null);
      out.meta.previous = previous?.rows[0] ? (toJsonValue(previous.rows[0]) as Row) : null;
      out.meta.period = {
        from: iso(time.window.from), to: iso(time.window.to), previousFrom: iso(time.window.previous.from), previousTo: iso(time.window.previous.to),
      };
    }
    const spark = widget.config.sparkline;
    if (typeof spark === 'string') {
      const points = await timedQuery(this.client, this.bound(widget, state, { sql: spark })).catch(() => null);
      out.meta.sparkline = points?.rows.map((row) => point(row)) ?? [];
    } else if (spark === true && time?.window.from && time.window.to) {
      out.meta.sparkline = await this.bucketed(widget, state, time.id, time.window);
    }
  }

  /** Runs the KPI query over SPARK_BUCKETS equal slices of the window. */
  private async bucketed(widget: Widget, state: RequestState, id: string, window: TimeWindow): Promise<[string, number | null][]> {
    const start = new Date(window.from as Date | string).getTime();
    const end = new Date(window.to as Date | string).getTime();
    const step = (end - start) / SPARK_BUCKETS;
    const buckets = Array.from({ length: SPARK_BUCKETS }, (_, i) => ({ from: new Date(start + i * step), to: new Date(start + (i + 1) * step) }));
    return Promise.all(buckets.map(async (bucket) => {
      const windows = { ...state.windows, [id]: { ...bucket, previous: null } };
      const result = await timedQuery(this.client, this.bound(widget, state, { windows })).catch(() => null);
      const row = result?.rows[0];
      return [bucket.to.toISOString(), row ? numberOf(kpiValue(row, widget.config.y)) : null] as [string, number | null];
    }));
  }

  /** The client-side description of a widget (no SQL). */
  model(widget: Widget, view: DashboardConfig): WidgetModel {
    const c = widget.config;
    const width = c.width ?? (c.type === 'kpi' ? 1 : c.type === 'table' ? 4 : 2);
    return {
      id: c.id, type: c.type, title: c.title ?? c.id, description: c.description, width, height: c.height,
      format: c.format, currency: c.currency ?? view.currency, unit: c.unit, decimals: c.decimals,
      x: c.x, y: c.y === undefined ? [] : ([] as string[]).concat(c.y), series: c.series, stack: c.stack ?? false, top: c.top,
      downIsGood: c.downIsGood ?? false, sparkline: Boolean(c.sparkline), delta: this.hasDelta(widget), columns: c.columns ?? {},
      pageSize: c.pageSize ?? 10, filters: widget.applies, steps: freshnessOf(this.status, this.deadLetters, widget.from).steps,
      text: c.text, accept: c.type === 'upload' ? acceptList(c.accept) : undefined, target: c.type === 'upload' ? uploadTargets(c.target) : undefined, maxBytes: c.type === 'upload' ? c.maxBytes ?? view.maxUploadBytes : undefined,
    };
  }
}

export function acceptList(accept: string | string[] | undefined): string[] {
  const list = accept === undefined ? ['.xlsx', '.csv'] : ([] as string[]).concat(accept).flatMap((a) => a.split(','));
  return list.map((a) => a.trim().toLowerCase()).filter(Boolean).map((a) => (a.startsWith('.') ? a : `.${a}`));
}

function numberOf(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : null;
}

function point(row: Row): [string | number, number | null] {
  const [x, y] = Object.values(row);
  const key = x instanceof Date ? x.toISOString() : typeof x === 'number' ? x : String(x);
  return [key, numberOf(y)];
}

function iso(value: Date | string | null): string {
  return value instanceof Date ? value.toISOString() : value ?? '';
}
