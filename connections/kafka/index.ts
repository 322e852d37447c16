import { resolve } from 'node:path';
import { connectionModule, isEmbeddedTarget } from '../../core/sdk/index.ts';
import { EmbeddedTopicLog } from './embedded.ts';

export type {
  TopicClient,
  TopicConsumer,
  TopicMessage,
  ConsumedMessage,
  ConsumedBatch,
  CommitOffset,
} from './client.ts';
export { RebalancedCommit } from './client.ts';
export { EmbeddedTopicLog } from './embedded.ts';
// The kafkajs client (real.ts) is imported by `open` only for a real cluster: kafkajs costs ~0.1 s and ~18 MB at start.

/** Kafka: a real cluster when `brokers` lists them, else the embedded, file-backed topic log. */
function logFolder(config: Record<string, unknown>, env: { stateDir: string }): string | undefined {
  return embedded(config) ? resolve((config.dataDir as string | undefined) ?? `${env.stateDir}/topics`) : undefined;
}

/** No `brokers`, an empty one or "embedded": the embedded store. */
function embedded(config: Record<string, unknown>): boolean {
  return isEmbeddedTarget(config.brokers);
}

export default connectionModule({
  type: 'kafka',
  summary:
    'Apache Kafka (kafkajs) or, with brokers "embedded", an in-process file-backed topic log with the same model.',
  config: {
    type: 'object',
    additionalProperties: false,
    properties: {
      type: { const: 'kafka' },
      brokers: {
        type: 'string',
        format: 'host-ports',
        default: 'embedded',
        description: 'Comma-separated host:port of the brokers, or "embedded".',
        examples: ['127.0.0.1:9092', 'embedded'],
      },
      clientId: { type: 'string', default: 'platform', description: 'Client id sent to the brokers.' },
      dataDir: { type: 'string', description: 'Embedded log folder (default: topics/ in the state folder).' },
      partitions: {
        type: 'integer',
        minimum: 1,
        default: 1,
        description: 'Partitions of topics the embedded log creates on first use.',
      },
      connectionTimeout: {
        type: 'integer',
        minimum: 100,
        default: 3000,
        description: 'Milliseconds to wait for a broker connection.',
      },
      retries: { type: 'integer', minimum: 0, default: 5, description: 'kafkajs retries of a failed request.' },
    },
  },
  embedded,
  storePath: logFolder,
  async open(config, env) {
    if (embedded(config)) {
      const dir = logFolder(config, env)!;
      const log = new EmbeddedTopicLog(dir, config.partitions as number);
      return {
        client: log,
        embedded: true,
        description: `embedded topic log in ${dir}`,
        check: async () => undefined,
        close: () => log.close(),
      };
    }
    const brokers = String(config.brokers)
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
    const { KafkaTopicClient } = await import('./real.ts'); // kafkajs, loaded only for a real cluster
    const client = new KafkaTopicClient(brokers, config.clientId as string, env.logger, {
      connectionTimeout: config.connectionTimeout as number,
      retries: config.retries as number,
    });
    try {
      await client.check();
    } catch (error) {
      await client.close();
      throw new Error(`brokers ${brokers.join(',')} unreachable: ${(error as Error).message}`);
    }
    return {
      client,
      embedded: false,
      description: `Kafka ${brokers.join(',')}`,
      check: () => client.check(),
      close: () => client.close(),
    };
  },
});
