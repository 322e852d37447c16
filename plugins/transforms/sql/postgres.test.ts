// The sql transform on PostgreSQL, on embedded PGlite and on the real server: the batch as a temporary table of one
// transaction next to the database's tables, typed from its values; rejects with SQL reasons; nothing left behind.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import type { PostgresClient } from '../../../connections/postgres/index.ts';
import { Scratch } from '../../../tests/services.ts';
import plugin, { type SqlTransform } from './index.ts';

const scratch = new Scratch();
let realUrl = '';
beforeAll(async () => void (realUrl = await scratch.database('sql_pg')), 60_000);
afterAll(() => scratch.drop());

describe.each([
  [
    'embedded PGlite',
    () => ({ type: 'postgres', url: 'embedded', dataDir: join(mkdtempSync(join(tmpdir(), 'sql-pg-')), 'pg') }),
  ],
  ['real PostgreSQL', () => ({ type: 'postgres', url: realUrl })],
])('sql transform on PostgreSQL (%s)', (_name, connection) => {
  const step = (config: Record<string, unknown>, id = 'sql') =>
    createTestStep<SqlTransform>(plugin, 'transform', config, {
      connections: { db: connection() },
      connection: 'db',
      id,
    });

  it("joins the batch with the database's tables; numbers, texts, booleans, times and objects keep their values", async () => {
    const s = await step({
      query:
        "SELECT i.id, upper(i.c) AS c, f.fee, i.at + interval '1 hour' AS later, i.ok, i.tags->>'a' AS a, i.amount * 2 AS twice FROM input i LEFT JOIN fees f USING (c) ORDER BY id",
      optionalColumns: { tags: 'jsonb' },
    });
    const db = await s.services.connections.get<PostgresClient>('db');
    await db.exec(
      "CREATE TABLE IF NOT EXISTS fees (c text PRIMARY KEY, fee numeric(5,2)); INSERT INTO fees VALUES ('us', 1.5) ON CONFLICT DO NOTHING",
    );
    const at = new Date('2024-01-01T10:00:00.123Z');
    expect(
      await s.plugin.process(
        [
          { id: 2, c: 'fr', at, ok: false, tags: { a: 'x' }, amount: 0.1 },
          { id: 1, c: 'us', at, ok: true, tags: null, amount: 618.66 },
        ],
        s.context(),
      ),
    ).toEqual([
      { id: 1, c: 'US', fee: 1.5, later: new Date('2024-01-01T11:00:00.123Z'), ok: true, a: null, twice: 1237.32 },
      { id: 2, c: 'FR', fee: null, later: new Date('2024-01-01T11:00:00.123Z'), ok: false, a: 'x', twice: 0.2 },
    ]);
    // The batch's table lived for its transaction only: the next batch sees its own rows.
    expect(await s.plugin.process([{ id: 3, c: 'us', at, ok: true, tags: null, amount: 1 }], s.context())).toHaveLength(
      1,
    );
    expect(
      await db.query(
        "SELECT count(*)::int AS n FROM pg_class WHERE relpersistence = 't' AND relname IN ('input', '_sql_batch', '_sql_checked')",
      ),
    ).toEqual([{ n: 0 }]);
    expect(await s.plugin.process([], s.context())).toEqual([]);
    await db.exec('DROP TABLE fees');
    await s.close();
  });

  it('rejects rows by a condition with a reason that may read the database, binds params, adds optional columns', async () => {
    const s = await step({
      query: 'SELECT id, coalesce(note, $1) AS note, count(*) OVER () AS seen FROM input ORDER BY id',
      params: ['none'],
      rejectWhere: 'amount <= 0 OR amount > (SELECT max(amount) FROM limits)',
      rejectReason: "'amount must be in (0, ' || (SELECT max(amount) FROM limits) || '] (got ' || amount || ')'",
      optionalColumns: { note: 'text' },
    });
    const db = await s.services.connections.get<PostgresClient>('db');
    await db.exec(
      'CREATE TABLE IF NOT EXISTS limits (amount numeric); TRUNCATE limits; INSERT INTO limits VALUES (100)',
    );
    expect(
      await s.plugin.process(
        [
          { id: 1, amount: 5 },
          { id: 2, amount: -1 },
          { id: 3, amount: 500 },
          { id: 4, amount: 100 },
        ],
        s.context(),
      ),
    ).toEqual([
      { id: 1, note: 'none', seen: 2 },
      { id: 4, note: 'none', seen: 2 },
    ]);
    expect(s.rejects).toEqual([
      { record: { id: 2, amount: -1 }, reasons: ['amount must be in (0, 100] (got -1)'] },
      { record: { id: 3, amount: 500 }, reasons: ['amount must be in (0, 100] (got 500)'] },
    ]);
    expect(await s.plugin.process([{ id: 5, amount: 0 }], s.context())).toEqual([]);
    await db.exec('DROP TABLE limits');
    await s.close();
  });

  it('names the step in SQL errors, which are data errors (the batch goes to dead-letter)', async () => {
    const s = await step({ query: 'SELECT nope FROM input' }, 'enrich');
    const error = await s.plugin.process([{ id: 1 }], s.context()).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^enrich: column "nope" does not exist/);
    const { classifyError } = await import('../../../core/sdk/index.ts');
    expect(classifyError(error)).toBe('data');
    await s.close();
  });
});
