// The `api` view: JSON/CSV endpoints over SQL with typed, validated parameters, optional alert rules and a health check.
import type { Context } from 'hono';
import {
  configSchema,
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type Access,
  type Clock,
  type ConfigOf,
  type Connections,
  type DeadLetters,
  type Metrics,
  type PipelineEvents,
  type PipelineStatus,
  type Row,
  type SqlClient,
  type StepInfo,
  type View,
  type ViewMount,
} from '../../../core/sdk/index.ts';
import { MONITOR_YAML } from '../shared/examples.ts';
import { parseDuration } from '../shared/duration.ts';
import { badRequest, csvResponse, envelope, pagedQuery, parquetResponse, requireRole } from '../shared/http.ts';
import { openApiParam, PARAM_SCHEMA, parseParams } from '../shared/params.ts';
import { freshnessOf } from '../shared/pipeline.ts';
import { evaluateRules, RULE_SCHEMA, type AlertResult } from '../shared/rules.ts';
import { bindQuery, paginate, templateParams } from '../shared/sql.ts';
import { denied, ENVELOPE, errorResponse, security } from '../shared/openapi.ts';

export type ApiConfig = ConfigOf<typeof CONFIG>;
export type Endpoint = ApiConfig['endpoints'][number];

const ENDPOINT_SCHEMA = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['path', 'query'],
  properties: {
    path: {
      type: 'string',
      pattern: '^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$',
      description: 'Path under /api/views/<id>/.',
      examples: ['kpis/latest'],
    },
    description: { type: 'string', description: 'Shown in the OpenAPI document.' },
    query: {
      type: 'string',
      description: 'SQL; :<param> are bound parameters (never pasted into the text).',
      examples: ['SELECT * FROM kpis ORDER BY ts DESC LIMIT :limit'],
    },
    params: {
      type: 'object',
      additionalProperties: PARAM_SCHEMA,
      default: {},
      description: 'Query-string parameters by name; out of range or malformed → 400 naming the parameter.',
      examples: [{ limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } }],
    },
    alias: {
      type: 'string',
      pattern: '^/[A-Za-z0-9_./-]*$',
      description: 'Also answer at this absolute path (e.g. a legacy URL).',
      examples: ['/api/kpis/latest'],
    },
    formats: {
      type: 'array',
      items: { enum: ['json', 'csv', 'parquet'] },
      default: ['json', 'csv'],
      description: 'Formats allowed through ?format= (parquet needs a DuckDB connection).',
    },
    rules: RULE_SCHEMA,
    rulesQuery: {
      type: 'string',
      description:
        'SQL whose first row the rules judge (same :params as query); default: the first row of query. E.g. the endpoint lists every window, the one still in progress too, while the status judges the last complete one.',
      examples: ['SELECT * FROM kpis WHERE window_end <= now() ORDER BY window_start DESC LIMIT 1'],
    },
    maxRows: { type: 'integer', minimum: 1, maximum: 100_000, default: 10_000, description: 'Rows returned at most.' },
    from: {
      type: 'array',
      items: { type: 'string' },
      description: "Steps producing the data (default: the view's from), for freshness.",
    },
  },
});

@injectable()
export class ApiView implements View {
  private client: Promise<SqlClient> | undefined;
  private paths: { pages: string; api: string };

