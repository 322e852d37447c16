import { inject, injectable, pluginModule, TOKENS, type JSONSchema, type Row, type StepInfo, type Transform, type TransformContext } from '../../../core/sdk/index.ts';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { createAjv, describeAjvError } from '../../../core/manifest/config.ts';

interface ValidateConfig {
  schema: JSONSchema;
  coerce: boolean;
}

/**
 * JSON Schema per record. A record that fails goes to dead-letter with every reason (`amount: must be > 0`,
 * `missing required property "id"`); the others pass on unchanged. Timestamps (Date values) are validated as ISO
 * strings, so `format: date-time` applies to them, and stay Dates in the output.
 * With `coerce`, values are converted to the declared types ("12" → 12) and defaults applied in the output.
 * Uses the platform's ajv setup (core/manifest/config.ts: the standard formats plus iso3166-alpha2 and iso4217).
 */
@injectable()
export class Validate implements Transform {
  private readonly validate: ValidateFunction;

  constructor(@inject(TOKENS.Config) private readonly config: ValidateConfig, @inject(TOKENS.Step) step: StepInfo) {
    try {
      // An ajv of its own per step: schemas with the same $id in two steps do not clash.
      this.validate = createAjv({ coerce: config.coerce, defaults: config.coerce }).compile(config.schema);
    } catch (error) {
      throw new Error(`${step.id}: invalid schema: ${(error as Error).message}`);
    }
  }

  process(records: Row[], ctx: TransformContext): Row[] {
    const out: Row[] = [];
    for (const record of records) {
      // ajv changes what it validates only when coercing; a record without Dates is validated as it is otherwise.
      const value = this.config.coerce || hasDate(record) ? jsonLike(record) : record;
      if (this.validate(value)) {
        out.push(this.config.coerce ? withDates(value, record) : record);
        continue;
      }
      ctx.reject(record, reasons(this.validate.errors ?? []));
    }
    return out;
  }
}

/** Every error as `path: message`, without ajv's summaries of `if`/`then` (the errors inside are listed). */
export function reasons(errors: ErrorObject[]): string[] {
  const out = new Set<string>();
  for (const error of errors) {
    if (error.keyword === 'if') continue;
    const { path, message } = describeAjvError(error);
    const field = path.join('.');
    out.add(field ? `${field}: ${message}` : message);
  }
  return [...out];
}

function hasDate(record: Row): boolean {
  for (const key in record) {
    const value = record[key];
    if (value instanceof Date || (value !== null && typeof value === 'object')) return true;
  }
  return false;
}

/** Dates become ISO strings (at any depth); undefined fields disappear; the record itself is never changed. */
function jsonLike(value: Row): Row {
  const copy: Row = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) copy[key] = plain(v);
  return copy;
}

function plain(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') return jsonLike(value as Row);
  return value;
}

/** The coerced record with the original Date objects back where the value was not changed. */
function withDates(coerced: Row, original: Row): Row {
  for (const [key, value] of Object.entries(original)) {
    if (value instanceof Date && coerced[key] === plain(value)) coerced[key] = value;
  }
  return coerced;
}

export default pluginModule({
  kind: 'transform',
  name: 'validate',
  summary: 'Validates each record against a JSON Schema; failures go to dead-letter with every reason.',
  stability: 'stable',
  config: {
    type: 'object',
    additionalProperties: false,
    required: ['schema'],
    properties: {
      schema: {
        type: 'object',
        description: 'JSON Schema (2020-12) of one record. Formats include date-time, email, uuid, iso3166-alpha2 and iso4217.',
        examples: [{ type: 'object', required: ['id', 'amount'], properties: { id: { type: 'string' }, amount: { type: 'number', exclusiveMinimum: 0 } } }],
      },
      coerce: { type: 'boolean', default: false, description: 'Convert values to the declared types ("12" → 12) and apply defaults instead of rejecting them.' },
    },
  },
  examples: [{ title: 'Reject bad amounts and unknown currencies', yaml: 'checked:\n  use: validate\n  from: raw\n  with:\n    schema:\n      type: object\n      required: [amount, currency]\n      properties:\n        amount: { type: number, exclusiveMinimum: 0 }\n        currency: { type: string, format: iso4217 }\n' }],
}, Validate);
