import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  configSchema,
  duration,
  inject,
  injectable,
  isDataError,
  pluginModule,
  TOKENS,
  type ConfigOf,
  type Batch,
  type Clock,
  type Connections,
  type Logger,
  type Row,
  type Source,
  type SourceRun,
  type StepInfo,
} from '../../../core/sdk/index.ts';
import { DuckDbClient } from '../../../connections/duckdb/index.ts';
import { explainS3Error, type EventRule, type ObjectInfo, type ObjectStore } from '../../../connections/s3/index.ts';
import type { CommitOffset, TopicClient, TopicConsumer } from '../../../connections/kafka/index.ts';
import { formatOf, readRecords, type FileFormat } from '../../../formats/index.ts';
import { parseDuration } from '../../../core/sdk/duration.ts';

type S3SourceConfig = ConfigOf<typeof CONFIG>;

type Seen = Record<string, string>;

/**
 * Reads new objects of a bucket: lists it page by page, and reads every object whose key is new or whose ETag
 * changed (remembered in the checkpoint), parsed as CSV, JSON lines, Parquet or XLSX. A line that cannot be
 * parsed goes to dead-letter as `s3://bucket/key:line`; an object that cannot be read at all (not the format its
 * name says, an unknown format) goes to dead-letter whole and the source goes on with the next one. With
 * `pollInterval` it keeps polling (streaming); with `notifications` it lists once to catch up, then reads objects
 * as the bucket's events arrive on a Kafka topic (MinIO and S3 publish them), committing the event offsets only
 * after the sinks have the object's records, and still lists every `pollInterval` (if given) for an object whose
 * event was lost. Before reading events it checks that a bucket notification rule sends the prefix's object-created
 * events (with `queueArn`, it adds one when there is none; without, a missing rule is a clear error).
 * The embedded store (a local folder) publishes no events: there `notifications` falls back to polling every
 * `pollInterval` (default 10s), so one manifest reads events on a real S3 API and still sees new objects embedded.
 */
@injectable()
export class S3Source implements Source {
  private scratch?: Promise<DuckDbClient>;

