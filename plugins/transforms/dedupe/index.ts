import {
  configSchema,
  DataError,
  fieldOf,
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type ConfigOf,
  type Row,
  type Transform,
  type TransformContext,
} from '../../../core/sdk/index.ts';

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['key'],
  properties: {
    key: {
      type: 'array',
      items: { type: 'string' },
      minItems: 1,
      description: 'Fields that identify a record.',
      examples: [['transaction_id']],
    },
    keep: {
      enum: ['first', 'last'],
      default: 'first',
      description:
        'Within a batch, keep the first or the last record of a key (in run scope, a key seen in an earlier batch is dropped either way).',
    },
    scope: {
      enum: ['batch', 'run'],
      default: 'batch',
      description: 'batch: duplicates inside each batch; run: also keys seen in earlier batches (persisted).',
    },
    nulls: {
      enum: ['equal', 'distinct'],
      default: 'equal',
      description:
        'equal: a null or missing key field is a value like any other (records keyed null are duplicates of each other); distinct: a record with a null key field is never a duplicate and passes on (e.g. to a validation that rejects it with its reason).',
    },
    maxKeys: {
      type: 'integer',
      minimum: 1,
      default: 1000000,
      description: 'Keys remembered in run scope; beyond it the least recently seen are forgotten.',
      examples: [100000],
    },
  },
});

type DedupeConfig = ConfigOf<typeof CONFIG>;

/**
 * Drops records whose key was already seen: within each batch (keeping the first or the last record of a key), or
 * (scope: run) also across batches, remembering the `maxKeys` most recently seen keys (an LRU: the least recently
 * seen are forgotten first). The seen keys are saved with the checkpoint (snapshot/restore), so a restart does not
 * let duplicates through. A key is the JSON of the key fields' values (a missing field counts as null; Dates as ISO).
 * With `nulls: distinct`, a record with a null or missing key field duplicates nothing (as in a SQL unique
 * constraint): it passes on, so that a validation after it can reject it with its reason instead of it vanishing here.
 */
@injectable()
export class Dedupe implements Transform {
  private seen = new Map<string, true>();

  constructor(@inject(TOKENS.Config) private readonly config: DedupeConfig) {}

  process(records: Row[], ctx?: TransformContext): Row[] {
    const inBatch = new Map<string, Row>();
    const keyless: Row[] = [];
    for (const record of records) {
      const values = this.config.key.map((k) => fieldOf(record, k) ?? null);
      if (this.config.nulls === 'distinct' && values.includes(null)) {
        keyless.push(record);
        continue;
      }
      let key: string;
      try {
        key = JSON.stringify(values);
      } catch (error) {
        // A key value nested too deeply to compare is this record's problem, not the batch's.
        if (!ctx) throw new DataError(`the key cannot be compared: ${(error as Error).message}`, { cause: error });
        ctx.reject(
          record,
          `${this.config.key.join(', ')}: the key cannot be compared (${error instanceof RangeError ? 'nested too deeply' : (error as Error).message})`,
        );
        continue;
      }
      if (this.config.keep === 'last') inBatch.delete(key);
      if (!inBatch.has(key)) inBatch.set(key, record);
    }
    if (this.config.scope === 'batch') return [...inBatch.values(), ...keyless];
    const out: Row[] = [];
    for (const [key, record] of inBatch) {
      const known = this.seen.delete(key);
      this.seen.set(key, true);
      if (!known) out.push(record);
    }
    for (const key of this.seen.keys()) {
      if (this.seen.size <= this.config.maxKeys) break;
      this.seen.delete(key);
    }
    return [...out, ...keyless];
  }

  snapshot(): unknown {
    return this.config.scope === 'run' ? [...this.seen.keys()] : null;
  }

  restore(state: unknown): void {
    if (!Array.isArray(state)) return;
    const keys = state.length > this.config.maxKeys ? state.slice(state.length - this.config.maxKeys) : state;
    this.seen = new Map(keys.map((k) => [String(k), true]));
  }
}

export default pluginModule(
  {
    kind: 'transform',
    name: 'dedupe',
    summary: 'Drops records whose key was seen before, in the batch or across the run (bounded memory).',
    stability: 'stable',
    config: CONFIG,
  },
  Dedupe,
);
