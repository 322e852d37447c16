// The `dashboard` view: a server-rendered, live dashboard of SQL widgets with filters, plus its typed data API.
import type { Context } from 'hono';
import {
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type Access,
  type Clock,
  type Connections,
  type DeadLetters,
  type Logger,
  type PipelineEvents,
  type PipelineStatus,
  type SqlClient,
  type StepInfo,
  type Triggers,
  type View,
  type ViewMount,
} from '../../../core/sdk/index.ts';
import { GLOBEMART_YAML, MONITOR_YAML, STAR_SCHEMA_YAML } from '../shared/examples.ts';
import { assetUrls, mountAssets } from '../shared/assets.ts';
import { parseDuration } from '../shared/duration.ts';
import { QueryCache } from '../shared/cache.ts';
import {
  badRequest,
  cachedJson,
  csvResponse,
  pagedQuery,
  pagingParams,
  parquetResponse,
  requireRole,
  TABLE_PARAMS,
} from '../shared/http.ts';
import { liveStream } from '../shared/live.ts';
import { ParamError, parseParams } from '../shared/params.ts';
import { freshnessOf, triggersOf } from '../shared/pipeline.ts';
import { paginate } from '../shared/sql.ts';
import { renderDashboardPage } from '../ui/pages.tsx';
import type { PageModel } from '../ui/types.ts';
import { generateDashboard, introspect } from './auto.ts';
import { widgetType } from '../ui/widgets/index.ts';
import { acceptList, uploadTargets } from '../ui/widgets/upload/index.tsx';
import type { DashboardConfig } from './config.ts';
import { Engine, type PageRequest, type RequestState, type Widget } from './engine.ts';
import { buildLayout, type Layout } from './layout.ts';
import { dashboardOpenApi } from './openapi.ts';
import { DASHBOARD_SCHEMA } from './schema.ts';
import { Rollups } from './rollup.ts';
import { handleUpload } from './upload.ts';

@injectable()
export class DashboardView implements View {
  private layout: Layout | undefined;
  private generating: Promise<{ layout: Layout; complete: boolean; note?: string }> | undefined;
  private client: Promise<SqlClient> | undefined;
  /** Widget, filter and page queries: answered again without the database until a step behind the view commits. */
  private readonly cache: QueryCache;
  private readonly stopInvalidating: () => void;
  /** Rollups derived from the widgets' queries, current until a step behind the view commits (rollup.ts). */
  readonly rollups: Rollups;
  private readonly stopRollups: () => void;
  private paths: { pages: string; api: string };
  private readonly closing = new AbortController();

