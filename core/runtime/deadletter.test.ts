import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeadLetterStore } from './deadletter.ts';
import { MemoryLogger } from '../sdk/logger.ts';

const fresh = () => mkdtempSync(join(tmpdir(), 'dl-'));

describe('dead-letter store', () => {
  it('keeps every reject with step, reasons and origin, across restarts, newest first', async () => {
    const dir = fresh();
    const store = new DeadLetterStore(dir);
    expect(await store.add('parse', [{ record: 'x,y', reasons: ['bad quote'], origin: 'a.csv:3' }])).toBe(1);
    expect(
      await store.add('check', [
        { record: { a: -1 }, reasons: ['a: must be > 0'] },
        { record: { a: -2 }, reasons: ['a: must be > 0'] },
      ]),
    ).toBe(2);
    await store.close();
    const again = new DeadLetterStore(dir);
    await again.ready;
    expect(again.count()).toBe(3);
    expect(again.count(['check'])).toBe(2);
    const { total, entries } = await again.list({ steps: ['check'], limit: 1 });
    expect(total).toBe(2);
    expect(entries).toMatchObject([{ id: 3, step: 'check', reasons: ['a: must be > 0'], record: { a: -2 } }]);
    await again.close();
  });

  it('counts a record rejected again for the same reasons once (a re-read must not inflate the count)', async () => {
    const dir = fresh();
    const store = new DeadLetterStore(dir);
    await store.add('check', [{ record: { a: -1 }, reasons: ['a: must be > 0'] }]);
    expect(await store.add('check', [{ record: { a: -1 }, reasons: ['a: must be > 0'] }])).toBe(0);
    await store.close();
    const reopened = new DeadLetterStore(dir);
    expect(await reopened.add('check', [{ record: { a: -1 }, reasons: ['a: must be > 0'] }])).toBe(0);
    expect(await reopened.add('check', [{ record: { a: -1 }, reasons: ['another reason'] }])).toBe(1);
    expect(reopened.count()).toBe(2);
    await reopened.close();
  });

  it('filters by step, reason text (any case) and time, and pages newest first', async () => {
    const store = new DeadLetterStore(fresh());
    await store.add('parse', [{ record: 'a', reasons: ['Unterminated quote'], origin: 'x.csv:2' }]);
    await store.add(
      'check',
      Array.from({ length: 5 }, (_, i) => ({
        record: { i },
        reasons: [i % 2 ? 'amount: must be > 0' : 'id: required'],
      })),
    );
    const cutoff = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await store.add('sink', [{ record: { i: 9 }, reasons: ['Conversion Error: could not convert'] }]);
    expect((await store.list({ reason: 'AMOUNT' })).entries.map((e) => e.record)).toEqual([{ i: 3 }, { i: 1 }]);
    expect((await store.list({ reason: 'quote', steps: ['parse'] })).total).toBe(1);
    expect((await store.list({ since: cutoff })).entries.map((e) => e.step)).toEqual(['sink']);
    const page = await store.list({ steps: ['check'], limit: 2, offset: 2 });
    expect([page.total, page.entries.map((e) => e.record)]).toEqual([5, [{ i: 2 }, { i: 1 }]]);
    expect(await store.countMatching({ reason: 'required' })).toBe(3);
    await expect(store.list({ since: 'yesterday-ish' })).rejects.toThrow('since: "yesterday-ish" is not a time');
    await store.close();
  });

  it('skips a torn last line with a warning naming the file and line, and appends after it on a line of its own', async () => {
    const dir = fresh();
    const store = new DeadLetterStore(dir);
    await store.add('check', [
      { record: { a: 1 }, reasons: ['r1'] },
      { record: { a: 2 }, reasons: ['r2'] },
    ]);
    await store.close();
    // A crash mid-write: the index never saw it, and the line has no end.
    appendFileSync(
      join(dir, 'dead-letter.jsonl'),
      '{"id":3,"at":"2026-01-01T00:00:00.000Z","step":"check","reasons":["r3"],"record":{"a":',
    );
    const logs: string[] = [];
    const reopened = new DeadLetterStore(dir, { logger: new MemoryLogger(logs) });
    await reopened.ready;
    expect(logs.filter((l) => l.includes('WARN'))).toEqual([
      expect.stringContaining(`${join(dir, 'dead-letter.jsonl')}:3: torn last line skipped`),
    ]);
    expect(reopened.count()).toBe(2);
    expect(await reopened.add('check', [{ record: { a: 4 }, reasons: ['r4'] }])).toBe(1);
    await reopened.close();
    const lines = readFileSync(join(dir, 'dead-letter.jsonl'), 'utf8').split('\n');
    expect(JSON.parse(lines[3])).toMatchObject({ id: 3, record: { a: 4 } });
    // Rebuilding the index from the file alone gives the same entries (the torn line stays skipped).
    rmSync(join(dir, 'dead-letter.duckdb'));
    const rebuilt = new DeadLetterStore(dir, { logger: new MemoryLogger([]) });
    expect((await rebuilt.list({})).entries.map((e) => e.reasons[0])).toEqual(['r4', 'r2', 'r1']);
    await rebuilt.close();
  });

  it('indexes lines another process appended after its last indexed byte (it stopped before indexing them)', async () => {
    const dir = fresh();
    const store = new DeadLetterStore(dir);
    await store.add('check', [{ record: { a: 1 }, reasons: ['r1'] }]);
    await store.close();
    appendFileSync(
      join(dir, 'dead-letter.jsonl'),
      `${JSON.stringify({ id: 2, at: new Date().toISOString(), step: 'parse', reasons: ['r2'], origin: 'f.csv:9', record: 'x' })}\n`,
    );
    const reopened = new DeadLetterStore(dir);
    expect((await reopened.list({ steps: ['parse'] })).entries).toMatchObject([
      { id: 2, origin: 'f.csv:9', record: 'x' },
    ]);
    expect(await reopened.add('parse', [{ record: 'y', reasons: ['r3'] }])).toBe(1);
    expect((await reopened.list({ limit: 1 })).entries[0].id).toBe(3);
    await reopened.close();
  });

  it('replaces entries (a replay): the new rejects are stored, the old ones leave, also for a rebuilt index', async () => {
    const dir = fresh();
    const store = new DeadLetterStore(dir);
    await store.add('check', [
      { record: { a: 1 }, reasons: ['old'] },
      { record: { a: 2 }, reasons: ['old'] },
    ]);
    expect(await store.replace([1, 2], [{ step: 'check', rejects: [{ record: { a: 2 }, reasons: ['new'] }] }])).toEqual(
      { removed: 2, added: 1 },
    );
    expect(store.count()).toBe(1);
    expect((await store.list({})).entries).toMatchObject([{ id: 3, record: { a: 2 }, reasons: ['new'] }]);
    await store.close();
    rmSync(join(dir, 'dead-letter.duckdb'));
    const rebuilt = new DeadLetterStore(dir);
    expect((await rebuilt.list({})).entries.map((e) => e.id)).toEqual([3]);
    await rebuilt.close();
  });

  it('keeps what retention allows (age and count), and rewrites the file once most of it is gone', async () => {
    const dir = fresh();
    const old = new Date(Date.now() - 3 * 86_400_000).toISOString();
    writeFileSync(
      join(dir, 'dead-letter.jsonl'),
      Array.from(
        { length: 3000 },
        (_, i) => `${JSON.stringify({ id: i + 1, at: old, step: 'check', reasons: ['r'], record: { i } })}\n`,
      ).join(''),
    );
    const logs: string[] = [];
    const store = new DeadLetterStore(dir, {
      retention: { maxAgeMs: 86_400_000, maxEntries: 2 },
      logger: new MemoryLogger(logs),
    });
    await store.ready;
    expect(store.count()).toBe(0);
    expect(logs.join('\n')).toContain('3000 entries expired');
    expect(statSync(join(dir, 'dead-letter.jsonl')).size).toBe(0);
    for (let i = 0; i < 4; i++) await store.add('check', [{ record: { n: i }, reasons: ['recent'] }]);
    await store.enforceRetention();
    expect((await store.list({})).entries.map((e) => e.record)).toEqual([{ n: 3 }, { n: 2 }]);
    await store.close();
  });

  it('stores a record too deep or too large to serialise as a marked, truncated copy', async () => {
    const store = new DeadLetterStore(fresh());
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    expect(
      await store.add('sink', [
        { record: deep, reasons: ['too deep'] },
        { record: 'x'.repeat(2 << 20), reasons: ['too long'] },
      ]),
    ).toBe(2);
    const { entries } = await store.list({});
    expect(entries.map((e) => [e.reasons[0], (e as { truncated?: boolean }).truncated])).toEqual([
      ['too long', true],
      ['too deep', true],
    ]);
    const kept = String(entries[0].record);
    expect([kept.length, kept.endsWith('… (2,097,154 characters in all)')]).toEqual([
      (1 << 20) + '… (2,097,154 characters in all)'.length,
      true,
    ]);
    await store.close();
  });
});
