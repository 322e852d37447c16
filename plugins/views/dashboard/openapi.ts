// OpenAPI path items for a dashboard's endpoints (merged by the server into /api/openapi.json).
import { PAGING_PARAMS } from '../shared/http.ts';
import { DENIED, ENVELOPE, ERROR } from '../shared/openapi.ts';
import { openApiParam } from '../shared/params.ts';
import type { Layout } from './layout.ts';

export function dashboardOpenApi(layout: Layout, api: string, tag: string, auto: boolean): Record<string, unknown> {
  const specs = layout.filters.paramSpecs();
  const paths: Record<string, unknown> = {};
  const paging = Object.entries(PAGING_PARAMS).map(([name, spec]) => openApiParam(name, spec));
  for (const { config, applies } of layout.widgets) {
    if (!config.query) continue;
    paths[`${api}/${config.id}`] = {
      get: {
        tags: [tag],
        operationId: `${tag}_${config.id}`.replace(/[^A-Za-z0-9_]/g, '_'),
        summary: `${config.title ?? config.id} (${config.type})`,
        ...(config.description ? { description: config.description } : {}),
        parameters: [...applies.map((id) => openApiParam(id, specs[id])), ...paging],
        responses: {
          200: {
            description: 'Rows of the widget with the filters applied',
            content: { 'application/json': { schema: ENVELOPE }, 'text/csv': { schema: { type: 'string' } }, 'application/vnd.apache.parquet': { schema: { type: 'string', format: 'binary' } } },
          },
          400: { description: 'An unknown or malformed parameter (named in the message)', content: { 'application/json': { schema: ERROR } } },
          ...DENIED,
          500: { description: 'The query failed', content: { 'application/json': { schema: ENVELOPE } } },
        },
      },
    };
  }
  if (auto) {
    paths[`${api}/{widget}`] = {
      get: {
        tags: [tag], summary: 'Rows of a generated widget (auto mode: widgets come from the tables\' schemas)',
        parameters: [{ name: 'widget', in: 'path', required: true, schema: { type: 'string' } }, ...paging],
        responses: { 200: { description: 'OK', content: { 'application/json': { schema: ENVELOPE } } }, 400: { description: 'Bad parameter' }, 404: { description: 'No such widget' } },
      },
    };
  }
  for (const { config } of layout.widgets.filter((w) => w.config.type === 'upload')) {
    paths[`${api}/upload/${config.id}`] = {
      post: {
        tags: [tag], summary: `Upload a file to ${([] as string[]).concat(config.target ?? []).join(', ')}`,
        requestBody: { required: true, content: { 'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } } } } },
        responses: {
          200: { description: 'Loaded', content: { 'application/json': { schema: { type: 'object', properties: { records: { type: 'integer' }, rejected: { type: 'integer' }, file: { type: 'string' }, deadLetter: { type: 'string' } } } } } },
          400: { description: 'No file', content: { 'application/json': { schema: ERROR } } },
          ...DENIED,
          413: { description: 'Too large', content: { 'application/json': { schema: ERROR } } },
          415: { description: 'Extension not accepted', content: { 'application/json': { schema: ERROR } } },
          502: { description: 'Saved, but a target source failed', content: { 'application/json': { schema: ERROR } } },
        },
      },
    };
  }
  const dynamic = layout.filters.ids().filter((id) => layout.filters.isDynamic(id));
  if (dynamic.length) {
    paths[`${api}/filters/{filter}`] = {
      get: {
        tags: [tag], summary: 'Choices of a filter, narrowed by the filters it depends on',
        parameters: [{ name: 'filter', in: 'path', required: true, schema: { type: 'string', enum: dynamic } }, ...layout.filters.ids().map((id) => openApiParam(id, specs[id]))],
        responses: { 200: { description: 'OK', content: { 'application/json': { schema: { type: 'object', properties: { options: { type: 'array', items: { type: 'object', properties: { value: { type: 'string' }, label: { type: 'string' } } } } } } } } }, 400: { description: 'Bad parameter' } },
      },
    };
  }
  paths[`${api}/events`] = {
    get: { tags: [tag], summary: 'Server-sent events: {type: "commit", step, at} when a step behind the view commits', responses: { 200: { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } } },
  };
  return paths;
}
