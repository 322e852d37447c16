import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { StepState } from '../sdk/types.ts';

export type StateChange = [step: string, key: string, value: unknown];

/**
 * Checkpoints and other small per-step state, kept in one JSON file in the pipeline's state folder.
 * Every write replaces the file atomically (write, fsync, rename), so a crash leaves the old or the new state, never half.
 */
export class StateStore {
  private readonly file: string;
  private data: Record<string, Record<string, unknown>>;
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'state.json');
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new Error(`${this.file}: unreadable state (${(error as Error).message})`);
      this.data = {};
      return;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new Error(
        `${this.file}: not JSON (${(error as Error).message}); restore it, or delete it to read every source again from the start`,
      );
    }
    // Anything else would be taken for "nothing committed yet": every source would read everything again.
    const problem = shapeProblem(data);
    if (problem)
      throw new Error(
        `${this.file}: not a state file (${problem}); restore it, or delete it to read every source again from the start`,
      );
    this.data = data as Record<string, Record<string, unknown>>;
  }

  /** Where the state lives, for error messages. */
  get path(): string {
    return this.file;
  }

  forStep(step: string): StepState {
    return {
      get: <T>(key: string) => this.data[step]?.[key] as T | undefined,
      set: (key, value) => this.set(step, key, value),
    };
  }

  set(step: string, key: string, value: unknown): Promise<void> {
    return this.update([[step, key, value]]);
  }

  /** Several keys in one atomic write: a batch's checkpoint, transform snapshots and commit times land together. */
  update(changes: StateChange[]): Promise<void> {
    if (!changes.length) return this.writing;
    for (const [step, key, value] of changes) (this.data[step] ??= {})[key] = value;
    const json = JSON.stringify(this.data);
    // Writes are chained so a slow fsync never lets an older state overwrite a newer one.
    this.writing = this.writing.then(() => {
      const tmp = this.file + '.tmp';
      const fd = openSync(tmp, 'w');
      try {
        writeFileSync(fd, json);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
    });
    return this.writing;
  }
}

/** What is wrong with a parsed state file: it is an object of steps, each an object of keys. */
function shapeProblem(data: unknown): string | undefined {
  const kind = (value: unknown) =>
    value === null
      ? 'null'
      : Array.isArray(value)
        ? 'an array'
        : typeof value === 'object'
          ? 'an object'
          : `a ${typeof value}`;
  if (kind(data) !== 'an object') return `expected an object of steps, found ${kind(data)}`;
  for (const [step, keys] of Object.entries(data as Record<string, unknown>)) {
    if (kind(keys) !== 'an object') return `step "${step}": expected an object, found ${kind(keys)}`;
    const at = (keys as Record<string, unknown>).lastCommitAt;
    if (at !== undefined && (typeof at !== 'string' || Number.isNaN(Date.parse(at))))
      return `step "${step}": lastCommitAt is not a time`;
  }
  return undefined;
}
