// 2. Stream: JSON events on a real Kafka topic → transform → DuckDB, next to a bare kafkajs consumer reading the
// same topic and doing nothing. 6. Memory: peak RSS of the platform process in that scenario.
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { platformArgs } from '../../tests/cli.ts';
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
  const steady: number[] = [];
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
      platformArgs(['run', manifest, '--once', '--state-dir', join(dir, `s${r}`)]),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let peak = 0;
    // Each commit rewrites the state file with the sink's record count: its first and last writes time the steady
    // state after the first batch (start-up, group join and the first fetch left out).
    const stateFile = join(dir, `s${r}`, 'state.json');
    let firstCommit: Commit | undefined;
    let lastCommit: Commit | undefined;
    const sampler = setInterval(() => {
      peak = Math.max(peak, peakRss(child.pid!) ?? 0);
      const commit = committed(stateFile);
      if (commit && commit.at !== lastCommit?.at) [firstCommit, lastCommit] = [firstCommit ?? commit, commit];
    }, 100);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(sampler);
    if (code !== 0 || !new RegExp(`table\\s+sink\\s+duckdb\\s+${events}\\s+${events}`).test(output))
      throw new Error(`stream run failed or incomplete:\n${output.slice(-1500)}`);
    ours.push((performance.now() - t0) / 1000);
    rss.push(peak);
    const last = committed(stateFile) ?? lastCommit;
    if (firstCommit && last && last.at > firstCommit.at)
      steady.push((last.records - firstCommit.records) / ((last.at - firstCommit.at) / 1000));
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
      target: '≥ 0.6×',
      met: oursRate / limitRate >= 0.6,
      note: `whole process incl. start-up: ${median(ours).toFixed(2)} s vs bare kafkajs consumer ${median(bare).toFixed(2)} s; steady state after the first batch: ${steady.length ? Math.round(median(steady)).toLocaleString('en-US') : '?'} events/s (${steady.length ? (median(steady) / limitRate).toFixed(2) : '?'}×)`,
    },
    {
      id: '6',
      title: 'Memory: peak RSS of the streaming run',
      ours: peakMb,
      limit: null,
      unit: 'MB',
      ratio: null,
      target: '≤ 250 MB',
      met: peakMb <= 250,
      note: 'VmHWM of the platform process, median of 3',
    },
  ];
}

interface Commit {
  at: number;
  records: number;
}

/** When the state file was last written and the records the sink had committed then (undefined before the first commit). */
function committed(file: string): Commit | undefined {
  try {
    const at = statSync(file).mtimeMs;
    const state = JSON.parse(readFileSync(file, 'utf8')) as { table?: { totals?: { recordsOut?: number } } };
    const records = state.table?.totals?.recordsOut;
    return records === undefined ? undefined : { at, records };
  } catch {
    return undefined; // not written yet, or being replaced
  }
}
