// 4. Latency: events produced to Kafka at a fixed rate → visible through the view data API.
// Each event carries a sequence number; a poller asks the API for the newest visible one every 20 ms, and each
// event's latency is (time first seen visible) − (time it was sent). Reports p50, p95, p99.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startPlatform } from '../../tests/cli.ts';
import { Scratch, service } from '../../tests/services.ts';
import { percentile, scale, type Result } from '../lib.ts';
import { workDir } from '../pipeline.ts';

export async function latency(): Promise<Result> {
  // The topic and its consumer group are removed at the end: the broker is shared.
  const scratch = new Scratch();
  try {
    return await measure(scratch);
  } finally {
    await scratch.drop();
  }
}

async function measure(scratch: Scratch): Promise<Result> {
  const rate = 5000;
  const seconds = Math.max(2, Math.round(20 * Math.min(1, scale * 10)));
  const brokers = service('KAFKA_BROKERS');
  const topic = scratch.topic('latency');
  scratch.groups.add(`${topic}-g`);
  const kafka = new Kafka({ clientId: 'bench-latency', brokers: [brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const dir = workDir('latency');
  const manifest = join(dir, 'latency.yaml');
  writeFileSync(
    manifest,
    `name: bench-latency
connections:
  bus: { type: kafka, brokers: "${brokers}" }
  warehouse: { type: duckdb, path: "${join(dir, 'w.duckdb')}", init: ["CREATE TABLE IF NOT EXISTS events (seq BIGINT, sent BIGINT)"] }
sources:
  events: { use: kafka, connection: bus, with: { topics: ${topic}, group: ${topic}-g, startFrom: latest, maxBatch: 1000 } }
sinks:
  table: { use: duckdb, from: events, connection: warehouse, with: { table: events } }
views:
  api:
    use: api
    connection: warehouse
    from: [table]
    with:
      endpoints:
        - { path: newest, query: "SELECT max(seq) AS seq FROM events" }
`,
  );
  const server = await startPlatform(['run', manifest, '--port', '0', '--state-dir', join(dir, 'state')]);
  const producer = kafka.producer();
  await producer.connect();
  try {
    await new Promise((r) => setTimeout(r, 3000)); // let the consumer group settle before the clock starts
    const sent: number[] = [];
    const seenAt: number[] = [];
    let visible = -1;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const body = (await (await fetch(`${server.url}/api/views/api/newest`)).json()) as {
          data: { seq: number | null }[];
        };
        const seq = body.data[0]?.seq ?? -1;
        const now = performance.now();
        for (let s = visible + 1; s <= seq; s++) seenAt[s] = now;
        visible = Math.max(visible, seq);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const total = rate * seconds;
    const start = performance.now();
    for (let tick = 0; tick < seconds * 100; tick++) {
      // 10 ms ticks of rate/100 events each: a fixed 5,000/s.
      const due = start + tick * 10;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const messages = Array.from({ length: rate / 100 }, () => {
        const seq = sent.length;
        sent.push(performance.now());
        return { value: JSON.stringify({ seq, sent: Date.now() }) };
      });
      await producer.send({ topic, acks: 1, messages });
    }
    const deadline = performance.now() + 30_000;
    while (visible < total - 1 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    polling = false;
    await poller;
    if (visible < total - 1) throw new Error(`only ${visible + 1} of ${total} events became visible`);
    const latencies = sent.map((t, i) => seenAt[i] - t);
    const [p50, p95, p99] = [0.5, 0.95, 0.99].map((p) => percentile(latencies, p));
    return {
      id: '4',
      title: `Latency: Kafka at ${rate.toLocaleString('en-US')}/s for ${seconds} s → visible in the view API`,
      ours: p99,
      limit: null,
      unit: 'ms p99',
      ratio: null,
      target: 'p99 < 500 ms',
      met: p99 < 500,
      note: `p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (API polled every 20 ms)`,
    };
  } finally {
    await producer.disconnect();
    await server.stop();
  }
}
