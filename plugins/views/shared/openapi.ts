// OpenAPI pieces shared by the views' endpoints: the exact bodies they answer with (a contract test checks every
// answer against them) and the security of a view.

/** Every 4xx/5xx body: the message, and the parameter it is about when a parameter was wrong. */
export const ERROR = {
  type: 'object',
  required: ['error'],
  additionalProperties: true,
  properties: { error: { type: 'string' }, parameter: { type: 'string' } },
};

const NULLABLE_TIME = { type: ['string', 'null'], format: 'date-time' };

export const FRESHNESS = {
  type: 'object',
  required: ['steps', 'producer', 'lastCommitAt', 'watermark', 'rejected', 'delivered'],
  properties: {
    steps: {
      type: 'array',
      items: { type: 'string' },
      description: 'Every step upstream of the data, through files, topics and tables between steps.',
    },
    producer: { type: ['string', 'null'] },
    producers: { type: 'array', items: { type: 'string' }, description: 'The steps writing what the widget reads.' },
    lastCommitAt: NULLABLE_TIME,
    watermark: NULLABLE_TIME,
    rejected: { type: 'integer', minimum: 0, description: 'Records those steps rejected, all time.' },
    rejectedRun: { type: 'integer', minimum: 0, description: 'Of those, rejected since the pipeline process started.' },
    delivered: { type: ['integer', 'null'] },
  },
};

const POINT = {
  type: 'array',
  prefixItems: [{ type: ['string', 'number'] }, { type: ['number', 'null'] }],
  minItems: 2,
  maxItems: 2,
};

export const ENVELOPE = {
  type: 'object',
  required: ['data', 'statistics', 'meta'],
  properties: {
    data: { type: 'array', items: { type: 'object', additionalProperties: true } },
    statistics: {
      type: 'object',
      required: ['rows', 'elapsedMs'],
      properties: { rows: { type: 'integer', minimum: 0 }, elapsedMs: { type: 'number', minimum: 0 } },
    },
    meta: {
      type: 'object',
      required: ['columns', 'freshness'],
      properties: {
        columns: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'type'],
            properties: {
              name: { type: 'string' },
              type: { enum: ['number', 'string', 'boolean', 'timestamp', 'date', 'json', 'null'] },
            },
          },
        },
        freshness: FRESHNESS,
        truncated: { type: 'boolean', description: 'More rows exist beyond limit.' },
        filtered: { type: 'boolean', description: 'A filter the widget responds to is set.' },
        total: { type: 'integer', minimum: 0, description: 'Tables: rows matching q over all pages.' },
        previous: {
          type: ['object', 'null'],
          description: 'KPIs: the first row of the same query over the previous period.',
        },
        sparkline: { type: 'array', items: POINT },
        period: {
          type: ['object', 'null'],
          properties: {
            from: { type: 'string' },
            to: { type: 'string' },
            previousFrom: { type: 'string' },
            previousTo: { type: 'string' },
          },
        },
      },
    },
    status: { enum: ['OK', 'WARN', 'CRIT', 'NoData', 'Error'], description: 'Alert widgets and endpoints with rules.' },
    reasons: { type: 'array', items: { type: 'string' } },
    error: { type: 'string', description: 'Alert widgets: the query failed (status Error).' },
  },
};

const json = (schema: unknown) => ({ 'application/json': { schema } });

export const errorResponse = (description: string) => ({ description, content: json(ERROR) });

/** 401/403 of a view that needs a role (none for a public one). */
export function denied(isPublic: boolean): Record<string, unknown> {
  if (isPublic) return {};
  return {
    401: errorResponse('A token is needed (Authorization: Bearer, or the platform_token cookie)'),
    403: errorResponse('The token does not grant the role'),
  };
}

/**
 * The `security` of an operation: none for a public view, else a bearer token or the platform_token cookie (the
 * schemes `bearerToken` and `tokenCookie` that core/server declares in the document).
 */
export function security(isPublic: boolean): Record<string, string[]>[] {
  return isPublic ? [] : [{ bearerToken: [] }, { tokenCookie: [] }];
}

/** Back-compat name: the 401/403 of a protected endpoint. */
export const DENIED = denied(false);
