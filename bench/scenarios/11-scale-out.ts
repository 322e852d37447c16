// 11. Scaling out a stateful pipeline: the revenue monitor as shipped (pipelines/revenue-monitor.yaml,
// MONITOR_STATE=postgres) reading one topic of the original's events (8 partitions, a 3-hour backlog with late and
// duplicate events) with 1, 2 and 3 `platform run --once` workers in one consumer group, into a shared PostgreSQL
// database. Events/s while they run (from 10% to 90% of the events stored), each run checked (every event once, the
// same KPI windows). Next to it, in the same run, what bounds them: the Kafka fetch (a bare kafkajs consumer that
// parses the messages), the PostgreSQL writes (the events sink alone, one connection), the partial aggregates merged
// in the same transaction, and the serial part — the derivation each batch runs under the advisory lock.
// BENCH_MONITOR_BATCH sets the workers' MONITOR_BATCH_SIZE: 1,000 unless set, as BENCHMARKS.md measured it (the
// manifest's default is 10,000); the serial part's cost is per batch.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { loadManifest } from '../../core/manifest/index.ts';
import { createTestStep } from '../../core/testing.ts';
import { createCatalog } from '../../cli/catalog.ts';
import sink, { type PostgresSink } from '../../plugins/sinks/postgres/index.ts';
import { backlog, judge, windowsOf, type MonitorEvent } from '../../pipelines/expectations/revenue-monitor.ts';
import { platformArgs, repoRoot } from '../../tests/cli.ts';
import { Scratch, service } from '../../tests/services.ts';
import { bareConsumerSeconds, median, runs, scale, type Result } from '../lib.ts';
import { workDir } from '../pipeline.ts';

const PARTITIONS = 8;
const BATCH = Number(process.env.BENCH_MONITOR_BATCH ?? 1000);
const MANIFEST = join(repoRoot, 'pipelines/revenue-monitor.yaml');

