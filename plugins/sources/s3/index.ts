import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { inject, injectable, pluginModule, TOKENS, type Batch, type Clock, type Connections, type Source, type SourceRun, type StepInfo } from '../../../core/sdk/index.ts';
import { DuckDbClient } from '../../../core/connections/duckdb/index.ts';
import { explainS3Error, type ObjectStore } from '../../../core/connections/s3/index.ts';
import { readRecords, type FileFormat } from '../../../core/formats/index.ts';
import { parseDuration } from '../../../core/manifest/duration.ts';

interface S3SourceConfig {
  bucket: string;
  prefix: string;
  format?: FileFormat;
  batchSize: number;
  pollInterval?: string;
  pageSize: number;
}

type Seen = Record<string, string>;

/**
 * Reads new objects of a bucket: lists it page by page, and reads every object whose key is new or whose ETag
 * changed (remembered in the checkpoint), parsed as CSV, JSON lines, Parquet or XLSX. A line that cannot be
 * parsed goes to dead-letter as `s3://bucket/key:line`. With `pollInterval` it keeps polling (streaming).
 */
@injectable()
export class S3Source implements Source {
  private scratch?: Promise<DuckDbClient>;

  constructor(
    @inject(TOKENS.Config) private readonly config: S3SourceConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
    @inject(TOKENS.Clock) private readonly clock: Clock,
  ) {}

  async *read(run: SourceRun): AsyncIterable<Batch> {
    const store = await this.connections.get<ObjectStore>(this.step.connection!, 's3');
    const db = await (this.scratch ??= DuckDbClient.open(':memory:'));
    const seen: Seen = { ...((run.checkpoint as { seen?: Seen } | undefined)?.seen ?? {}) };
    const poll = this.config.pollInterval && !run.once ? parseDuration(this.config.pollInterval) : 0;
    do {
      let next: string | undefined;
      do {
        let page;
        try {
          page = await store.list(this.config.bucket, this.config.prefix, next, this.config.pageSize);
        } catch (error) {
          throw new Error(`${this.step.id}: listing s3://${this.config.bucket}/${this.config.prefix}: ${explainS3Error(error)}`);
        }
        for (const object of page.objects) {
          if (run.signal.aborted) return;
          if (seen[object.key] === object.etag) continue;
          const dir = mkdtempSync(join(tmpdir(), 's3-object-'));
          try {
            const file = join(dir, basename(object.key));
            await store.download(this.config.bucket, object.key, file);
            let pending: Batch | undefined;
            for await (const { records, rejects } of readRecords(db, file, { format: this.config.format, batchSize: this.config.batchSize, origin: `s3://${this.config.bucket}/${object.key}` })) {
              if (pending) yield pending;
              pending = { records, rejects };
            }
            seen[object.key] = object.etag;
            // The object's last batch moves the checkpoint: a crash mid-object re-reads the whole object.
            yield { ...(pending ?? { records: [] }), checkpoint: { seen: { ...seen } } };
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        }
        next = page.next;
      } while (next && !run.signal.aborted);
      if (poll) await this.clock.sleep(poll, run.signal);
    } while (poll && !run.signal.aborted);
  }

  async close(): Promise<void> {
    if (this.scratch) (await this.scratch).close();
  }
}

export default pluginModule({
  kind: 'source',
  name: 's3',
  summary: 'Reads new or changed objects of a bucket (by key and ETag), parsed as CSV, JSON lines, Parquet or XLSX.',
  stability: 'beta',
  streaming: true,
  connectionTypes: ['s3'],
  connectionRequired: true,
  config: {
    type: 'object',
    additionalProperties: false,
    required: ['bucket'],
    properties: {
      bucket: { type: 'string', description: 'Bucket to read.', examples: ['sales-staging'] },
      prefix: { type: 'string', default: '', description: 'Only keys under this prefix.', examples: ['daily/'] },
      format: { enum: ['csv', 'jsonl', 'parquet', 'xlsx'], description: 'Object format (default: from the key\'s extension).' },
      batchSize: { type: 'integer', minimum: 1, default: 10000, description: 'Records per batch.' },
      pageSize: { type: 'integer', minimum: 1, maximum: 1000, default: 1000, description: 'Keys per listing request.' },
      pollInterval: { type: 'string', pattern: '^[0-9]+(ms|s|m|h|d)$', description: 'List again this often (streaming); without it, each run lists once.', examples: ['30s'] },
    },
  },
  examples: [{ title: 'Daily CSV drops', yaml: 'drops:\n  use: s3\n  connection: lake\n  with: { bucket: sales, prefix: daily/, pollInterval: 30s }\n' }],
}, S3Source);