  constructor(
    @inject(TOKENS.Config) private readonly config: ApiConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
    @inject(TOKENS.Status) private readonly status: PipelineStatus,
    @inject(TOKENS.DeadLetters) private readonly deadLetters: DeadLetters,
    @inject(TOKENS.Access) private readonly access: Access,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Metrics) private readonly metrics: Metrics,
    @inject(TOKENS.Events) private readonly events: PipelineEvents,
  ) {
    this.paths = { pages: `/views/${step.id}`, api: `/api/views/${step.id}` };
    const label = `step "${step.id}" (${step.location.file}:${step.location.line})`;
    if (!step.connection) throw new Error(`${label}: the api view needs connection:`);
    const seen = new Set<string>();
    for (const endpoint of config.endpoints) {
      if (seen.has(endpoint.path)) throw new Error(`${label}: two endpoints have the path "${endpoint.path}"`);
      seen.add(endpoint.path);
      if ('format' in endpoint.params)
        throw new Error(`${label}: endpoint "${endpoint.path}": the parameter name "format" is reserved`);
      for (const name of [...templateParams(endpoint.query), ...templateParams(endpoint.rulesQuery ?? '')]) {
        if (!endpoint.params[name])
          throw new Error(`${label}: endpoint "${endpoint.path}" uses :${name}, which is not in its params`);
      }
      if (endpoint.rulesQuery && !endpoint.rules?.length)
        throw new Error(`${label}: endpoint "${endpoint.path}" has rulesQuery but no rules`);
    }
    const health = this.health();
    if (health?.maxAge) parseDuration(health.maxAge);
  }

  describe() {
    return { title: this.step.id, path: this.paths.api };
  }

  private health(): { path: string; maxAge?: string } | undefined {
    const h = this.config.health;
    return typeof h === 'string' ? { path: h } : h;
  }

  private sql(): Promise<SqlClient> {
    this.client ??= this.connections.get<SqlClient>(this.step.connection!);
    return this.client;
  }

  mount({ api, root, paths }: ViewMount): void {
    this.paths = paths;
    this.watchAlerts();
    const guard = requireRole(this.access, this.step.id, this.config.viewRole, 'json');
    api.get('/', guard, (c) =>
      c.json({
        endpoints: this.config.endpoints.map((e) => ({
          path: `${paths.api}/${e.path}`,
          alias: e.alias ?? null,
          description: e.description ?? null,
          params: e.params,
        })),
      }),
    );
    for (const endpoint of this.config.endpoints) {
      api.get(`/${endpoint.path}`, guard, (c) => this.answer(c, endpoint));
      if (endpoint.alias) root.get(endpoint.alias, guard, (c) => this.answer(c, endpoint));
    }
    const health = this.health();
    if (health) root.get(health.path, (c) => this.healthCheck(c, health.maxAge));
  }

  private async answer(c: Context, endpoint: Endpoint) {
    const formats = endpoint.formats;
    let values: Record<string, unknown>;
    try {
      values = parseParams(
        { ...endpoint.params, format: { type: 'string', enum: formats, default: 'json' } },
        new URL(c.req.url).searchParams,
      );
    } catch (error) {
      return badRequest(c, error);
    }
    const { format, ...named } = values;
    const client = await this.sql();
    const bound = bindQuery(endpoint.query, { named });
    if (format === 'parquet') return parquetResponse(c, client, paginate(bound, endpoint.maxRows), endpoint.path);
    const freshness = freshnessOf(this.status, this.deadLetters, endpoint.from ?? this.step.from);
    try {
      const result = await pagedQuery(client, bound, endpoint.maxRows, 0);
      if (format === 'csv') return csvResponse(c, result.rows, endpoint.path);
      const alert = endpoint.rules ? this.recordAlert(endpoint, await this.judge(endpoint, named, result.rows)) : {};
      return c.json(envelope(result, { freshness, truncated: result.truncated }, alert));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const alert = endpoint.rules ? this.recordAlert(endpoint, evaluateRules(endpoint.rules, undefined, error)) : {};
      return c.json({ error: message, ...alert }, 500);
    }
  }

  /**
   * The same evaluation that answers the API also feeds /metrics: `platform_alert_state{view,endpoint}` is
   * 0 OK, 1 WARN, 2 CRIT, -1 NoData, -2 Error. It is refreshed after every commit upstream (at most once a second).
   */
  private recordAlert(endpoint: Endpoint, alert: AlertResult): AlertResult {
    const value = { OK: 0, WARN: 1, CRIT: 2, NoData: -1, Error: -2 }[alert.status];
    this.metrics
      .gauge('platform_alert_state', 'Alert state of a view endpoint: 0 OK, 1 WARN, 2 CRIT, -1 NoData, -2 Error', {
        view: this.step.id,
        endpoint: endpoint.path,
      })
      .set(value);
    return alert;
  }

  /** The rules on the first row of `rulesQuery` (when the endpoint has one), else of the endpoint's rows. */
  private async judge(
    endpoint: Endpoint,
    named: Record<string, unknown>,
    rows: Row[] | undefined,
  ): Promise<AlertResult> {
    if (!endpoint.rulesQuery) return evaluateRules(endpoint.rules!, rows);
    try {
      return evaluateRules(
        endpoint.rules!,
        (await pagedQuery(await this.sql(), bindQuery(endpoint.rulesQuery, { named }), 1, 0)).rows,
      );
    } catch (error) {
      return evaluateRules(endpoint.rules!, undefined, error);
    }
  }

  private watchAlerts(): void {
    const alerting = this.config.endpoints.filter((e) => e.rules?.length);
    if (!alerting.length) return;
    let timer: NodeJS.Timeout | undefined;
    const refresh = async () => {
      timer = undefined;
      for (const endpoint of alerting) {
        try {
          const named = parseParams(endpoint.params, new URLSearchParams());
          const rows = endpoint.rulesQuery
            ? undefined
            : (await pagedQuery(await this.sql(), bindQuery(endpoint.query, { named }), endpoint.maxRows, 0)).rows;
          this.recordAlert(endpoint, await this.judge(endpoint, named, rows));
        } catch (error) {
          this.recordAlert(endpoint, evaluateRules(endpoint.rules!, undefined, error));
        }
      }
    };
    const watched = new Set(alerting.flatMap((e) => e.from ?? this.step.from));
    const off = this.events.on((event) => {
      if (event.type === 'commit' && watched.has(event.step) && !timer) timer = setTimeout(() => void refresh(), 1000);
    });
    this.stopWatching = () => {
      off();
      clearTimeout(timer);
    };
    void refresh();
  }

  private stopWatching?: () => void;

  async close(): Promise<void> {
    this.stopWatching?.();
  }

  private async healthCheck(c: Context, maxAge?: string) {
    const freshness = freshnessOf(this.status, this.deadLetters, this.step.from);
    let database = 'ok';
    try {
      await (await this.sql()).query('SELECT 1');
    } catch (error) {
      database = error instanceof Error ? error.message : String(error);
    }
    const ageMs = freshness.lastCommitAt ? this.clock.now().getTime() - Date.parse(freshness.lastCommitAt) : null;
    const stale = maxAge !== undefined && (ageMs === null || ageMs > parseDuration(maxAge));
    const status = database !== 'ok' ? 'down' : stale ? 'stale' : 'ok';
    return c.json(
      {
        status,
        pipeline: this.status.name,
        database,
        lastCommitAt: freshness.lastCommitAt,
        ageSeconds: ageMs === null ? null : Math.round(ageMs / 1000),
        maxAge: maxAge ?? null,
        rejected: freshness.rejected,
        steps: freshness.steps,
      },
      status === 'ok' ? 200 : 503,
    );
  }

  openapi(): Record<string, unknown> {
    const paths: Record<string, unknown> = {};
    const isPublic = this.access.isPublic(this.step.id);
    // Parquet is written by DuckDB: on another connection a request for it is refused, so it is not offered.
    const duckdb = this.connections.list().find((c) => c.name === this.step.connection)?.type === 'duckdb';
    const index = {
      get: {
        tags: [this.step.id],
        operationId: `${this.step.id}_endpoints`.replace(/[^A-Za-z0-9_]/g, '_'),
        summary: 'The endpoints of this view',
        security: security(isPublic),
        responses: {
          200: {
            description: 'OK',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['endpoints'],
                  properties: { endpoints: { type: 'array', items: { type: 'object' } } },
                },
              },
            },
          },
          ...denied(isPublic),
        },
      },
    };
    paths[this.paths.api] = index;
    for (const endpoint of this.config.endpoints) {
      const formats = endpoint.formats.filter((f) => f !== 'parquet' || duckdb);
      const operation = (suffix: string) => ({
        get: {
          tags: [this.step.id],
          operationId: `${this.step.id}_${endpoint.path}${suffix}`.replace(/[^A-Za-z0-9_]/g, '_'),
          summary: endpoint.description ?? endpoint.path,
          security: security(isPublic),
          parameters: [
            ...Object.entries(endpoint.params).map(([name, spec]) => openApiParam(name, spec)),
            openApiParam('format', { type: 'string', enum: formats, default: 'json' }),
          ],
          responses: {
            200: {
              description: 'OK',
              content: Object.fromEntries(
                formats.map((f) => [
                  f === 'json' ? 'application/json' : f === 'csv' ? 'text/csv' : 'application/vnd.apache.parquet',
                  { schema: f === 'json' ? ENVELOPE : { type: 'string' } },
                ]),
              ),
            },
            400: errorResponse('A parameter is unknown, malformed or out of range (named in `parameter`)'),
            ...denied(isPublic),
            500: errorResponse('The query failed'),
          },
        },
      });
      paths[`${this.paths.api}/${endpoint.path}`] = operation('');
      if (endpoint.alias) paths[endpoint.alias] = operation('_alias');
    }
    const health = this.health();
    if (health) {
      const body = {
        'application/json': {
          schema: {
            type: 'object',
            required: ['status', 'pipeline', 'database', 'lastCommitAt', 'ageSeconds', 'maxAge', 'rejected', 'steps'],
            properties: {
              status: { enum: ['ok', 'stale', 'down'] },
              pipeline: { type: 'string' },
              database: { type: 'string' },
              lastCommitAt: { type: ['string', 'null'], format: 'date-time' },
              ageSeconds: { type: ['integer', 'null'] },
              maxAge: { type: ['string', 'null'] },
              rejected: { type: 'integer' },
              steps: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      };
      paths[health.path] = {
        get: {
          tags: [this.step.id],
          operationId: `${this.step.id}_health`.replace(/[^A-Za-z0-9_]/g, '_'),
          summary: 'Health: database reachable and data fresh',
          security: [],
          responses: {
            200: { description: 'OK', content: body },
            503: { description: 'Database down or data stale', content: body },
          },
        },
      };
    }
    return paths;
  }
}

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['endpoints'],
  properties: {
    endpoints: { type: 'array', items: ENDPOINT_SCHEMA, minItems: 1, description: 'The endpoints.' },
    health: {
      anyOf: [
        { type: 'string', pattern: '^/' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['path'],
          properties: {
            path: { type: 'string', pattern: '^/' },
            maxAge: { type: 'string', description: 'Answer 503 when the last commit is older (e.g. 10m).' },
          },
        },
      ],
      description:
        'A health endpoint on the server root: 200 when the database answers (and data is fresher than maxAge), 503 otherwise.',
      examples: ['/health'],
    },
    viewRole: {
      type: 'string',
      default: 'viewer',
      description: 'Role needed to call the endpoints (unless the view is public in access:).',
    },
  },
});

