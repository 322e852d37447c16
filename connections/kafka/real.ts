import { Kafka, logLevel, type Admin, type Consumer, type Producer, type LogEntry } from 'kafkajs';
import type { Logger } from '../../core/sdk/types.ts';
import type {
  CommitOffset,
  ConsumedBatch,
  ConsumedMessage,
  TopicClient,
  TopicConsumer,
  TopicMessage,
} from './client.ts';
import { ledgerKey, ONCE_LEDGER_BATCHES, partitionFor, RebalancedCommit } from './client.ts';

/**
 * On Node 23 and later, kafkajs 2.2.4 makes Node print "TimeoutNegativeWarning" at its first request: its request
 * queue sets a timer from a throttle time that is not set yet, and Node runs it after 1 ms, as kafkajs meant.
 * Nothing an operator can act on (fixed upstream, never released: kafkajs issue 1751), so that one warning, raised
 * in kafkajs's request queue, is not printed; every other warning is, by Node's own printer. Installed once, when
 * this module loads (only where a connection names a real Kafka).
 */
const warningPrinters = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'TimeoutNegativeWarning' && warning.stack?.includes('scheduleCheckPendingRequests')) return;
  for (const print of warningPrinters) print.call(process, warning);
});

/** A real Kafka cluster through kafkajs: idempotent producer with acks from all replicas, consumer groups. */
export class KafkaTopicClient implements TopicClient {
  readonly embedded = false;
  readonly kafka: Kafka;
  private producer?: Promise<Producer>;
  private admin?: Promise<Admin>;
  /** Transactional producers of `produceOnce`, by writer. */
  private readonly writers = new Map<string, Promise<OnceWriter>>();

  constructor(
    readonly brokers: string[],
    clientId: string,
    logger: Logger,
    options: { connectionTimeout?: number; retries?: number } = {},
  ) {
    this.kafka = new Kafka({
      clientId,
      brokers,
      connectionTimeout: options.connectionTimeout ?? 3000,
      retry: { retries: options.retries ?? 5, initialRetryTime: 200 },
      logLevel: logLevel.WARN,
      // kafkajs is chatty and retries what it reports (a broker restarting, a rebalance): its warnings and errors
      // go to our debug log as one line each; what fails for good reaches the pipeline as an error.
      logCreator:
        () =>
        ({ log }: LogEntry) =>
          logger.debug(`kafka: ${log.message}${log.broker ? ` (${log.broker})` : ''}`),
    });
  }

  async createTopic(name: string, options: { partitions?: number; replicationFactor?: number } = {}): Promise<void> {
    const admin = await this.getAdmin();
    const existing = await admin.listTopics();
    if (existing.includes(name)) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: name, numPartitions: options.partitions ?? 1, replicationFactor: options.replicationFactor ?? -1 },
      ],
    });
  }

  async produce(topic: string, messages: TopicMessage[]): Promise<void> {
    if (!messages.length) return;
    const producer = await this.getProducer();
    await producer.send({
      topic,
      acks: -1,
      messages: messages.map((m) => ({
        key: m.key ?? null,
        value: m.value,
        timestamp: m.timestamp !== undefined ? String(m.timestamp) : undefined,
        headers: m.headers,
      })),
    });
  }

  async produceOnce(topic: string, messages: TopicMessage[], batch: { id: string; writer: string }): Promise<void> {
    if (!messages.length) return;
    const key = `${batch.writer}\0${topic}`;
    let writer = this.writers.get(key);
    if (!writer) {
      writer = OnceWriter.open(this.kafka, await this.getAdmin(), batch.writer, topic);
      this.writers.set(key, writer);
      writer.catch(() => this.writers.delete(key));
    }
    try {
      await (await writer).produce(batch.id, messages);
    } catch (error) {
      // A failed transaction leaves the producer unusable for the next one: the retry opens it again (fencing this one).
      this.writers.delete(key);
      await writer.then(
        (w) => w.close(),
        () => undefined,
      );
      throw error;
    }
  }

  async consumer(options: {
    group: string;
    topics: string[];
    from: 'earliest' | 'latest' | 'committed';
  }): Promise<TopicConsumer> {
    // A topic not produced to yet is an empty topic, as on the embedded log: subscribing to a missing one fails
    // ("does not host this topic-partition"), so it is created first (a no-op when it exists).
    for (const topic of options.topics) await this.createTopic(topic);
    const consumer = this.kafka.consumer({
      groupId: options.group,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      rebalanceTimeout: 60_000,
      maxWaitTimeInMs: 500,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: options.topics, fromBeginning: options.from !== 'latest' });
    return new KafkaConsumer(consumer, await this.getAdmin(), options.group, options.topics);
  }

  async describe(topic: string) {
    const offsets = await (await this.getAdmin()).fetchTopicOffsets(topic);
    return offsets.map((o) => ({ partition: o.partition, high: o.high }));
  }

  async check(): Promise<void> {
    await (await this.getAdmin()).describeCluster();
  }

  async close(): Promise<void> {
    const writers = [...this.writers.values()].map((w) => w.then((writer) => writer.close()));
    this.writers.clear();
    await Promise.allSettled([
      this.producer?.then((p) => p.disconnect()),
      this.admin?.then((a) => a.disconnect()),
      ...writers,
    ]);
  }

  private getProducer(): Promise<Producer> {
    this.producer ??= (async () => {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true });
      await producer.connect();
      return producer;
    })().catch((error) => {
      this.producer = undefined;
      throw error;
    });
    return this.producer;
  }

  private getAdmin(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })().catch((error) => {
      this.admin = undefined;
      throw error;
    });
    return this.admin;
  }
}

