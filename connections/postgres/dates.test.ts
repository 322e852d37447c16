// A DATE column comes out as the same 'YYYY-MM-DD' in any time zone of the process, from PGlite and a real server
// (node-pg's default parser made 2026-11-20 a timestamp at local midnight: 2026-11-19T18:30:00.000Z in Kolkata).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { service } from '../../tests/services.ts';
import { PgliteClient, type PostgresClient } from './index.ts';
import { PgPoolClient } from './pool.ts';

const zones = ['Asia/Kolkata', 'America/Los_Angeles', 'UTC'];

describe.each([
  [
    'embedded PGlite',
    async (): Promise<PostgresClient> => {
      const { PGlite } = await import('@electric-sql/pglite');
      return new PgliteClient(await PGlite.create(join(mkdtempSync(join(tmpdir(), 'pg-dates-')), 'pg')));
    },
  ],
  ['real PostgreSQL', async (): Promise<PostgresClient> => PgPoolClient.create(service('PG_URL'), 1)],
])('postgres DATE values (%s)', (_name, open) => {
  let client: PostgresClient;
  const zone = process.env.TZ;

  beforeAll(async () => {
    client = await open();
  });
  afterAll(async () => {
    process.env.TZ = zone;
    await (client as PgliteClient | PgPoolClient | undefined)?.close();
  });

  it.each(zones)('keeps 2026-11-20 a date with TZ=%s, next to an exact timestamptz', async (tz) => {
    process.env.TZ = tz;
    const [row] = await client.query(
      `SELECT DATE '2026-11-20' AS day, TIMESTAMPTZ '2026-11-20 05:00:00+00' AS at, ARRAY[DATE '2026-01-31'] AS days`,
    );
    expect(row.day).toBe('2026-11-20');
    expect((row.at as Date).toISOString()).toBe('2026-11-20T05:00:00.000Z');
    const [bound] = await client.query('SELECT $1::date AS day', ['2026-11-20']);
    expect(bound.day).toBe('2026-11-20');
  });
});
