import {
  configSchema,
  DataError,
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type ConfigOf,
  type Batch,
  type Connections,
  type Logger,
  type Reject,
  type Row,
  type Source,
  type SourceRun,
  type StepInfo,
} from '../../../core/sdk/index.ts';
import {
  RebalancedCommit,
  type CommitOffset,
  type TopicClient,
  type TopicConsumer,
} from '../../../connections/kafka/index.ts';
import { isJsonObject } from '../../../formats/json-check.ts';
import { JsonTexts } from '../../../formats/jsonl.ts';

type KafkaSourceConfig = ConfigOf<typeof CONFIG>;

/**
 * Reads topics as a consumer group. Offsets are committed only when the runtime says every downstream sink
 * has the batch (at-least-once); processes with the same group share the partitions (scale-out).
 * A message that is not valid JSON becomes a dead letter with its topic/partition@offset, and its offset
 * is committed with the batch, so one bad message never blocks a partition. A record a later step rejects
 * carries the same origin.
 */
@injectable()
export class KafkaSource implements Source {
  private consumer?: TopicConsumer;
  private committing: Promise<unknown> = Promise.resolve();

  constructor(
    @inject(TOKENS.Config) private readonly config: KafkaSourceConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {}

  async *read(run: SourceRun): AsyncIterable<Batch> {
    const client = await this.connections.get<TopicClient>(this.step.connection!, 'kafka');
    const topics = ([] as string[]).concat(this.config.topics);
    if (this.config.partitions)
      for (const topic of topics) await client.createTopic(topic, { partitions: this.config.partitions });
    this.consumer ??= await client.consumer({
      group: this.config.group ?? `${this.step.pipeline}-${this.step.id}`,
      topics,
      from: this.config.startFrom,
    });
    // JSON messages stay texts (checked, not kept as objects) unless records get metadata: a step in DuckDB reads
    // them with read_json, any other step parses them (see JsonTexts).
    const texts = this.config.format === 'json' && !this.config.metadata;
    for await (const batch of this.consumer.batches(run.signal, { once: run.once, maxBatch: this.config.maxBatch })) {
      const records: Row[] = [];
      const valid: (Buffer | string)[] = [];
      const rejects: Reject[] = [];
      // The message of each record, for the origin of a record a later step rejects.
      const sources: { topic: string; partition: number; offset: string }[] = [];
      // The next offset to read, per partition: after the batch's last message of that partition.
      const last = new Map<string, { topic: string; partition: number; offset: string }>();
      let newest = 0;
      const { messages } = batch;
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i];
        // A partition's messages come in a run, in offset order: its last one is where the next one differs.
        const after = messages[i + 1];
        if (!after || after.partition !== message.partition || after.topic !== message.topic)
          last.set(`${message.topic}/${message.partition}`, message);
        if (message.timestamp > newest) newest = message.timestamp;
        let record: Row;
        if (this.config.format === 'json') {
          // A text that is a JSON object goes on as it is; any other is read by JSON.parse for the reason it gives.
          if (texts && isJsonObject(message.value)) {
            valid.push(message.value);
            sources.push(message);
            continue;
          }
          const text = message.value.toString('utf8');
          try {
            const read = readObject(text, this.config.nanAsNull);
            if (texts) {
              valid.push(read.text === text ? message.value : read.text);
              sources.push(message);
              continue;
            }
            record = read.record;
          } catch (error) {
            rejects.push({
              record: text,
              reasons: [(error as Error).message],
              origin: `${message.topic}/${message.partition}@${message.offset}`,
            });
            continue;
          }
        } else {
          record = {
            value: this.config.format === 'string' ? message.value.toString('utf8') : message.value.toString('base64'),
          };
        }
        if (this.config.metadata)
          Object.assign(record, {
            _topic: message.topic,
            _partition: message.partition,
            _offset: message.offset,
            _key: message.key,
            _timestamp: new Date(message.timestamp),
          });
        records.push(record);
        sources.push(message);
      }
      const next: CommitOffset[] = [...last.values()].map((m) => ({
        topic: m.topic,
        partition: m.partition,
        offset: String(BigInt(m.offset) + 1n),
      }));
      const origin = (index: number) =>
        sources[index] ? `${sources[index].topic}/${sources[index].partition}@${sources[index].offset}` : undefined;
      yield {
        records: texts ? new JsonTexts(valid) : records,
        rejects,
        checkpoint: next,
        lag: batch.lag,
        watermark: newest ? new Date(newest) : undefined,
        origin,
      };
    }
  }

  /** A message this source could not parse, parsed again (after the manifest's format was fixed, say). */
  replayRecord(record: unknown, origin: string | undefined): Row[] {
    if (typeof record !== 'string') throw new DataError('not a message text');
    const value = this.config.format === 'json' ? parseObject(record, this.config.nanAsNull) : { value: record };
    const at = /^(.*)\/(\d+)@(\d+)$/.exec(origin ?? '');
    if (this.config.metadata && at) Object.assign(value, { _topic: at[1], _partition: Number(at[2]), _offset: at[3] });
    return [value];
  }

  /**
   * Offsets are committed in the background, in order (Kafka's usual asynchronous commit): the next batch does not
   * wait for the broker's answer (~10 ms a batch). At most one commit is in flight; a failed commit fails the next
   * one (the run then restarts from the last committed offsets), and a commit lost to a crash only means its batch
   * is read again — at-least-once, as before.
   */
  async commit(checkpoint: unknown): Promise<void> {
    const previous = this.committing;
    const consumer = this.consumer;
    this.committing = previous
      .then(() => consumer?.commit(checkpoint as CommitOffset[]))
      .catch((error: unknown) => {
        if (!(error instanceof RebalancedCommit)) throw error;
        // A worker of a group whose partitions moved mid-batch: their new owner reads the batch again.
        this.logger.warn(
          `offsets not committed, ${error.message}: the batch's messages will be read again by the partitions' new owner`,
        );
      });
    // Its failure is the next commit's or close's to report: until then it must not count as unhandled (Node would end
    // the process when a commit fails while the run that made it has already stopped).
    this.committing.catch(() => undefined);
    await previous;
  }

  async close(): Promise<void> {
    try {
      await this.committing;
    } catch (error) {
      this.logger.warn(`last offset commit failed, its messages will be read again: ${(error as Error).message}`);
    }
    await this.consumer?.close();
    this.consumer = undefined;
  }
}

