import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname } from 'node:path';

/** Who holds a lock: written into the lock file, read by the process that finds it taken. */
export interface LockOwner {
  pid: number;
  command: string;
  host: string;
  startedAt: string;
  /** The process's start time as the kernel counts it (Linux): tells a live owner from a reused pid. */
  processStart?: string;
}

/**
 * One process at a time on a state folder (or an embedded store outside it): a lock file created atomically (a
 * complete file hard-linked into place), naming its owner. A lock whose owner is gone (killed, even with -9) is
 * taken over; a live owner's lock makes the second process fail at once with the owner's pid and command.
 */
export class FolderLock {
  private constructor(
    readonly file: string,
    private readonly owner: LockOwner,
  ) {
    held.add(this);
  }

  /**
   * Takes the lock `file` for `what` (e.g. "the state folder /x"), or throws naming the process that holds it and,
   * after it, `remedy` (what else the user can do).
   */
  static acquire(file: string, what: string, remedy: string): FolderLock {
    mkdirSync(dirname(file), { recursive: true });
    const me: LockOwner = {
      pid: process.pid,
      command: commandLine(),
      host: hostname(),
      startedAt: new Date().toISOString(),
      processStart: processStart(process.pid),
    };
    const mine = JSON.stringify(me);
    const candidate = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    writeFileSync(candidate, mine);
    try {
      for (let attempt = 0; attempt < 10; attempt++) {
        try {
          linkSync(candidate, file);
          return new FolderLock(file, me);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const held = readText(file);
        if (held === undefined) continue; // released meanwhile
        const owner = parseOwner(held);
        if (owner && isAlive(owner)) {
          const where = owner.host === hostname() ? '' : ` on ${owner.host}`;
          throw new Error(
            `${what} is in use by pid ${owner.pid}${where} (${owner.command}, since ${owner.startedAt}): stop that process first, or ${remedy} (lock file ${file})`,
          );
        }
        // The owner is gone: move its lock aside, and put it back if a live process took the lock meanwhile.
        const stale = `${file}.stale.${process.pid}`;
        try {
          renameSync(file, stale);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw error;
        }
        if (readText(stale) !== held) {
          try {
            linkSync(stale, file);
          } catch {
            /* another process holds it now: the next attempt reads it */
          }
        }
        unlinkSync(stale);
      }
      throw new Error(`${what}: could not take the lock file ${file} (it kept changing hands)`);
    } finally {
      unlinkSync(candidate);
    }
  }

  /** Gives the lock up, if it is still this process's. */
  release(): void {
    held.delete(this);
    const owner = parseOwner(readText(this.file));
    if (owner?.pid === this.owner.pid && owner.startedAt === this.owner.startedAt) {
      try {
        unlinkSync(this.file);
      } catch {
        /* already gone */
      }
    }
  }
}

/** Locks this process holds, given up when it exits without stopping its pipelines. */
const held = new Set<FolderLock>();
process.once('exit', () => {
  for (const lock of held) lock.release();
});

function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // cannot be checked from here: assume it runs
  if (owner.pid === process.pid) return owner.processStart === processStart(process.pid);
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // The pid answers: is it the same process, or a new one that got the number?
  const now = processStart(owner.pid);
  return !owner.processStart || !now || now === owner.processStart;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); undefined where there is no /proc. */
function processStart(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function commandLine(): string {
  const [script, ...args] = process.argv.slice(1);
  const name =
    script && /(^|\/)(bin\.mjs|platform(\.mjs)?)$/.test(script) ? 'platform' : basename(script ?? process.argv0);
  return [name, ...args].join(' ');
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function parseOwner(text: string | undefined): LockOwner | undefined {
  if (!text) return undefined;
  try {
    const owner = JSON.parse(text) as LockOwner;
    return typeof owner?.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}
