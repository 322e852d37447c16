import { inject, injectable, pluginModule, TOKENS, type Row, type Transform } from '../../../core/sdk/index.ts';

interface DedupeConfig {
  key: string[];
  keep: 'first' | 'last';
  scope: 'batch' | 'run';
  maxKeys: number;
}

/**
 * Drops records whose key was already seen: within each batch, or (scope: run) across batches, remembering
 * the most recent `maxKeys` keys (least recently seen are forgotten first); the seen keys persist with the checkpoint.
 */
@injectable()
export class Dedupe implements Transform {
  private seen = new Map<string, true>();

  constructor(@inject(TOKENS.Config) private readonly config: DedupeConfig) {}

  process(records: Row[]): Row[] {
    const inBatch = new Map<string, Row>();
    for (const record of records) {
      const key = JSON.stringify(this.config.key.map((k) => record[k] ?? null));
      if (this.config.keep === 'last') inBatch.delete(key);
      if (!inBatch.has(key)) inBatch.set(key, record);
    }
    if (this.config.scope === 'batch') return [...inBatch.values()];
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
    return out;
  }

  snapshot(): unknown {
    return this.config.scope === 'run' ? [...this.seen.keys()] : null;
  }

  restore(state: unknown): void {
    if (Array.isArray(state)) this.seen = new Map(state.map((k) => [String(k), true]));
  }
}

export default pluginModule({
  kind: 'transform',
  name: 'dedupe',
  summary: 'Drops records whose key was seen before, in the batch or across the run (bounded memory).',
  stability: 'stable',
  config: {
    type: 'object',
    additionalProperties: false,
    required: ['key'],
    properties: {
      key: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Fields that identify a record.', examples: [['transaction_id']] },
      keep: { enum: ['first', 'last'], default: 'first', description: 'Within a batch, keep the first or the last record of a key.' },
      scope: { enum: ['batch', 'run'], default: 'batch', description: 'batch: duplicates inside each batch; run: also keys seen in earlier batches (persisted).' },
      maxKeys: { type: 'integer', minimum: 1, default: 1000000, description: 'Keys remembered in run scope.' },
    },
  },
}, Dedupe);