  constructor(
    @inject(TOKENS.Config) private readonly config: S3SourceConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {}

  async *read(run: SourceRun): AsyncIterable<Batch> {
    const store = await this.connections.get<ObjectStore>(this.step.connection!, 's3');
    if (this.config.createBucket) await store.ensureBucket(this.config.bucket); // before its writer's first object
    const db = await (this.scratch ??= DuckDbClient.open(':memory:'));
    const seen: Seen = { ...((run.checkpoint as { seen?: Seen } | undefined)?.seen ?? {}) };
    const events = Boolean(this.config.notifications) && !store.embedded;
    const interval =
      this.config.notifications && store.embedded ? (this.config.pollInterval ?? '10s') : this.config.pollInterval;
    if (this.config.notifications && store.embedded && !run.once)
      this.logger.info(
        `the embedded object store publishes no bucket events: polling s3://${this.config.bucket}/${this.config.prefix} every ${interval} instead`,
      );
    const poll = interval && !events && !run.once ? parseDuration(interval) : 0;
    if (events && !run.once) await this.ensureEventRule(store);
    yield* this.listAndRead(store, db, seen, run, poll);
    if (events && !run.once) yield* this.onEvents(store, db, seen, run);
  }

  /**
   * The bucket must send the prefix's object-created events to the server's notification target: a rule that does
   * is kept as it is; without one, `queueArn` adds it, else the source stops with what to do.
   */
  private async ensureEventRule(store: ObjectStore): Promise<void> {
    if (!store.eventRules || !store.addEventRule) return;
    const { bucket, prefix } = this.config;
    const arn = this.config.notifications!.queueArn || undefined;
    const where = `s3://${bucket}/${prefix}`;
    let rules: EventRule[];
    try {
      rules = await store.eventRules(bucket);
    } catch (error) {
      throw new Error(`${this.step.id}: reading the bucket notification rules of ${where}: ${explainS3Error(error)}`);
    }
    const covering = rules.find(
      (r) =>
        r.events.some((e) => e === 's3:ObjectCreated:*' || e === 's3:ObjectCreated:Put') &&
        prefix.startsWith(r.prefix ?? '') &&
        !r.suffix &&
        (!arn || r.arn === arn),
    );
    if (covering) {
      this.logger.info(`bucket events: ${where} sends object-created events to ${covering.arn}`);
      return;
    }
    if (!arn) {
      throw new Error(
        `${this.step.id}: ${where} sends no object-created events (no bucket notification rule for s3:ObjectCreated:* on this prefix${rules.length ? `; rules there: ${rules.map((r) => `${r.arn} ${r.events.join(' ')} prefix "${r.prefix ?? ''}"${r.suffix ? ` suffix "${r.suffix}"` : ''}`).join(', ')}` : ''}). ` +
          'Give notifications.queueArn, the ARN of the server\'s Kafka notification target (MinIO prints it at start under "SQS ARNs", e.g. arn:minio:sqs::PRIMARY:kafka), to have the rule set up, or add it to the bucket yourself.',
      );
    }
    try {
      await store.addEventRule(bucket, {
        id: `${this.step.pipeline}-${this.step.id}`,
        arn,
        events: ['s3:ObjectCreated:*'],
        prefix: prefix || undefined,
      });
    } catch (error) {
      throw new Error(
        `${this.step.id}: setting up the bucket notification of ${where} to ${arn}: ${explainS3Error(error)}`,
      );
    }
    this.logger.info(`bucket events: set up ${where} to send object-created events to ${arn}`);
  }

  /** Bucket events (S3 event JSON: Records[].s3.bucket.name / object.key / eTag) from a Kafka topic. */
  private async *onEvents(store: ObjectStore, db: DuckDbClient, seen: Seen, run: SourceRun): AsyncIterable<Batch> {
    const { connection, topic, group } = this.config.notifications!;
    const kafka = await this.connections.get<TopicClient>(connection, 'kafka');
    await kafka.createTopic(topic); // the server creates it on its first event; subscribing must not wait for that
    this.consumer = await kafka.consumer({
      group: group ?? `${this.step.pipeline}-${this.step.id}-events`,
      topics: [topic],
      from: 'latest',
    });
    // The listing fallback: every pollInterval, the bucket is listed as well, for an object whose event was lost
    // (put while no consumer was a member yet, a notification target that was down).
    const fallback = this.config.pollInterval ? parseDuration(this.config.pollInterval) : 0;
    const batches = this.consumer.batches(run.signal, { once: false, maxBatch: 100 })[Symbol.asyncIterator]();
    let next = batches.next();
    let listedAt = this.clock.now().getTime();
    while (!run.signal.aborted) {
      const due = listedAt + fallback - this.clock.now().getTime();
      const arrived = fallback
        ? await Promise.race([next, this.clock.sleep(Math.max(0, due), run.signal).then(() => undefined)])
        : await next;
      if (run.signal.aborted) break;
      if (!arrived) {
        listedAt = this.clock.now().getTime();
        yield* this.listAndRead(store, db, seen, run, 0);
        continue;
      }
      if (arrived.done) break;
      next = batches.next();
      const batch = arrived.value;
      for (const message of batch.messages) {
        let records: {
          s3?: { bucket?: { name?: string }; object?: { key?: string; eTag?: string; size?: number } };
        }[] = [];
        try {
          records = (JSON.parse(message.value.toString('utf8')) as { Records?: typeof records }).Records ?? [];
        } catch {
          records = []; // not an S3 event: nothing to read
        }
        for (const record of records) {
          if (record.s3?.bucket?.name !== this.config.bucket || !record.s3.object?.key) continue;
          const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
          if (!key.startsWith(this.config.prefix)) continue;
          const etag = record.s3.object.eTag ?? '';
          if (seen[key] === etag) continue;
          yield* this.readObject(store, db, seen, { key, etag, size: record.s3.object.size ?? 0 });
        }
        yield {
          records: [],
          checkpoint: {
            seen: { ...seen },
            offsets: [
              { topic: message.topic, partition: message.partition, offset: String(BigInt(message.offset) + 1n) },
            ],
          },
        };
      }
    }
  }

  async commit(checkpoint: unknown): Promise<void> {
    const offsets = (checkpoint as { offsets?: CommitOffset[] }).offsets;
    if (offsets?.length) await this.consumer?.commit(offsets);
  }

  private consumer?: TopicConsumer;

  private async *listAndRead(
    store: ObjectStore,
    db: DuckDbClient,
    seen: Seen,
    run: SourceRun,
    poll: number,
  ): AsyncIterable<Batch> {
    do {
      let next: string | undefined;
      do {
        let page;
        try {
          page = await store.list(this.config.bucket, this.config.prefix, next, this.config.pageSize);
        } catch (error) {
          throw new Error(
            `${this.step.id}: listing s3://${this.config.bucket}/${this.config.prefix}: ${explainS3Error(error)}`,
          );
        }
        for (const object of page.objects) {
          if (run.signal.aborted) return;
          if (seen[object.key] === object.etag) continue;
          yield* this.readObject(store, db, seen, object);
        }
        next = page.next;
      } while (next && !run.signal.aborted);
      if (poll) await this.clock.sleep(poll, run.signal);
    } while (poll && !run.signal.aborted);
  }

  private async *readObject(
    store: ObjectStore,
    db: DuckDbClient,
    seen: Seen,
    object: ObjectInfo,
  ): AsyncIterable<Batch> {
    const origin = `s3://${this.config.bucket}/${object.key}`;
    let format: FileFormat;
    try {
      format = formatOf(object.key, this.config.format);
    } catch (error) {
      // An object this source cannot read at all (a PDF dropped in the folder): one dead letter, then the next object.
      seen[object.key] = object.etag;
      yield {
        records: [],
        rejects: [
          {
            record: { key: object.key, size: object.size },
            reasons: [(error as Error).message.replace(object.key, origin)],
            origin,
          },
        ],
        checkpoint: { seen: { ...seen } },
      };
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 's3-object-'));
    try {
      const file = join(dir, basename(object.key));
      try {
        await store.download(this.config.bucket, object.key, file);
      } catch (error) {
        if (!isDataError(error)) throw error;
        // The object itself cannot be had (gone since it was listed, refused): it goes to dead-letter, the rest goes on.
        seen[object.key] = object.etag;
        yield {
          records: [],
          rejects: [
            {
              record: { bucket: this.config.bucket, key: object.key },
              reasons: [`cannot read the object: ${explainS3Error(error)}`],
              origin,
            },
          ],
          checkpoint: { seen: { ...seen } },
        };
        return;
      }
      let pending: Batch | undefined;
      let position = 0;
      for await (const batch of readRecords(db, file, { format, batchSize: this.config.batchSize, origin })) {
        if (pending) yield pending;
        // A parser's message names the local copy: name the object instead.
        const rejects = batch.rejects.map((r) => ({
          ...r,
          reasons: r.reasons.map((reason) => reason.replaceAll(file, origin)),
        }));
        const records = batch.records as Row[]; // records: inDuckDb is not asked for
        this.tag(records, object.key, position, format, batch.origin);
        position += records.length;
        pending = { records, rejects, origin: batch.origin };
      }
      seen[object.key] = object.etag;
      // The object's last batch moves the checkpoint: a crash mid-object re-reads the whole object.
      yield { ...(pending ?? { records: [] }), checkpoint: { seen: { ...seen } } };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Adds the object key and the record's line to each record (keyColumn, lineColumn), so a record rejected
   * downstream still says where it came from (every dead letter also carries `s3://bucket/key:LINE`). The line
   * counts the CSV header and the rejected lines, as the reader numbers them.
   */
  private tag(
    records: Row[],
    key: string,
    position: number,
    format: FileFormat,
    origin?: (index: number) => string | undefined,
  ): void {
    const { keyColumn, lineColumn } = this.config;
    if (!keyColumn && !lineColumn) return;
    const header = format === 'csv' ? 1 : 0;
    records.forEach((record, i) => {
      if (keyColumn) record[keyColumn] = key;
      // The line the reader gives (rejected lines counted), else the record's place after the header.
      if (lineColumn) record[lineColumn] = Number(/:(\d+)$/.exec(origin?.(i) ?? '')?.[1] ?? header + position + i + 1);
    });
  }

  async close(): Promise<void> {
    await this.consumer?.close();
    this.consumer = undefined;
    if (this.scratch) (await this.scratch).close();
  }
}

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['bucket'],
  properties: {
    bucket: { type: 'string', description: 'Bucket to read.', examples: ['sales-staging'] },
    prefix: { type: 'string', default: '', description: 'Only keys under this prefix.', examples: ['daily/'] },
    format: {
      enum: ['csv', 'jsonl', 'parquet', 'xlsx'],
      description: "Object format (default: from the key's extension).",
    },
    batchSize: { type: 'integer', minimum: 1, default: 10000, description: 'Records per batch.' },
    pageSize: { type: 'integer', minimum: 1, maximum: 1000, default: 1000, description: 'Keys per listing request.' },
    pollInterval: duration({
      description:
        'List again this often (streaming); without it, each run lists once. With notifications: on a real S3 API the bucket is also listed this often, for objects whose event was lost; on the embedded store, which publishes no events, it is the polling (default 10s there).',
      examples: ['30s'],
    }),
    createBucket: {
      type: 'boolean',
      default: false,
      description:
        'Create the bucket when missing (when the same pipeline also writes it, so reading can start before the first object).',
    },
    keyColumn: {
      type: 'string',
      description: 'Add the object key to each record in this column (where a record came from, also in dead-letter).',
      examples: ['source_key'],
    },
    lineColumn: {
      type: 'string',
      description:
        "Add the record's line in its object to each record in this column (CSV: the file's line, the header being line 1, lines DuckDB rejected skipped; an object's records are then held until it is read whole).",
      examples: ['source_line'],
    },
    notifications: {
      type: 'object',
      additionalProperties: false,
      required: ['connection'],
      description:
        'Read objects as bucket events arrive on a Kafka topic (after one catch-up listing). The embedded store publishes none: there it polls every pollInterval (default 10s).',
      properties: {
        connection: { type: 'string', description: 'Kafka connection carrying the events.' },
        topic: { type: 'string', default: 's3-events', description: 'Topic of the bucket events.' },
        group: { type: 'string', description: 'Consumer group (default: <pipeline>-<step>-events).' },
        queueArn: {
          type: 'string',
          description:
            'ARN of the server\'s notification target that publishes to the topic (MinIO: arn:minio:sqs::<id>:kafka, printed at start under "SQS ARNs"). When the bucket has no rule sending this prefix\'s object-created events there, the source adds one; without queueArn, a missing rule stops the source with an error saying so. Empty: not given.',
          examples: ['arn:minio:sqs::PRIMARY:kafka'],
        },
      },
    },
  },
});

export default pluginModule(
  {
    kind: 'source',
    name: 's3',
    summary: 'Reads new or changed objects of a bucket (by key and ETag), parsed as CSV, JSON lines, Parquet or XLSX.',
    checkpoint: {
      type: 'object',
      required: ['seen'],
      properties: { seen: { type: 'object', description: 'The objects read, by key.' }, offsets: { type: 'array' } },
    },
    stability: 'beta',
    streaming: true,
    connectionTypes: ['s3'],
    connectionRequired: true,
    config: CONFIG,
    examples: [
      {
        title: 'Daily CSV drops',
        yaml: 'drops:\n  use: s3\n  connection: lake\n  with: { bucket: sales, prefix: daily/, pollInterval: 30s }\n',
      },
    ],
  },
  S3Source,
);
