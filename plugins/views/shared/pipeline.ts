// What the pipeline knows about the data behind a view: upstream steps, last commit, watermark, rejects.
import type { DeadLetters, PipelineStatus } from '../../../core/sdk/index.ts';
import type { Freshness } from '../ui/types.ts';

/** Every step upstream of `from` (inclusive), in a stable order. */
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

export function freshnessOf(status: PipelineStatus, deadLetters: DeadLetters, from: string[]): Freshness {
  const steps = upstreamOf(status, from);
  let lastCommitAt: string | null = null;
  let watermark: string | null = null;
  let delivered: number | null = null;
  for (const id of from) {
    const stats = status.step(id);
    if (!stats) continue;
    if (stats.lastCommitAt && (!lastCommitAt || stats.lastCommitAt > lastCommitAt)) lastCommitAt = stats.lastCommitAt;
    delivered = (delivered ?? 0) + Math.max(stats.recordsIn, stats.recordsOut);
  }
  for (const id of steps) {
    const mark = status.step(id)?.watermark;
    if (mark && (!watermark || mark > watermark)) watermark = mark;
  }
  return { steps, producer: from[0] ?? null, lastCommitAt, watermark, rejected: deadLetters.count(steps), delivered };
}
