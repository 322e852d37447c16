import {
  configSchema,
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type ConfigOf,
  type Connections,
  type Row,
  type Sink,
  type SinkContext,
  type StepInfo,
} from '../../../core/sdk/index.ts';
import type { TopicClient } from '../../../connections/kafka/index.ts';

type KafkaSinkConfig = ConfigOf<typeof CONFIG>;

/**
 * Produces each record as a JSON message (idempotent producer, acks from all in-sync replicas); with `value`, the
 * message is that field's text as it is (a document made upstream, e.g. JSON built in SQL to an exact shape).
 * A batch with an identity (`SinkContext.batch`) is produced exactly once: one Kafka transaction per batch, noted in
 * a ledger committed with it, so a batch delivered again after a crash is not produced twice (`TopicClient.produceOnce`).
 */
@injectable()
export class KafkaSink implements Sink {
  private created = false;

  constructor(
    @inject(TOKENS.Config) private readonly config: KafkaSinkConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
  ) {}

  async write(batch: Row[], ctx?: SinkContext): Promise<void> {
    const field = this.config.value;
    const records = field
      ? batch.filter(
          (record) =>
            typeof record[field] === 'string' ||
            (ctx?.reject(record, `${field}: missing (the message value; text expected)`), false),
        )
      : batch;
    if (!records.length) return; // the empty end of a whole result: nothing to produce
    const client = await this.connections.get<TopicClient>(this.step.connection!, 'kafka');
    if (!this.created) {
      await client.createTopic(this.config.topic, {
        partitions: this.config.partitions,
        replicationFactor: this.config.replicationFactor,
      });
      this.created = true;
    }
    const key = this.config.key;
    const messages = records.map((record) => ({
      key: key && record[key] != null ? String(record[key]) : null,
      value: field ? (record[field] as string) : JSON.stringify(record),
    }));
    if (ctx?.batch) await client.produceOnce(this.config.topic, messages, ctx.batch);
    else await client.produce(this.config.topic, messages);
  }
}

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['topic'],
  properties: {
    topic: { type: 'string', description: 'Topic to produce to.', examples: ['payment-events'] },
    key: {
      type: 'string',
      description: 'Field whose value is the message key (same key, same partition, in order).',
      examples: ['user_id'],
    },
    value: {
      type: 'string',
      description:
        'Field whose text is the message value, produced as it is (e.g. a JSON document built upstream to an exact shape); default: the whole record as JSON. A record without it goes to dead-letter.',
      examples: ['message'],
    },
    partitions: { type: 'integer', minimum: 1, description: 'Partitions of the topic when it has to be created.' },
    replicationFactor: {
      type: 'integer',
      minimum: 1,
      description:
        "Copies of each partition when the topic has to be created (default: the cluster's default.replication.factor). Ignored by the embedded log.",
      examples: [3],
    },
  },
});

export default pluginModule(
  {
    kind: 'sink',
    name: 'kafka',
    summary: 'Produces records as JSON messages to a Kafka topic (or the embedded topic log), keyed by a field.',
    stability: 'stable',
    connectionTypes: ['kafka'],
    connectionRequired: true,
    config: CONFIG,
    examples: [
      {
        title: 'Events keyed by user',
        yaml: 'to-topic:\n  use: kafka\n  from: events\n  connection: bus\n  with: { topic: payment-events, key: user_id, partitions: 4 }\n',
      },
    ],
  },
  KafkaSink,
);