  constructor(
    @inject(TOKENS.Config) private readonly config: DashboardConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
    @inject(TOKENS.Events) private readonly events: PipelineEvents,
    @inject(TOKENS.Status) private readonly status: PipelineStatus,
    @inject(TOKENS.DeadLetters) private readonly deadLetters: DeadLetters,
    @inject(TOKENS.Triggers) private readonly triggers: Triggers,
    @inject(TOKENS.Access) private readonly access: Access,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.StateDir) private readonly stateDir: string,
  ) {
    this.paths = { pages: `/views/${step.id}`, api: `/api/views/${step.id}` };
    const label = `step "${step.id}" (${step.location.file}:${step.location.line})`;
    if (!config.widgets?.length && !config.tables?.length)
      throw new Error(`${label}: give widgets, or tables to generate a dashboard from`);
    // Writes the pipeline does not announce (another program's) show within `refresh`, as with polling.
    this.cache = new QueryCache({ maxAgeMs: parseDuration(config.refresh) });
    // Answers change when a step writing what the widgets read commits; a view that names none may read anything.
    const behind = (id: string) => {
      const steps = this.triggerSteps();
      return steps.length === 0 || steps.includes(id);
    };
    this.stopInvalidating = this.cache.invalidateOnCommit(events, behind);
    this.rollups = new Rollups({
      client: () => this.sql(),
      logger,
      view: step.id,
      maxAgeMs: parseDuration(config.refresh),
    });
    this.stopRollups = events.on((event) => {
      if (event.type === 'commit' && behind(event.step) && this.layout)
        this.rollups.commit(this.layout.widgets, this.layout.filters.defs);
    });
    if (config.widgets?.length) {
      this.layout = buildLayout(config.filters ?? {}, config.widgets, step.from, label, this.producers);
      if (!step.connection && this.layout.widgets.some((w) => w.config.query))
        throw new Error(`${label}: widgets with a query need connection:`);
    } else if (!step.connection) throw new Error(`${label}: tables need connection:`);
  }

  async close(): Promise<void> {
    this.closing.abort(); // ends open event streams
    this.stopInvalidating();
    this.stopRollups();
    await this.rollups.close();
  }

  describe() {
    return { title: this.config.title ?? this.step.id, path: this.paths.pages };
  }

  /** The sinks writing the tables a widget's query reads (the pipeline knows which sink writes which table). */
  private readonly producers = (sql: string): string[] =>
    this.step.connection ? (this.status.producers?.(this.step.connection, sql) ?? []) : [];

  /** The dialect of the view's connection (parquet answers need DuckDB). */
  private dialect(): string | undefined {
    return this.connections.list().find((c) => c.name === this.step.connection)?.type;
  }

  openapi(): Record<string, unknown> {
    const layout = this.layout ?? buildLayout(this.config.filters ?? {}, [], this.step.from, this.step.id);
    return dashboardOpenApi(layout, this.paths.api, this.step.id, {
      auto: !this.config.widgets?.length,
      dialect: this.dialect(),
      public: this.access.isPublic(this.step.id),
    });
  }

  mount({ pages, api, root, paths }: ViewMount): void {
    this.paths = paths;
    mountAssets(root);
    const read = requireRole(this.access, this.step.id, this.config.viewRole, 'json');
    pages.get('/', requireRole(this.access, this.step.id, this.config.viewRole, 'html'), (c) => this.page(c));
    root.get(`${paths.pages}/`, (c) => c.redirect(`${paths.pages}${new URL(c.req.url).search}`));
    api.get('/events', read, (c) =>
      liveStream(c, this.events, {
        steps: () => this.triggerSteps(),
        signal: this.closing.signal,
        extra: () => ({ freshness: this.pageFreshness(this.layout) }),
      }),
    );
    api.get('/filters/:filter', read, (c) => this.filterOptions(c));
    api.post('/upload/:widget', (c) => this.upload(c));
    api.get('/:widget', read, (c) => this.data(c));
  }

  /** The step's SQL connection; undefined for a dashboard without one (uploads and text only). */
  private async sql(): Promise<SqlClient | undefined> {
    if (!this.step.connection) return undefined;
    this.client ??= this.connections.get<SqlClient>(this.step.connection);
    return this.client;
  }

  /** The SQL connection for reads, through the view's query cache. */
  private async reads(): Promise<SqlClient | undefined> {
    const client = await this.sql();
    return client && this.cache.wrap(client);
  }

  /** The layout; in auto mode generated from the tables, kept once every table exists and has rows. */
  private async current(): Promise<{ layout: Layout; note?: string }> {
    if (this.layout) return { layout: this.layout };
    this.generating ??= this.generate().finally(() => (this.generating = undefined));
    const generated = await this.generating;
    if (generated.complete) this.layout = generated.layout;
    return generated;
  }

  private async generate(): Promise<{ layout: Layout; complete: boolean; note?: string }> {
    const tables = this.config.tables ?? [];
    const schemas = await introspect((await this.sql())!, tables).catch((error) => {
      this.logger.warn(
        `cannot read the schema of ${tables.join(', ')}: ${error instanceof Error ? error.message : error}`,
      );
      return tables.map((name) => ({ name, columns: [], rows: 0 }));
    });
    const generated = generateDashboard(schemas);
    const layout = buildLayout(
      { ...generated.filters, ...this.config.filters },
      generated.widgets,
      this.step.from,
      this.step.id,
      this.producers,
    );
    const missing = schemas.filter((s) => s.columns.length === 0).map((s) => s.name);
    const complete = missing.length === 0 && schemas.every((s) => (s.rows ?? 0) > 0);
    const waiting = this.step.from.length ? ` It appears after the first commit of ${this.step.from.join(', ')}.` : '';
    return {
      layout,
      complete,
      note: missing.length ? `The table ${missing.join(', ')} does not exist yet.${waiting}` : undefined,
    };
  }

  /** The steps whose commits change what the view's widgets read: they go to the page and refresh the cache. */
  private triggerSteps(): string[] {
    const from = new Set([...this.step.from, ...(this.layout?.widgets.flatMap((w) => w.from) ?? [])]);
    return triggersOf(this.status, [...from]);
  }

  /** The page header's freshness: over every card's producers, so its reject count is the union of the cards'. */
  private pageFreshness(layout: Layout | undefined) {
    const cards = layout?.widgets.filter((w) => showsFreshness(w)) ?? [];
    const from = cards.length ? cards.flatMap((w) => w.from) : this.step.from;
    return freshnessOf(this.status, this.deadLetters, [...new Set(from)]);
  }

  private engine(client: SqlClient | undefined, layout: Layout): Engine {
    return new Engine(
      client,
      layout.filters,
      this.status,
      this.deadLetters,
      { locale: this.config.locale, timeZone: this.config.timeZone, currency: this.config.currency },
      (widget) => this.rollups.current(widget, layout.filters.defs),
    );
  }

  /** The first page of a widget as the page holds it: a table's first page, a chart's rows. */
  private firstPage(widget: Widget): PageRequest {
    return { limit: isPaged(widget) ? (widget.config.pageSize ?? 10) : (widget.config.limit ?? 1000), offset: 0 };
  }

  private async page(c: Context) {
    const { layout, note } = await this.current();
    const { values, ignored } = layout.filters.read(new URL(c.req.url).searchParams, { strict: false });
    const client = await this.reads();
    const filters = await layout.filters.models(client, values);
    const windows = await layout.filters.windows(client, values, this.clock.now());
    const state = { values, windows };
    const engine = this.engine(client, layout);
    const results = Object.fromEntries(
      await Promise.all(
        layout.widgets.map(async (w) => [w.config.id, await engine.run(w, state, this.firstPage(w))] as const),
      ),
    );
    const model: PageModel = {
      id: this.step.id,
      title: this.config.title ?? this.step.id,
      description: this.config.description,
      pipeline: this.status.name,
      paths: this.paths,
      refreshMs: parseDuration(this.config.refresh),
      locale: this.config.locale,
      timeZone: this.config.timeZone,
      currency: this.config.currency,
      filters,
      widgets: layout.widgets.map((w) => engine.model(w, this.config)),
      results,
      freshness: this.pageFreshness(layout),
      notices: ignored.length ? [`Ignored in the address: ${ignored.join('; ')}`] : [],
      empty: note,
    };
    return c.html(renderDashboardPage(model, await assetUrls()));
  }

  private async data(c: Context) {
    const { layout } = await this.current();
    const id = c.req.param('widget') ?? '';
    const widget = layout.widgets.find((w) => w.config.id === id);
    if (!widget)
      return c.json(
        { error: `no widget "${id}" (widgets: ${layout.widgets.map((w) => w.config.id).join(', ')})` },
        404,
      );
    const search = new URL(c.req.url).searchParams;
    let paging: PageRequest & { format: string };
    let state: RequestState;
    const client = await this.reads();
    try {
      // The API's default stays the widget's `limit` (a client asking for a table gets its rows); the page asks for one page.
      const specs = {
        ...pagingParams(client?.dialect, widget.config.limit ?? 1000),
        ...(isPaged(widget) ? TABLE_PARAMS : {}),
      };
      paging = parseParams(
        specs,
        new URLSearchParams([...search].filter(([key]) => key in specs)),
      ) as unknown as typeof paging;
      const { values } = layout.filters.read(search, { strict: true, allowed: Object.keys(specs) });
      state = { values, windows: await layout.filters.windows(client, values, this.clock.now()) };
    } catch (error) {
      return badRequest(c, error);
    }
    const engine = this.engine(client, layout);
    // The parquet answer is written to a file by the query itself: never from the cache.
    if (client && paging.format === 'parquet')
      return parquetResponse(
        c,
        (await this.sql())!,
        paginate(engine.bound(widget, state), paging.limit, paging.offset),
        id,
      );
    if (client && paging.format === 'csv') {
      try {
        return csvResponse(
          c,
          (await pagedQuery(client, engine.bound(widget, state), paging.limit, paging.offset)).rows,
          id,
        );
      } catch (error) {
        return c.json({ error: error instanceof Error ? error.message : String(error) }, 500);
      }
    }
    try {
      const result = await engine.run(widget, state, paging);
      // A type that shows a failed query itself (an alert's Error state) gets the result, not a 500.
      if (result.error && !showsErrors(widget)) return c.json({ error: result.error }, 500);
      return cachedJson(c, result);
    } catch (error) {
      return badRequest(c, error);
    }
  }

  private async filterOptions(c: Context) {
    const { layout } = await this.current();
    const id = c.req.param('filter') ?? '';
    if (!layout.filters.defs[id]) return c.json({ error: `no filter "${id}"` }, 404);
    const client = await this.reads();
    try {
      const { values } = layout.filters.read(new URL(c.req.url).searchParams, { strict: true });
      return c.json({ filter: id, options: await layout.filters.options(client, id, values) });
    } catch (error) {
      if (error instanceof ParamError) return badRequest(c, error);
      return c.json({ error: error instanceof Error ? error.message : String(error) }, 500);
    }
  }

  private async upload(c: Context) {
    // Uploads need their role even on a public dashboard, and a refusal says nothing about which widgets exist.
    const denied = this.access.check(c.req.raw, this.config.uploadRole);
    if (denied) return c.json({ error: denied.message }, denied.status);
    const { layout } = await this.current();
    const id = c.req.param('widget') ?? '';
    const widget = layout.widgets.find((w) => w.config.id === id && w.config.type === 'upload');
    if (!widget) return c.json({ error: `no upload widget "${id}"` }, 404);
    return handleUpload(
      c,
      {
        widget: widget.config.id,
        targets: uploadTargets(widget.config.target),
        accept: acceptList(widget.config.accept),
        maxBytes: widget.config.maxBytes ?? this.config.maxUploadBytes,
      },
      { viewId: this.step.id, triggers: this.triggers, stateDir: this.stateDir, logger: this.logger },
    );
  }
}

