// Replays dead letters once the manifest or the data is fixed: each entry goes again through the step that
// rejected it and on downstream, as a batch transaction of its own (without a checkpoint).
import type { DeadLetterEntry, DeadLetterQuery, Reject, ReplayResult, Row } from '../sdk/types.ts';
import { errorMessage, isDataError, rowCount } from '../sdk/index.ts';
import type { DeadLetterStore } from './deadletter.ts';
import { BatchOrigins } from './origins.ts';
import type { Steps } from './steps.ts';
import { BatchTransaction, type TransactionContext } from './transaction.ts';

export class Replay {
  constructor(private readonly context: TransactionContext & { deadLetters: DeadLetterStore }) {}

  /**
   * Each chosen entry goes again through the step that rejected it and on downstream (a source's entry is parsed
   * again by the source, when it can: `Source.replayRecord`). An entry that now passes its step leaves the store;
   * one rejected again stays once, with the new reason. Entries are taken oldest first, `chunk` at a time, and a
   * chunk's entries leave the store only after every sink has its records: a replay stopped half-way (even killed)
   * is run again and does the rest, and upserting sinks hold each record once.
   */
  async run(query: DeadLetterQuery, options: { chunk?: number } = {}): Promise<ReplayResult> {
    const { deadLetters, steps, logger } = this.context;
    const result: ReplayResult = { selected: 0, landed: 0, rejectedAgain: 0, skipped: [] };
    const until = await deadLetters.lastId();
    for await (const page of deadLetters.scan(query, options.chunk ?? 500, until)) {
      const byStep = new Map<string, DeadLetterEntry[]>();
      for (const entry of page) (byStep.get(entry.step) ?? byStep.set(entry.step, []).get(entry.step)!).push(entry);
      for (const [stepId, entries] of byStep) {
        result.selected += entries.length;
        const outcome = await this.entries(stepId, entries);
        result.landed += outcome.landed;
        result.rejectedAgain += outcome.rejectedAgain;
        result.skipped.push(...outcome.skipped);
      }
    }
    steps.countDeadLetters();
    logger.info(
      `replay: ${result.selected} dead letter(s): ${result.landed} landed, ${result.rejectedAgain} rejected again, ${result.skipped.length} skipped`,
    );
    return result;
  }

  /** One step's entries of a replay chunk: through the step and on downstream, then out of the store (or kept, with the new reason). */
  private async entries(stepId: string, entries: DeadLetterEntry[]): Promise<Omit<ReplayResult, 'selected'>> {
    const { steps, deadLetters } = this.context;
    const step = steps.get(stepId);
    const kind = step?.declaration.kind;
    const skipped: ReplayResult['skipped'] = [];
    const skip = (entry: DeadLetterEntry, reason: string) => void skipped.push({ id: entry.id, step: stepId, reason });
    if (!step || kind === 'view') {
      entries.forEach((e) => skip(e, `step "${stepId}" is not a source, transform or sink of this manifest`));
      return { landed: 0, rejectedAgain: 0, skipped };
    }
    const { records, from, again } = await this.records(steps, stepId, entries, skip);
    const transaction = new BatchTransaction(this.context, new BatchOrigins(records, (index) => from[index]?.origin));
    try {
      if (records.length && kind === 'transform') {
        const { output, rejects } = await steps.timed(step, () =>
          transaction.transform(step, step.declaration.from[0] ?? stepId, records),
        );
        if (output !== records) transaction.hold(output);
        steps.countIn(step, records.length, rowCount(output));
        again.push(...rejects);
        const transform = steps.transforms.get(stepId)!;
        if (transform.snapshot) transaction.snapshots.set(stepId, transform.snapshot());
        if (rowCount(output)) await transaction.deliver(stepId, output);
      } else if (records.length && kind === 'sink') {
        const { rejects } = await steps.timed(step, () => transaction.write(step, records));
        steps.countIn(step, records.length, records.length - rejects.length);
        again.push(...rejects);
        transaction.written.push({ step, records: records.length - rejects.length });
      } else if (records.length) {
        await transaction.deliver(stepId, records);
      }
      await transaction.settle();
    } finally {
      await transaction.release();
    }
    await transaction.commitReplayed();
    for (const reject of again) reject.origin ??= transaction.origins.originOf(reject.record);
    // Every entry tried leaves the store, except those rejected again for the same reasons (kept as they are);
    // the new rejects are stored once.
    const tried = entries.filter((e) => !skipped.some((s) => s.id === e.id));
    await deadLetters.replace(
      tried.map((e) => e.id),
      again.length ? [{ step: stepId, rejects: again }] : [],
    );
    step.stats.run.rejected += again.length;
    // Rejected again: an entry one of whose records the step refused, or whose source could not parse it.
    const refused = new Set(again.map((r) => r.record));
    const failedEntries = new Set(tried.filter((e) => !from.includes(e)));
    records.forEach((record, i) => refused.has(record) && failedEntries.add(from[i]));
    return { landed: tried.length - failedEntries.size, rejectedAgain: failedEntries.size, skipped };
  }

  /** The records to replay, each with the entry it came from; a source's entries are parsed again first. */
  private async records(
    steps: Steps,
    stepId: string,
    entries: DeadLetterEntry[],
    skip: (entry: DeadLetterEntry, reason: string) => void,
  ) {
    const records: Row[] = [];
    const from: DeadLetterEntry[] = [];
    const again: Reject[] = [];
    const step = steps.get(stepId)!;
    for (const entry of entries) {
      if (entry.truncated) {
        skip(entry, 'stored truncated (too deep or too large to keep whole): fix the data at its source');
        continue;
      }
      if (step.declaration.kind === 'source') {
        const source = steps.sources.get(stepId)!.plugin;
        if (!source.replayRecord) {
          skip(
            entry,
            `the ${step.declaration.use} source cannot read one record again: fix the data and let it read the file or object again`,
          );
          continue;
        }
        try {
          for (const record of await source.replayRecord(entry.record, entry.origin)) {
            records.push(record);
            from.push(entry);
          }
        } catch (error) {
          if (!isDataError(error)) throw error;
          again.push({ record: entry.record, reasons: [errorMessage(error)], origin: entry.origin });
        }
        continue;
      }
      if (typeof entry.record !== 'object' || entry.record === null || Array.isArray(entry.record)) {
        skip(entry, 'not a record');
        continue;
      }
      records.push(entry.record as Row);
      from.push(entry);
    }
    return { records, from, again };
  }
}
