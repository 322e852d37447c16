import { appendFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { DeadLetterEntry, DeadLetters, Reject } from '../sdk/types.ts';

/**
 * Records that failed parsing, validation, a transform or a sink, with step and reasons.
 * Appended as JSON lines to `<stateDir>/dead-letter.jsonl`, so they survive restarts and can be re-driven.
 */
export class DeadLetterStore implements DeadLetters {
  readonly file: string;
  private readonly counts = new Map<string, number>();
  /** Fingerprints of what is stored: a record re-read (a lookback, a retried batch) is not counted twice. */
  private readonly seen = new Set<string>();
  private nextId = 1;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'dead-letter.jsonl');
    for (const entry of this.readAll()) {
      this.counts.set(entry.step, (this.counts.get(entry.step) ?? 0) + 1);
      this.seen.add(fingerprint(entry.step, entry.record, entry.reasons));
      this.nextId = entry.id + 1;
    }
  }

  /** Stores new rejects; returns how many were new (the same record rejected again for the same reasons is kept once). */
  add(step: string, rejects: Reject[]): number {
    const fresh = rejects.filter((reject) => {
      const key = fingerprint(step, reject.record, reject.reasons);
      if (this.seen.has(key)) return false;
      this.seen.add(key);
      return true;
    });
    if (fresh.length === 0) return 0;
    const at = new Date().toISOString();
    const lines = fresh.map((reject) => {
      const entry: DeadLetterEntry = { id: this.nextId++, at, step, reasons: reject.reasons, origin: reject.origin, record: reject.record };
      return JSON.stringify(entry) + '\n';
    });
    appendFileSync(this.file, lines.join(''));
    this.counts.set(step, (this.counts.get(step) ?? 0) + fresh.length);
    return fresh.length;
  }

  count(steps?: string[]): number {
    let total = 0;
    for (const [step, n] of this.counts) if (!steps || steps.includes(step)) total += n;
    return total;
  }

  async list(query: { steps?: string[]; limit?: number; offset?: number }) {
    const { steps, limit = 100, offset = 0 } = query;
    const matching = this.readAll().filter((e) => !steps || steps.includes(e.step)).reverse();
    return { total: matching.length, entries: matching.slice(offset, offset + limit) };
  }

  private readAll(): DeadLetterEntry[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as DeadLetterEntry);
  }
}

function fingerprint(step: string, record: unknown, reasons: string[]): string {
  return createHash('sha1').update(step).update('\0').update(JSON.stringify(record) ?? '').update('\0').update(reasons.join('\n')).digest('base64');
}
