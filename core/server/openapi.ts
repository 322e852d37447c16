// /api/openapi.json: what the server answers, route by route — the core routes here, each view's from its
// `openapi()`. A contract test (core/server/contract.test.ts) calls every operation with generated valid and invalid
// parameters and checks each answer against this document.
import type { AccessArea } from '../manifest/access.ts';
import type { Pipeline } from '../runtime/pipeline.ts';

const ERROR = {
  type: 'object',
  required: ['error'],
  additionalProperties: true,
  properties: { error: { type: 'string' }, parameter: { type: 'string' } },
};
const json = (schema: unknown) => ({ 'application/json': { schema } });
const html = { 'text/html': { schema: { type: 'string' } } };
const error = (description: string) => ({ description, content: json(ERROR) });
const TIME = { type: ['string', 'null'], format: 'date-time' };

/** The security schemes a role's token is accepted by (core/runtime/access.ts); views name them in their operations. */
export const SECURITY_SCHEMES = {
  bearerToken: { type: 'http', scheme: 'bearer', description: "A role's token from the manifest's access: roles." },
  tokenCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: 'platform_token',
    description: 'The same token as a cookie (pages in a browser).',
  },
};

export const STEP_STATS = {
  type: 'object',
  required: [
    'id',
    'kind',
    'use',
    'from',
    'recordsIn',
    'recordsOut',
    'rejected',
    'errors',
    'batches',
    'lastCommitAt',
    'watermark',
    'lastError',
  ],
  properties: {
    id: { type: 'string' },
    kind: { enum: ['source', 'transform', 'sink', 'view'] },
    use: { type: 'string' },
    from: { type: 'array', items: { type: 'string' } },
    recordsIn: { type: 'integer', description: 'Since this process started.' },
    recordsOut: { type: 'integer', description: 'Since this process started.' },
    rejected: { type: 'integer', description: 'In the dead-letter store, all time.' },
    errors: { type: 'integer' },
    batches: { type: 'integer' },
    batchesInDuckDb: { type: 'integer' },
    lastCommitAt: TIME,
    watermark: TIME,
    lastError: { type: ['string', 'null'] },
    location: { type: 'object', properties: { file: { type: 'string' }, line: { type: 'integer' } } },
    totals: {
      type: 'object',
      description: 'Kept across restarts.',
      required: ['recordsIn', 'recordsOut', 'batches', 'since'],
      properties: {
        recordsIn: { type: 'integer' },
        recordsOut: { type: 'integer' },
        batches: { type: 'integer' },
        since: { type: 'string', format: 'date-time' },
      },
    },
    run: {
      type: 'object',
      required: ['startedAt', 'rejected'],
      properties: { startedAt: { type: 'string', format: 'date-time' }, rejected: { type: 'integer' } },
    },
    lag: { type: ['integer', 'null'], description: "A source's backlog after its last batch." },
    throughput: { type: ['number', 'null'], description: 'Records out per second over the last minute.' },
    reads: { type: 'array', items: { type: 'string' } },
    writes: { type: 'array', items: { type: 'string' } },
    dataFrom: { type: 'array', items: { type: 'string' } },
  },
};

const PIPELINE = {
  type: 'object',
  required: ['name', 'description', 'manifest', 'connections', 'steps', 'deadLetters'],
  properties: {
    name: { type: 'string' },
    description: { type: ['string', 'null'] },
    manifest: { type: 'string' },
    connections: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'type'],
        properties: {
          name: { type: 'string' },
          type: { type: 'string' },
          embedded: { type: 'boolean' },
          description: { type: 'string' },
        },
      },
    },
    steps: { type: 'array', items: STEP_STATS },
    deadLetters: { type: 'integer' },
  },
};

const STEP_DETAILS = {
  type: 'object',
  required: ['step', 'config', 'connection', 'errors', 'sample', 'sampledAt', 'deadLetters'],
  properties: {
    step: STEP_STATS,
    config: { type: 'object' },
    connection: { type: ['string', 'null'] },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['at', 'message'],
        properties: { at: { type: 'string', format: 'date-time' }, message: { type: 'string' } },
      },
    },
    sample: { type: 'array', items: { type: 'object' } },
    sampledAt: TIME,
    deadLetters: {
      type: 'object',
      required: ['total', 'entries'],
      properties: { total: { type: 'integer' }, entries: { type: 'array', items: { type: 'object' } } },
    },
  },
};