/**
 * One writer's transactional producer for one topic, and its ledger: the keys of the latest batches it committed,
 * kept as the metadata of the ledger group's offset on partition 0 of the topic, which each transaction commits
 * with its messages (a consumer group's offsets are what Kafka commits atomically with a transaction).
 */
class OnceWriter {
  /** Messages without a key go round the partitions. */
  private unkeyed = 0;

  private constructor(
    private readonly producer: Producer,
    private readonly group: string,
    private readonly topic: string,
    private readonly partitions: number,
    private recent: string[],
    private sequence: number,
  ) {}

  static async open(kafka: Kafka, admin: Admin, writer: string, topic: string): Promise<OnceWriter> {
    // Connecting runs InitProducerId: the dead predecessor with this id is fenced, its open transaction aborted
    // (or, if it had asked to commit, completed), so the ledger read next is final.
    // Short retries: the next transaction meets CONCURRENT_TRANSACTIONS while the last one's markers are written.
    const producer = kafka.producer({
      transactionalId: `platform-sink.${writer}`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 30_000,
      allowAutoTopicCreation: true,
      retry: { initialRetryTime: 5, multiplier: 1.5, maxRetryTime: 500, retries: 20 },
    });
    await producer.connect();
    try {
      const group = `${topic}.platform-sink.${writer}`;
      const ledger = (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]?.partitions.find(
        (p) => p.partition === 0,
      );
      const recent = ledger?.metadata ? (JSON.parse(ledger.metadata) as string[]) : [];
      const partitions = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.length || 1;
      return new OnceWriter(producer, group, topic, partitions, recent, Math.max(0, Number(ledger?.offset ?? 0)));
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  async produce(batch: string, messages: TopicMessage[]): Promise<void> {
    const key = ledgerKey(batch);
    if (this.recent.includes(key)) return; // committed before a crash: delivered again, not produced again
    const recent = [...this.recent, key].slice(-ONCE_LEDGER_BATCHES);
    // One send per partition: kafkajs retries a send that failed on one broker after it succeeded on another by
    // sending to both again (with new sequence numbers, so the broker takes it twice): a send that reaches one
    // partition leader only has nothing to duplicate. (Measured: 200 messages in 4 transactions over 3 partitions
    // came out as 226–256 messages with one send per transaction.)
    const byPartition = new Map<number, TopicMessage[]>();
    for (const message of messages) {
      const partition =
        message.key != null ? partitionFor(message.key, this.partitions) : this.unkeyed++ % this.partitions;
      (byPartition.get(partition) ?? byPartition.set(partition, []).get(partition)!).push(message);
    }
    const transaction = await this.producer.transaction();
    try {
      for (const [partition, part] of byPartition) {
        await transaction.send({
          topic: this.topic,
          acks: -1,
          messages: part.map((m) => ({
            partition,
            key: m.key ?? null,
            value: m.value,
            timestamp: m.timestamp !== undefined ? String(m.timestamp) : undefined,
            headers: m.headers,
          })),
        });
      }
      const ledger = { partition: 0, offset: String(this.sequence + 1), metadata: JSON.stringify(recent) };
      await transaction.sendOffsets({
        consumerGroupId: this.group,
        topics: [{ topic: this.topic, partitions: [ledger] }],
      });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
    this.recent = recent;
    this.sequence++;
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

/**
 * kafkajs pushes batches through eachBatch; this turns them into a pull iterator with backpressure: eachBatch
 * waits (heartbeating) until the batch is taken. The consumer runs from the first read until close(), so the
 * offsets of the last batch of a run can still be committed after the run (commits need a running member).
 */
/** How long a batch waits for more messages to fill it (see takeUpTo). */
const LINGER_MS = 50;

class KafkaConsumer implements TopicConsumer {
  private assigned: { topic: string; partition: number }[] | null = null;
  private running = false;
  private offered: { batch: ConsumedBatch; taken: () => void } | null = null;
  private wake: (() => void) | null = null;
  private maxBatch = 1000;
  /**
   * Per partition, the offset after the last record kafkajs fetched and handed on, control records included: the
   * commit markers of transactions are records no consumer sees as messages, so a topic written in transactions
   * (exactly-once kafka sinks) ends past its last message, and only this shows a once-read reached its end.
   */
  private readonly through = new Map<string, number>();

  constructor(
    private readonly consumer: Consumer,
    private readonly admin: Admin,
    private readonly group: string,
    private readonly topics: string[],
  ) {
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.assigned = Object.entries(event.payload.memberAssignment).flatMap(([topic, partitions]) =>
        (partitions as number[]).map((partition) => ({ topic, partition })),
      );
    });
    // Emitted once a fetched batch is done: all its messages taken, or it held only control records / aborted messages.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const key = `${payload.topic}/${payload.partition}`;
      this.through.set(key, Math.max(this.through.get(key) ?? 0, Number(payload.lastOffset) + 1));
    });
  }

  async *batches(signal: AbortSignal, options: { once: boolean; maxBatch: number }): AsyncIterable<ConsumedBatch> {
    this.maxBatch = options.maxBatch;
    const seen = new Map<string, number>(); // next offset per partition, of what was handed out
    const ends = new Map<string, number>();
    const lows = new Map<string, number>();
    for (const topic of this.topics) {
      for (const o of await this.admin.fetchTopicOffsets(topic)) {
        ends.set(`${topic}/${o.partition}`, Number(o.high));
        lows.set(`${topic}/${o.partition}`, Number(o.low));
      }
    }
    await this.refreshCommitted(seen);
    const caughtUp = () =>
      this.assigned !== null &&
      this.assigned.every(({ topic, partition }) => {
        const key = `${topic}/${partition}`;
        return Math.max(seen.get(key) ?? lows.get(key) ?? 0, this.through.get(key) ?? 0) >= (ends.get(key) ?? 0);
      });
    await this.start();
    let ticks = 0;
    while (!signal.aborted) {
      if (options.once && caughtUp()) return;
      if (this.offered) {
        const batch = await this.takeUpTo(options.maxBatch, signal);
        const { messages } = batch;
        for (let i = 0; i < messages.length; i++) {
          // Per partition, its last message of the batch (a partition's messages come in a run, in offset order).
          const m = messages[i];
          const after = messages[i + 1];
          if (after && after.partition === m.partition && after.topic === m.topic) continue;
          const key = `${m.topic}/${m.partition}`;
          seen.set(key, Math.max(seen.get(key) ?? 0, Number(m.offset) + 1));
        }
        yield batch;
        continue;
      }
      // Nothing offered yet: wait for a batch, an abort, or a moment to re-check (partitions read by another member).
      await this.waitForOffer(250, signal);
      if (options.once && ++ticks % 4 === 0) await this.refreshCommitted(seen).catch(() => undefined);
    }
  }

  /**
   * Takes up to `maxBatch` messages from the offered batch and the ones kafkajs offers after it (the other
   * partitions of a fetch, the next fetch) within LINGER_MS of the first: under load, full batches (each costs a
   * commit downstream, so fewer is faster); when idle, a batch waits at most LINGER_MS longer. An offered batch
   * that does not fit is split and its rest taken next time. The lag is the sum of the last lag seen per partition.
   */
  private async takeUpTo(maxBatch: number, signal: AbortSignal): Promise<ConsumedBatch> {
    const messages: ConsumedMessage[] = [];
    const lags = new Map<string, number>();
    const deadline = Date.now() + LINGER_MS;
    let offer = this.offered;
    while (offer) {
      const { batch } = offer;
      const room = maxBatch - messages.length;
      // A batch that does not fit is split: the rest stays offered for the next take.
      const split = batch.messages.length > room;
      const part = split ? batch.messages.splice(0, room) : batch.messages;
      for (const m of part) messages.push(m);
      // Unread in that partition: what follows the offered batch, and its rest when split.
      if (part.length)
        lags.set(`${part[0].topic}/${part[0].partition}`, batch.lag + (split ? batch.messages.length : 0));
      if (!split) {
        this.offered = null;
        offer.taken();
      }
      if (messages.length >= maxBatch) break;
      while (!this.offered && Date.now() < deadline && !signal.aborted)
        await this.waitForOffer(deadline - Date.now(), signal);
      offer = this.offered as typeof offer | null;
    }
    return { messages, lag: [...lags.values()].reduce((a, b) => a + b, 0) };
  }

  /** Resolves when kafkajs offers a batch (eachBatch wakes it), after `ms`, or on abort, whichever comes first. */
  private async waitForOffer(ms: number, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(1, ms));
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      this.wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
    this.wake = null;
  }

