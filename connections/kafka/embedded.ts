import { EventEmitter } from 'node:events';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type {
  CommitOffset,
  ConsumedBatch,
  ConsumedMessage,
  TopicClient,
  TopicConsumer,
  TopicMessage,
} from './client.ts';
import { ledgerKey, ONCE_LEDGER_BATCHES, partitionFor } from './client.ts';

interface StoredMessage {
  t: number;
  k: string | null;
  v: string;
  /** The value is base64 (it was not valid UTF-8 text). */
  b?: 1;
  /** Written by `produceOnce`: `<batch key>:<place in the batch>`. */
  o?: string;
}

interface Partition {
  messages: StoredMessage[];
  fd: number;
}

/**
 * An in-process, file-backed topic log with Kafka's model: topics of partitions, keyed partitioning (murmur2),
 * offsets, and consumer groups whose committed offsets persist. Each partition is an append-only JSON-lines
 * file, fsynced on every produce; a restarted process finds its data and offsets. Consumers of one group in
 * this process share the partitions. It is not shared across processes: scaling out needs a real broker.
 */
export class EmbeddedTopicLog implements TopicClient {
  readonly embedded = true;
  private readonly topics = new Map<string, Partition[]>();
  private readonly groups: Record<string, Record<string, Record<number, string>>>;
  private readonly members = new Map<string, EmbeddedConsumer[]>();
  /** The messages of the latest batches written by `produceOnce`: places by batch key (oldest first). */
  private readonly once = new Map<string, Set<number>>();
  readonly changes = new EventEmitter();
  private roundRobin = 0;

  constructor(
    readonly dir: string,
    private readonly defaultPartitions = 1,
  ) {
    mkdirSync(dir, { recursive: true });
    const groupsFile = join(dir, 'groups.json');
    this.groups = existsSync(groupsFile) ? JSON.parse(readFileSync(groupsFile, 'utf8')) : {};
    this.changes.setMaxListeners(0);
    for (const name of readdirSync(dir, { withFileTypes: true }))
      if (name.isDirectory()) this.open(decodeURIComponent(name.name));
  }

  async createTopic(name: string, options: { partitions?: number } = {}): Promise<void> {
    this.topic(name, options.partitions);
  }

  async produce(topic: string, messages: TopicMessage[]): Promise<void> {
    this.append(topic, messages);
  }

  async produceOnce(topic: string, messages: TopicMessage[], batch: { id: string; writer: string }): Promise<void> {
    // Partitions are written one after the other: a crash may leave part of a batch, and then the rest comes.
    const key = ledgerKey(batch.id);
    const done = this.once.get(key);
    const places = messages.map((_, place) => place).filter((place) => !done?.has(place));
    if (places.length)
      this.append(
        topic,
        places.map((place) => messages[place]),
        { key, places, spread: parseInt(key.slice(0, 8), 16) },
      );
  }

  /** Writes messages; `once` marks them with their batch and place (unkeyed ones then go where the place says). */
  private append(
    topic: string,
    messages: TopicMessage[],
    once?: { key: string; places: number[]; spread: number },
  ): void {
    const partitions = this.topic(topic);
    const touched = new Set<Partition>();
    const lines = new Map<Partition, string[]>();
    for (const [i, message] of messages.entries()) {
      const unkeyed = once ? (once.spread + once.places[i]) % partitions.length : this.roundRobin++ % partitions.length;
      const index = message.key != null ? partitionFor(message.key, partitions.length) : unkeyed;
      const partition = partitions[index];
      const text = typeof message.value === 'string' ? message.value : message.value.toString('utf8');
      const exact = typeof message.value === 'string' || Buffer.from(text, 'utf8').equals(message.value);
      const stored: StoredMessage = exact
        ? { t: message.timestamp ?? Date.now(), k: message.key ?? null, v: text }
        : {
            t: message.timestamp ?? Date.now(),
            k: message.key ?? null,
            v: (message.value as Buffer).toString('base64'),
            b: 1,
          };
      if (once) {
        stored.o = `${once.key}:${once.places[i]}`;
        this.remember(stored.o);
      }
      partition.messages.push(stored);
      (lines.get(partition) ?? lines.set(partition, []).get(partition)!).push(JSON.stringify(stored) + '\n');
      touched.add(partition);
    }
    for (const [partition, text] of lines) {
      writeSync(partition.fd, text.join(''));
      fdatasyncSync(partition.fd);
    }
    if (touched.size) this.changes.emit('data');
  }

  /** Notes a message written by `produceOnce` (`<batch key>:<place>`), forgetting the oldest batches beyond the ledger's size. */
  private remember(mark: string): void {
    const [key, place] = mark.split(':');
    let places = this.once.get(key);
    if (!places) {
      this.once.set(key, (places = new Set()));
      if (this.once.size > ONCE_LEDGER_BATCHES) this.once.delete(this.once.keys().next().value!);
    }
    places.add(Number(place));
  }

  async consumer(options: {
    group: string;
    topics: string[];
    from: 'earliest' | 'latest' | 'committed';
  }): Promise<TopicConsumer> {
    for (const topic of options.topics) this.topic(topic);
    const consumer = new EmbeddedConsumer(this, options.group, options.topics, options.from);
    const members = this.members.get(options.group) ?? [];
    members.push(consumer);
    this.members.set(options.group, members);
    this.changes.emit('data');
    return consumer;
  }

  async describe(topic: string) {
    return this.topic(topic).map((p, partition) => ({ partition, high: String(p.messages.length) }));
  }

