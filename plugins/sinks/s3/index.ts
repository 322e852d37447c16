import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { inject, injectable, pluginModule, TOKENS, type Connections, type Row, type Sink, type StepInfo } from '../../../core/sdk/index.ts';
import { DuckDbClient } from '../../../core/connections/duckdb/index.ts';
import type { ObjectStore } from '../../../core/connections/s3/index.ts';
import { writeRows } from '../../../core/formats/write.ts';

interface S3SinkConfig {
  bucket: string;
  key: string;
  format: 'csv' | 'parquet';
  partitionBy?: string;
  createBucket: boolean;
}

/** Puts each batch as objects under a date-partitioned key (one object per batch and day, never overwritten). */
@injectable()
export class S3Sink implements Sink {
  private scratch?: Promise<DuckDbClient>;
  private ready = false;

  constructor(
    @inject(TOKENS.Config) private readonly config: S3SinkConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
  ) {}

  async write(records: Row[]): Promise<void> {
    if (!records.length) return;
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
    } catch (error) {
      throw new Error(`${this.step.id}: writing to s3://${this.config.bucket}: ${(error as Error).message}`);
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
      key: { type: 'string', pattern: '\\{uuid\\}', description: 'Object key; {YYYY}/{MM}/{DD} from partitionBy (or today), {uuid} unique per batch (required, so nothing is overwritten).', examples: ['sales/{YYYY}/{MM}/{DD}/part-{uuid}.csv'] },
      format: { enum: ['csv', 'parquet'], default: 'csv', description: 'Object format.' },
      partitionBy: { type: 'string', description: 'Date field choosing the partition of each record.' },
      createBucket: { type: 'boolean', default: true, description: 'Create the bucket when missing.' },
    },
  },
}, S3Sink);