  private async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (let i = 0; i < batch.messages.length && isRunning() && !isStale(); i += this.maxBatch) {
          const slice = batch.messages.slice(i, i + this.maxBatch);
          const messages: ConsumedMessage[] = slice.map((m) => new KafkaMessage(batch.topic, batch.partition, m));
          const last = slice[slice.length - 1];
          const lag = Math.max(0, Number(batch.highWatermark) - Number(last.offset) - 1);
          const beat = setInterval(() => void heartbeat().catch(() => undefined), 2000);
          try {
            // Offer the batch and wait until a reader takes it (backpressure).
            await new Promise<void>((taken) => {
              this.offered = { batch: { messages, lag }, taken };
              this.wake?.();
            });
          } finally {
            clearInterval(beat);
          }
          resolveOffset(last.offset);
          await heartbeat();
        }
      },
    });
  }

  private async refreshCommitted(seen: Map<string, number>): Promise<void> {
    for (const { topic, partitions } of await this.admin.fetchOffsets({ groupId: this.group, topics: this.topics })) {
      for (const p of partitions) {
        const key = `${topic}/${p.partition}`;
        if (Number(p.offset) > (seen.get(key) ?? -1)) seen.set(key, Number(p.offset));
      }
    }
  }

  async commit(offsets: CommitOffset[]): Promise<void> {
    if (!offsets.length) return;
    try {
      await this.consumer.commitOffsets(
        offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })),
      );
    } catch (error) {
      const type = protocolErrorType(error);
      if (REBALANCED.has(type)) throw new RebalancedCommit(`the group is rebalancing (${type})`, { cause: error });
      throw error;
    }
  }

  async close(): Promise<void> {
    this.offered?.taken();
    await this.consumer.disconnect();
  }
}

/** A message as kafkajs decoded it; its key is decoded only when read (most pipelines never read it). */
class KafkaMessage implements ConsumedMessage {
  readonly offset: string;
  readonly value: Buffer;
  readonly timestamp: number;
  private readonly rawKey: Buffer | null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    message: { offset: string; key: Buffer | null; value: Buffer | null; timestamp: string },
  ) {
    this.offset = message.offset;
    this.rawKey = message.key;
    this.value = message.value ?? EMPTY;
    this.timestamp = Number(message.timestamp);
  }

  get key(): string | null {
    return this.rawKey ? this.rawKey.toString('utf8') : null;
  }
}

const EMPTY = Buffer.alloc(0);

/** Kafka's answers to a commit from a member whose generation is over (kafkajs retries the others itself). */
const REBALANCED = new Set(['ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID']);

/** The broker's error code name of a kafkajs error, also when kafkajs wrapped it (a non-retriable error's cause). */
function protocolErrorType(error: unknown): string {
  for (let e = error as { type?: string; cause?: unknown } | undefined, depth = 0; e && depth < 4; depth++) {
    if (e.type) return e.type;
    e = e.cause as typeof e;
  }
  return '';
}

export { partitionFor };
