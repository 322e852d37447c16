import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  configSchema,
  batchUuid,
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
import { DuckDbClient } from '../../../connections/duckdb/index.ts';
import type { ObjectStore } from '../../../connections/s3/index.ts';
import { writeRows } from '../../../formats/write.ts';

type S3SinkConfig = ConfigOf<typeof CONFIG>;

/** The media type of each format's objects. */
const CONTENT_TYPE = { csv: 'text/csv', parquet: 'application/vnd.apache.parquet' } as const;

/**
 * Puts each batch as objects under a date-partitioned key: in mode `new` one object per batch and day, never
 * overwritten ({uuid} in the key); in mode `replace` the day's object is put again (a daily file made whole in
 * one batch: re-making the day replaces it instead of adding a second copy); in mode `create` the day's object is put
 * only when there is none yet (a simulator never replaces an object someone else put under that key). A batch with an
 * identity (`SinkContext.batch`) gets the same {uuid} each time it is written: put again after a crash, it replaces its
 * first copy (exactly-once). Objects carry their content type and metadata: pipeline, step, records, and the
 * batch's id and source position when it has them.
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
    if (config.mode === 'new' && !unique)
      throw new Error(
        `${step.id}: key "${config.key}" needs {uuid} in mode new (so nothing is overwritten); use mode replace for one object per day`,
      );
    if (config.mode !== 'new' && unique)
      throw new Error(
        `${step.id}: key "${config.key}" has {uuid}, which names a new object every time: drop it in mode ${config.mode}`,
      );
  }

  async write(batch: Row[], ctx?: SinkContext): Promise<void> {
    // In replace mode the pages of a query source's whole result are put as one object, on its last page.
    // (An empty result puts nothing: the day's object, if any, stays.)
    const records = this.config.mode !== 'new' ? this.wholeResult.collect(batch, ctx?.snapshot) : batch;
    if (!records?.length) return;
    const store = await this.connections.get<ObjectStore>(this.step.connection!, 's3');
    if (!this.ready && this.config.createBucket) await store.ensureBucket(this.config.bucket);
    this.ready = true;
    const db = await (this.scratch ??= DuckDbClient.open(':memory:'));
    const dir = mkdtempSync(join(tmpdir(), 's3-sink-'));
    try {
      // Files are written by DuckDB under a local mirror of the key layout, then put one by one.
      const uuid = ctx?.batch ? batchUuid(ctx.batch) : randomUUID();
      const rowsPerFile = new Map<string, number>();
      const files = await writeRows(db, records, {
        format: this.config.format,
        path: join(dir, this.config.key.replaceAll('{uuid}', uuid)),
        partitionBy: this.config.partitionBy,
        mode: 'overwrite',
        rowsPerFile,
      });
      for (const file of files) {
        const key = file.slice(dir.length + 1);
        if (
          this.config.mode === 'create' &&
          (await store.list(this.config.bucket, key, undefined, 1)).objects[0]?.key === key
        )
          continue;
        const metadata: Record<string, string> = {
          pipeline: this.step.pipeline,
          step: this.step.id,
          records: String(rowsPerFile.get(file) ?? 0),
        };
        // Metadata values are ASCII: a source position (a file path) is URL-encoded.
        if (ctx?.batch) Object.assign(metadata, { batch: ctx.batch.id, source: encodeURIComponent(ctx.batch.origin) });
        await store.put(this.config.bucket, key, readFileSync(file), {
          contentType: CONTENT_TYPE[this.config.format],
          metadata,
        });
      }
      this.wholeResult.done();
    } catch (error) {
      throw new Error(`${this.step.id}: writing to s3://${this.config.bucket}: ${(error as Error).message}`, {
        cause: error,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    if (this.scratch) (await this.scratch).close();
  }
}

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['bucket', 'key'],
  properties: {
    bucket: { type: 'string', description: 'Target bucket.' },
    key: {
      type: 'string',
      minLength: 1,
      description:
        'Object key; {YYYY}/{MM}/{DD} from partitionBy (or today), {uuid} unique per batch (required in mode new, so nothing is overwritten).',
      examples: ['sales/{YYYY}/{MM}/{DD}/part-{uuid}.csv', 'sales/{YYYY}/{MM}/{DD}/sales.csv'],
    },
    format: { enum: ['csv', 'parquet'], default: 'csv', description: 'Object format.' },
    mode: {
      enum: ['new', 'replace', 'create'],
      default: 'new',
      description:
        'new: a new object per batch (key with {uuid}); replace: the key (without {uuid}) is put again with each batch — for a day made whole in one batch, e.g. a daily file re-made by a backfill; create: the key (without {uuid}) is put only when no object has it yet — a simulator that must never replace an object someone else put there.',
    },
    partitionBy: { type: 'string', description: 'Date field choosing the partition of each record.' },
    createBucket: { type: 'boolean', default: true, description: 'Create the bucket when missing.' },
  },
});

export default pluginModule(
  {
    kind: 'sink',
    name: 's3',
    summary: 'Puts batches as CSV or Parquet objects under date-partitioned keys.',
    stability: 'beta',
    connectionTypes: ['s3'],
    connectionRequired: true,
    config: CONFIG,
  },
  S3Sink,
);
