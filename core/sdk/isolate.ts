import { errorMessage, isDataError, refusesWholeBatch } from './index.ts';
import type { Reject, Row } from './types.ts';

/**
 * A sink refused a batch with a data error: writes it again in halves, in order (a half that fails is split again
 * before the next half is written, so the last record of a key still wins), down to the records it refuses, which
 * come back as rejects with the sink's error. Records a successful part rejected itself (ctx.reject) come back too.
 * An infrastructure error on the way is thrown (the batch is then retried as a whole, at least once). When the
 * search runs past `deadlineMs`, each part still failing is rejected whole, its reason saying so.
 */
export async function isolateRejects(
  records: Row[],
  error: unknown,
  write: (part: Row[]) => Promise<Reject[]>,
  deadlineMs: number,
): Promise<Reject[]> {
  const rejects: Reject[] = [];
  const visit = async (part: Row[], failure: unknown): Promise<void> => {
    if (part.length === 1 || Date.now() > deadlineMs) {
      const together =
        part.length > 1
          ? ` (not narrowed further in time: rejected with ${part.length - 1} other record(s) of its batch)`
          : '';
      for (const record of part) rejects.push({ record, reasons: [`${errorMessage(failure)}${together}`] });
      return;
    }
    const middle = Math.ceil(part.length / 2);
    for (const half of [part.slice(0, middle), part.slice(middle)]) {
      try {
        rejects.push(...(await write(half)));
      } catch (next) {
        if (!isDataError(next)) throw next;
        await visit(half, next);
      }
    }
  };
  await visit(records, error);
  return rejects;
}

/**
 * The records of a batch a sink refused with a data error, as rejects: found by `isolateRejects` when the batch
 * can be split, else all of them (part of a whole result, one record, or a DataError refusing the whole batch).
 */
export async function refusedRecords(
  records: Row[],
  error: unknown,
  write: (part: Row[]) => Promise<Reject[]>,
  options: { splittable: boolean; deadlineMs: number },
): Promise<Reject[]> {
  if (!options.splittable || records.length <= 1 || refusesWholeBatch(error)) return allRejected(records, error);
  return isolateRejects(records, error, write, options.deadlineMs);
}

/** Every record of a batch rejected with one error (a transform's data error: the batch cannot be split safely). */
export function allRejected(records: Row[], error: unknown): Reject[] {
  return records.map((record) => ({ record, reasons: [errorMessage(error)] }));
}
