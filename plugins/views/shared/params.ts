// Typed query-string parameters: validation with messages that name the parameter, defaults, and OpenAPI.

export type ParamType = 'integer' | 'number' | 'string' | 'boolean' | 'date' | 'timestamp';

export interface ParamSpec {
  type: ParamType;
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  enum?: (string | number)[];
  /** Text values: the form they take (for the OpenAPI document; the parser checks them itself). */
  pattern?: string;
  required?: boolean;
  /** Several values (`?id=a&id=b`). */
  array?: boolean;
}

/** A 400 answer: `message` names the parameter. */
export class ParamError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
  }
}

export const PARAM_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: {
      enum: ['integer', 'number', 'string', 'boolean', 'date', 'timestamp'],
      description: 'Value type; a malformed value is answered with 400 naming the parameter.',
    },
    description: { type: 'string', description: 'Shown in the OpenAPI document.' },
    default: { description: 'Value when the parameter is absent.' },
    minimum: { type: 'number', description: 'Smallest allowed value (numbers).' },
    maximum: { type: 'number', description: 'Largest allowed value (numbers).' },
    enum: { type: 'array', items: { type: ['string', 'number'] }, description: 'Allowed values.' },
    required: { type: 'boolean', default: false, description: 'Answer 400 when absent (and no default).' },
  },
} as const;

/** Converts one raw value; throws ParamError. */
export function coerceParam(name: string, raw: string, spec: ParamSpec): unknown {
  let value: unknown;
  switch (spec.type) {
    case 'integer':
      if (!/^[-+]?\d+$/.test(raw.trim()))
        throw new ParamError(name, `${name} must be an integer (got ${JSON.stringify(raw)})`);
      value = Number(raw);
      // Beyond 2^53 a number is no longer the integer written (and databases' BIGINT ends at 2^63).
      if (!Number.isSafeInteger(value))
        throw new ParamError(name, `${name} is out of range (got ${raw.trim()}; at most ${Number.MAX_SAFE_INTEGER})`);
      break;
    case 'number':
      if (raw.trim() === '' || !Number.isFinite(Number(raw)))
        throw new ParamError(name, `${name} must be a number (got ${JSON.stringify(raw)})`);
      value = Number(raw);
      break;
    case 'boolean':
      if (!['true', 'false', '1', '0'].includes(raw))
        throw new ParamError(name, `${name} must be true or false (got ${JSON.stringify(raw)})`);
      value = raw === 'true' || raw === '1';
      break;
    case 'date':
      if (!isIsoDate(raw)) throw new ParamError(name, `${name} must be a date YYYY-MM-DD (got ${JSON.stringify(raw)})`);
      value = raw;
      break;
    case 'timestamp': {
      const time = Date.parse(raw);
      if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || Number.isNaN(time))
        throw new ParamError(name, `${name} must be an ISO timestamp (got ${JSON.stringify(raw)})`);
      value = new Date(time);
      break;
    }
    default:
      value = raw;
  }
  checkBounds(name, value, spec);
  return value;
}

function checkBounds(name: string, value: unknown, spec: ParamSpec): void {
  if (typeof value === 'number') {
    const { minimum: min, maximum: max } = spec;
    const low = min !== undefined && value < min;
    const high = max !== undefined && value > max;
    if (low || high) {
      if (min !== undefined && max !== undefined)
        throw new ParamError(name, `${name} must be between ${min} and ${max} (got ${value})`);
      if (low) throw new ParamError(name, `${name} must be at least ${min} (got ${value})`);
      throw new ParamError(name, `${name} must be at most ${max} (got ${value})`);
    }
  }
  if (spec.enum && !spec.enum.some((allowed) => String(allowed) === String(value))) {
    throw new ParamError(name, `${name} must be one of ${spec.enum.join(', ')} (got ${JSON.stringify(String(value))})`);
  }
}

export function isIsoDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

/**
 * Reads every declared parameter from `search`, applying defaults. Unknown parameters, repeated scalars and
 * malformed values throw ParamError.
 */
export function parseParams(specs: Record<string, ParamSpec>, search: URLSearchParams): Record<string, unknown> {
  for (const key of new Set(search.keys())) {
    if (!Object.hasOwn(specs, key)) {
      throw new ParamError(
        key,
        `unknown parameter "${key}"${Object.keys(specs).length ? ` (expected: ${Object.keys(specs).join(', ')})` : ''}`,
      );
    }
  }
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const raws = search.getAll(name);
    if (raws.length === 0) {
      if (spec.required && spec.default === undefined) throw new ParamError(name, `${name} is required`);
      values[name] = spec.default ?? null;
    } else if (spec.array) {
      values[name] = raws.filter((r) => r !== '').map((raw) => coerceParam(name, raw, spec));
    } else {
      if (raws.length > 1) throw new ParamError(name, `${name} must be given once (got ${raws.length} values)`);
      values[name] = coerceParam(name, raws[0], spec);
    }
  }
  return values;
}

/** An OpenAPI parameter object for one query parameter. */
export function openApiParam(name: string, spec: ParamSpec): Record<string, unknown> {
  const base: Record<string, unknown> = {
    type: spec.type === 'date' || spec.type === 'timestamp' ? 'string' : spec.type,
  };
  if (spec.type === 'date') base.format = 'date';
  if (spec.type === 'timestamp') base.format = 'date-time';
  if (spec.minimum !== undefined) base.minimum = spec.minimum;
  if (spec.maximum !== undefined) base.maximum = spec.maximum;
  if (spec.enum) base.enum = spec.enum;
  if (spec.pattern) base.pattern = spec.pattern;
  if (spec.default !== undefined && spec.default !== null) base.default = spec.default;
  const schema = spec.array ? { type: 'array', items: base } : base;
  return {
    name,
    in: 'query',
    required: Boolean(spec.required && spec.default === undefined),
    schema,
    ...(spec.array ? { style: 'form', explode: true } : {}),
    ...(spec.description ? { description: spec.description } : {}),
  };
}