export default pluginModule(
  {
    kind: 'view',
    name: 'api',
    summary: 'JSON/CSV endpoints over SQL with typed, validated parameters, optional alert rules and a health check.',
    description:
      'Each endpoint answers GET /api/views/<id>/<path> (and optionally a legacy absolute alias) with { data, statistics, meta } — plus status and reasons when it has rules.',
    stability: 'beta',
    connectionTypes: ['duckdb', 'postgres'],
    connectionRequired: true,
    config: CONFIG,
    examples: [
      { title: 'Revenue monitor: dashboard and the legacy /api/kpis/latest with limit 1..500', yaml: MONITOR_YAML },
      {
        title: 'Latest KPIs with a legacy URL and a status',
        yaml: [
          'monitor-api:',
          '  use: api',
          '  from: [kpis]',
          '  connection: warehouse',
          '  with:',
          '    health: /health',
          '    endpoints:',
          '      - path: kpis/latest',
          '        alias: /api/kpis/latest',
          '        query: SELECT * FROM kpis ORDER BY ts DESC LIMIT :limit',
          '        params: { limit: { type: integer, minimum: 1, maximum: 500, default: 50 } }',
          '        rules:',
          "          - { when: { field: failure_rate, op: '>', value: 0.05 }, state: CRIT, reason: 'failure rate {failure_rate}' }",
          '',
        ].join('\n'),
      },
    ],
  },
  ApiView,
);
