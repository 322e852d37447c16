import type { Clock } from '../sdk/types.ts';

/**
 * Runs `work`, retrying up to `retries` times with exponential backoff and full jitter.
 * `onRetry` is told every failure so it can be logged and counted. An error `retryable` says no to (a data error:
 * the same records would fail again) is thrown at once.
 */
export async function withRetry<T>(
  work: () => Promise<T>,
  options: {
    retries: number;
    backoffMs: number;
    clock: Clock;
    signal?: AbortSignal;
    retryable?: (error: unknown) => boolean;
    onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= options.retries || options.signal?.aborted || options.retryable?.(error) === false) throw error;
      const ceiling = options.backoffMs * 2 ** attempt;
      const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      options.onRetry?.(error, attempt + 1, delay);
      await options.clock.sleep(delay, options.signal);
    }
  }
}
