import { appendFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DeadLetterEntry, DeadLetters, Reject } from '../sdk/types.ts';

/**
 * Records that failed parsing, validation, a transform or a sink, with step and reasons.
 * Appended as JSON lines to `<stateDir>/dead-letter.jsonl`, so they survive restarts and can be re-driven.
 */
export class DeadLetterStore implements DeadLetters {
  readonly file: string;
  private readonly counts = new Map<string, number>();
  private nextId = 1;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'dead-letter.jsonl');
    for (const entry of this.readAll()) {
      this.counts.set(entry.step, (this.counts.get(entry.step) ?? 0) + 1);
      this.nextId = entry.id + 1;
    }
  }

  add(step: string, rejects: Reject[]): void {
    if (rejects.length === 0) return;
    const at = new Date().toISOString();
    const lines = rejects.map((reject) => {
      const entry: DeadLetterEntry = { id: this.nextId++, at, step, reasons: reject.reasons, origin: reject.origin, record: reject.record };
      return JSON.stringify(entry) + '\n';
    });
    appendFileSync(this.file, lines.join(''));
    this.counts.set(step, (this.counts.get(step) ?? 0) + rejects.length);
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
