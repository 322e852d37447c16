import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDbClient, loadTempTable } from './client.ts';
import duckdbModule from './index.ts';
import { PluginCatalog } from '../../core/sdk/container.ts';
import { ConnectionRegistry } from '../../core/sdk/connections.ts';
import { MemoryLogger } from '../../core/sdk/logger.ts';

function registry(config: Record<string, unknown>) {
  const catalog = new PluginCatalog([duckdbModule]);
  return new ConnectionRegistry(
    [{ name: 'wh', type: 'duckdb', config, line: 4 }],
    catalog.connectionTypes(),
    mkdtempSync(join(tmpdir(), 'duck-')),
    new MemoryLogger(),
    'm.yaml',
  );
}

describe('duckdb connection', () => {
  it('runs init statements at open, and re-opening a file keeps the data', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'duck-')), 'w.duckdb');
    const init = ['CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v VARCHAR)'];
    const first = registry({ path, init });
    const db = await first.get<DuckDbClient>('wh', 'duckdb');
    await db.query('INSERT INTO t VALUES ($1, $2)', [1, 'a']);
    await first.closeAll();
    const second = registry({ path, init });
    expect(await (await second.get<DuckDbClient>('wh')).query('SELECT * FROM t')).toEqual([{ id: 1, v: 'a' }]);
    await second.closeAll();
  });

  it('names the connection, the manifest line and the statement when init fails', async () => {
    const r = registry({ path: ':memory:', init: ['SELEC 1'] });
    await expect(r.get('wh')).rejects.toThrow(
      /^connection "wh" \(duckdb, m\.yaml:4\): init\[0\] failed: Parser Error: syntax error at or near "SELEC"/,
    );
  });

  it('gives integers inside lists and structs as numbers, so nested values are plain JSON', async () => {
    const db = await DuckDbClient.open(':memory:');
    const [row] = await db.query(
      "SELECT [{'product_id': 4::BIGINT, 'quantity': 2::BIGINT}, {'product_id': 3::BIGINT, 'quantity': 1::BIGINT}] AS items, {'n': 9007199254740993::HUGEINT, 'm': [1::BIGINT]} AS s",
    );
    expect(row).toEqual({
      items: [
        { product_id: 4, quantity: 2 },
        { product_id: 3, quantity: 1 },
      ],
      s: { n: '9007199254740993', m: [1] },
    });
    expect(JSON.parse(JSON.stringify(row))).toEqual(row);
    db.close();
  });

  it('loads JS rows into a temp table with inferred types (ints, doubles, booleans, dates, objects, nulls)', async () => {
    const db = await DuckDbClient.open(':memory:');
    const rows = await db.session(async (connection) => {
      await loadTempTable(connection, 'input', [
        { i: 1, d: 1.5, b: true, t: new Date('2024-01-01T00:00:00Z'), o: { a: 1 }, s: 'x', n: null },
        { i: 2, d: 2, b: false, t: null, o: [1, 2], s: null, n: null },
      ]);
      const reader = await connection.runAndReadAll(
        "SELECT i, d, b, t, o->>'$.a' AS a, s, n, typeof(i) AS ti, typeof(d) AS td, typeof(t) AS tt FROM input ORDER BY i",
      );
      return reader.getRowObjectsJS();
    });
    expect(rows).toEqual([
      {
        i: 1n,
        d: 1.5,
        b: true,
        t: new Date('2024-01-01T00:00:00Z'),
        a: '1',
        s: 'x',
        n: null,
        ti: 'BIGINT',
        td: 'DOUBLE',
        tt: 'TIMESTAMP WITH TIME ZONE',
      },
      {
        i: 2n,
        d: 2,
        b: false,
        t: null,
        a: null,
        s: null,
        n: null,
        ti: 'BIGINT',
        td: 'DOUBLE',
        tt: 'TIMESTAMP WITH TIME ZONE',
      },
    ]);
    db.close();
  });
});
