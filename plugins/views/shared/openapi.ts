// OpenAPI schemas shared by the views' endpoints.

export const ERROR = { type: 'object', properties: { error: { type: 'string' }, parameter: { type: 'string' } }, required: ['error'] };

export const ENVELOPE = {
  type: 'object',
  required: ['data', 'statistics', 'meta'],
  properties: {
    data: { type: 'array', items: { type: 'object', additionalProperties: true } },
    statistics: { type: 'object', properties: { rows: { type: 'integer' }, elapsedMs: { type: 'number' } } },
    meta: {
      type: 'object',
      properties: {
        columns: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, type: { type: 'string' } } } },
        freshness: {
          type: 'object',
          properties: {
            steps: { type: 'array', items: { type: 'string' } }, producer: { type: ['string', 'null'] },
            lastCommitAt: { type: ['string', 'null'], format: 'date-time' }, watermark: { type: ['string', 'null'], format: 'date-time' },
            rejected: { type: 'integer' }, delivered: { type: ['integer', 'null'] },
          },
        },
        truncated: { type: 'boolean', description: 'More rows exist beyond limit.' },
      },
    },
    status: { enum: ['OK', 'WARN', 'CRIT', 'NoData', 'Error'], description: 'Alert widgets and endpoints with rules.' },
    reasons: { type: 'array', items: { type: 'string' } },
    error: { type: 'string' },
  },
};

export const DENIED = {
  401: { description: 'A token is needed', content: { 'application/json': { schema: ERROR } } },
  403: { description: 'The token lacks the role', content: { 'application/json': { schema: ERROR } } },
};
