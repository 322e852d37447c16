// Runs a widget's query for one request: filters bound, KPI deltas over the previous period, sparklines, alert rules.
import type { DeadLetters, PipelineStatus, Row, SqlClient } from '../../../core/sdk/index.ts';
import { pagedQuery, timedQuery, type Timed } from '../shared/http.ts';
import { ParamError } from '../shared/params.ts';
import { freshnessOf, triggersOf } from '../shared/pipeline.ts';
import { evaluateRules } from '../shared/rules.ts';
import { columnsOf, normalizeRows, toJsonValue } from '../shared/serialize.ts';
import { bindQuery, quoteIdent, stripSemicolon, type BoundQuery } from '../shared/sql.ts';
import { formatCell, type FieldContext } from '../ui/format.ts';
import { kpiValue } from '../ui/rows.ts';
import type { WidgetModel, WidgetResult } from '../ui/types.ts';
import { widgetType } from '../ui/widgets/index.ts';
import type { DashboardConfig, WidgetConfig } from './config.ts';
import type { Filters, FilterValue, TimeWindow } from './filters.ts';

/** A widget with what the view resolved for it: the filters it responds to and the steps behind it. */
export interface Widget {
  config: WidgetConfig;
  /** Filters whose conditions go into the query's {{where}}/{{and}}: `filters:`, or all. */
  applies: string[];
  /** Filters that change its data: those in a {{where}}/{{and}}, those it uses as :<filter> (see layout.ts). */
  affects: string[];
  /** Steps producing its data: `from:`, else the sinks writing the tables its query reads, else the view's from. */
  from: string[];
}

