// Server-sent events: `commit` events of the steps behind a view, with heartbeat comments for proxies.
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { PipelineEvent, PipelineEvents } from '../../../core/sdk/index.ts';

export interface LiveOptions {
  /** Steps whose commits are forwarded. */
  steps: () => string[];
  heartbeatMs?: number;
  /** Ends the stream (the view is closing). */
  signal?: AbortSignal;
  /** Sent with every commit, e.g. the page's freshness and reject counts as they are now. */
  extra?: () => Record<string, unknown>;
}

/** Answers with an event stream until the client goes away. */
export function liveStream(c: Context, events: PipelineEvents, options: LiveOptions) {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  return streamSSE(c, async (stream) => {
    const queue: PipelineEvent[] = [];
    let wake: (() => void) | undefined;
    const steps = new Set(options.steps());
    const off = events.on((event) => {
      if (event.type !== 'commit' || !steps.has(event.step)) return;
      queue.push(event);
      wake?.();
    });
    let closed = false;
    const stop = () => {
      closed = true;
      wake?.();
    };
    stream.onAbort(stop);
    if (options.signal?.aborted) stop();
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
      await stream.writeSSE({ event: 'hello', data: JSON.stringify({ steps: [...steps] }), retry: 3000 });
      while (!closed) {
        if (queue.length === 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, heartbeatMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
        if (closed) break;
        if (queue.length === 0) {
          await stream.write(': heartbeat\n\n');
          continue;
        }
        // Commits queued while the last write was going out go as one event per step (a fast source commits often).
        const latest = new Map<string, PipelineEvent & { type: 'commit' }>();
        for (const event of queue.splice(0)) if (event.type === 'commit') latest.set(event.step, event);
        const extra = latest.size ? (options.extra?.() ?? {}) : {};
        for (const event of latest.values()) {
          await stream.writeSSE({
            event: 'commit',
            data: JSON.stringify({
              type: 'commit',
              step: event.step,
              records: event.records,
              at: event.at.toISOString(),
              ...extra,
            }),
          });
        }
      }
    } finally {
      off();
      options.signal?.removeEventListener('abort', stop);
    }
  });
}
