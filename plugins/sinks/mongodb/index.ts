import {
  configSchema,
  inject,
  injectable,
  pluginModule,
  SnapshotBuffer,
  TOKENS,
  type ConfigOf,
  type Connections,
  type Row,
  type Sink,
  type SinkContext,
  type StepInfo,
} from '../../../core/sdk/index.ts';
import type { DocumentStore } from '../../../connections/mongodb/index.ts';

type MongoSinkConfig = ConfigOf<typeof CONFIG>;

/**
 * Writes documents: upsert by key with one bulk write per batch; replace swaps the whole collection (write a
 * staging collection, rename it over the old one) so readers never see half of it; append inserts.
 * In replace mode, a source's whole result (a query source's run, see `Batch.snapshot`) becomes the collection on
 * its last batch, all its pages together, and an empty result empties the collection; other sources' batches
 * each replace it. Appended batches with an identity (`SinkContext.batch`) are inserted once: each document's
 * `_id` comes from the batch id and its place in the batch, so a batch delivered again after a crash (all of it,
 * or the rest of it when the crash came mid-insert) adds nothing twice.
 */
@injectable()
export class MongoSink implements Sink {
  private readonly wholeResult = new SnapshotBuffer();

  constructor(
    @inject(TOKENS.Config) private readonly config: MongoSinkConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
  ) {
    if (config.mode === 'upsert' && !config.key?.length) throw new Error(`${step.id}: mode upsert needs key`);
  }

  async write(batch: Row[], ctx?: SinkContext): Promise<void> {
    const records = this.config.mode === 'replace' ? this.wholeResult.collect(batch, ctx?.snapshot) : batch;
    if (!records || (records.length === 0 && this.config.mode !== 'replace')) return;
    const store = await this.connections.get<DocumentStore>(this.step.connection!, 'mongodb');
    try {
      if (this.config.mode === 'replace') {
        await store.replaceCollection(this.config.collection, records);
        this.wholeResult.done();
      } else if (this.config.mode === 'upsert')
        await store.upsertMany(this.config.collection, records, this.config.key!);
      else if (ctx?.batch) await store.insertOnce(this.config.collection, records, ctx.batch.id);
      else await store.insertMany(this.config.collection, records);
    } catch (error) {
      throw new Error(
        `${this.step.id}: writing ${records.length} document(s) to ${this.config.collection}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
}

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['collection'],
  properties: {
    collection: { type: 'string', description: 'Target collection.', examples: ['product_winners'] },
    mode: {
      enum: ['upsert', 'replace', 'append'],
      default: 'upsert',
      description:
        "upsert by key (bulk write); replace the whole collection, atomically, with the source's whole result (all pages of a query source's run; empty when the result is empty) or with each batch of other sources; append.",
    },
    key: {
      type: 'array',
      items: { type: 'string' },
      minItems: 1,
      description: 'Fields identifying a document for upsert.',
      examples: [['client_id']],
    },
  },
});

export default pluginModule(
  {
    kind: 'sink',
    name: 'mongodb',
    summary:
      'Writes documents to a MongoDB-wire server (or the embedded store): upsert by key, replace atomically, or append.',
    stability: 'beta',
    connectionTypes: ['mongodb'],
    connectionRequired: true,
    config: CONFIG,
  },
  MongoSink,
);
