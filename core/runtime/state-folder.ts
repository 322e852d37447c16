// A run's state folder: taken by one process at a time (with the embedded stores kept outside it), its epoch, the
// connections' modes remembered across runs, and the stored checkpoints checked before anything reads from them.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { STATE_DIR_VARIABLE } from '../manifest/load.ts';
import { createAjv } from '../sdk/config.ts';
import type { ConnectionRegistry } from '../sdk/connections.ts';
import type { Logger } from '../sdk/types.ts';
import { FolderLock } from './lock.ts';
import type { StateStore } from './state.ts';
import type { Steps } from './steps.ts';

/** The state key (never a step id: those start with a letter) of the state folder's own facts, e.g. its epoch. */
const STATE_META = '_platform';

/** Checkpoints are checked as stored: nothing coerced ("5" is not 5), no defaults filled in. */
const checkpointAjv = createAjv({ coerce: false, defaults: false });

export class StateFolder {
  /** The state folder's lock and those of embedded stores kept outside it, held from start() to stop(). */
  private locks: FolderLock[] = [];

  constructor(
    readonly dir: string,
    private readonly state: StateStore,
    private readonly logger: Logger,
  ) {}

  /** Takes the folder: a second process on it fails here, naming the holder. */
  lock(): void {
    this.locks.push(
      FolderLock.acquire(
        join(this.dir, 'platform.lock'),
        `the state folder ${this.dir}`,
        'give this one another --state-dir',
      ),
    );
  }

  release(): void {
    for (const lock of this.locks.splice(0)) lock.release();
  }

  /** The folder's epoch, made (and stored, before any batch is written) on its first start; batch ids derive from it. */
  async epoch(): Promise<string> {
    const meta = this.state.forStep(STATE_META);
    let epoch = meta.get<string>('epoch');
    if (typeof epoch !== 'string' || !epoch) await meta.set('epoch', (epoch = randomUUID()));
    return epoch;
  }

  /**
   * Opens every connection, saying which are embedded, where each embedded store lives and whether it holds data
   * from an earlier run; locks the embedded stores kept outside the folder. An embedded store that cannot open (or
   * any connection, with `once`) fails the start; a real server that is down is retried by the steps using it.
   */
  async openConnections(connections: ConnectionRegistry, once: boolean): Promise<void> {
    const stores = connections.stores();
    for (const store of stores) {
      // The state folder's lock covers what is inside it; a store kept elsewhere is locked by itself.
      if (store.embedded && store.path && !isInside(store.path, this.dir))
        this.locks.push(
          FolderLock.acquire(
            `${store.path}.lock`,
            `the embedded store ${store.path} (connection ${store.name})`,
            'give this connection another path',
          ),
        );
    }
    const earlier = new Set(stores.filter((s) => s.path && existsSync(s.path)).map((s) => s.name));
    const { lines, errors, opened } = await connections.describeAll();
    for (const { name, line } of lines)
      this.logger.info(
        `connection ${line}${earlier.has(name) ? ' (holds data from earlier runs)' : stores.find((s) => s.name === name)?.path ? ' (new)' : ''}`,
      );
    // An embedded store that cannot open (locked by another process, corrupt) does not come back by waiting.
    const fatal = errors.filter((e) => e.embedded || once);
    if (fatal.length) throw fatal[0].error;
    for (const { error } of errors) this.logger.error(`${error.message} — steps using it will retry until it answers`);
    this.compareModes(
      opened.map((c) => ({ ...c, store: stores.find((s) => s.name === c.name)?.path })),
      stores.filter((s) => earlier.has(s.name)),
    );
  }

  /**
   * Remembers each connection's mode (embedded or which server) in `connections.json`, and warns when it changed
   * since the last run while embedded stores kept data from then: those rows now sit next to the new mode's.
   */
  private compareModes(
    opened: { name: string; type: string; embedded: boolean; description: string; store?: string }[],
    keptStores: { name: string; type: string; path?: string }[],
  ): void {
    const file = join(this.dir, 'connections.json');
    const now = Object.fromEntries(
      opened.map((c) => [
        c.name,
        { type: c.type, embedded: c.embedded, target: c.embedded ? 'embedded' : c.description, store: c.store },
      ]),
    );
    let before: Record<string, { embedded?: unknown; target?: unknown; store?: unknown }> = {};
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) before = parsed as typeof before;
      else this.logger.warn(`${file}: not an object of connections; ignored (rewritten now)`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        this.logger.warn(`${file}: unreadable (${(error as Error).message}); ignored (rewritten now)`);
    }
    const changes = opened
      .filter((c) => before[c.name] && before[c.name].target !== now[c.name].target)
      .map((c) => `${c.name} went from ${String(before[c.name].target)} to ${now[c.name].target}`);
    if (changes.length) {
      for (const store of keptStores) {
        this.logger.warn(
          `${store.name} (${store.type}) in ${store.path} holds data of earlier runs, and since the last run ${changes.join('; ')}: that data is used as it is — move it away, or give another --state-dir, to start clean`,
        );
      }
      for (const c of opened) {
        const left = before[c.name]?.store;
        if (!c.embedded && typeof left === 'string' && existsSync(left))
          this.logger.info(`${c.name}: the embedded data of earlier runs stays in ${left}, unused while it is real`);
      }
    }
    const temporary = `${file}.tmp`;
    writeFileSync(temporary, JSON.stringify(now, null, 2) + '\n');
    renameSync(temporary, file);
  }

  /** A stored checkpoint a source cannot read (a state file edited, or from another plugin) is an error, not a re-read. */
  checkCheckpoints(steps: Steps): void {
    for (const step of steps.byId.values()) {
      const schema = step.declaration.kind === 'source' ? step.definition.spec.checkpoint : undefined;
      const saved = this.state.forStep(step.declaration.id).get('checkpoint');
      if (!schema || saved === undefined) continue;
      const validate = checkpointAjv.compile(schema);
      if (validate(saved)) continue;
      const why = (validate.errors ?? []).map((e) => `${e.instancePath || 'checkpoint'} ${e.message}`).join('; ');
      throw new Error(
        `${this.state.path}: the checkpoint of step "${step.declaration.id}" is not a ${step.declaration.use} source's (${why}): restore the file, or delete the step's entry to read its source again from the start`,
      );
    }
  }
}

/** The state folder of a run: `--state-dir`, else PLATFORM_STATE_DIR, else `.platform/<name>` in the working directory. */
export function stateDirOf(pipeline: string, given?: string): string {
  return resolve(given ?? process.env.PLATFORM_STATE_DIR ?? `.platform/${pipeline}`);
}

/** `${STATE_DIR}` in every string of a step's or connection's settings, replaced by the run's state folder. */
export function withStateDir<T>(value: T, stateDir: string): T {
  const reference = '${' + STATE_DIR_VARIABLE + '}';
  if (typeof value === 'string')
    return (value.includes(reference) ? value.replaceAll(reference, stateDir) : value) as T;
  if (Array.isArray(value)) return value.map((item) => withStateDir(item, stateDir)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withStateDir(item, stateDir)])) as T;
  }
  return value;
}

function isInside(path: string, folder: string): boolean {
  const inside = relative(folder, path);
  return inside !== '' && !inside.startsWith('..') && !inside.startsWith('/');
}
