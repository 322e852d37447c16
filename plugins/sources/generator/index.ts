import { createRequire } from 'node:module';
import type { Faker } from '@faker-js/faker';
import {
  configSchema,
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type Batch,
  type Clock,
  type ConfigOf,
  type ConfigSchema,
  type Row,
  type Source,
  type SourceRun,
  type StepInfo,
} from '../../../core/sdk/index.ts';
import { checkField, corruptValue, makeField } from './fields.ts';

/**
 * A faker of its own for each generator (each seeds it per record). faker is loaded when a generator is built, not by
 * every process that lists plugins, and from its English entry point: the package's main one loads all ~70 locales
 * (~40 MB and ~0.1 s at start). That entry point gives a ready instance only; its class and locale data make ours.
 */
function newFaker(): Faker {
  const { faker: english } = createRequire(import.meta.url)(
    '@faker-js/faker/locale/en',
  ) as typeof import('@faker-js/faker/locale/en');
  const FakerClass = english.constructor as new (options: { locale: Faker['rawDefinitions'] }) => Faker;
  return new FakerClass({ locale: english.rawDefinitions });
}

type GeneratorConfig = ConfigOf<typeof CONFIG>;
/**
 * How one field of a generated record is made: one of const, faker, oneOf, … (checkField). Fields are made in
 * declaration order, so `when` conditions and `{{field}}` template placeholders can use earlier fields.
 */
export type FieldSpec = GeneratorConfig['fields'][string];

/**
 * Declarative synthetic records (faker), reproducible: record i is drawn from (seed, i) alone, so a restart that
 * resumes from the checkpoint (the number of records emitted) continues the same stream instead of repeating it.
 *
 * - `count` without `rate`: a batch source making `count` records in all, in batches of `batchSize`.
 * - `rate`: streams batches paced to `rate` records per second until stopped (or until `count` in all).
 * - `--once` (run.once): makes `count` records, or one batch of `batchSize`, at once without pacing.
 * - `daily`: each run makes the `count` records of one day (the --date, else the clock's UTC date + `dayOffset`),
 *   drawn from (seed, day, index): making a day again gives the same records, so a re-run or a backfill is idempotent.
 *
 * `{now: true}` fields take the injected clock's time when each batch is made.
 */
@injectable()
export class Generator implements Source {
  private readonly faker = newFaker();

  constructor(
    @inject(TOKENS.Config) private readonly config: GeneratorConfig,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Step) private readonly step: StepInfo,
  ) {
    const names = Object.keys(config.fields);
    names.forEach((field, i) => {
      try {
        checkField(config.fields[field], this.faker, names.slice(0, i));
      } catch (error) {
        throw new Error(`${step.id}: field ${field}: ${(error as Error).message}`);
      }
    });
    if (config.daily && (config.count === undefined || config.rate !== undefined))
      throw new Error(`${step.id}: daily needs count (the records of a day) and no rate`);
    const unknown = (config.corrupt?.fields ?? []).filter((f) => !names.includes(f));
    if (unknown.length) throw new Error(`${step.id}: corrupt.fields: ${unknown.join(', ')} not among the fields`);
  }

  async *read(run: SourceRun): AsyncIterable<Batch> {
    if (this.config.daily) return yield* this.day(run);
    const day = run.date ?? this.clock.now().toISOString().slice(0, 10);
    const { count, rate, batchSize } = this.config;
    let emitted = typeof run.checkpoint === 'number' ? run.checkpoint : 0;
    const streaming = rate !== undefined && !run.once;
    const limit = count ?? (streaming ? Infinity : emitted + batchSize);
    const started = this.clock.now().getTime();
    const startIndex = emitted;
    while (emitted < limit && !run.signal.aborted) {
      const size = Math.min(batchSize, limit - emitted);
      const records = this.records(emitted, size, day);
      // Records from…to of the stream: the same batch when a restart re-makes it from the checkpoint.
      const first = emitted;
      const position = `${emitted}-${emitted + size}`;
      emitted += size;
      yield {
        records,
        checkpoint: emitted,
        position,
        origin: (index) => `${this.step.id} record ${first + index} (seed ${this.config.seed})`,
      };
      if (streaming && emitted < limit) {
        // Pace by the schedule, not by sleeping a fixed time, so slow downstream steps don't lower the rate.
        const due = started + ((emitted - startIndex) / rate!) * 1000;
        const wait = due - this.clock.now().getTime();
        if (wait > 0) await this.clock.sleep(wait, run.signal);
      }
    }
  }

  /** Daily mode: the whole day's records; the checkpoint (the day made last) is not needed to resume. */
  private async *day(run: SourceRun): AsyncIterable<Batch> {
    const today = new Date(this.clock.now().getTime() + this.config.dayOffset * 86_400_000).toISOString().slice(0, 10);
    const day = run.date ?? today;
    const count = this.config.count!;
    for (let from = 0; from < count && !run.signal.aborted; from += this.config.batchSize) {
      const size = Math.min(this.config.batchSize, count - from);
      yield {
        records: this.records(from, size, day, Date.parse(`${day}T00:00:00Z`) / 86_400_000),
        checkpoint: from + size === count ? { day } : undefined,
        position: `${day}#${from}-${from + size}`,
        origin: (index) => `${this.step.id} ${day} record ${from + index} (seed ${this.config.seed})`,
      };
    }
  }

  /** Records `from` … `from + size - 1` of the stream (of `dayNumber`'s stream in daily mode). */
  records(from: number, size: number, day = this.clock.now().toISOString().slice(0, 10), dayNumber?: number): Row[] {
    const now = this.clock.now();
    const out: Row[] = [];
    const corrupt = this.config.corrupt;
    for (let index = from; index < from + size; index++) {
      this.faker.seed(
        dayNumber === undefined ? this.config.seed * 1_000_003 + index : [this.config.seed, dayNumber, index],
      );
      const record: Row = {};
      for (const [field, spec] of Object.entries(this.config.fields)) {
        try {
          record[field] = makeField(spec, { faker: this.faker, index, now, day, record });
        } catch (error) {
          throw new Error(`field ${field}: ${(error as Error).message}`);
        }
      }
      if (corrupt && corrupt.fields.length && this.faker.number.float({ min: 0, max: 1 }) < corrupt.ratio) {
        const field = this.faker.helpers.arrayElement(corrupt.fields);
        record[field] = corrupt.values?.length
          ? this.faker.helpers.arrayElement(corrupt.values)
          : corruptValue(record[field], this.faker);
      }
      out.push(record);
    }
    return out;
  }
}

