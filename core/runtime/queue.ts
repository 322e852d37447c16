/**
 * A bounded FIFO between a producer and a consumer: `push` waits while full (backpressure). An item may weigh more
 * than one (a heavy one fills the queue alone: it is queued when the queue is empty).
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private readonly weights: number[] = [];
  private weight = 0;
  private closed = false;
  private readonly waitingPush: (() => void)[] = [];
  private waitingPop: ((value: IteratorResult<T>) => void) | null = null;

  constructor(private readonly capacity: number) {}

  async push(item: T, weight = 1): Promise<void> {
    while (this.items.length && this.weight + weight > this.capacity && !this.closed)
      await new Promise<void>((resolve) => this.waitingPush.push(resolve));
    if (this.closed) return;
    if (this.waitingPop) {
      const resolve = this.waitingPop;
      this.waitingPop = null;
      resolve({ value: item, done: false });
    } else {
      this.items.push(item);
      this.weights.push(weight);
      this.weight += weight;
    }
  }

  /** No more pushes; items already queued are still delivered. */
  close(): void {
    this.closed = true;
    this.waitingPush.splice(0).forEach((resolve) => resolve());
    if (this.waitingPop && this.items.length === 0) {
      const resolve = this.waitingPop;
      this.waitingPop = null;
      resolve({ value: undefined, done: true });
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      if (this.items.length) {
        const item = this.items.shift()!;
        this.weight -= this.weights.shift()!;
        this.waitingPush.shift()?.();
        yield item;
        continue;
      }
      if (this.closed) return;
      const next = await new Promise<IteratorResult<T>>((resolve) => (this.waitingPop = resolve));
      if (next.done) return;
      this.waitingPush.shift()?.();
      yield next.value;
    }
  }
}

/** Serialises async work on one resource (a step shared by several sources). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
