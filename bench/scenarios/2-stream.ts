// 2. Stream: JSON events on a real Kafka topic → transform → DuckDB, next to a bare kafkajs consumer reading the
// same topic and doing nothing. 6. Memory: peak RSS of the platform process in that scenario.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Scratch, service } from '../../tests/services.ts';
import { bareConsumerSeconds, median, peakRss, runs, scale, type Result } from '../lib.ts';
import { workDir } from '../pipeline.ts';

export async function stream(): Promise<Result[]> {
  // The topic and every consumer group are removed at the end: the broker is shared.
  const scratch = new Scratch();
  try {
    return await measure(scratch);
  } finally {
    await scratch.drop();
  }
}

async function measure(scratch: Scratch): Promise<Result[]> {
  const events = Math.round(1_000_000 * scale);
  const brokers = service('KAFKA_BROKERS');
  const kafka = new Kafka({ clientId: 'bench', brokers: [brokers], logLevel: logLevel.NOTHING });
  const topic = scratch.topic('bench-events');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < events; i += 10_000) {
    const messages = Array.from({ length: Math.min(10_000, events - i) }, (_, j) => {
      const n = i + j;
      return {
        key: `user_${n % 2000}`,
        value: JSON.stringify({
          event_id: `e${n}`,
          user_id: `user_${n % 2000}`,
          event_type: n % 10 < 6 ? 'login' : 'purchase',
          amount: ((n * 7919) % 25000) / 100,
          latency_ms: 150 + (n % 1450),
          event_ts: new Date(1714557600000 + n * 10).toISOString(),
        }),
      };
    });
    await producer.send({ topic, acks: 1, messages });
  }
  await producer.disconnect();

  const bare: number[] = [];
  for (let r = 0; r < runs; r++) bare.push(await bareConsumerSeconds(kafka, topic, scratch.group('bare'), events));

  const dir = workDir('stream');
  const ours: number[] = [];
  const rss: number[] = [];
  for (let r = 0; r < runs; r++) {
    const manifest = join(dir, `stream-${r}.yaml`);
    scratch.groups.add(`ours-${r}-${topic}`);
    writeFileSync(
      manifest,
      `name: bench-stream
connections:
  bus: { type: kafka, brokers: "${brokers}" }
  warehouse: { type: duckdb, path: "${join(dir, `w${r}.duckdb`)}", init: ["CREATE TABLE IF NOT EXISTS events (event_id VARCHAR, user_id VARCHAR, event_type VARCHAR, amount DOUBLE, latency_ms INTEGER, event_ts TIMESTAMPTZ)"] }
sources:
  events: { use: kafka, connection: bus, with: { topics: ${topic}, group: ours-${r}-${topic}, startFrom: earliest, maxBatch: 10000 } }
transforms:
  typed: { use: sql, from: events, connection: warehouse, with: { query: "SELECT event_id, user_id, event_type, amount, latency_ms, CAST(event_ts AS TIMESTAMPTZ) AS event_ts FROM input" } }
sinks:
  table: { use: duckdb, from: typed, connection: warehouse, with: { table: events } }
`,
    );
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      ['cli/bin.mjs', 'run', manifest, '--once', '--state-dir', join(dir, `s${r}`)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, peakRss(child.pid!) ?? 0)), 100);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(sampler);
    if (code !== 0 || !new RegExp(`table\\s+sink\\s+duckdb\\s+${events}\\s+${events}`).test(output))
      throw new Error(`stream run failed or incomplete:\n${output.slice(-1500)}`);
    ours.push((performance.now() - t0) / 1000);
    rss.push(peak);
  }
  const oursRate = events / median(ours);
  const limitRate = events / median(bare);
  const peakMb = median(rss);
  return [
    {
      id: '2',
      title: `Stream: ${events.toLocaleString('en-US')} JSON events on Kafka → sql → DuckDB`,
      ours: oursRate,
      limit: limitRate,
      unit: 'events/s',
      ratio: oursRate / limitRate,
      target: '≥ 0.7×',
      met: oursRate / limitRate >= 0.7,
      note: `whole process incl. start-up: ${median(ours).toFixed(2)} s vs bare kafkajs consumer ${median(bare).toFixed(2)} s`,
    },
    {
      id: '6',
      title: 'Memory: peak RSS of the streaming run',
      ours: peakMb,
      limit: null,
      unit: 'MB',
      ratio: null,
      target: '< 400 MB',
      met: peakMb < 400,
      note: 'VmHWM of the platform process, median of 3',
    },
  ];
}
