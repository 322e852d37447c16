// OpenAPI path items for a dashboard's page and endpoints (merged by the server into /api/openapi.json). They say
// exactly what the handlers in index.ts answer: a contract test calls every one and checks each answer against them.
import { pagingParams, TABLE_PARAMS } from '../shared/http.ts';
import { denied, ENVELOPE, errorResponse, security } from '../shared/openapi.ts';
import { openApiParam } from '../shared/params.ts';
import { widgetType } from '../ui/widgets/index.ts';
import type { Layout } from './layout.ts';

export interface DashboardApiOptions {
  /** Auto mode: widgets come from the tables' schemas, so the widget is a path parameter. */
  auto: boolean;
  /** The connection's type: parquet only on DuckDB. */
  dialect?: string;
  public: boolean;
}

const json = (schema: unknown) => ({ 'application/json': { schema } });

export function dashboardOpenApi(
  layout: Layout,
  api: string,
  tag: string,
  options: DashboardApiOptions,
): Record<string, unknown> {
  const specs = layout.filters.paramSpecs();
  const paths: Record<string, unknown> = {};
  const ids = layout.filters.ids();
  const secured = { security: security(options.public) };
  const filterParams = (affects: string[]) =>
    ids.map((id) => {
      const param = openApiParam(id, specs[id]);
      return affects.includes(id)
        ? param
        : { ...param, description: `${param.description ?? id} (accepted; does not change this widget)` };
    });
  const rows = (limit: number, table: boolean) => {
    const paging = pagingParams(options.dialect, limit);
    return [...Object.entries(paging), ...(table ? Object.entries(TABLE_PARAMS) : [])].map(([name, spec]) =>
      openApiParam(name, spec),
    );
  };
  const rowsContent = {
    ...json(ENVELOPE),
    'text/csv': { schema: { type: 'string' } },
    ...(options.dialect === 'duckdb'
      ? { 'application/vnd.apache.parquet': { schema: { type: 'string', format: 'binary' } } }
      : {}),
  };
  const rowResponses = {
    200: { description: 'Rows of the widget with the filters applied (JSON carries an ETag)', content: rowsContent },
    304: { description: 'Not modified since the ETag sent in If-None-Match' },
    400: errorResponse('An unknown or malformed parameter (named in `parameter`)'),
    ...denied(options.public),
    500: errorResponse('The query failed'),
  };

  paths[`/views/${tag}`] = {
    get: {
      tags: [tag],
      operationId: `${tag}_page`.replace(/[^A-Za-z0-9_]/g, '_'),
      summary: 'The dashboard page (malformed filter values fall back to their defaults, with a notice)',
      ...secured,
      parameters: ids.map((id) => openApiParam(id, specs[id])),
      responses: {
        200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } },
        ...htmlDenied(options.public),
      },
    },
  };
  for (const { config, affects } of layout.widgets) {
    if (!config.query) continue;
    const kind = widgetType(config.type);
    const table = kind.query && Boolean(kind.paged);
    paths[`${api}/${config.id}`] = {
      get: {
        tags: [tag],
        operationId: `${tag}_${config.id}`.replace(/[^A-Za-z0-9_]/g, '_'),
        summary: `${config.title ?? config.id} (${config.type})`,
        ...(config.description ? { description: config.description } : {}),
        ...secured,
        parameters: [...filterParams(affects), ...rows(config.limit ?? 1000, table)],
        responses: rowResponses,
      },
    };
  }
  if (options.auto) {
    paths[`${api}/{widget}`] = {
      get: {
        tags: [tag],
        operationId: `${tag}_generated`.replace(/[^A-Za-z0-9_]/g, '_'),
        ...secured,
        summary: "Rows of a generated widget (auto mode: widgets come from the tables' schemas)",
        parameters: [
          { name: 'widget', in: 'path', required: true, schema: { type: 'string' } },
          ...filterParams(ids),
          ...rows(1000, true),
        ],
        responses: { ...rowResponses, 404: errorResponse('No such widget') },
      },
    };
  }
  for (const { config } of layout.widgets.filter((w) => w.config.type === 'upload')) {
    paths[`${api}/upload/${config.id}`] = {
      post: {
        tags: [tag],
        operationId: `${tag}_upload_${config.id}`.replace(/[^A-Za-z0-9_]/g, '_'),
        security: security(false),
        summary: `Upload a file to ${([] as string[]).concat(config.target ?? []).join(', ')}`,
        requestBody: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['file'],
                properties: { file: { type: 'string', format: 'binary' } },
              },
            },
          },
        },
        responses: {
          200: {
            description: 'Loaded',
            content: json({
              type: 'object',
              required: ['records', 'rejected', 'file', 'deadLetter'],
              properties: {
                records: { type: 'integer' },
                rejected: { type: 'integer' },
                file: { type: 'string' },
                deadLetter: { type: 'string' },
              },
            }),
          },
          400: errorResponse('No file, or an empty one'),
          ...denied(false),
          413: errorResponse('Too large'),
          415: errorResponse('Extension not accepted'),
          502: errorResponse('Saved, but a target source failed'),
        },
      },
    };
  }
  paths[`${api}/filters/{filter}`] = {
    get: {
      tags: [tag],
      operationId: `${tag}_filter_options`.replace(/[^A-Za-z0-9_]/g, '_'),
      ...secured,
      summary: 'Choices of a filter, narrowed by the filters it depends on',
      parameters: [
        {
          name: 'filter',
          in: 'path',
          required: true,
          schema: ids.length ? { type: 'string', enum: ids } : { type: 'string' },
        },
        ...ids.map((id) => openApiParam(id, specs[id])),
      ],
      responses: {
        200: {
          description: 'OK',
          content: json({
            type: 'object',
            required: ['filter', 'options'],
            properties: {
              filter: { type: 'string' },
              options: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['value', 'label'],
                  properties: { value: { type: 'string' }, label: { type: 'string' } },
                },
              },
            },
          }),
        },
        400: errorResponse('An unknown or malformed parameter (named in `parameter`)'),
        ...denied(options.public),
        404: errorResponse('No such filter'),
        500: errorResponse('The choices query failed'),
      },
    },
  };
  paths[`${api}/events`] = {
    get: {
      tags: [tag],
      operationId: `${tag}_events`.replace(/[^A-Za-z0-9_]/g, '_'),
      ...secured,
      summary:
        'Server-sent events: `commit` {type, step, records, at, freshness} when a step writing what the widgets read commits; a heartbeat comment every 15 s',
      responses: {
        200: { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
        ...denied(options.public),
      },
    },
  };
  return paths;
}

/** A page refused: a small HTML page saying why. */
function htmlDenied(isPublic: boolean): Record<string, unknown> {
  if (isPublic) return {};
  const html = { 'text/html': { schema: { type: 'string' } } };
  return {
    401: { description: 'A token is needed', content: html },
    403: { description: 'The token does not grant the role', content: html },
  };
}