const DEAD_LETTERS = {
  type: 'object',
  required: ['total', 'entries', 'limit', 'offset'],
  properties: {
    total: { type: 'integer' },
    entries: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'at', 'step', 'reasons'],
        properties: {
          id: { type: 'integer' },
          at: { type: 'string' },
          step: { type: 'string' },
          reasons: { type: 'array', items: { type: 'string' } },
          origin: { type: 'string' },
          record: {},
        },
      },
    },
    steps: { type: 'array', items: { type: 'string' } },
    limit: { type: 'integer' },
    offset: { type: 'integer' },
  },
};

/** The whole document; `viewPaths` are the views' path items. */
export function openApiDocument(pipeline: Pipeline, viewPaths: Record<string, unknown>): Record<string, unknown> {
  const { manifest } = pipeline;
  // Each core area (pipeline, dead-letter, metrics) needs the role the manifest gives it, unless that role is open.
  const guarded = (area: AccessArea) => pipeline.access.checkArea(new Request('http://localhost/'), area) !== null;
  const security = (area: AccessArea) =>
    guarded(area) ? { security: [{ bearerToken: [] }, { tokenCookie: [] }] } : { security: [] };
  const deniedJson = (area: AccessArea) =>
    guarded(area)
      ? { 401: error('A token is needed'), 403: error(`The token does not grant the role of ${area}`) }
      : {};
  const text = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } });
  const deniedPage = (area: AccessArea) =>
    guarded(area)
      ? {
          302: { description: 'A browser without the role is sent to /sign-in' },
          401: text('A token is needed'),
          403: text(`The token does not grant the role of ${area}`),
        }
      : {};
  const page = (
    area: AccessArea,
    summary: string,
    parameters: unknown[] = [],
    extra: Record<string, unknown> = {},
  ) => ({
    get: {
      tags: ['pipeline'],
      summary,
      ...security(area),
      parameters,
      responses: { 200: { description: 'HTML', content: html }, ...deniedPage(area), ...extra },
    },
  });
  const viewer = security('pipeline');
  const deadLetterParams = [
    {
      name: 'steps',
      in: 'query',
      schema: { type: 'string' },
      description: 'Comma-separated step ids (unknown ids match nothing)',
    },
    { name: 'reason', in: 'query', schema: { type: 'string' }, description: 'Text in the reasons (any case)' },
    {
      name: 'since',
      in: 'query',
      schema: { type: 'string', format: 'date-time' },
      description: 'Entries stored at or after this time (an ISO date or time; another value is answered 400)',
    },
    {
      name: 'limit',
      in: 'query',
      schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
      description: 'Entries to return (a value that is not an integer from 1 to 1000 is answered 400)',
    },
    {
      name: 'offset',
      in: 'query',
      schema: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 },
      description: 'Entries to skip, newest first (a value that is not an integer from 0 to 2^53 − 1 is answered 400)',
    },
  ];
  return {
    openapi: '3.1.0',
    info: { title: `${manifest.name} API`, version: '1', description: manifest.description ?? '' },
    servers: [
      {
        url: '/',
        description: `This pipeline's server (${manifest.server.host}:${manifest.server.port} unless --port says otherwise)`,
      },
    ],
    components: { securitySchemes: SECURITY_SCHEMES, schemas: { Error: ERROR, StepStats: STEP_STATS } },
    tags: [
      { name: 'pipeline', description: 'The running pipeline' },
      ...[...pipeline.views.keys()].map((name) => ({ name, description: `The view ${name}` })),
    ],
    paths: {
      '/healthz': {
        get: {
          tags: ['pipeline'],
          summary: 'The process is up',
          security: [],
          responses: {
            200: {
              description: 'OK',
              content: json({
                type: 'object',
                required: ['status', 'pipeline'],
                properties: { status: { const: 'ok' }, pipeline: { type: 'string' } },
              }),
            },
          },
        },
      },
      '/readyz': {
        get: {
          tags: ['pipeline'],
          summary: 'Every connection reachable',
          security: [],
          responses: Object.fromEntries(
            [200, 503].map((status) => [
              status,
              {
                description: status === 200 ? 'Ready' : 'A connection is unreachable',
                content: json({
                  type: 'object',
                  required: ['status', 'connections'],
                  properties: {
                    status: { enum: ['ready', 'not ready'] },
                    connections: {
                      type: 'array',
                      items: {
                        type: 'object',
                        required: ['name', 'ok'],
                        properties: { name: { type: 'string' }, ok: { type: 'boolean' } },
                      },
                    },
                  },
                }),
              },
            ]),
          ),
        },
      },
      '/metrics': {
        get: {
          tags: ['pipeline'],
          summary: 'Prometheus metrics',
          ...security('metrics'),
          responses: {
            200: text('Text exposition format 0.0.4'),
            ...(guarded('metrics')
              ? { 401: text('A token is needed'), 403: text('The token does not grant the role of metrics') }
              : {}),
          },
        },
      },
      '/api/openapi.json': {
        get: {
          tags: ['pipeline'],
          summary: 'This document',
          ...viewer,
          responses: {
            200: { description: 'OpenAPI 3.1', content: json({ type: 'object', required: ['openapi', 'paths'] }) },
            ...deniedJson('pipeline'),
          },
        },
      },
      '/api/pipeline': {
        get: {
          tags: ['pipeline'],
          summary: 'The pipeline: connections, steps with their statistics, dead letters',
          ...viewer,
          responses: { 200: { description: 'OK', content: json(PIPELINE) }, ...deniedJson('pipeline') },
        },
      },
      '/api/pipeline/events': {
        get: {
          tags: ['pipeline'],
          summary:
            'Server-sent events: `stats` {steps, at} after commits, rejects and errors (at most once a second), a heartbeat comment every 15 s',
          ...viewer,
          responses: {
            200: { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
            ...deniedJson('pipeline'),
          },
        },
      },
      '/api/pipeline/steps/{step}': {
        get: {
          tags: ['pipeline'],
          summary:
            'One step: statistics, settings (secrets masked), recent errors, a sample of its last batch, its newest dead letters',
          ...viewer,
          parameters: [
            {
              name: 'step',
              in: 'path',
              required: true,
              schema: { type: 'string', enum: manifest.steps.map((s) => s.id) },
            },
          ],
          responses: {
            200: { description: 'OK', content: json(STEP_DETAILS) },
            ...deniedJson('pipeline'),
            404: error('No such step'),
          },
        },
      },
      '/api/dead-letter': {
        get: {
          tags: ['pipeline'],
          summary: 'Rejected records with their step and reasons, newest first',
          ...security('dead-letter'),
          parameters: deadLetterParams,
          responses: {
            200: { description: 'OK', content: json(DEAD_LETTERS) },
            400: error('A parameter out of range (named in the answer)'),
            ...deniedJson('dead-letter'),
          },
        },
      },
      '/api/dead-letter/replay': {
        post: {
          tags: ['pipeline'],
          summary: `Replays the chosen dead letters through the step that rejected them and on downstream (role ${manifest.deadLetter.replayRole})`,
          ...(pipeline.access.check(new Request('http://localhost/'), manifest.deadLetter.replayRole)
            ? { security: [{ bearerToken: [] }, { tokenCookie: [] }] }
            : { security: [] }),
          requestBody: {
            required: true,
            content: json({
              type: 'object',
              properties: {
                steps: { type: 'array', items: { type: 'string' } },
                reason: { type: 'string' },
                since: { type: 'string', format: 'date-time' },
                ids: { type: 'array', items: { type: 'integer' } },
              },
            }),
          },
          responses: {
            200: {
              description: 'The outcome',
              content: json({
                type: 'object',
                required: ['selected', 'landed', 'rejectedAgain', 'skipped'],
                properties: {
                  selected: { type: 'integer' },
                  landed: { type: 'integer' },
                  rejectedAgain: { type: 'integer' },
                  skipped: { type: 'array' },
                },
              }),
            },
            400: error('A bad filter'),
            401: error('A token is needed'),
            403: error('The token does not grant the replay role, or a cross-site request'),
            502: error('The replay failed (a server unreachable)'),
          },
        },
      },
      '/': page(
        'pipeline',
        'The pipeline page, or the only view page (302 to it)',
        [
          {
            name: 'overview',
            in: 'query',
            schema: { type: 'string' },
            description: 'Any value: the pipeline page even when there is one view page',
          },
        ],
        { 302: { description: 'To the only view page' } },
      ),
      '/pipeline': page('pipeline', 'The pipeline as a live graph of its steps'),
      '/dead-letter': page('dead-letter', 'Rejected records, newest first', deadLetterParams, {
        400: text('A parameter out of range (named in the answer)'),
      }),
      '/assets/views/{file}': {
        get: {
          tags: ['pipeline'],
          summary: "The pages' scripts and styles (immutable when ?v= is the current version)",
          security: [],
          parameters: [
            { name: 'file', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'v', in: 'query', schema: { type: 'string' } },
          ],
          responses: {
            200: {
              description: 'The file',
              content: {
                'text/javascript': { schema: { type: 'string' } },
                'text/css': { schema: { type: 'string' } },
              },
            },
            304: { description: 'Not modified (If-None-Match)' },
            404: { description: 'No such file', content: { 'text/plain': { schema: { type: 'string' } } } },
          },
        },
      },
      ...viewPaths,
    },
  };
}
