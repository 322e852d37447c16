import type { Batch, Row, SnapshotPart } from './types.ts';

/**
 * For a sink that replaces its whole target (a table, a collection, an exported file) with what it receives.
 * A source's whole result may come in several batches (pages) and may be empty: the sink must neither replace its
 * target with one page nor skip the empty result (the target would keep stale rows). `collect` gathers the
 * pages of a result and hands out the complete result on its last batch; the target is then swapped in one step,
 * so readers see the old or the new result, never a part of it. A batch without `snapshot` (a source with no
 * notion of a whole result) replaces the target by itself, as before; an empty one changes nothing.
 * The pages are held in memory until the last one: the whole result has to fit there (it did before, as one batch).
 */
export class SnapshotBuffer {
  private pending: Row[] = [];

  /** The records that make the target's new content now, or undefined while the result is not complete. */
  collect(records: Row[], snapshot: SnapshotPart | undefined): Row[] | undefined {
    if (!snapshot) return records.length ? records : undefined;
    // A new result starts over: pages left by a run that failed half-way are dropped, never mixed in.
    if (snapshot.first) this.pending = [];
    if (!snapshot.last) {
      this.pending.push(...records);
      return undefined;
    }
    // Kept until `done`, so a retried write of the last batch gets the same whole result again.
    return this.pending.length ? [...this.pending, ...records] : records;
  }

  /** Call once the complete result is written: its pages are no longer needed. */
  done(): void {
    this.pending = [];
  }
}

/**
 * For a source whose run emits its whole result (a query read in pages): marks the batches `first` / `last`
 * (one batch read ahead, to know the last) and turns an empty result into one empty batch, so the sinks that
 * replace their target learn of it. A run cut short (aborted) gets no `last`: a part must never replace a whole.
 */
export async function* asWholeResult(batches: AsyncIterable<Batch>, signal: AbortSignal): AsyncGenerator<Batch> {
  let previous: Batch | undefined;
  for await (const batch of batches) {
    if (previous) yield previous;
    previous = { ...batch, snapshot: { first: !previous, last: false } };
  }
  if (signal.aborted) return;
  yield previous
    ? { ...previous, snapshot: { first: previous.snapshot!.first, last: true } }
    : { records: [], snapshot: { first: true, last: true } };
}
