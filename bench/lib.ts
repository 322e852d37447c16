// Benchmark helpers: medians, machine facts, and the results table.
import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import type { Kafka } from 'kafkajs';

export interface Result {
  id: string;
  title: string;
  /** What the platform achieved and the physical limit measured in the same run (same unit). */
  ours: number | null;
  limit: number | null;
  unit: string;
  /** ours ÷ limit for throughput (higher is better); for latency/memory the target is stated in `target`. */
  ratio: number | null;
  target: string;
  met: boolean | null;
  note: string;
}

export const scale = Number(process.env.BENCH_SCALE ?? 1);
export const runs = Number(process.env.BENCH_RUNS ?? 3);

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile of latencies (p in 0..1). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Runs `work` `runs` times (after `setup` each time) and returns the median seconds. */
export async function timeMedian(
  work: () => Promise<void>,
  setup?: () => Promise<void>,
  times = runs,
): Promise<number> {
  const seconds: number[] = [];
  for (let i = 0; i < times; i++) {
    await setup?.();
    const t0 = performance.now();
    await work();
    seconds.push((performance.now() - t0) / 1000);
  }
  return median(seconds);
}

/** Peak resident memory (VmHWM) of a running process, in MB; sample until it exits. */
export function peakRss(pid: number): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export function machine(extra: Record<string, string>): string[] {
  const cpu = cpus();
  return [
    `- CPU: ${cpu.length} × ${cpu[0]?.model ?? 'unknown'}`,
    `- Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- Node ${process.version}`,
    ...Object.entries(extra).map(([k, v]) => `- ${k}: ${v}`),
  ];
}

export function table(results: Result[]): string {
  const fmt = (n: number | null, digits = 0) =>
    n === null ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits });
  const rows = results.map((r) => [
    r.id,
    r.title,
    `${fmt(r.ours, r.ours !== null && r.ours < 100 ? 1 : 0)} ${r.unit}`,
    `${fmt(r.limit, r.limit !== null && r.limit < 100 ? 1 : 0)} ${r.unit}`,
    r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`,
    r.target,
    r.met === null ? 'not run' : r.met ? 'yes' : 'NO',
    r.note,
  ]);
  const header = ['#', 'scenario', 'platform', 'limit (same run)', 'ratio', 'target', 'met', 'notes'];
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/**
 * Seconds one bare kafkajs consumer (a group of its own) takes to read `count` messages of `topic` from its start,
 * each value handed to `each` (the parse a scenario's floor includes): the Kafka floor of the stream scenarios.
 */
export async function bareConsumerSeconds(
  kafka: Kafka,
  topic: string,
  groupId: string,
  count: number,
  each?: (value: Buffer) => void,
): Promise<number> {
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const t0 = performance.now();
  let seen = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        if (each) for (const m of batch.messages) each(m.value!);
        seen += batch.messages.length;
        if (seen >= count) resolve();
      },
    });
  });
  const seconds = (performance.now() - t0) / 1000;
  await consumer.disconnect();
  return seconds;
}