/** A page of rows: tables also sort by a column and search every column, on the server. */
export interface PageRequest {
  limit: number;
  offset: number;
  sort?: string | null;
  order?: 'asc' | 'desc' | null;
  q?: string | null;
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
    /** How alert reasons show the row's values (the view's locale, zone and currency). */
    private readonly display: FieldContext = { locale: 'en-US', timeZone: 'UTC' },
    /** The widget's query over its current rollup, if it has one (rollup.ts). */
    private readonly rollup: (widget: Widget) => string | undefined = () => undefined,
  ) {}

  private get client(): SqlClient {
    if (!this.connection) throw new Error('the view has no connection: set connection: on the step');
    return this.connection;
  }

  /** The widget's query with the request's filters bound (or those of the previous period). */
  bound(
    widget: Widget,
    state: RequestState,
    options: { previous?: boolean; sql?: string; windows?: Record<string, TimeWindow | null> } = {},
  ): BoundQuery {
    const input = this.filters.bindInput(widget.applies, state.values, options.windows ?? state.windows, {
      columns: widget.config.filterColumns,
      previous: options.previous,
    });
    return bindQuery(options.sql ?? this.rollup(widget) ?? widget.config.query ?? 'SELECT 1 WHERE FALSE', input);
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
    if (!state)
      return (
        widget.applies.some((id) => ['timeRange', 'dateRange'].includes(this.filters.defs[id].type)) ||
        widget.config.delta === 'previousPeriod'
      );
    return Boolean(this.timeWindow(widget, state)?.window.previous);
  }

  /** Runs the widget for one request; a malformed table request (an unknown sort column) throws ParamError. */
  async run(widget: Widget, state: RequestState, page: PageRequest): Promise<WidgetResult> {
    const freshness = freshnessOf(this.status, this.deadLetters, widget.from);
    const filtered = widget.affects.some((id) => this.filters.isActive(id, state.values[id]));
    const { config } = widget;
    const kind = widgetType(config.type);
    if (!config.query)
      return { data: [], statistics: { rows: 0, elapsedMs: 0 }, meta: { columns: [], freshness, filtered } };
    let result: Timed & { truncated?: boolean; total?: number };
    const rollup = this.rollup(widget);
    try {
      const query = this.bound(widget, state, { sql: rollup });
      result =
        kind.query && kind.paged
          ? await this.tablePage(query, page)
          : await pagedQuery(this.client, query, page.limit, page.offset);
    } catch (error) {
      if (error instanceof ParamError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      const alert = config.type === 'alert' ? evaluateRules(config.rules ?? [], undefined, error) : {};
      return {
        data: [],
        statistics: { rows: 0, elapsedMs: 0 },
        meta: { columns: [], freshness, filtered },
        error: message,
        ...alert,
      };
    }
    const out: WidgetResult = {
      data: normalizeRows(result.rows),
      statistics: { rows: result.rows.length, elapsedMs: result.elapsedMs },
      meta: {
        columns: columnsOf(result.rows),
        freshness,
        truncated: result.truncated,
        filtered,
        ...(result.total !== undefined ? { total: result.total } : {}),
        ...(rollup ? { rollup: true } : {}),
      },
    };
    if (config.type === 'alert') {
      const show = (field: string, value: unknown) =>
        formatCell(toJsonValue(value), undefined, config.columns?.[field] ?? {}, this.display);
      Object.assign(out, evaluateRules(config.rules ?? [], result.rows, undefined, show));
    }
    if (config.type === 'kpi') await this.kpiExtras(widget, state, result.rows, out);
    if (config.series && kind.query && kind.seriesDomain) out.meta.domain = await this.seriesDomain(widget);
    return out;
  }

  /** Every value the widget's `series` column takes with no filter set: a series keeps its colour when filters narrow the set. */
  private async seriesDomain(widget: Widget): Promise<string[] | undefined> {
    const none = Object.fromEntries(this.filters.ids().map((id) => [id, null]));
    const query = this.bound(widget, {
      values: none,
      windows: Object.fromEntries(this.filters.ids().map((id) => [id, null])),
    });
    const result = await timedQuery(this.client, {
      text: `SELECT DISTINCT ${quoteIdent(widget.config.series!)} AS name FROM (\n${stripSemicolon(query.text)}\n) AS _domain ORDER BY 1 LIMIT 100`,
      params: query.params,
    }).catch(() => null);
    return result?.rows.map((row) => String(row.name));
  }

  /**
   * One page of a table, searched and sorted in the database: the rows matching `q` in any column (as text), ordered
   * by `sort`, and how many match in all. The columns come from the query's first row (answered from the cache).
   */
  private async tablePage(
    query: BoundQuery,
    page: PageRequest,
  ): Promise<Timed & { truncated: boolean; total: number }> {
    const needle = page.q?.trim() ?? '';
    const probe = needle || page.sort ? await pagedQuery(this.client, query, 1, 0) : null;
    const columns = probe?.rows[0] ? Object.keys(probe.rows[0]) : [];
    if (page.sort && probe?.rows[0] && !columns.includes(page.sort)) {
      throw new ParamError(
        'sort',
        `sort must be a column of the table (${columns.join(', ')}; got ${JSON.stringify(page.sort)})`,
      );
    }
    let text = stripSemicolon(query.text);
    const params = [...query.params];
    if (needle && columns.length) {
      params.push(`%${needle.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
      const cells = columns.map((c) => `CAST(${quoteIdent(c)} AS VARCHAR)`).join(', ');
      text = `SELECT * FROM (\n${text}\n) AS _rows WHERE concat_ws(' ', ${cells}) ILIKE $${params.length} ESCAPE '\\'`;
    }
    const filtered = { text, params };
    const ordered =
      page.sort && columns.includes(page.sort)
        ? {
            text: `SELECT * FROM (\n${text}\n) AS _sorted ORDER BY ${quoteIdent(page.sort)} ${page.order === 'desc' ? 'DESC' : 'ASC'} NULLS LAST`,
            params,
          }
        : filtered;
    const [rows, count] = await Promise.all([
      pagedQuery(this.client, ordered, page.limit, page.offset),
      timedQuery(this.client, { text: `SELECT count(*) AS n FROM (\n${text}\n) AS _counted`, params }),
    ]);
    return { ...rows, total: Number(count.rows[0]?.n ?? 0) };
  }

  private async kpiExtras(widget: Widget, state: RequestState, rows: Row[], out: WidgetResult): Promise<void> {
    const time = this.timeWindow(widget, state);
    const first = rows[0];
    if (this.hasDelta(widget, state) && time?.window.previous && !(first && 'previous' in first)) {
      const previous = await timedQuery(this.client, this.bound(widget, state, { previous: true })).catch(() => null);
      out.meta.previous = previous?.rows[0] ? (toJsonValue(previous.rows[0]) as Row) : null;
      out.meta.period = {
        from: iso(time.window.from),
        to: iso(time.window.to),
        previousFrom: iso(time.window.previous.from),
        previousTo: iso(time.window.previous.to),
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
  private async bucketed(
    widget: Widget,
    state: RequestState,
    id: string,
    window: TimeWindow,
  ): Promise<[string, number | null][]> {
    const start = new Date(window.from as Date | string).getTime();
    const end = new Date(window.to as Date | string).getTime();
    const step = (end - start) / SPARK_BUCKETS;
    const buckets = Array.from({ length: SPARK_BUCKETS }, (_, i) => ({
      from: new Date(start + i * step),
      to: new Date(start + (i + 1) * step),
    }));
    return Promise.all(
      buckets.map(async (bucket) => {
        const windows = { ...state.windows, [id]: { ...bucket, previous: null } };
        const result = await timedQuery(this.client, this.bound(widget, state, { windows })).catch(() => null);
        const row = result?.rows[0];
        return [bucket.to.toISOString(), row ? numberOf(kpiValue(row, widget.config.y)) : null] as [
          string,
          number | null,
        ];
      }),
    );
  }

  /** The client-side description of a widget (no SQL). */
  model(widget: Widget, view: DashboardConfig): WidgetModel {
    const c = widget.config;
    const kind = widgetType(c.type);
    const width = c.width ?? kind.width;
    const queried = Boolean(c.query);
    return {
      id: c.id,
      type: c.type,
      title: c.title ?? c.id,
      description: c.description,
      width,
      height: c.height,
      format: c.format,
      currency: c.currency ?? view.currency,
      unit: c.unit,
      decimals: c.decimals,
      x: c.x,
      y: c.y === undefined ? [] : ([] as string[]).concat(c.y),
      series: c.series,
      stack: c.stack ?? false,
      top: c.top,
      downIsGood: c.downIsGood ?? false,
      sparkline: Boolean(c.sparkline),
      delta: this.hasDelta(widget),
      columns: c.columns ?? {},
      smooth: c.smooth ?? false,
      scale: c.scale ?? 'auto',
      pageSize: c.pageSize ?? 10,
      filters: widget.affects,
      ignores: queried
        ? this.filters
            .ids()
            .filter((id) => !widget.affects.includes(id))
            .map((id) => this.filters.defs[id].label ?? id)
        : [],
      steps: queried ? triggersOf(this.status, widget.from) : [],
      ...kind.model?.(c, view),
    };
  }
}

function numberOf(value: unknown): number | null {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'bigint'
        ? Number(value)
        : typeof value === 'string'
          ? Number(value)
          : NaN;
  return Number.isFinite(n) ? n : null;
}

function point(row: Row): [string | number, number | null] {
  const [x, y] = Object.values(row);
  const key = x instanceof Date ? x.toISOString() : typeof x === 'number' ? x : String(x);
  return [key, numberOf(y)];
}

function iso(value: Date | string | null): string {
  return value instanceof Date ? value.toISOString() : (value ?? '');
}
