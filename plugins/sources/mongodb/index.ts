import {
  configSchema,
  duration,
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type ConfigOf,
  type Batch,
  type Clock,
  type Connections,
  type Source,
  type SourceRun,
  type StepInfo,
} from '../../../core/sdk/index.ts';
import { fromExtendedJson, toExtendedJson, type DocumentStore } from '../../../connections/mongodb/index.ts';
import { parseDuration } from '../../../core/sdk/duration.ts';

type MongoSourceConfig = ConfigOf<typeof CONFIG>;

/** Reads a collection by a query; with `cursor`, only documents with a larger cursor value than the checkpoint, in pages. */
@injectable()
export class MongoSource implements Source {
  constructor(
    @inject(TOKENS.Config) private readonly config: MongoSourceConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
    @inject(TOKENS.Clock) private readonly clock: Clock,
  ) {}

  async *read(run: SourceRun): AsyncIterable<Batch> {
    const store = await this.connections.get<DocumentStore>(this.step.connection!, 'mongodb');
    const poll = this.config.pollInterval && !run.once ? parseDuration(this.config.pollInterval) : 0;
    const field = this.config.cursor;
    let last = run.checkpoint as unknown;
    do {
      while (!run.signal.aborted) {
        const filter =
          field && last !== undefined
            ? { ...this.config.filter, [field]: { $gt: fromExtendedJson(last) } }
            : this.config.filter;
        const records = await store.find(this.config.collection, filter, {
          sort: field ? { [field]: 1 } : undefined,
          limit: field ? this.config.pageSize : undefined,
        });
        if (!records.length) break;
        if (field) last = toExtendedJson(records[records.length - 1][field]);
        // Documents come without _id (as find gives them): one is named by its cursor value, else its place in the read.
        const origin = field
          ? (index: number) =>
              `${this.config.collection} (${field}=${JSON.stringify(toExtendedJson(records[index]?.[field] ?? null))})`
          : (index: number) => `${this.config.collection} #${index + 1}`;
        yield { records, checkpoint: field ? last : undefined, origin };
        if (!field || records.length < this.config.pageSize) break;
      }
      if (poll) await this.clock.sleep(poll, run.signal);
    } while (poll && !run.signal.aborted);
  }
}

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['collection'],
  properties: {
    collection: { type: 'string', description: 'Collection to read.' },
    filter: { type: 'object', default: {}, description: 'Query filter (equality, $gt/$gte/$lt/$lte/$in/$ne).' },
    cursor: {
      type: 'string',
      description: 'Increasing field (time, sequence); the last value read is the checkpoint.',
      examples: ['updated_at'],
    },
    pageSize: { type: 'integer', minimum: 1, default: 1000, description: 'Documents per batch (with cursor).' },
    pollInterval: duration({ description: 'Query again this often (streaming).' }),
  },
});

export default pluginModule(
  {
    kind: 'source',
    name: 'mongodb',
    summary: 'Reads documents by a query, incrementally by a cursor field, polling when asked.',
    stability: 'beta',
    streaming: true,
    connectionTypes: ['mongodb'],
    connectionRequired: true,
    config: CONFIG,
  },
  MongoSource,
);
