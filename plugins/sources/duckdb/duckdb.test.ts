import { describe, expect, it } from 'vitest';
import { createTestStep, readAll } from '../../../core/testing.ts';
import type { DuckDbClient } from '../../../connections/duckdb/index.ts';
import { rowCount } from '../../../core/sdk/index.ts';
import plugin, { type DuckDbSource } from './index.ts';

describe('duckdb source', () => {
  it('streams a query in pages with bound parameters and the run date', async () => {
    const step = await createTestStep<DuckDbSource>(
      plugin,
      'source',
      {
        query: 'SELECT i, $1 AS tag, $date AS day FROM range(5) t(i) WHERE i >= $2 ORDER BY i',
        params: ['x', 1],
        pageSize: 2,
      },
      {
        connections: { wh: { type: 'duckdb', path: ':memory:' } },
        connection: 'wh',
      },
    );
    const batches = [];
    for await (const batch of step.plugin.read({
      once: true,
      signal: new AbortController().signal,
      checkpoint: undefined,
      date: '2024-03-01',
    }))
      batches.push(batch.records);
    expect(batches).toEqual([
      [
        { i: 1, tag: 'x', day: '2024-03-01' },
        { i: 2, tag: 'x', day: '2024-03-01' },
      ],
      [
        { i: 3, tag: 'x', day: '2024-03-01' },
        { i: 4, tag: 'x', day: '2024-03-01' },
      ],
    ]);
    await step.close();
  });

  it('marks the pages of a run as one whole result, and an empty result as one empty batch', async () => {
    const step = await createTestStep<DuckDbSource>(
      plugin,
      'source',
      { query: 'SELECT i FROM range($1) t(i) ORDER BY i', params: [5], pageSize: 2 },
      {
        connections: { wh: { type: 'duckdb', path: ':memory:' } },
        connection: 'wh',
      },
    );
    const marks = [];
    for await (const batch of step.plugin.read({
      once: true,
      signal: new AbortController().signal,
      checkpoint: undefined,
    }))
      marks.push([rowCount(batch.records), batch.snapshot]);
    expect(marks).toEqual([
      [2, { first: true, last: false }],
      [2, { first: false, last: false }],
      [1, { first: false, last: true }],
    ]);
    await step.close();

    const empty = await createTestStep<DuckDbSource>(
      plugin,
      'source',
      { query: 'SELECT i FROM range(5) t(i) WHERE i > 10' },
      {
        connections: { wh: { type: 'duckdb', path: ':memory:' } },
        connection: 'wh',
      },
    );
    const batches = [];
    for await (const batch of empty.plugin.read({
      once: true,
      signal: new AbortController().signal,
      checkpoint: undefined,
    }))
      batches.push(batch);
    expect(batches).toEqual([{ records: [], snapshot: { first: true, last: true } }]);
    await empty.close();
  });

  it('reads warehouse tables and returns Dates and numbers', async () => {
    const step = await createTestStep<DuckDbSource>(
      plugin,
      'source',
      { query: 'SELECT * FROM t' },
      { connections: { wh: { type: 'duckdb', path: ':memory:' } }, connection: 'wh' },
    );
    const db = await step.services.connections.get<DuckDbClient>('wh');
    await db.exec(
      "CREATE TABLE t AS SELECT TIMESTAMPTZ '2024-01-02 03:04:05+00' AS ts, 12.50::DECIMAL(12,2) AS amount, 9007199254740993::HUGEINT AS big",
    );
    const { records } = await readAll(step.plugin);
    expect(records).toEqual([{ ts: new Date('2024-01-02T03:04:05Z'), amount: 12.5, big: '9007199254740993' }]);
    await step.close();
  });
});
