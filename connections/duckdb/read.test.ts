import { describe, expect, it } from 'vitest';
import { DuckDbClient } from './client.ts';

// Every kind of value a query can return, as plain JS; query() and stream() (chunk by chunk) must agree.
const SQL = `SELECT i AS id,
  CASE WHEN i % 3 = 0 THEN NULL ELSE i * 10 END AS maybe,
  9007199254740993::BIGINT + i AS huge,
  CAST(i / 4 AS DECIMAL(10,2)) AS price, CAST(i AS HUGEINT) * 1000000000000000000000 AS hugeint,
  DATE '2024-02-28' + CAST(i AS INTEGER) AS day,
  TIMESTAMP '2024-01-01 00:00:00' + to_seconds(i) AS at,
  'v' || i AS label,
  [i::INTEGER, i::INTEGER + 1] AS pair,
  {'n': i::INTEGER, 's': 'x'} AS nested
  FROM range(3000) t(i) ORDER BY i`;

function expected(i: number) {
  const day = new Date(Date.UTC(2024, 1, 28 + i));
  return {
    id: i,
    maybe: i % 3 === 0 ? null : i * 10,
    huge: (9007199254740993n + BigInt(i)).toString(),
    price: Math.round((i / 4) * 100) / 100,
    hugeint: i === 0 ? 0 : (BigInt(i) * 10n ** 21n).toString(),
    day: day.toISOString().slice(0, 10),
    at: new Date(Date.UTC(2024, 0, 1) + i * 1000),
    label: `v${i}`,
    pair: [i, i + 1],
    nested: { n: i, s: 'x' },
  };
}

describe('reading results as JS rows', () => {
  it('converts integers, big integers, decimals, dates, timestamps, lists and structs, in query() and stream()', async () => {
    const db = await DuckDbClient.open(':memory:');
    try {
      const want = Array.from({ length: 3000 }, (_, i) => expected(i));
      expect(await db.query(SQL)).toEqual(want);
      const pages: number[] = [];
      const streamed = [];
      for await (const page of db.stream(SQL, [], 1000)) {
        pages.push(page.length);
        streamed.push(...page);
      }
      expect(pages).toEqual([1000, 1000, 1000]);
      expect(streamed).toEqual(want);
    } finally {
      db.close();
    }
  });
});
