// The pipeline page's live data: step statistics with their throughput (records out per second over the last
// minute), sent as server-sent events after commits, rejects and errors (at most once a second), and one step's
// details (settings, recent errors, a sample of its last batch, its newest dead letters).
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Pipeline } from '../runtime/pipeline.ts';
import type { StepStats } from '../sdk/types.ts';

const WINDOW_MS = 60_000;

export type LiveStepStats = StepStats & { throughput: number | null };

/** Samples of each step's output count, for its rate over the last minute. */
export class StepRates {
  private readonly samples = new Map<string, { at: number; out: number }[]>();

  constructor(
    private readonly pipeline: Pipeline,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every step's statistics with its throughput, sampling the counts now. */
  steps(): LiveStepStats[] {
    const at = this.now();
    return this.pipeline.stats().map((step) => {
      const out = step.kind === 'source' ? step.recordsOut : step.recordsIn;
      const kept = (this.samples.get(step.id) ?? []).filter((s) => at - s.at <= WINDOW_MS);
      // A counter lower than before: the step was restarted in this process (a rebuilt source): start over.
      if (kept.length && kept.at(-1)!.out > out) kept.length = 0;
      kept.push({ at, out });
      this.samples.set(step.id, kept);
      const first = kept[0];
      const seconds = (at - first.at) / 1000;
      return { ...step, throughput: seconds >= 1 ? (out - first.out) / seconds : null };
    });
  }
}

/** GET /api/pipeline/events: `stats` events, throttled to one a second, plus a sample every 5 s so rates decay. */
export function pipelineEvents(c: Context, pipeline: Pipeline, rates: StepRates, heartbeatMs = 15_000) {
  return streamSSE(c, async (stream) => {
    let dirty = true;
    let wake: (() => void) | undefined;
    let closed = false;
    const off = pipeline.events.on(() => {
      dirty = true;
      wake?.();
    });
    const stop = () => {
      closed = true;
      wake?.();
    };
    stream.onAbort(stop);
    pipeline.signal.addEventListener('abort', stop, { once: true });
    let lastBeat = Date.now();
    try {
      while (!closed) {
        if (dirty) {
          dirty = false;
          await stream.writeSSE({
            event: 'stats',
            data: JSON.stringify({ at: new Date().toISOString(), steps: rates.steps() }),
          });
          lastBeat = Date.now();
        } else if (Date.now() - lastBeat >= heartbeatMs) {
          await stream.write(': heartbeat\n\n');
          lastBeat = Date.now();
        }
        // At most one update a second; without events, a refresh every 5 s lets the rates fall back to zero.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            wake = undefined;
            resolve();
          }, 1000);
          wake = () => {
            if (closed) {
              clearTimeout(timer);
              resolve();
            }
          };
        });
        if (Date.now() - lastBeat >= 5000) dirty = true;
      }
    } finally {
      off();
      pipeline.signal.removeEventListener('abort', stop);
    }
  });
}

/** GET /api/pipeline/steps/:step */
export async function stepDetails(c: Context, pipeline: Pipeline, rates: StepRates) {
  const id = c.req.param('step') ?? '';
  const step = rates.steps().find((s) => s.id === id);
  const details = pipeline.services.status.details?.(id);
  if (!step || !details)
    return c.json(
      {
        error: `no step "${id}" (steps: ${pipeline
          .stats()
          .map((s) => s.id)
          .join(', ')})`,
      },
      404,
    );
  const deadLetters = await pipeline.deadLetters.list({ steps: [id], limit: 5 });
  return c.json({ step, ...details, deadLetters });
}
