import { createHash } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';

/** The AWS SDK module, loaded only when a real S3 connection opens (it costs ~25 MB of memory at import). */
export type S3Sdk = typeof import('@aws-sdk/client-s3');

export interface ObjectInfo {
  key: string;
  etag: string;
  size: number;
}

/** How an object is described to its readers: its media type and user metadata (`x-amz-meta-*`, ASCII values). */
export interface PutOptions {
  /** Default: from the key's extension (`contentTypeOf`). */
  contentType?: string;
  metadata?: Record<string, string>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.csv': 'text/csv',
  '.tsv': 'text/tab-separated-values',
  '.txt': 'text/plain',
  '.parquet': 'application/vnd.apache.parquet',
  '.jsonl': 'application/x-ndjson',
  '.ndjson': 'application/x-ndjson',
  '.json': 'application/json',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** The media type of an object by its key's extension (application/octet-stream when unknown). */
export function contentTypeOf(key: string): string {
  return CONTENT_TYPES[extname(key).toLowerCase()] ?? 'application/octet-stream';
}

/** What both S3 implementations (a real S3 API through the AWS SDK, a local folder) offer plugins. */
export interface ObjectStore {
  readonly embedded: boolean;
  ensureBucket(bucket: string): Promise<void>;
  /** One page of keys under `prefix` in key order; pass `next` back to get the following page. */
  list(
    bucket: string,
    prefix?: string,
    next?: string,
    pageSize?: number,
  ): Promise<{ objects: ObjectInfo[]; next?: string }>;
  get(bucket: string, key: string): Promise<Buffer>;
  download(bucket: string, key: string, file: string): Promise<void>;
  /** Puts an object whole, with its content type (from the key's extension unless given) and metadata. */
  put(bucket: string, key: string, body: Buffer | string, options?: PutOptions): Promise<void>;
  /** The bucket's event notification rules (a real S3 API; the embedded store publishes no events and has none). */
  eventRules?(bucket: string): Promise<EventRule[]>;
  /** Adds a rule to the bucket's notification configuration, keeping the rules it has. */
  addEventRule?(bucket: string, rule: EventRule): Promise<void>;
}

/** A bucket notification rule: events (e.g. s3:ObjectCreated:*) under a key prefix/suffix sent to a target ARN. */
export interface EventRule {
  id?: string;
  arn: string;
  events: string[];
  prefix?: string;
  suffix?: string;
}

/**
 * Buckets are folders and keys are paths under them; the ETag is the MD5 of the content, as S3 gives for simple
 * uploads. Files keep no content type or metadata (their extension says what they are).
 */
export class LocalObjectStore implements ObjectStore {
  readonly embedded = true;
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  async ensureBucket(bucket: string) {
    mkdirSync(join(this.dir, bucket), { recursive: true });
  }

  async list(bucket: string, prefix = '', next?: string, pageSize = 1000) {
    const root = this.bucket(bucket);
    const keys: string[] = [];
    const walk = (folder: string) => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const path = join(folder, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (!entry.name.endsWith('.partial')) keys.push(relative(root, path).split(sep).join('/'));
      }
    };
    walk(root);
    const selected = keys
      .filter((k) => k.startsWith(prefix) && (!next || k > next))
      .sort()
      .slice(0, pageSize);
    const objects = selected.map((key) => {
      const file = join(root, key);
      return { key, size: statSync(file).size, etag: createHash('md5').update(readFileSync(file)).digest('hex') };
    });
    return { objects, next: objects.length === pageSize ? objects[objects.length - 1].key : undefined };
  }

  async get(bucket: string, key: string) {
    const file = join(this.bucket(bucket), key);
    if (!existsSync(file)) throw s3Error('NoSuchKey', 'The specified key does not exist.');
    return readFileSync(file);
  }

  async download(bucket: string, key: string, file: string) {
    writeFileSync(file, await this.get(bucket, key));
  }

