import {
  appendFileSync,
  closeSync,
  createReadStream,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { DeadLetterEntry, DeadLetterQuery, DeadLetters, Logger, Reject } from '../sdk/types.ts';
import { materializedRows, sqlString } from '../../connections/duckdb/client.ts';
import { Mutex } from './queue.ts';

/** How long dead letters are kept, from the manifest's `deadLetter:` (both optional: unbounded). */
export interface DeadLetterRetention {
  maxAgeMs?: number;
  maxEntries?: number;
}

export interface DeadLetterStoreOptions {
  retention?: DeadLetterRetention;
  /** Told about torn or unreadable lines and compactions. */
  logger?: Logger;
}

/** A stored record longer than this (as JSON) is kept truncated, marked `truncated`: it cannot be replayed. */
const MAX_RECORD_CHARS = 1 << 20;
/** Depth of a stored record beyond which its values are cut (JSON.stringify overflows the stack near 10,000). */
const MAX_RECORD_DEPTH = 1000;

/**
 * Records that failed parsing, validation, a transform or a sink, with step, origin and reasons.
 *
 * The entries are JSON lines in `<stateDir>/dead-letter.jsonl` (the truth; appended, never edited), indexed in
 * `dead-letter.duckdb` beside it: id, time, step, reasons, origin and the line's byte range. Listing, counting and
 * filtering by step, reason text and time are queries of the index, and only the listed entries are read back
 * from the JSON lines, so neither start-up nor a request reads the whole file, and memory stays flat however many
 * entries there are. The index catches up with the file at start (from the last byte it indexed); a torn last
 * line (a crash mid-write) is skipped with a warning naming the file and line. Entries leave the store when a
 * replay lands them or retention expires them: a `{"deleted": …}` line records it (so a rebuilt index agrees), and
 * the file is rewritten without them once they are more than half of it.
 */
export class DeadLetterStore implements DeadLetters {
  readonly file: string;
  readonly indexFile: string;
  private opening?: Promise<void>;
  private readonly counts = new Map<string, number>();
  private readonly mutex = new Mutex();
  private connection?: DuckDBConnection;
  private instance?: DuckDBInstance;
  private nextId = 1;
  private size = 0;
  private lines = 0;
  private liveLines = 0;
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly options: DeadLetterStoreOptions = {},
  ) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'dead-letter.jsonl');
    this.indexFile = join(dir, 'dead-letter.duckdb');
  }

  /**
   * Resolves when the index has caught up with the file (every other method waits for it). The index opens on first
   * use, not with the store: `platform validate` builds a pipeline and never opens it.
   */
  get ready(): Promise<void> {
    if (!this.opening) {
      this.opening = this.mutex.run(() => (this.closed ? Promise.resolve() : this.open()));
      this.opening.catch(() => undefined); // reported by the first call that waits for it
    }
    return this.opening;
  }

  /** Stores new rejects; returns how many were new (the same record rejected again for the same reasons is kept once). */
  add(step: string, rejects: Reject[]): Promise<number> {
    return this.locked(() => this.append(step, rejects));
  }

  /**
   * Takes entries out (a replay landed them, or they are replaced by their new rejects) and stores `rejects` in the
   * same write: new lines first, then the deletion, so a crash between leaves at worst both, and the next replay of
   * the old entries finds the new ones already stored (kept once).
   */
  replace(
    ids: number[],
    rejects: { step: string; rejects: Reject[] }[] = [],
  ): Promise<{ removed: number; added: number }> {
    return this.locked(async () => {
      // An entry rejected again for the very same reasons stays as it is (neither removed nor added again).
      const unique = [...new Set(ids.filter((id) => Number.isSafeInteger(id)))];
      const kept = new Set<number>();
      if (unique.length) {
        const stored = await this.rows(`SELECT id, fp FROM entries WHERE id IN (${unique.join(', ')})`);
        const byFingerprint = new Map(stored.map((row) => [BigInt(row.fp as number | string), Number(row.id)]));
        for (const group of rejects) {
          for (const reject of group.rejects) {
            const id = byFingerprint.get(fingerprint(group.step, reject.record, reject.reasons));
            if (id !== undefined) kept.add(id);
          }
        }
      }
      let added = 0;
      for (const group of rejects) added += await this.append(group.step, group.rejects);
      const removed = await this.remove(unique.filter((id) => !kept.has(id)));
      await this.compactIfMostlyDeleted();
      return { removed, added };
    });
  }

  count(steps?: string[]): number {
    let total = 0;
    for (const [step, n] of this.counts) if (!steps || steps.includes(step)) total += n;
    return total;
  }

  /** Entries matching the query, newest first, with the total that match. */
  async list(
    query: DeadLetterQuery & { limit?: number; offset?: number },
  ): Promise<{ total: number; entries: DeadLetterEntry[] }> {
    const { limit = 100, offset = 0 } = query;
    const take = Math.max(0, Math.floor(limit));
    const skip = Math.max(0, Math.floor(offset));
    return this.locked(async () => {
      const where = this.where(query);
      // Steps alone are counted in memory; other filters by DuckDB.
      const stepsOnly = Object.keys(query).every((k) => ['steps', 'limit', 'offset'].includes(k));
      const total = stepsOnly
        ? this.count(query.steps)
        : Number((await this.rows(`SELECT count(*) AS n FROM entries WHERE ${where}`))[0].n);
      // Many matches: the page is among the newest ids (most of the table is skipped); few: picked from all.
      const rows =
        total > 10_000
          ? await this.newest(where, skip + take, total, take, skip)
          : await this.rows(
              `SELECT pos, len FROM entries WHERE ${where} ORDER BY id DESC LIMIT ${take} OFFSET ${skip}`,
            );
      return { total, entries: this.readEntries(rows) };
    });
  }

  /** How many entries match (the cheap in-memory count when only steps are asked). */
  async countMatching(query: DeadLetterQuery): Promise<number> {
    return this.locked(async () => {
      const where = this.where(query);
      if (where === 'true') return this.count(query.steps);
      return Number((await this.rows(`SELECT count(*) AS n FROM entries WHERE ${where}`))[0].n);
    });
  }

  /** The id of the newest entry (0 when there is none yet). */
  async lastId(): Promise<number> {
    await this.ready;
    return this.nextId - 1;
  }

  /**
   * Matching entries oldest first, `pageSize` at a time (a replay walks them in order), up to id `until`: entries
   * stored while the scan runs (a replay's new rejects) are not part of it.
   */
  async *scan(
    query: DeadLetterQuery,
    pageSize = 500,
    until = Number.MAX_SAFE_INTEGER,
  ): AsyncGenerator<DeadLetterEntry[]> {
    let after = 0;
    while (true) {
      const page = await this.locked(async () => {
        const rows = await this.rows(
          `SELECT pos, len, id FROM entries WHERE ${this.where(query)} AND id > ${after} AND id <= ${until} ORDER BY id LIMIT ${pageSize}`,
        );
        return this.readEntries(rows);
      });
      if (!page.length) return;
      after = page[page.length - 1].id;
      yield page;
    }
  }

  /** Applies retention now (also done at start and after every 1,000 additions). */
  enforceRetention(now = new Date()): Promise<number> {
    return this.locked(() => this.expire(now));
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      if (this.closed) return;
      this.closed = true;
      this.connection?.closeSync();
      this.instance?.closeSync();
    });
  }

  // ---- internals (all run under the mutex) ----

  private async locked<T>(work: () => Promise<T>): Promise<T> {
    await this.ready;
    return this.mutex.run(async () => {
      if (this.closed) throw new Error(`${this.file}: the dead-letter store is closed`);
      return work();
    });
  }

  private async open(): Promise<void> {
    try {
      this.instance = await DuckDBInstance.create(this.indexFile, { threads: '2', memory_limit: '256MB' });
    } catch (error) {
      // An index that cannot be opened (corrupt, another version) is rebuilt from the JSON lines.
      if (/lock/i.test((error as Error).message))
        throw new Error(
          `${this.indexFile}: ${(error as Error).message.split('\n')[0]} (is the pipeline running in another process?)`,
        );
      this.options.logger?.warn(
        `${this.indexFile}: unreadable index, rebuilding it from ${this.file}: ${(error as Error).message.split('\n')[0]}`,
      );
      rmSync(this.indexFile, { force: true });
      rmSync(`${this.indexFile}.wal`, { force: true });
      this.instance = await DuckDBInstance.create(this.indexFile, { threads: '2', memory_limit: '256MB' });
    }
    this.connection = await this.instance.connect();
    // Entries are appended in id and time order, so DuckDB's per-row-group min/max skip most of the table for the
    // newest entries and for a time filter. `reasons` is kept lower-cased: a reason filter is case-insensitive.
    await this.connection
      .run(`CREATE TABLE IF NOT EXISTS entries (id BIGINT, at_ms BIGINT, step VARCHAR, reasons VARCHAR, pos BIGINT, len INTEGER, fp BIGINT);
      CREATE TABLE IF NOT EXISTS meta (indexed_bytes BIGINT, indexed_lines BIGINT, live_lines BIGINT, next_id BIGINT)`);
    const meta = await this.rows('SELECT * FROM meta');
    const fileSize = existsSync(this.file) ? statSync(this.file).size : 0;
    if (meta.length && Number(meta[0].indexed_bytes) <= fileSize) {
      this.size = Number(meta[0].indexed_bytes);
      this.lines = Number(meta[0].indexed_lines);
      this.liveLines = Number(meta[0].live_lines);
      this.nextId = Number(meta[0].next_id);
    } else {
      // No index yet, or the file is not the one indexed (replaced, truncated): index it from the start.
      await this.connection.run('DELETE FROM entries; DELETE FROM meta');
      this.size = this.lines = this.liveLines = 0;
      this.nextId = 1;
    }
    await this.catchUp(fileSize);
    for (const row of await this.rows('SELECT step, count(*) AS n FROM entries GROUP BY step'))
      this.counts.set(String(row.step), Number(row.n));
    await this.expire(new Date());
    await this.compactIfMostlyDeleted();
  }

  /** Indexes the lines after the last indexed byte (written by a process that stopped before indexing them). */
  private async catchUp(fileSize: number): Promise<void> {
    if (fileSize <= this.size) return;
    const fd = openSync(this.file, 'r+');
    try {
      const buffer = Buffer.alloc(4 << 20);
      let position = this.size;
      let carry: Buffer = Buffer.alloc(0);
      let batch: Entry[] = [];
      const deletions: Deletion[] = [];
      while (position < fileSize) {
        const n = readSync(fd, buffer, 0, Math.min(buffer.length, fileSize - position), position);
        if (n <= 0) break;
        position += n;
        let chunk = carry.length ? Buffer.concat([carry, buffer.subarray(0, n)]) : buffer.subarray(0, n);
        let start = 0;
        for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
          const text = chunk.toString('utf8', start, nl);
          const pos = this.size;
          this.size += nl - start + 1;
          this.lines++;
          const parsed = this.parseLine(text, this.lines);
          if (parsed && 'deleted' in parsed) deletions.push(parsed);
          else if (parsed) batch.push({ ...parsed, pos, len: nl - start });
          if (batch.length >= 50_000) {
            await this.index(batch);
            batch = [];
          }
          start = nl + 1;
        }
        carry = Buffer.from(chunk.subarray(start));
        chunk = Buffer.alloc(0);
      }
      await this.index(batch);
      for (const deletion of deletions) await this.applyDeletion(deletion);
      if (carry.length) {
        // A torn last line (the process stopped mid-write): ended with a newline, so it stays a line of its own
        // that no entry is made of, and what is appended later starts on a fresh line.
        this.lines++;
        this.options.logger?.warn(
          `${this.file}:${this.lines}: torn last line skipped (${carry.length} bytes, the process stopped while writing it)`,
        );
        writeSync(fd, '\n', fileSize);
        this.size = fileSize + 1;
      }
      await this.saveMeta();
    } finally {
      closeSync(fd);
    }
  }

  private parseLine(text: string, line: number): (Entry | Deletion) | undefined {
    if (!text.trim()) return undefined;
    try {
      // The record comes last in a line this store wrote: only the fields before it are parsed (the record's text
      // is what its fingerprint is made of). Other lines are parsed whole.
      const at = text.indexOf(',"record":');
      const whole = at === -1 || !text.endsWith('}');
      const value = JSON.parse(whole ? text : `${text.slice(0, at)}}`) as Partial<DeadLetterEntry> & {
        deleted?: number[] | { below: number };
      };
      if (value.deleted !== undefined) return { deleted: value.deleted };
      if (typeof value.id !== 'number' || typeof value.step !== 'string') throw new Error('not a dead-letter entry');
      if (whole) JSON.parse(text); // a broken line is skipped, not indexed
      if (value.id >= this.nextId) this.nextId = value.id + 1;
      const reasons = value.reasons ?? [];
      const fp = whole
        ? fingerprint(value.step, value.record, reasons)
        : fingerprintOf(value.step, text.slice(at + 10, -1), reasons);
      return {
        id: value.id,
        at: value.at ?? new Date(0).toISOString(),
        step: value.step,
        reasons,
        origin: value.origin,
        fp,
        pos: 0,
        len: 0,
      };
    } catch (error) {
      this.options.logger?.warn(`${this.file}:${line}: unreadable line skipped (${(error as Error).message})`);
      return undefined;
    }
  }

  /** New entries into the index with the appender, in one transaction with the position the file is indexed to. */
  private async index(entries: Entry[]): Promise<void> {
    if (!entries.length) return;
    const connection = this.connection!;
    await connection.run('BEGIN TRANSACTION');
    try {
      const appender = await connection.createAppender('entries');
      for (const e of entries) {
        appender.appendBigInt(BigInt(e.id));
        appender.appendBigInt(BigInt(Date.parse(e.at) || 0));
        appender.appendVarchar(e.step);
        appender.appendVarchar(e.reasons.join('\n').toLowerCase());
        appender.appendBigInt(BigInt(e.pos));
        appender.appendInteger(e.len);
        appender.appendBigInt(e.fp);
        appender.endRow();
      }
      appender.closeSync();
      this.liveLines += entries.length;
      await this.saveMeta();
      await connection.run('COMMIT');
    } catch (error) {
      await connection.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
    for (const e of entries) this.counts.set(e.step, (this.counts.get(e.step) ?? 0) + 1);
  }

  private async append(step: string, rejects: Reject[]): Promise<number> {
    if (!rejects.length) return 0;
    // Each record is made JSON once: for its fingerprint and for the line stored.
    const candidates = new Map<bigint, { reject: Reject; json: RecordJson }>();
    for (const reject of rejects) {
      const json = recordJson(reject.record);
      candidates.set(fingerprintOf(step, json.text ?? '', reject.reasons), { reject, json });
    }
    for (const known of await this.existing([...candidates.keys()])) candidates.delete(known);
    if (!candidates.size) return 0;
    const at = new Date().toISOString();
    const entries: Entry[] = [];
    const lines: string[] = [];
    let pos = this.size;
    for (const [fp, { reject, json }] of candidates) {
      const { text, truncated } = storedRecord(reject.record, json);
      const entry = {
        id: this.nextId++,
        at,
        step,
        reasons: reject.reasons,
        ...(reject.origin !== undefined ? { origin: reject.origin } : {}),
        ...(truncated ? { truncated } : {}),
      };
      const line = `${JSON.stringify(entry).slice(0, -1)},"record":${text}}\n`;
      const len = Buffer.byteLength(line) - 1;
      entries.push({ id: entry.id, at, step, reasons: reject.reasons, origin: reject.origin, fp, pos, len });
      lines.push(line);
      pos += len + 1;
    }
    appendFileSync(this.file, lines.join(''));
    this.size = pos;
    this.lines += lines.length;
    await this.index(entries);
    if (Math.floor((this.nextId - 1) / 1000) !== Math.floor((this.nextId - 1 - entries.length) / 1000))
      await this.expire(new Date());
    return entries.length;
  }

  /** Which of these fingerprints are stored already (one semi-join with a temporary table of them, however many). */
  private async existing(fps: bigint[]): Promise<bigint[]> {
    if (!this.liveLines || !fps.length) return [];
    const connection = this.connection!;
    await connection.run('CREATE OR REPLACE TEMP TABLE _candidates (fp BIGINT)');
    try {
      const appender = await connection.createAppender('_candidates', 'main', 'temp');
      for (const fp of fps) {
        appender.appendBigInt(fp);
        appender.endRow();
      }
      appender.closeSync();
      const rows = await this.rows('SELECT DISTINCT fp FROM entries SEMI JOIN temp._candidates USING (fp)');
      return rows.map((row) => BigInt(row.fp as number | string));
    } finally {
      await connection.run('DROP TABLE IF EXISTS temp._candidates');
    }
  }

  private async remove(ids: number[]): Promise<number> {
    const unique = [...new Set(ids.filter((id) => Number.isSafeInteger(id)))];
    if (!unique.length) return 0;
    appendFileSync(this.file, JSON.stringify({ deleted: unique, at: new Date().toISOString() }) + '\n');
    this.size = statSync(this.file).size;
    this.lines++;
    return this.applyDeletion({ deleted: unique });
  }

  /** Takes entries out of the index (a `{"deleted": …}` line records it in the file). */
  private async applyDeletion(deletion: Deletion): Promise<number> {
    const where = Array.isArray(deletion.deleted)
      ? `id IN (${deletion.deleted.map(Number).filter(Number.isSafeInteger).join(', ') || 'NULL'})`
      : `id < ${Number(deletion.deleted.below)}`;
    const gone = await this.rows(`SELECT step, count(*) AS n FROM entries WHERE ${where} GROUP BY step`);
    if (!gone.length) return 0;
    await this.connection!.run(`DELETE FROM entries WHERE ${where}`);
    let removed = 0;
    for (const row of gone) {
      const n = Number(row.n);
      removed += n;
      const left = (this.counts.get(String(row.step)) ?? 0) - n;
      if (left > 0) this.counts.set(String(row.step), left);
      else this.counts.delete(String(row.step));
    }
    this.liveLines -= removed;
    await this.saveMeta();
    return removed;
  }

  /** Retention: entries older than maxAge, and the oldest beyond maxEntries, leave (one range deletion). */
  private async expire(now: Date): Promise<number> {
    const { maxAgeMs, maxEntries } = this.options.retention ?? {};
    let below = 0;
    if (maxAgeMs !== undefined) {
      const cutoff = new Date(now.getTime() - maxAgeMs).toISOString();
      const [row] = await this.rows(`SELECT max(id) AS id FROM entries WHERE at_ms < ${Date.parse(cutoff)}`);
      if (row?.id !== null && row?.id !== undefined) below = Math.max(below, Number(row.id) + 1);
    }
    if (maxEntries !== undefined && this.count() > maxEntries) {
      const [row] = await this.rows(`SELECT id FROM entries ORDER BY id DESC LIMIT 1 OFFSET ${maxEntries - 1}`);
      if (row) below = Math.max(below, Number(row.id));
    }
    if (!below) return 0;
    appendFileSync(this.file, JSON.stringify({ deleted: { below }, at: now.toISOString() }) + '\n');
    this.size = statSync(this.file).size;
    this.lines++;
    const removed = await this.applyDeletion({ deleted: { below } });
    if (removed)
      this.options.logger?.info(`dead-letter retention: ${removed} entr${removed === 1 ? 'y' : 'ies'} expired`);
    await this.compactIfMostlyDeleted();
    return removed;
  }

  /** Rewrites the file without the deleted entries once they are most of it (and it is worth a rewrite). */
  private async compactIfMostlyDeleted(): Promise<void> {
    const dead = this.lines - this.liveLines;
    if (dead < 1000 || dead < this.liveLines) return;
    const tmp = `${this.file}.compact`;
    const out = openSync(tmp, 'w');
    const input = openSync(this.file, 'r');
    const moved: [number, number][] = [];
    try {
      let written = 0;
      let after = 0;
      while (true) {
        const rows = await this.rows(`SELECT id, pos, len FROM entries WHERE id > ${after} ORDER BY id LIMIT 10000`);
        if (!rows.length) break;
        for (const row of rows) {
          const len = Number(row.len);
          const buffer = Buffer.alloc(len + 1);
          readSync(input, buffer, 0, len, Number(row.pos));
          buffer[len] = 10;
          writeSync(out, buffer);
          moved.push([Number(row.id), written]);
          written += len + 1;
        }
        after = Number(rows[rows.length - 1].id);
      }
      const connection = this.connection!;
      await connection.run('BEGIN TRANSACTION');
      try {
        await connection.run('CREATE OR REPLACE TEMP TABLE moved (id BIGINT, pos BIGINT)');
        const appender = await connection.createAppender('moved', 'main', 'temp');
        for (const [id, pos] of moved) {
          appender.appendBigInt(BigInt(id));
          appender.appendBigInt(BigInt(pos));
          appender.endRow();
        }
        appender.closeSync();
        await connection.run('UPDATE entries SET pos = moved.pos FROM temp.moved AS moved WHERE entries.id = moved.id');
        const before = this.lines;
        this.size = written;
        this.lines = this.liveLines = moved.length;
        await this.saveMeta();
        closeSync(out);
        renameSync(tmp, this.file);
        await connection.run('COMMIT');
        this.options.logger?.info(
          `${this.file}: rewritten without ${before - moved.length} deleted or expired line(s)`,
        );
      } catch (error) {
        await connection.run('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        await connection.run('DROP TABLE IF EXISTS temp.moved').catch(() => undefined);
      }
    } finally {
      try {
        closeSync(out);
      } catch {
        /* closed before the rename */
      }
      closeSync(input);
      rmSync(tmp, { force: true });
    }
  }

  /**
   * The page `skip`…`skip + take` of the newest entries matching `where`, looked for among the newest ids first: a
   * window of ids wide enough for `needed` matches (doubled until it holds them, or holds every one of `total`).
   */
  private async newest(where: string, needed: number, total: number, take: number, skip: number) {
    if (!needed || !total) return [];
    const last = this.nextId - 1;
    for (let width = Math.max(1024, needed * 2); ; width *= 2) {
      const from = last - width;
      const rows = await this.rows(
        `SELECT pos, len FROM entries WHERE ${where} AND id > ${from} ORDER BY id DESC LIMIT ${take} OFFSET ${skip}`,
      );
      if (rows.length === take || from <= 0) return rows;
      const [{ n }] = await this.rows(`SELECT count(*) AS n FROM entries WHERE ${where} AND id > ${from}`);
      if (Number(n) >= Math.min(needed, total)) return rows;
    }
  }

  private async saveMeta(): Promise<void> {
    await this.connection!.run(
      `DELETE FROM meta; INSERT INTO meta VALUES (${this.size}, ${this.lines}, ${this.liveLines}, ${this.nextId})`,
    );
  }

  private where(query: DeadLetterQuery): string {
    const conditions: string[] = [];
    if (query.steps?.length) conditions.push(`step IN (${query.steps.map(sqlString).join(', ')})`);
    if (query.reason) conditions.push(`contains(reasons, ${sqlString(query.reason.toLowerCase())})`);
    if (query.since) {
      const since = new Date(query.since);
      if (Number.isNaN(since.getTime()))
        throw new Error(`since: "${query.since}" is not a time (give an ISO date or time)`);
      conditions.push(`at_ms >= ${since.getTime()}`);
    }
    if (query.ids)
      conditions.push(
        query.ids.length
          ? `id IN (${query.ids.map(Number).filter(Number.isSafeInteger).join(', ') || 'NULL'})`
          : 'false',
      );
    return conditions.length ? conditions.join(' AND ') : 'true';
  }

  private async rows(sql: string) {
    return materializedRows(await this.connection!.run(sql));
  }

  /** The entries at these byte ranges of the file, in the given order. */
  private readEntries(rows: Record<string, unknown>[]): DeadLetterEntry[] {
    if (!rows.length) return [];
    const fd = openSync(this.file, 'r');
    try {
      const size = fstatSync(fd).size;
      return rows.flatMap((row) => {
        const pos = Number(row.pos);
        const len = Number(row.len);
        if (pos + len > size) return [];
        const buffer = Buffer.alloc(len);
        readSync(fd, buffer, 0, len, pos);
        try {
          return [JSON.parse(buffer.toString('utf8')) as DeadLetterEntry];
        } catch {
          return [];
        }
      });
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * The entries of a dead-letter file that match, oldest first, read from the JSON lines alone (no index): for a
 * process that cannot open the index (the running pipeline holds it). Two passes: deletions first, then entries.
 */
export async function* scanDeadLetterFile(file: string, query: DeadLetterQuery): AsyncGenerator<DeadLetterEntry> {
  if (!existsSync(file)) return;
  const lines = () => createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  const deleted = new Set<number>();
  let below = 0;
  const parse = (line: string): (DeadLetterEntry & { deleted?: number[] | { below: number } }) | undefined => {
    try {
      return JSON.parse(line);
    } catch {
      return undefined; // torn or unreadable: skipped, as the store does
    }
  };
  for await (const line of lines()) {
    if (!line.includes('"deleted"')) continue;
    const value = parse(line);
    if (Array.isArray(value?.deleted)) value.deleted.forEach((id) => deleted.add(id));
    else if (value?.deleted) below = Math.max(below, value.deleted.below);
  }
  const reason = query.reason?.toLowerCase();
  const since = query.since ? new Date(query.since).toISOString() : undefined;
  for await (const line of lines()) {
    const entry = parse(line);
    if (
      !entry ||
      entry.deleted !== undefined ||
      typeof entry.id !== 'number' ||
      entry.id < below ||
      deleted.has(entry.id)
    )
      continue;
    if (query.steps?.length && !query.steps.includes(entry.step)) continue;
    if (reason && !entry.reasons.join('\n').toLowerCase().includes(reason)) continue;
    if (since && entry.at < since) continue;
    if (query.ids && !query.ids.includes(entry.id)) continue;
    yield entry;
  }
}

interface Entry {
  id: number;
  at: string;
  step: string;
  reasons: string[];
  origin?: string;
  fp: bigint;
  pos: number;
  len: number;
}

interface Deletion {
  deleted: number[] | { below: number };
}

/**
 * A record's JSON text (undefined for a value JSON has none for); `cut`: JSON.stringify failed (too deep, a cycle, a
 * bigint) and the text is that of `cut(record, MAX_RECORD_DEPTH)`.
 */
interface RecordJson {
  text: string | undefined;
  cut: boolean;
}

function recordJson(record: unknown): RecordJson {
  try {
    return { text: JSON.stringify(record), cut: false };
  } catch {
    return { text: JSON.stringify(cut(record, MAX_RECORD_DEPTH)), cut: true };
  }
}

/**
 * A record as JSON text for the store (`json`: its text, when already made): cut at MAX_RECORD_DEPTH and
 * MAX_RECORD_CHARS (then marked truncated).
 */
function storedRecord(record: unknown, json = recordJson(record)): { text: string; truncated: boolean } {
  let text = json.text;
  let truncated = json.cut;
  if (text === undefined) text = 'null';
  if (text.length > MAX_RECORD_CHARS) {
    truncated = true;
    text = JSON.stringify(
      `${text.slice(0, MAX_RECORD_CHARS)}… (${text.length.toLocaleString('en-US')} characters in all)`,
    );
  }
  return { text, truncated };
}

/** The value with everything deeper than `depth` replaced by "…" (and cycles by "[cycle]"). */
function cut(value: unknown, depth: number, seen = new Set<unknown>()): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? value.toString() : value;
  if (value instanceof Date) return value.toISOString();
  if (depth <= 0) return '…';
  if (seen.has(value)) return '[cycle]';
  seen.add(value);
  const out = Array.isArray(value)
    ? value.map((v) => cut(v, depth - 1, seen))
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cut(v, depth - 1, seen)]));
  seen.delete(value);
  return out;
}

/** Same step, record and reasons: the same dead letter (64 bits of SHA-1). */
function fingerprint(step: string, record: unknown, reasons: string[]): bigint {
  return fingerprintOf(step, recordJson(record).text ?? '', reasons);
}

/** The fingerprint of a record given as its JSON text (as stored). */
function fingerprintOf(step: string, recordText: string, reasons: string[]): bigint {
  return createHash('sha1')
    .update(step)
    .update('\0')
    .update(recordText)
    .update('\0')
    .update(reasons.join('\n'))
    .digest()
    .readBigInt64BE(0);
}