/** `NaN`, `Infinity` and `-Infinity` outside strings replaced by `null` (Python's json.dumps writes them for NaN floats). */
export function nonFiniteAsNull(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    const token = text.startsWith('NaN', i)
      ? 'NaN'
      : text.startsWith('-Infinity', i)
        ? '-Infinity'
        : text.startsWith('Infinity', i)
          ? 'Infinity'
          : '';
    if (token) {
      out += 'null';
      i += token.length - 1;
      continue;
    }
    out += ch;
  }
  return out;
}

/**
 * A message's JSON text as a record (a JSON object), or a DataError saying why not. With nanAsNull, the bare
 * NaN/Infinity tokens of Python's json.dumps are read as null.
 */
function parseObject(text: string, nanAsNull = false): Row {
  return readObject(text, nanAsNull).record;
}

/** The record of a message's JSON text, and the text JSON.parse read (NaN tokens made null with nanAsNull). */
function readObject(text: string, nanAsNull = false): { record: Row; text: string } {
  let parsed: unknown;
  let read = text;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    read = nanAsNull ? nonFiniteAsNull(text) : text;
    if (read === text) throw new DataError(`invalid JSON: ${(error as Error).message}`);
    try {
      parsed = JSON.parse(read);
    } catch (again) {
      throw new DataError(`invalid JSON: ${(again as Error).message}`);
    }
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new DataError('invalid JSON: not a JSON object');
  return { record: parsed as Row, text: read };
}

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['topics'],
  properties: {
    topics: {
      oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }],
      description: 'Topic or topics to read.',
      examples: ['fx-rates'],
    },
    group: {
      type: 'string',
      description: 'Consumer group (default: <pipeline>-<step>). Processes with the same group share the partitions.',
    },
    startFrom: {
      enum: ['earliest', 'latest', 'committed'],
      default: 'committed',
      description: 'Where a group without committed offsets starts; committed falls back to earliest.',
    },
    format: {
      enum: ['json', 'string', 'bytes'],
      default: 'json',
      description: 'json: each message is a JSON object (others go to dead-letter); string/bytes: a record {value}.',
    },
    maxBatch: { type: 'integer', minimum: 1, default: 1000, description: 'Most messages per batch.' },
    metadata: {
      type: 'boolean',
      default: false,
      description: 'Add _topic, _partition, _offset, _key and _timestamp to each record.',
    },
    partitions: {
      type: 'integer',
      minimum: 1,
      description: 'Create the topics with this many partitions when missing.',
    },
    nanAsNull: {
      type: 'boolean',
      default: false,
      description:
        "json: read the NaN, Infinity and -Infinity tokens that Python's json.dumps writes (e.g. for empty spreadsheet cells read by pandas) as null instead of sending the message to dead-letter.",
    },
  },
});

export default pluginModule(
  {
    kind: 'source',
    name: 'kafka',
    summary: 'Reads Kafka topics (or the embedded topic log) as a consumer group; offsets committed after the sinks.',
    checkpoint: {
      type: 'array',
      items: { type: 'object', required: ['topic', 'partition', 'offset'] },
      description: 'The next offset of each partition read.',
    },
    stability: 'stable',
    streaming: true,
    connectionTypes: ['kafka'],
    connectionRequired: true,
    config: CONFIG,
    examples: [
      {
        title: 'FX ticks',
        yaml: 'fx:\n  use: kafka\n  connection: bus\n  with: { topics: fx-rates, group: globemart-fx, startFrom: earliest }\n',
      },
    ],
  },
  KafkaSource,
);