  async put(bucket: string, key: string, body: Buffer | string) {
    const file = join(this.bucket(bucket), key);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file + '.partial', body);
    renameSync(file + '.partial', file); // listings never show half-written objects
  }

  private bucket(bucket: string): string {
    const path = join(this.dir, bucket);
    if (!existsSync(path)) throw s3Error('NoSuchBucket', 'The specified bucket does not exist');
    return path;
  }
}

/** A real S3 API (AWS, MinIO, …) with path-style addressing. */
export class S3ObjectStore implements ObjectStore {
  readonly embedded = false;
  constructor(
    readonly client: S3Client,
    private readonly sdk: S3Sdk,
  ) {}

  async ensureBucket(bucket: string) {
    try {
      await this.client.send(new this.sdk.HeadBucketCommand({ Bucket: bucket }));
    } catch {
      await this.client.send(new this.sdk.CreateBucketCommand({ Bucket: bucket })).catch((error: Error) => {
        if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(error.name)) throw error;
      });
    }
  }

  async list(bucket: string, prefix = '', next?: string, pageSize = 1000) {
    const out = await this.client.send(
      new this.sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: next, MaxKeys: pageSize }),
    );
    return {
      objects: (out.Contents ?? []).map((o) => ({
        key: o.Key!,
        etag: (o.ETag ?? '').replaceAll('"', ''),
        size: o.Size ?? 0,
      })),
      next: out.IsTruncated ? out.NextContinuationToken : undefined,
    };
  }

  async get(bucket: string, key: string) {
    const out = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  async download(bucket: string, key: string, file: string) {
    const out = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
    await pipeline(out.Body as Readable, createWriteStream(file));
  }

  async put(bucket: string, key: string, body: Buffer | string, options: PutOptions = {}) {
    await this.client.send(
      new this.sdk.PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: options.contentType ?? contentTypeOf(key),
        Metadata: options.metadata,
      }),
    );
  }

  async eventRules(bucket: string): Promise<EventRule[]> {
    const config = await this.client.send(new this.sdk.GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    const filter = (rules?: { Name?: string; Value?: string }[]) => ({
      prefix: rules?.find((r) => r.Name?.toLowerCase() === 'prefix')?.Value || undefined,
      suffix: rules?.find((r) => r.Name?.toLowerCase() === 'suffix')?.Value || undefined,
    });
    return [
      ...(config.QueueConfigurations ?? []).map((q) => ({
        id: q.Id,
        arn: q.QueueArn ?? '',
        events: q.Events ?? [],
        ...filter(q.Filter?.Key?.FilterRules),
      })),
      ...(config.TopicConfigurations ?? []).map((t) => ({
        id: t.Id,
        arn: t.TopicArn ?? '',
        events: t.Events ?? [],
        ...filter(t.Filter?.Key?.FilterRules),
      })),
      ...(config.LambdaFunctionConfigurations ?? []).map((l) => ({
        id: l.Id,
        arn: l.LambdaFunctionArn ?? '',
        events: l.Events ?? [],
        ...filter(l.Filter?.Key?.FilterRules),
      })),
    ];
  }

  async addEventRule(bucket: string, rule: EventRule): Promise<void> {
    // PutBucketNotificationConfiguration replaces the whole configuration: the rules there stay in it.
    const { $metadata: _, ...current } = await this.client.send(
      new this.sdk.GetBucketNotificationConfigurationCommand({ Bucket: bucket }),
    );
    const rules = [
      ...(rule.prefix ? [{ Name: 'prefix' as const, Value: rule.prefix }] : []),
      ...(rule.suffix ? [{ Name: 'suffix' as const, Value: rule.suffix }] : []),
    ];
    const queue = {
      Id: rule.id,
      QueueArn: rule.arn,
      Events: rule.events as import('@aws-sdk/client-s3').Event[],
      ...(rules.length ? { Filter: { Key: { FilterRules: rules } } } : {}),
    };
    await this.client.send(
      new this.sdk.PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: { ...current, QueueConfigurations: [...(current.QueueConfigurations ?? []), queue] },
      }),
    );
  }
}

/** Errors named like the S3 API's, so both stores read the same in messages. */
function s3Error(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}
