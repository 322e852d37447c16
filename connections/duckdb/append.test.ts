import { describe, expect, it } from 'vitest';
import { DuckDbClient, loadTempTable } from './client.ts';

describe('chunked appending (loadTempTable)', () => {
  it('keeps every value and type exactly across data chunk boundaries', async () => {
    // 5,000 rows: two full chunks of 2,048 and a partial one, with NULLs and special values scattered.
    const base = Date.UTC(2024, 0, 1);
    const rows = Array.from({ length: 5000 }, (_, i) => ({
      i: i % 7 === 0 ? null : i,
      big: i === 4999 ? 2n ** 62n : i % 2 ? 9_007_199_254_740_993n : -i,
      d: i % 11 === 0 ? Number.NaN : i % 13 === 0 ? Number.POSITIVE_INFINITY : i / 4,
      b: i % 5 === 0 ? undefined : i % 3 === 0,
      t: i % 17 === 0 ? null : new Date(base + i * 1000),
      s: i % 19 === 0 ? null : `s${i}`,
      mixed: i % 2 ? { n: i, list: [i, 'x'] } : i % 4 === 0 ? new Date(base) : `text ${i}`,
      ...(i === 2500 ? { late: 'only here' } : {}),
    }));
    const db = await DuckDbClient.open(':memory:');
    try {
      const out = await db.session(async (connection) => {
        const columns = await loadTempTable(connection, 'input', rows);
        expect(columns).toEqual([
          { name: 'i', kind: 'BIGINT' },
          { name: 'big', kind: 'BIGINT' },
          { name: 'd', kind: 'DOUBLE' },
          { name: 'b', kind: 'BOOLEAN' },
          { name: 't', kind: 'TIMESTAMPTZ' },
          { name: 's', kind: 'VARCHAR' },
          { name: 'mixed', kind: 'VARCHAR' },
          { name: 'late', kind: 'VARCHAR' },
        ]);
        const reader = await connection.runAndReadAll(
          'SELECT rowid AS r, i, big, d, b, epoch_ms(t) AS t_ms, s, mixed, late FROM input ORDER BY rowid',
        );
        return reader.getRowObjectsJS();
      });
      expect(out).toHaveLength(rows.length);
      const expected = rows.map((row, r) => ({
        r: BigInt(r),
        i: row.i === null ? null : BigInt(row.i),
        big: typeof row.big === 'bigint' ? row.big : BigInt(row.big),
        d: Number.isFinite(row.d) ? row.d : null,
        b: row.b ?? null,
        t_ms: row.t ? BigInt(row.t.getTime()) : null,
        s: row.s,
        mixed:
          row.mixed instanceof Date
            ? row.mixed.toISOString()
            : typeof row.mixed === 'object'
              ? JSON.stringify(row.mixed)
              : row.mixed,
        late: 'late' in row ? row.late : null,
      }));
      expect(out).toEqual(expected);
    } finally {
      db.close();
    }
  });

  it('throws on a value that does not convert (an invalid Date), and the connection stays usable', async () => {
    const db = await DuckDbClient.open(':memory:');
    try {
      await db.session(async (connection) => {
        const rows = [{ t: new Date(Number.NaN) }];
        await expect(loadTempTable(connection, 'input', rows, [{ name: 't', kind: 'TIMESTAMPTZ' }])).rejects.toThrow();
        // The connection stays usable.
        expect((await connection.runAndReadAll('SELECT 1 AS one')).getRowObjectsJS()).toEqual([{ one: 1 }]);
      });
    } finally {
      db.close();
    }
  });
});
