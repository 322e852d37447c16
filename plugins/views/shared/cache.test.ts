import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../../core/sdk/index.ts';
import { EventHub } from '../../../core/sdk/events.ts';
import { QueryCache } from './cache.ts';
import { testDuckDb } from './testing.ts';

describe('QueryCache', () => {
  let db: Awaited<ReturnType<typeof testDuckDb>>;
  let counted: SqlClient;
  let queries = 0;
  beforeAll(async () => {
    db = await testDuckDb();
    await db.client.exec('CREATE TABLE t AS SELECT 1 AS a');
    counted = {
      ...db.client,
      dialect: db.client.dialect,
      query: (sql, params) => (queries++, db.client.query(sql, params)),
    } as SqlClient;
  });
  afterAll(() => db.close());

  it('keys by SQL and parameters (with their types), expires after maxAge, forgets failures, evicts the least recent', async () => {
    const cache = new QueryCache({ maxAgeMs: 150, maxEntries: 2 });
    const client = cache.wrap(counted);
    const start = queries;
    expect(await client.query('SELECT a + $1 AS v FROM t', [1])).toEqual([{ v: 2 }]);
    expect(await client.query('SELECT a + $1 AS v FROM t', [1])).toEqual([{ v: 2 }]);
    expect(await client.query('SELECT a + $1 AS v FROM t', [2])).toEqual([{ v: 3 }]);
    expect(await client.query('SELECT $1::VARCHAR AS v', [new Date('2024-01-01T00:00:00Z')])).toHaveLength(1);
    expect(queries - start).toBe(3);
    // The entry for [1] was the least recently used of three: evicted.
    expect(cache.size).toBe(2);
    await client.query('SELECT a + $1 AS v FROM t', [1]);
    expect(queries - start).toBe(4);

    await expect(client.query('SELECT * FROM missing')).rejects.toThrow(/missing/);
    await expect(client.query('SELECT * FROM missing')).rejects.toThrow(/missing/);
    expect(queries - start).toBe(6);

    await db.client.exec('UPDATE t SET a = 10');
    expect(await client.query('SELECT a + $1 AS v FROM t', [1])).toEqual([{ v: 2 }]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await client.query('SELECT a + $1 AS v FROM t', [1])).toEqual([{ v: 11 }]);
  });

  it('is emptied by commits of the watched steps only', async () => {
    const cache = new QueryCache({ maxAgeMs: 60_000 });
    const events = new EventHub();
    const stop = cache.invalidateOnCommit(events, (step) => step === 'sink');
    await cache.query(counted, 'SELECT 1 AS one');
    events.emit({ type: 'commit', step: 'other', records: 1, at: new Date() });
    expect(cache.size).toBe(1);
    events.emit({ type: 'commit', step: 'sink', records: 1, at: new Date() });
    expect(cache.size).toBe(0);
    stop();
  });
});
