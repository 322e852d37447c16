import { Faker, en } from '@faker-js/faker';
import { inject, injectable, pluginModule, TOKENS, type Batch, type Clock, type Row, type Source, type SourceRun } from '../../../core/sdk/index.ts';
import { makeField, type FieldSpec } from './fields.ts';

interface GeneratorConfig {
  seed: number;
  count?: number;
  rate?: number;
  batchSize: number;
  fields: Record<string, FieldSpec>;
}

/**
 * Declarative synthetic records (faker), reproducible: record i is drawn from seed + i, so a restart that
 * resumes from the checkpoint (the number emitted) continues the same stream instead of repeating it.
 * With `rate`, batches are paced to that many records per second and the source streams until stopped.
 */
@injectable()
export class Generator implements Source {
  private readonly faker = new Faker({ locale: [en] });

  constructor(@inject(TOKENS.Config) private readonly config: GeneratorConfig, @inject(TOKENS.Clock) private readonly clock: Clock) {}

  async *read(run: SourceRun): AsyncIterable<Batch> {
    const { count, rate, batchSize } = this.config;
    let emitted = (run.checkpoint as number | undefined) ?? 0;
    const streaming = rate !== undefined && !run.once;
    const limit = count ?? (streaming ? Infinity : emitted + batchSize);
    const started = Date.now();
    const startIndex = emitted;
    while (emitted < limit && !run.signal.aborted) {
      const size = Math.min(batchSize, limit - emitted);
      const records = this.records(emitted, size);
      emitted += size;
      yield { records, checkpoint: emitted };
      if (streaming) {
        // Pace by the schedule, not by sleeping a fixed time, so slow downstream steps don't lower the rate.
        const due = started + ((emitted - startIndex) / rate!) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await this.clock.sleep(wait, run.signal);
      }
    }
  }

  private records(from: number, size: number): Row[] {
    const now = this.clock.now();
    const out: Row[] = [];
    for (let index = from; index < from + size; index++) {
      this.faker.seed(this.config.seed * 1_000_003 + index);
      const record: Row = {};
      for (const [field, spec] of Object.entries(this.config.fields)) {
        try {
          record[field] = makeField(spec, { faker: this.faker, index, now, record });
        } catch (error) {
          throw new Error(`field ${field}: ${(error as Error).message}`);
        }
      }
      out.push(record);
    }
    return out;
  }
}

const fieldSpec = {
  type: 'object',
  description: 'One of: {const}, {faker: "person.fullName", args}, {oneOf: [...], weights: [...]}, {int: [min, max]}, {float: [min, max], decimals}, {sequence: {start, prefix, pad}}, {uuid: true}, {now: true}, {template: "TX-{{digits:10}}-{{year}}"}, {when: {field, in: [...]}, then: <spec>, else: <spec>}.',
  minProperties: 1,
} as const;

export default pluginModule({
  kind: 'source',
  name: 'generator',
  summary: 'Declarative synthetic records (faker), seeded and reproducible, at a rate or a count.',
  stability: 'stable',
  streaming: true,
  config: {
    type: 'object',
    additionalProperties: false,
    required: ['fields'],
    properties: {
      seed: { type: 'integer', default: 1, description: 'Same seed, same records.' },
      count: { type: 'integer', minimum: 1, description: 'Total records to make, then stop. Without it and with rate, it streams until stopped.' },
      rate: { type: 'number', exclusiveMinimum: 0, description: 'Records per second (streaming). With --once, one batch is made at once.', examples: [10] },
      batchSize: { type: 'integer', minimum: 1, default: 100, description: 'Records per batch.' },
      fields: { type: 'object', additionalProperties: fieldSpec, minProperties: 1, description: 'Field name → how to make it, in order.', examples: [{ id: { uuid: true }, amount: { float: [5, 250], decimals: 2 }, at: { now: true } }] },
    },
  },
  examples: [{
    title: 'Payment events, 2 per second',
    yaml: 'events:\n  use: generator\n  with:\n    rate: 2\n    batchSize: 10\n    fields:\n      event_id: { uuid: true }\n      event_type: { oneOf: [login, purchase, payment_failed], weights: [60, 30, 10] }\n      amount: { when: { field: event_type, in: [purchase, payment_failed] }, then: { float: [5, 250] } }\n',
  }],
}, Generator);
