// What the pipeline knows about the data behind a view: upstream steps, last commit, watermark, rejects.
import type { DeadLetters, PipelineStatus } from '../../../core/sdk/index.ts';
import type { Freshness } from '../ui/types.ts';

/** Every step upstream of `from` (inclusive, through files, topics and tables between steps), in a stable order. */
export function upstreamOf(status: PipelineStatus, from: string[]): string[] {
  const all = new Set<string>();
  for (const id of from) for (const step of safeUpstream(status, id)) all.add(step);
  return [...all];
}

function safeUpstream(status: PipelineStatus, id: string): string[] {
  try {
    const steps = status.upstream(id);
    return steps.includes(id) ? steps : [...steps, id];
  } catch {
    return [id];
  }
}

/**
 * The steps whose commits change what a widget reads: its producers when they commit (sources and sinks do),
 * else the steps upstream of them (a transform never commits by itself).
 */
export function triggersOf(status: PipelineStatus, from: string[]): string[] {
  const out = new Set<string>();
  for (const id of from) {
    const kind = status.step(id)?.kind;
    if (kind === 'sink' || kind === 'source') out.add(id);
    else for (const step of upstreamOf(status, [id])) if (status.step(step)?.kind !== 'transform') out.add(step);
  }
  return [...out];
}

/**
 * Freshness of the data written by `from`: its last commit, the newest event time upstream, and one count of the
 * records rejected on the way, traced through every hop to the sources (all time, and since this process started).
 */
export function freshnessOf(status: PipelineStatus, deadLetters: DeadLetters, from: string[]): Freshness {
  const steps = upstreamOf(status, from);
  let lastCommitAt: string | null = null;
  let watermark: string | null = null;
  let delivered: number | null = null;
  for (const id of from) {
    const stats = status.step(id);
    if (!stats) continue;
    if (stats.lastCommitAt && (!lastCommitAt || stats.lastCommitAt > lastCommitAt)) lastCommitAt = stats.lastCommitAt;
    delivered =
      (delivered ?? 0) +
      Math.max(stats.totals?.recordsIn ?? stats.recordsIn, stats.totals?.recordsOut ?? stats.recordsOut);
  }
  let rejectedRun = 0;
  for (const id of steps) {
    const stats = status.step(id);
    const mark = stats?.watermark;
    if (mark && (!watermark || mark > watermark)) watermark = mark;
    rejectedRun += stats?.run.rejected ?? 0;
  }
  return {
    steps,
    producer: from[0] ?? null,
    producers: from,
    lastCommitAt,
    watermark,
    rejected: deadLetters.count(steps),
    rejectedRun,
    delivered,
  };
}