  async close(): Promise<void> {
    for (const partitions of this.topics.values()) for (const p of partitions) closeSync(p.fd);
    this.topics.clear();
  }

  // --- used by EmbeddedConsumer

  /** The (topic, partition) pairs of one member: partitions dealt round-robin over the group's members. */
  assignment(consumer: EmbeddedConsumer): { topic: string; partition: number }[] {
    const members = this.members.get(consumer.group) ?? [];
    const index = members.indexOf(consumer);
    const all = consumer.topics.flatMap((topic) => this.topic(topic).map((_, partition) => ({ topic, partition })));
    return all.filter((_, i) => i % members.length === index);
  }

  read(topic: string, partition: number, from: number, max: number): ConsumedMessage[] {
    const { messages } = this.topic(topic)[partition];
    return messages.slice(from, from + max).map((m, i) => ({
      topic,
      partition,
      offset: String(from + i),
      key: m.k,
      timestamp: m.t,
      value: m.b ? Buffer.from(m.v, 'base64') : Buffer.from(m.v, 'utf8'),
    }));
  }

  high(topic: string, partition: number): number {
    return this.topic(topic)[partition].messages.length;
  }

  committed(group: string, topic: string, partition: number): number | undefined {
    const offset = this.groups[group]?.[topic]?.[partition];
    return offset === undefined ? undefined : Number(offset);
  }

  commit(group: string, offsets: CommitOffset[]): void {
    for (const { topic, partition, offset } of offsets) ((this.groups[group] ??= {})[topic] ??= {})[partition] = offset;
    const file = join(this.dir, 'groups.json');
    writeFileSync(file + '.tmp', JSON.stringify(this.groups));
    renameSync(file + '.tmp', file);
  }

  leave(consumer: EmbeddedConsumer): void {
    const members = (this.members.get(consumer.group) ?? []).filter((m) => m !== consumer);
    this.members.set(consumer.group, members);
    this.changes.emit('data');
  }

  private topic(name: string, partitions?: number): Partition[] {
    return this.topics.get(name) ?? this.open(name, partitions ?? this.defaultPartitions);
  }

  private open(name: string, create?: number): Partition[] {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`invalid topic name "${name}" (letters, digits, . _ -)`);
    const folder = join(this.dir, encodeURIComponent(name));
    const metaFile = join(folder, 'meta.json');
    if (!existsSync(metaFile)) {
      if (create === undefined) return [];
      mkdirSync(folder, { recursive: true });
      writeFileSync(metaFile, JSON.stringify({ partitions: create }));
    }
    const { partitions } = JSON.parse(readFileSync(metaFile, 'utf8')) as { partitions: number };
    const list: Partition[] = [];
    for (let p = 0; p < partitions; p++) {
      const file = join(folder, `${p}.log`);
      const messages = existsSync(file)
        ? readFileSync(file, 'utf8')
            .split('\n')
            .filter(Boolean)
            .flatMap((line) => {
              try {
                return [JSON.parse(line) as StoredMessage];
              } catch {
                return []; // a torn last line from a crash mid-write: it was never acknowledged
              }
            })
        : [];
      for (const message of messages) if (message.o) this.remember(message.o);
      list.push({ messages, fd: openSync(file, 'a') });
    }
    this.topics.set(name, list);
    return list;
  }
}

class EmbeddedConsumer implements TopicConsumer {
  private readonly positions = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly log: EmbeddedTopicLog,
    readonly group: string,
    readonly topics: string[],
    private readonly from: 'earliest' | 'latest' | 'committed',
  ) {}

  async *batches(signal: AbortSignal, options: { once: boolean; maxBatch: number }): AsyncIterable<ConsumedBatch> {
    // In once mode, read up to what each partition held when reading started.
    const ends = new Map<string, number>();
    for (const topic of this.topics)
      for (const { partition, high } of await this.log.describe(topic)) ends.set(`${topic}/${partition}`, Number(high));
    while (!signal.aborted && !this.closed) {
      const assigned = this.log.assignment(this);
      const messages: ConsumedMessage[] = [];
      let lag = 0;
      let caughtUp = true;
      for (const { topic, partition } of assigned) {
        const key = `${topic}/${partition}`;
        const position = this.position(topic, partition);
        const limit = options.once ? (ends.get(key) ?? 0) : this.log.high(topic, partition);
        if (position < limit) {
          const read = this.log.read(
            topic,
            partition,
            position,
            Math.min(options.maxBatch - messages.length, limit - position),
          );
          messages.push(...read);
          this.positions.set(key, position + read.length);
        }
        const remaining = limit - (this.positions.get(key) ?? position);
        lag += Math.max(0, this.log.high(topic, partition) - (this.positions.get(key) ?? position));
        if (remaining > 0) caughtUp = false;
        if (messages.length >= options.maxBatch) break;
      }
      if (messages.length) {
        yield { messages, lag };
        continue;
      }
      if (options.once && caughtUp) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.log.changes.off('data', done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, 1000);
        this.log.changes.once('data', done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  async commit(offsets: CommitOffset[]): Promise<void> {
    this.log.commit(this.group, offsets);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.log.leave(this);
  }

  private position(topic: string, partition: number): number {
    const key = `${topic}/${partition}`;
    let position = this.positions.get(key);
    if (position === undefined) {
      // Kafka's rule: a committed offset wins; `from` applies only when the group has none.
      position =
        this.log.committed(this.group, topic, partition) ??
        (this.from === 'latest' ? this.log.high(topic, partition) : 0);
      this.positions.set(key, position);
    }
    return position;
  }
}
