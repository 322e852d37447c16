import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../core/sdk/types.ts';
import { openPglite, pgliteTemplate, pgliteVersion } from './embedded.ts';

/** What our use of a database depends on: server, encoding, locale, zone, the catalog's objects and the databases. */
async function answers(db: PGlite): Promise<Record<string, unknown>> {
  const one = async (sql: string) => (await db.query(sql)).rows;
  return {
    settings: await one(
      `SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'server_encoding', 'client_encoding',
        'lc_collate', 'lc_ctype', 'lc_messages', 'lc_numeric', 'TimeZone', 'DateStyle', 'search_path', 'data_checksums',
        'block_size', 'wal_segment_size') ORDER BY name`,
    ),
    databases: await one(
      'SELECT datname, pg_encoding_to_char(encoding) AS encoding, datcollate, datctype, datlocprovider FROM pg_database ORDER BY 1',
    ),
    roles: await one('SELECT rolname, rolsuper FROM pg_roles ORDER BY 1'),
    catalog: await one(
      'SELECT n.nspname, c.relkind, count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace GROUP BY 1, 2 ORDER BY 1, 2',
    ),
    functions: await one('SELECT count(*)::int AS n FROM pg_proc'),
    collations: await one('SELECT count(*)::int AS n FROM pg_collation'),
    sorted: await one(`SELECT array_agg(w ORDER BY w) AS words FROM unnest(ARRAY['b', 'B', 'a', 'ä', 'Z', '_x']) w`),
  };
}

describe('embedded PostgreSQL data folder made from the template', () => {
  const root = mkdtempSync(join(tmpdir(), 'pglite-template-'));
  const saved = process.env.PLATFORM_PGLITE_CACHE;
  beforeAll(() => {
    process.env.PLATFORM_PGLITE_CACHE = join(root, 'cache');
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.PLATFORM_PGLITE_CACHE;
    else process.env.PLATFORM_PGLITE_CACHE = saved;
    rmSync(root, { recursive: true, force: true });
  });

  it('answers as a folder initdb made does; a table written is read back, and again after a restart', async () => {
    const initdb = await PGlite.create(join(root, 'initdb'));
    const expected = await answers(initdb);
    await initdb.close();

    const dir = join(root, 'copied');
    const db = await openPglite(dir);
    expect(existsSync(join(root, 'cache', pgliteVersion(), 'PG_VERSION'))).toBe(true);
    expect(await answers(db)).toEqual(expected);
    await db.exec('CREATE TABLE sales (id int PRIMARY KEY, country text, amount numeric(14,2), at timestamptz)');
    await db.query("INSERT INTO sales VALUES (1, 'DE', 12.50, '2024-03-01T10:00:00Z'), (2, 'Ü', 0.01, NULL)");
    await db.close();

    const again = await openPglite(dir); // an existing folder: opened as it is, not copied over
    expect((await again.query('SELECT id, country, amount::text, at FROM sales ORDER BY id')).rows).toEqual([
      { id: 1, country: 'DE', amount: '12.50', at: new Date('2024-03-01T10:00:00Z') },
      { id: 2, country: 'Ü', amount: '0.01', at: null },
    ]);
    expect(await answers(again)).toEqual({ ...expected, catalog: expect.anything() as unknown });
    await again.close();
    // The same files as the template apart from what the run wrote: PG_VERSION says the server's major version.
    expect(readFileSync(join(dir, 'PG_VERSION'), 'utf8')).toBe(
      readFileSync(join(root, 'initdb', 'PG_VERSION'), 'utf8'),
    );
  }, 120_000);

  it('without a cache it can write, initdb runs in the folder itself (a warning says so)', async () => {
    const notAFolder = join(root, 'not-a-folder');
    writeFileSync(notAFolder, '');
    process.env.PLATFORM_PGLITE_CACHE = notAFolder;
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message), info: () => undefined } as unknown as Logger;
    try {
      const db = await openPglite(join(root, 'uncached'), logger);
      expect((await db.query('SELECT current_database() AS db')).rows).toEqual([{ db: 'postgres' }]);
      await db.close();
      expect(warnings).toEqual([expect.stringContaining('no embedded PostgreSQL template')]);
    } finally {
      process.env.PLATFORM_PGLITE_CACHE = join(root, 'cache');
    }
  }, 120_000);

  it("does not use another PGlite version's template: this version's is made and used", async () => {
    // A template of "another version" that holds a table ours never has.
    const template = await pgliteTemplate();
    const other = join(root, 'other-cache');
    const otherVersion = join(other, '0.0.1-other');
    cpSync(template, otherVersion, { recursive: true });
    const planted = await PGlite.create(otherVersion);
    await planted.exec('CREATE TABLE planted_by_another_version (x int)');
    await planted.close();

    process.env.PLATFORM_PGLITE_CACHE = other;
    try {
      const db = await openPglite(join(root, 'fresh'));
      const tables = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_class WHERE relname = 'planted_by_another_version'",
      );
      await db.close();
      expect(tables.rows).toEqual([{ n: 0 }]);
      expect(existsSync(join(other, pgliteVersion(), 'PG_VERSION'))).toBe(true);
      expect(existsSync(join(other, '0.0.1-other', 'PG_VERSION'))).toBe(true); // left alone
    } finally {
      process.env.PLATFORM_PGLITE_CACHE = join(root, 'cache');
    }
  }, 120_000);
});
