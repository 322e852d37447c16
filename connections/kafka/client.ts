/** What both Kafka implementations (a real cluster through kafkajs, the embedded topic log) offer plugins. */
export interface TopicMessage {
  key?: string | null;
  value: string | Buffer;
  /** Milliseconds since the epoch; default now. */
  timestamp?: number;
  headers?: Record<string, string>;
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  /** Offset as a decimal string (Kafka offsets are 64-bit). */
  offset: string;
  key: string | null;
  value: Buffer;
  timestamp: number;
}

export interface ConsumedBatch {
  messages: ConsumedMessage[];
  /** Messages in the assigned partitions not read yet, as far as the consumer knows. */
  lag: number;
}

/** A position to commit: the offset of the NEXT message to read in that partition (Kafka's convention). */
export interface CommitOffset {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * A commit the group refused because it moved this member's partitions while the batch was being written (a member
 * joined or left: the generation changed). Not a failure of the run: the partitions' new owner reads from the last
 * committed offset, so the batch is read again (at-least-once); this member goes on with what it is given next.
 */
export class RebalancedCommit extends Error {
  override readonly name = 'RebalancedCommit';
}

export interface TopicConsumer {
  /**
   * Batches of messages in offset order per partition. With `once`, ends when every assigned partition
   * is read up to the high watermark it had when reading started.
   */
  batches(signal: AbortSignal, options: { once: boolean; maxBatch: number }): AsyncIterable<ConsumedBatch>;
  commit(offsets: CommitOffset[]): Promise<void>;
  close(): Promise<void>;
}

export interface TopicClient {
  readonly embedded: boolean;
  createTopic(name: string, options?: { partitions?: number; replicationFactor?: number }): Promise<void>;
  produce(topic: string, messages: TopicMessage[]): Promise<void>;
  /**
   * Produces the messages of one batch exactly once (see `SinkContext.batch`: `id` the batch, `writer` the sink):
   * a batch this writer produced before — delivered again after a crash — is not produced again, and a batch is
   * never half there. Kafka: one transaction per batch under a transactional id of the writer (a restarted process
   * fences its dead predecessor and ends its open transaction), with the batch noted in that transaction in the
   * offsets of a ledger group `<topic>.platform-sink.<writer>`; consumers reading committed messages (the default)
   * see each batch once, whole. Embedded log: each message keeps its batch id and place, and only the missing ones
   * are written.
   */
  produceOnce(topic: string, messages: TopicMessage[], batch: { id: string; writer: string }): Promise<void>;
  consumer(options: {
    group: string;
    topics: string[];
    from: 'earliest' | 'latest' | 'committed';
  }): Promise<TopicConsumer>;
  /** Partition count and high watermark of each partition. */
  describe(topic: string): Promise<{ partition: number; high: string }[]>;
  close(): Promise<void>;
}

/** Kafka's default partitioner for keyed messages is murmur2; both implementations use it so a key lands on the same partition. */
export function murmur2(data: Buffer): number {
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  const length = data.length;
  let h = seed ^ length;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    let k =
      (data[i] & 0xff) + ((data[i + 1] & 0xff) << 8) + ((data[i + 2] & 0xff) << 16) + ((data[i + 3] & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  switch (length % 4) {
    case 3:
      h ^= (data[i + 2] & 0xff) << 16; // falls through
    case 2:
      h ^= (data[i + 1] & 0xff) << 8; // falls through
    case 1:
      h ^= data[i] & 0xff;
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h;
}

/** How many batch ids a writer's ledger keeps (a batch is delivered again only right after a restart). */
export const ONCE_LEDGER_BATCHES = 100;

/** The 16 hex characters of a batch id that ledgers keep (64 bits: no two batches of a writer share them). */
export function ledgerKey(batch: string): string {
  return batch.slice(0, 16);
}

export function partitionFor(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key)) & 0x7fffffff) % partitions;
}