const pair = configSchema({ type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 });
/** then/else: a field spec again. Typed as any schema, so ConfigOf does not follow the recursion (they read unknown). */
const ANOTHER_FIELD: ConfigSchema = { $ref: '#/$defs/field' };

const fieldSpec = configSchema({
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  description:
    'How a field is made: exactly one of const, faker, oneOf, int, float, sequence, uuid, now, template, when (with its options).',
  properties: {
    const: { description: 'This value in every record.', examples: ['web'] },
    faker: {
      type: 'string',
      description: 'A faker method by path (fakerjs.dev/api), called with `args`.',
      examples: ['person.fullName', 'location.countryCode', 'internet.email'],
    },
    args: { type: 'array', description: 'Arguments of the faker method.', examples: [[{ min: 1, max: 9 }]] },
    oneOf: {
      type: 'array',
      minItems: 1,
      description: 'One of these values, uniformly or by `weights`.',
      examples: [['login', 'purchase', 'payment_failed']],
    },
    weights: {
      type: 'array',
      items: { type: 'number', minimum: 0 },
      description: 'Relative weights of the oneOf values, in order.',
      examples: [[60, 30, 10]],
    },
    int: { ...pair, description: 'An integer in [min, max].', examples: [[1, 1000]] },
    float: { ...pair, description: 'A number in [min, max], rounded to `decimals`.', examples: [[5, 250]] },
    decimals: { type: 'integer', minimum: 0, description: 'Decimals of a float (default 2).', examples: [2] },
    sequence: {
      type: 'object',
      additionalProperties: false,
      description: "start + the record's position in the stream; text when prefix or pad is given.",
      properties: {
        start: { type: 'integer', description: 'The first value (default 1).', examples: [1000] },
        prefix: { type: 'string', description: 'Text before the number.', examples: ['ORD-'] },
        pad: { type: 'integer', minimum: 0, description: 'Zero-pad the number to this many digits.', examples: [6] },
      },
    },
    uuid: { const: true, description: 'A random (seeded) UUID.' },
    now: { const: true, description: "The clock's time when the batch is made (a timestamp)." },
    dayTime: {
      ...pair,
      description:
        "A timestamp between these hours (UTC) of the day being made: the --date, the daily mode's day, or the clock's date.",
      examples: [[8, 22]],
    },
    template: {
      type: 'string',
      description:
        "Text with placeholders: {{digits:N}} N random digits, {{int:A:B}} an integer in [A, B], {{year}} the current year, {{date}} the day being made (YYYY-MM-DD), {{uuid}}, {{index}} the record's position, {{field}} an earlier field's value.",
      examples: ['TX-{{digits:10}}-{{year}}', 'user_{{int:1:2000}}'],
    },
    when: {
      type: 'object',
      required: ['field', 'in'],
      additionalProperties: false,
      description: 'Condition on an earlier field: `then` when its value is one of `in`, else `else` (default null).',
      properties: {
        field: { type: 'string', description: 'An earlier field.' },
        in: { type: 'array', description: 'Values for which `then` applies.' },
      },
    },
    then: ANOTHER_FIELD,
    else: ANOTHER_FIELD,
  },
  // A condition means nothing without what it chooses, and then/else nothing without a condition.
  dependentRequired: { when: ['then'], then: ['when'], else: ['when'] },
});

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['fields'],
  $defs: { field: fieldSpec },
  properties: {
    seed: { type: 'integer', default: 1, description: 'Same seed, same records.' },
    count: {
      type: 'integer',
      minimum: 1,
      description: 'Total records to make, then stop. Without it and with rate, it streams until stopped.',
      examples: [1000],
    },
    rate: {
      type: 'number',
      exclusiveMinimum: 0,
      description: 'Records per second (streaming). With --once, one batch is made at once.',
      examples: [10],
    },
    batchSize: { type: 'integer', minimum: 1, default: 100, description: 'Records per batch.' },
    daily: {
      type: 'boolean',
      default: false,
      description:
        "Each run makes the `count` records of one day: the --date (a backfill), else the clock's UTC date plus `dayOffset`. Records are drawn from (seed, day, index), so making a day again gives the same records (idempotent re-runs); dayTime fields and {{date}} take that day.",
    },
    dayOffset: {
      type: 'integer',
      default: 0,
      description:
        "Daily mode without --date: days added to the clock's date (-1: yesterday, for a run just after midnight).",
      examples: [-1],
    },
    fields: {
      type: 'object',
      additionalProperties: { $ref: '#/$defs/field' },
      minProperties: 1,
      description:
        'Field name → how to make it, one of: {const: v}; {faker: "person.fullName", args: [...]}; {oneOf: [...], weights: [...]}; {int: [min, max]}; {float: [min, max], decimals: 2}; ' +
        '{sequence: {start: 1, prefix: "ORD-", pad: 6}}; {uuid: true}; {now: true} (the clock\'s time); {dayTime: [8, 22]} (a time of the day being made); {template: "TX-{{digits:10}}-{{year}}"} with {{digits:N}}, {{int:A:B}}, {{year}}, {{date}}, {{uuid}}, {{index}}, {{<earlier field>}}; ' +
        '{when: {field, in: [...]}, then: <spec>, else: <spec>} (else default null). Fields are made in order, so `when` and templates can use earlier ones.',
      examples: [
        {
          id: { uuid: true },
          event_type: { oneOf: ['login', 'purchase'], weights: [70, 30] },
          amount: { when: { field: 'event_type', in: ['purchase'] }, then: { float: [5, 250], decimals: 2 } },
          at: { now: true },
        },
      ],
    },
    corrupt: {
      type: 'object',
      additionalProperties: false,
      required: ['ratio', 'fields'],
      description:
        'Makes a share of records malformed, for demos of validation and dead-letter: {ratio: 0.02, fields: [amount, currency], values: [optional bad values]}. One of `fields` gets a bad value (default by type: a negative number, "12,5 €", empty text, "N/A", an unparseable date, null).',
      examples: [{ ratio: 0.02, fields: ['amount'] }],
      properties: {
        ratio: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          description: 'Share of records made malformed.',
          examples: [0.02],
        },
        fields: {
          type: 'array',
          items: { type: 'string' },
          minItems: 1,
          description: 'Fields that may get a bad value.',
          examples: [['amount', 'currency']],
        },
        values: {
          type: 'array',
          minItems: 1,
          description:
            'The bad values to use (default: by type — a negative number, "12,5 €", empty text, "N/A", an unparseable date, null).',
          examples: [[-1, 'N/A', null]],
        },
      },
    },
  },
});

