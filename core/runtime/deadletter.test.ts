import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeadLetterStore } from './deadletter.ts';

describe('dead-letter store', () => {
  it('keeps every reject with step, reasons and origin, across restarts, newest first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-'));
    const store = new DeadLetterStore(dir);
    expect(store.add('parse', [{ record: 'x,y', reasons: ['bad quote'], origin: 'a.csv:3' }])).toBe(1);
    expect(store.add('check', [{ record: { a: -1 }, reasons: ['a: must be > 0'] }, { record: { a: -2 }, reasons: ['a: must be > 0'] }])).toBe(2);
    const again = new DeadLetterStore(dir);
    expect(again.count()).toBe(3);
    expect(again.count(['check'])).toBe(2);
    const { total, entries } = await again.list({ steps: ['check'], limit: 1 });
    expect(total).toBe(2);
    expect(entries).toMatchObject([{ id: 3, step: 'check', reasons: ['a: must be > 0'], record: { a: -2 } }]);
  });

  it('counts a record rejected again for the same reasons once (a re-read must not inflate the count)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-'));
    const store = new DeadLetterStore(dir);
    store.add('check', [{ record: { a: -1 }, reasons: ['a: must be > 0'] }]);
    expect(store.add('check', [{ record: { a: -1 }, reasons: ['a: must be > 0'] }])).toBe(0);
    expect(new DeadLetterStore(dir).add('check', [{ record: { a: -1 }, reasons: ['a: must be > 0'] }])).toBe(0);
    expect(store.add('check', [{ record: { a: -1 }, reasons: ['another reason'] }])).toBe(1);
    expect(store.count()).toBe(2);
  });
});