/** The server pages, sorts and searches the widget's rows (a table). */
function isPaged(widget: Widget): boolean {
  const kind = widgetType(widget.config.type);
  return kind.query && Boolean(kind.paged);
}

function showsErrors(widget: Widget): boolean {
  const kind = widgetType(widget.config.type);
  return kind.query && Boolean(kind.shows?.error);
}

/** The card reports the freshness of the steps behind it (every card but a text). */
function showsFreshness(widget: Widget): boolean {
  const kind = widgetType(widget.config.type);
  return kind.query || kind.footer;
}

export default pluginModule(
  {
    kind: 'view',
    name: 'dashboard',
    summary:
      'A live dashboard of SQL widgets (KPIs, charts, tables, alerts, uploads) with filters and a typed data API.',
    description:
      'Server-rendered with Preact and hydrated in the browser; refreshes widgets when the steps behind them commit (server-sent events, polling as a fallback). Filters are bound SQL parameters. Each widget is also an endpoint: GET /api/views/<id>/<widget>?format=json|csv|parquet.',
    stability: 'beta',
    config: DASHBOARD_SCHEMA,
    connectionTypes: ['duckdb', 'postgres'],
    connectionRequired: false,
    examples: [
      {
        title: 'Generated from a table',
        yaml: 'sales-dashboard:\n  use: dashboard\n  from: [warehouse]\n  connection: warehouse\n  with:\n    title: Sales\n    tables: [sales]\n',
      },
      {
        title: 'GlobeMart revenue: KPIs with deltas, bars, pie, hourly line, FX lines per currency, filters',
        yaml: GLOBEMART_YAML,
      },
      {
        title: 'Revenue monitor: status with reasons, trends, KPI table, plus the legacy /api/kpis/latest',
        yaml: MONITOR_YAML,
      },
      { title: 'Star schema: date range, cascading region/state/city, 7-day moving average', yaml: STAR_SCHEMA_YAML },
    ],
  },
  DashboardView,
);
