import { inject, injectable, pluginModule, TOKENS, type JSONSchema, type Row, type StepInfo, type Transform, type TransformContext } from '../../../core/sdk/index.ts';
import { createAjv, describeAjvError } from '../../../core/manifest/config.ts';

interface ValidateConfig {
  schema: JSONSchema;
  coerce: boolean;
}

const strict = createAjv({ coerce: false, defaults: false });
const coercing = createAjv({ coerce: true, defaults: true });

/**
 * JSON Schema per record. A record that fails goes to dead-letter with every reason (`amount: must be > 0`);
 * the others pass on. Timestamps (Date values) are validated as ISO strings, so `format: date-time` applies.
 * With `coerce`, values are converted to the declared types (and defaults applied) in the output.
 */
@injectable()
export class Validate implements Transform {
  private readonly validate: ReturnType<typeof strict.compile>;

  constructor(@inject(TOKENS.Config) private readonly config: ValidateConfig, @inject(TOKENS.Step) step: StepInfo) {
    try {
      this.validate = (config.coerce ? coercing : strict).compile(config.schema);
    } catch (error) {
      throw new Error(`${step.id}: invalid schema: ${(error as Error).message}`);
    }
  }

  process(records: Row[], ctx: TransformContext): Row[] {
    const out: Row[] = [];
    for (const record of records) {
      const value = jsonLike(record);
      if (this.validate(value)) {
        out.push(this.config.coerce ? (value as Row) : record);
        continue;
      }
      ctx.reject(record, (this.validate.errors ?? []).map((error) => {
        const { path, message } = describeAjvError(error);
        const field = path.join('.');
        return field ? `${field}: ${message}` : message;
      }));
    }
    return out;
  }
}

/** Dates become ISO strings; undefined fields disappear; the record itself is never changed. */
function jsonLike(record: Row): Row {
  const copy: Row = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined) continue;
    copy[key] = value instanceof Date ? (Number.isNaN(value.getTime()) ? null : value.toISOString()) : value;
  }
  return copy;
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
