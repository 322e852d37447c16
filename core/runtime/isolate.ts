import { errorMessage, isDataError } from '../sdk/index.ts';
import type { Reject, Row } from '../sdk/types.ts';

/**
 * A sink refused a batch with a data error: writes it again in halves, in order (a half that fails is split again
 * before the next half is written, so the last record of a key still wins), down to the records it refuses, which
 * come back as rejects with the sink's error. Records a successful part rejected itself (ctx.reject) come back too.
 * An infrastructure error on the way is thrown (the batch is then retried as a whole, at least once). When the
 * search runs past `deadlineMs`, each part still failing is rejected whole, its reason saying so.
 */
export async function isolateRejects(records: Row[], error: unknown, write: (part: Row[]) => Promise<Reject[]>, deadlineMs: number): Promise<Reject[]> {
  const rejects: Reject[] = [];
  const visit = async (part: Row[], failure: unknown): Promise<void> => {
    if (part.length === 1 || Date.now() > deadlineMs) {
      const together = part.length > 1 ? ` (not narrowed further in time: rejected with ${part.length - 1} other record(s) of its batch)` : '';
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
