import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { inject, injectable, pluginModule, SnapshotBuffer, TOKENS, type Connections, type Row, type Sink, type SinkContext, type StepInfo } from '../../../core/sdk/index.ts';
import { DuckDbClient } from '../../../core/connections/duckdb/index.ts';
import type { ObjectStore } from '../../../core/connections/s3/index.ts';
import { writeRows } from '../../../core/formats/write.ts';

interface S3SinkConfig {
  bucket: string;
  key: string;
  format: 'csv' | 'parquet';
  mode: 'new' | 'replace';
  partitionBy?: string;
  createBucket: boolean;
}

/**
 * Puts each batch as objects under a date-partitioned key: in mode `new` one object per batch and day, never
 * overwritten ({uuid} in the key); in mode `replace` the day's object is put again (a daily file made whole in
 * one batch: re-making the day replaces it instead of adding a second copy).
 */
@injectable()
export class S3Sink implements Sink {
  private scratch?: Promise<DuckDbClient>;
  private ready = false;
  private readonly wholeResult = new SnapshotBuffer();

  constructor(
    @inject(TOKENS.Config) private readonly config: S3SinkConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
  ) {
    const unique = config.key.includes('{uuid}');
    if (config.mode === 'new' && !unique) throw new Error(`${step.id}: key "${config.key}" needs {uuid} in mode new (so nothing is overwritten); use mode replace for one object per day`);
    if (config.mode === 'replace' && unique) throw new Error(`${step.id}: key "${config.key}" has {uuid}, which never replaces anything: drop it in mode replace`);
  }

  async write(batch: Row[], ctx?: SinkContext): Promise<void> {
    // In replace mode the pages of a query source's whole result are put as one object, on its last page.
    // (An empty result puts nothing: the day's object, if any, stays.)
    const records = this.config.mode === 'replace' ? this.wholeResult.collect(batch, ctx?.snapshot) : batch;
    if (!records?.length) return;
    const store = await this.connections.get<ObjectStore>(this.step.connection!, 's3');
    if (!this.ready && this.config.createBucket) await store.ensureBucket(this.config.bucket);
    this.ready = true;
    const db = await (this.scratch ??= DuckDbClient.open(':memory:'));
    const dir = mkdtempSync(join(tmpdir(), 's3-sink-'));
    try {
      // Files are written by DuckDB under a local mirror of the key layout, then put one by one.
      const batch = randomUUID();
      const files = await writeRows(db, records, { format: this.config.format, path: join(dir, this.config.key.replaceAll('{uuid}', batch)), partitionBy: this.config.partitionBy, mode: 'overwrite' });
      for (const file of files) await store.put(this.config.bucket, file.slice(dir.length + 1), readFileSync(file));
      this.wholeResult.done();
    } catch (error) {
      throw new Error(`${this.step.id}: writing to s3://${this.config.bucket}: ${(error as Error).message}`, { cause: error });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    if (this.scratch) (await this.scratch).close();
  }
}

export default pluginModule({
  kind: 'sink',
  name: 's3',
  summary: 'Puts batches as CSV or Parquet objects under date-partitioned keys.',
  stability: 'beta',
  connectionTypes: ['s3'],
  connectionRequired: true,
  config: {
    type: 'object',
    additionalProperties: false,
    required: ['bucket', 'key'],
    properties: {
      bucket: { type: 'string', description: 'Target bucket.' },
      key: { type: 'string', minLength: 1, description: 'Object key; {YYYY}/{MM}/{DD} from partitionBy (or today), {uuid} unique per batch (required in mode new, so nothing is overwritten).', examples: ['sales/{YYYY}/{MM}/{DD}/part-{uuid}.csv', 'sales/{YYYY}/{MM}/{DD}/sales.csv'] },
      format: { enum: ['csv', 'parquet'], default: 'csv', description: 'Object format.' },
      mode: { enum: ['new', 'replace'], default: 'new', description: 'new: a new object per batch (key with {uuid}); replace: the key (without {uuid}) is put again with each batch — for a day made whole in one batch, e.g. a daily file re-made by a backfill.' },
      partitionBy: { type: 'string', description: 'Date field choosing the partition of each record.' },
      createBucket: { type: 'boolean', default: true, description: 'Create the bucket when missing.' },
    },
  },
}, S3Sink);