export async function scaleOut(): Promise<Result[]> {
  // The topic, the groups and a database per run are removed at the end: the servers are shared.
  const scratch = new Scratch();
  const dir = workDir('scale-out');
  try {
    return await measure(scratch, dir);
  } finally {
    await scratch.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Busy share of the machine's CPUs (0–1) between two readings of /proc/stat. */
function cpuTimes(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const values = fields.map(Number);
  const idle = values[3] + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** A worker exited non-zero though the figures were right (the others read its partitions). */
class WorkerExit extends Error {}

interface WorkerRun {
  rate: number;
  seconds: number;
  cpu: number;
  busy: Record<string, number>;
}

async function measure(scratch: Scratch, dir: string): Promise<Result[]> {
  const brokers = service('KAFKA_BROKERS');
  // The original's events (ORIGINALS.md 004 §1), ~1,100 a minute for 3 hours at scale 1.
  const perMinute = Math.max(2, Math.round(1100 * scale));
  const data = backlog({
    start: Date.UTC(2026, 1, 5, 6, 0),
    minutes: 180,
    seed: 11,
    perMinute: [perMinute - Math.floor(perMinute / 4), perMinute + Math.floor(perMinute / 4)],
    partitionOf: (e: MonitorEvent) => Number(e.user_id.slice(5)) % PARTITIONS,
  });
  const want = judge(data.messages);
  const windows = windowsOf(want.accepted);
  const revenueCents = windows.reduce((sum, w) => sum + Math.round(w.revenue * 100), 0);
  const kafka = new Kafka({ clientId: 'bench-scale', brokers: [brokers], logLevel: logLevel.NOTHING });
  const topic = scratch.topic('bench-payments');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < data.messages.length; i += 10_000) {
    await producer.send({
      topic,
      acks: 1,
      messages: data.messages.slice(i, i + 10_000).map((m) => ({ partition: m.partition, key: m.key, value: m.value })),
    });
  }
  await producer.disconnect();

  // Kafka fetch: one bare consumer reading and parsing the topic.
  const fetchSeconds: number[] = [];
  for (let r = 0; r < runs; r++) {
    fetchSeconds.push(
      await bareConsumerSeconds(kafka, topic, scratch.group('bench-bare'), data.messages.length, (value) => {
        try {
          JSON.parse(value.toString('utf8'));
        } catch {
          /* a malformed message of the backlog */
        }
      }),
    );
  }
  const fetchRate = data.messages.length / median(fetchSeconds);

  // The compiled command is built once before anything is timed.
  await new Promise((resolve) =>
    spawn(process.execPath, platformArgs(['validate', MANIFEST]), { cwd: repoRoot, stdio: 'ignore' }).on(
      'close',
      resolve,
    ),
  );
  let lastUrl = '';
  const runWorkers = async (count: number, run: number): Promise<WorkerRun> => {
    const url = await scratch.database(`bench_scale_${count}_${run}`);
    lastUrl = url;
    const group = scratch.group(`bench-monitor-${count}-${run}`);
    const env = {
      ...process.env,
      MONITOR_SIMULATE: 'false',
      MONITOR_KAFKA_BROKERS: brokers,
      MONITOR_TOPIC: topic,
      MONITOR_GROUP: group,
      MONITOR_STATE: 'postgres',
      MONITOR_STATE_PG_URL: url,
      MONITOR_BATCH_SIZE: String(BATCH),
    };
    const db = new pg.Pool({ connectionString: url, max: 1 });
    const samples: [number, number][] = [];
    const cpu0 = cpuTimes();
    const t0 = performance.now();
    const outputs: string[] = Array.from({ length: count }, () => '');
    const exits = Array.from(
      { length: count },
      (_, i) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(
            process.execPath,
            platformArgs(['run', MANIFEST, '--once', '--state-dir', join(dir, `c${count}-r${run}-w${i}`)], env),
            { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
          );
          child.stdout.on('data', (d) => (outputs[i] += d));
          child.stderr.on('data', (d) => (outputs[i] += d));
          child.on('close', resolve);
        }),
    );
    let running = true;
    const sampler = (async () => {
      while (running) {
        const n = await db.query('SELECT count(*)::int AS n FROM events').then(
          (r) => r.rows[0].n as number,
          () => 0,
        );
        samples.push([performance.now(), n]);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const codes = await Promise.all(exits);
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = cpuTimes();
    running = false;
    await sampler;
    const [{ events, windowCount, cents }] = (
      await db.query(
        'SELECT (SELECT count(*)::int FROM events) AS events, (SELECT count(*)::int FROM kpi_windows) AS "windowCount", (SELECT (sum(revenue) * 100)::bigint FROM kpi_windows) AS cents',
      )
    ).rows;
    await db.end();
    const failed = outputs
      .map((o, i) => `worker ${i} (exit ${codes[i]}): ${o.slice(-3000)}`)
      .filter((_, i) => codes[i] !== 0)
      .join('\n');
    if (events !== want.accepted.length || windowCount !== windows.length || Number(cents) !== revenueCents) {
      throw new Error(
        `${count} worker(s): exit codes ${codes.join(', ')}, ${events} events (want ${want.accepted.length}), ${windowCount} windows (want ${windows.length}), revenue ${cents} cents (want ${revenueCents})\n${failed}`,
      );
    }
    // The others took its partitions and the figures are right, but the run did not have `count` workers: run again.
    if (failed) throw new WorkerExit(failed);
    // Events/s from 10% to 90% of the events stored (start-up and the last stragglers left out).
    const at = (share: number) => samples.find(([, n]) => n >= share * events) ?? samples[samples.length - 1];
    const [t10, n10] = at(0.1);
    const [t90, n90] = at(0.9);
    const rate = t90 > t10 ? (n90 - n10) / ((t90 - t10) / 1000) : events / seconds;
    // Where each worker spent its time: the --once summary's busy column, summed over the workers.
    const busy: Record<string, number> = {};
    for (const output of outputs) {
      for (const line of output.split('\n')) {
        const m = /^(events|checked|shared-ordered|shared-on-time|shared-events)\s.*\s(\d+) ms\s+\d+\/\d+\s*$/.exec(
          line,
        );
        if (m) busy[m[1]] = (busy[m[1]] ?? 0) + Number(m[2]) / 1000;
      }
    }
    return { rate, seconds, cpu: (cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total), busy };
  };

  const byCount = new Map<number, WorkerRun[]>();
  const workerExits: string[] = [];
  for (const count of [1, 2, 3]) {
    const list: WorkerRun[] = [];
    for (let r = 0, attempt = 0; r < runs; attempt++) {
      try {
        list.push(await runWorkers(count, attempt));
        r++;
      } catch (error) {
        if (!(error instanceof WorkerExit) || workerExits.length >= 3) throw error;
        workerExits.push(
          `${count} workers, attempt ${attempt + 1}: ${error.message.split('\n').slice(0, 4).join(' / ')}`,
        );
        process.stderr.write(`scenario 11: a worker failed, run again: ${error.message}\n`);
      }
    }
    byCount.set(count, list);
  }
  const medianRun = (count: number) => {
    const list = [...byCount.get(count)!].sort((a, b) => a.rate - b.rate);
    return list[Math.floor(list.length / 2)];
  };

  // The PostgreSQL side alone, one connection, batches of 1,000 in partition order (as the workers write them):
  // the events sink without its afterWrite, with the merges of the partial aggregates, and with everything (the
  // derivation under the lock). The rows are the last run's stored events.
  const source = new pg.Pool({ connectionString: lastUrl, max: 1 });
  const stored = (
    await source.query(
      'SELECT event_id, event_ts, user_id, event_type, amount, status, gateway_name, response_code, latency_ms, retry_attempt, source, source_offset, partition_newest FROM events ORDER BY source, source_offset',
    )
  ).rows;
  await source.end();
  const catalog = createCatalog();
  const sinkStep = async (url: string) => {
    const manifest = await loadManifest(MANIFEST, catalog, {
      ...process.env,
      MONITOR_STATE: 'postgres',
      MONITOR_STATE_PG_URL: url,
    });
    const config = manifest.steps.find((s) => s.id === 'shared-events')!.config as { afterWrite: string[] };
    const init = manifest.connections.find((c) => c.name === 'postgres')!.config;
    return { config, connection: { type: 'postgres', ...init } };
  };
  const timeSink = async (statements: (all: string[]) => string[], name: string): Promise<number> => {
    const seconds: number[] = [];
    for (let r = 0; r < runs; r++) {
      const url = await scratch.database(`bench_sink_${name}_${r}`);
      const { config, connection } = await sinkStep(url);
      const step = await createTestStep<PostgresSink>(
        sink,
        'sink',
        { ...config, afterWrite: statements(config.afterWrite) },
        { connections: { postgres: connection as { type: string } }, connection: 'postgres', id: 'shared-events' },
      );
      const t0 = performance.now();
      for (let i = 0; i < stored.length; i += BATCH)
        await step.plugin.write(stored.slice(i, i + BATCH), step.context());
      seconds.push((performance.now() - t0) / 1000);
      await step.close();
    }
    return stored.length / median(seconds);
  };
  const writeRate = await timeSink(() => [], 'write');
  const mergeRate = await timeSink((all) => all.slice(0, 3), 'merge');
  const allRate = await timeSink((all) => all, 'all');
  // The derivation's own time per batch, and the events/s it allows whatever the number of workers.
  const deriveSecondsPerEvent = Math.max(1 / allRate - 1 / mergeRate, 1e-9);
  const serialRate = 1 / deriveSecondsPerEvent;

  const one = medianRun(1);
  const fmtBusy = (w: WorkerRun) =>
    Object.entries(w.busy)
      .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
      .join(', ');
  const row = (count: number, id: string): Result => {
    const w = medianRun(count);
    const linear = one.rate * count;
    return {
      id,
      title: `Scale-out: revenue monitor (MONITOR_STATE=postgres), ${data.messages.length.toLocaleString('en-US')} events on ${PARTITIONS} partitions, ${count} worker${count > 1 ? 's' : ''}`,
      ours: w.rate,
      limit: count === 1 ? fetchRate : linear,
      unit: 'events/s',
      ratio: w.rate / (count === 1 ? fetchRate : linear),
      target: count === 1 ? 'same windows as computed' : 'same windows as 1 worker',
      met: true,
      note: `${count === 1 ? 'limit: one bare kafkajs consumer parsing the topic' : `limit: ${count} × one worker (linear)`}; whole run ${w.seconds.toFixed(1)} s, machine CPU ${(w.cpu * 100).toFixed(0)}% busy; worker busy: ${fmtBusy(w)}${workerExits
        .filter((e) => e.startsWith(`${count} workers`))
        .map((e) => `; run again after a worker exited: ${e}`)
        .join('')}`,
    };
  };
  return [
    row(1, '11a'),
    row(2, '11b'),
    row(3, '11c'),
    {
      id: '11d',
      title: 'Scale-out bound: Kafka fetch, one bare kafkajs consumer parsing the messages',
      ours: fetchRate,
      limit: null,
      unit: 'events/s',
      ratio: null,
      target: '—',
      met: true,
      note: `median of ${runs}: ${median(fetchSeconds).toFixed(2)} s for ${data.messages.length.toLocaleString('en-US')} messages`,
    },
    {
      id: '11e',
      title:
        'Scale-out bound: PostgreSQL writes, the events sink alone (COPY, INSERT … ON CONFLICT DO NOTHING), one connection',
      ours: writeRate,
      limit: null,
      unit: 'events/s',
      ratio: null,
      target: '—',
      met: true,
      note: `batches of ${BATCH.toLocaleString('en-US')}, ${stored.length.toLocaleString('en-US')} events`,
    },
    {
      id: '11f',
      title: 'Scale-out bound: events sink + merging the partial aggregates (same transaction), one connection',
      ours: mergeRate,
      limit: writeRate,
      unit: 'events/s',
      ratio: mergeRate / writeRate,
      target: '—',
      met: true,
      note: 'limit: the writes alone (11e)',
    },
    {
      id: '11g',
      title: 'Scale-out bound: the serial part, the derivation of the touched windows under the advisory lock',
      ours: serialRate,
      limit: allRate,
      unit: 'events/s',
      ratio: serialRate / allRate,
      target: '—',
      met: true,
      note: `the most events/s any number of workers can reach at batches of ${BATCH.toLocaleString('en-US')}; limit column: sink + merges + derivation on one connection (${Math.round(allRate).toLocaleString('en-US')} events/s)`,
    },
  ];
}
