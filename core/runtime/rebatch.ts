import type { Batch, Row } from '../sdk/types.ts';

/** A batch whose rows are JS records (the only kind rebatch reshapes). */
type JsBatch = Batch & { records: Row[] };

/**
 * Reshapes a source's batches: splits batches larger than `size`, and (only when `timeoutMs` is set) merges
 * small ones until `size` records or `timeoutMs` have passed. A merged batch carries the checkpoint of the last batch in it;
 * of a split batch, only the last part carries it, so a checkpoint is never committed before its records.
 * Snapshot marks (`Batch.snapshot`) follow: a whole result still starts with a `first` batch and ends with a `last` one.
 * Positions (`Batch.position`) follow too: a split part is `<position>#0`, `#1`…, a merge joins its parts' positions
 * with `+` (no position when a part has none), so a batch id stays the same whenever the input batches are.
 * A batch held in DuckDB (`DuckDbRows`) passes as it is: its source sized it, and it costs no JS memory.
 */
export async function* rebatch(source: AsyncIterable<Batch>, size?: number, timeoutMs?: number): AsyncGenerator<Batch> {
  if (!size && !timeoutMs) return yield* source;
  const max = size ?? Number.MAX_SAFE_INTEGER;
  const iterator = source[Symbol.asyncIterator]();
  let pending: JsBatch | null = null;
  let started = 0;
  let next: Promise<IteratorResult<Batch>> | null = null;

  // The origins of a merged batch's records: each part's own, from where it starts.
  let parts: Part[] = [];
  const merge = (into: JsBatch | null, batch: JsBatch): JsBatch => {
    if (!into) {
      parts = [{ start: 0, origin: batch.origin }];
      return { ...batch, records: [...batch.records], rejects: [...(batch.rejects ?? [])], origin: originOf(parts) };
    }
    parts.push({ start: into.records.length, origin: batch.origin });
    into.records.push(...batch.records);
    into.rejects!.push(...(batch.rejects ?? []));
    if ('checkpoint' in batch && batch.checkpoint !== undefined) into.checkpoint = batch.checkpoint;
    if (batch.watermark && (!into.watermark || batch.watermark > into.watermark)) into.watermark = batch.watermark;
    if (batch.lag !== undefined) into.lag = batch.lag;
    into.position =
      into.position !== undefined && batch.position !== undefined ? `${into.position}+${batch.position}` : undefined;
    // Merged parts of one whole result: the merge starts where its first part starts and ends where its last ends.
    if (batch.snapshot)
      into.snapshot = { first: into.snapshot?.first ?? batch.snapshot.first, last: batch.snapshot.last };
    return into;
  };

  while (true) {
    next ??= iterator.next();
    let result: IteratorResult<Batch> | 'timeout';
    if (pending && timeoutMs) {
      const remaining = Math.max(0, started + timeoutMs - Date.now());
      let timer: NodeJS.Timeout | undefined;
      result = await Promise.race([
        next,
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), remaining))),
      ]);
      clearTimeout(timer);
    } else result = await next;

    if (result === 'timeout') {
      yield pending!;
      pending = null;
      continue;
    }
    next = null;
    if (result.done) {
      if (pending) yield pending;
      return;
    }
    const batch = result.value;
    if (!Array.isArray(batch.records)) {
      // Order is kept: what is pending goes first.
      if (pending) yield pending;
      pending = null;
      yield batch;
      continue;
    }
    if (!pending) started = Date.now();
    pending = merge(pending, batch as JsBatch);
    while (pending && pending.records.length >= max) {
      if (pending.records.length === max) {
        yield pending;
        pending = null;
        break;
      }
      const whole = originOf(parts);
      const head: Batch = { records: pending.records.slice(0, max), rejects: pending.rejects, origin: whole };
      // Of a split part of a whole result, only the head can be its first batch and only the rest its last.
      if (pending.snapshot) head.snapshot = { first: pending.snapshot.first, last: false };
      const position: string | undefined = pending.position;
      if (position !== undefined) head.position = `${position}#0`;
      parts = [{ start: 0, origin: (index) => whole(index + max) }];
      pending = {
        ...pending,
        records: pending.records.slice(max),
        rejects: [],
        origin: originOf(parts),
        ...(pending.snapshot ? { snapshot: { first: false, last: pending.snapshot.last } } : {}),
        ...(position !== undefined ? { position: `${position}#1` } : {}),
      };
      yield head;
      started = Date.now();
    }
    if (pending && !timeoutMs) {
      // Without a timeout batches are only split, never held back waiting for more input.
      yield pending;
      pending = null;
    }
  }
}

interface Part {
  start: number;
  origin?: (index: number) => string | undefined;
}

/** The origin of a record of a batch made of `parts` (read when asked: the parts may still grow). */
function originOf(parts: Part[]): (index: number) => string | undefined {
  const fixed = parts;
  return (index) => {
    let low = 0;
    let high = fixed.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (fixed[mid].start <= index) low = mid;
      else high = mid - 1;
    }
    const part = fixed[low];
    return part?.origin?.(index - part.start);
  };
}