export default pluginModule(
  {
    kind: 'source',
    name: 'generator',
    summary:
      'Declarative synthetic records (faker), seeded and reproducible, at a rate or a count; optional malformed values for demos.',
    checkpoint: {
      oneOf: [
        { type: 'integer', minimum: 0, description: 'Records made so far.' },
        {
          type: 'object',
          required: ['day'],
          properties: { day: { type: 'string' } },
          description: 'The daily mode: the last day made in full.',
        },
      ],
    },
    description:
      'Streams batches paced by `rate` until stopped, or makes `count` records and ends; with --once it makes `count` records or one batch at once. ' +
      'The checkpoint is the number of records emitted, so a restarted generator continues its seeded stream (no repeated ids). ' +
      "With daily, each run makes one day's `count` records (the --date, or today + dayOffset), the same ones every time that day is made.",
    stability: 'stable',
    streaming: true,
    config: CONFIG,
    examples: [
      {
        title: 'Payment events, 2 per second',
        yaml: 'events:\n  use: generator\n  with:\n    rate: 2\n    batchSize: 10\n    fields:\n      event_id: { uuid: true }\n      event_ts: { now: true }\n      event_type: { oneOf: [login, purchase, payment_failed], weights: [60, 30, 10] }\n      amount: { when: { field: event_type, in: [purchase, payment_failed] }, then: { float: [5, 250] } }\n    corrupt: { ratio: 0.01, fields: [amount] }\n',
      },
    ],
  },
  Generator,
);
