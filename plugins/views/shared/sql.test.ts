import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../../core/sdk/index.ts';
import { testDuckDb } from './testing.ts';
import { bindQuery, paginate, parseTemplate, QueryTemplateError, templateParams } from './sql.ts';

describe('bindQuery', () => {
  it('expands {{where}} to bound conditions of every kind', () => {
    const q = bindQuery('SELECT * FROM sales {{where}} ORDER BY ts', {
      conditions: [
        { column: 'country', op: '=', value: 'DE' },
        { column: 'currency', op: 'in', values: ['EUR', 'USD'] },
        { column: 'ts', op: 'range', from: '2024-01-01', to: '2024-01-08' },
      ],
    });
    expect(q.text).toBe(
      'SELECT * FROM sales WHERE country = $1 AND currency IN ($2, $3) AND ts >= $4 AND ts < $5 ORDER BY ts',
    );
    expect(q.params).toEqual(['DE', 'EUR', 'USD', '2024-01-01', '2024-01-08']);
  });

  it('expands {{and}} inside an existing WHERE, and to nothing without conditions', () => {
    expect(
      bindQuery("SELECT 1 FROM t WHERE kind = 'x' {{and}}", { conditions: [{ column: 'a', op: '=', value: 1 }] }).text,
    ).toBe("SELECT 1 FROM t WHERE kind = 'x' AND a = $1");
    expect(bindQuery('SELECT 1 FROM t {{where}}').text).toBe('SELECT 1 FROM t ');
    expect(bindQuery('SELECT 1 FROM t WHERE x {{ AND }}').text).toBe('SELECT 1 FROM t WHERE x ');
  });

  it('binds named parameters, reusing a position for a repeated name and expanding lists', () => {
    const q = bindQuery(
      'SELECT * FROM t WHERE ts >= :from AND ts < :to AND (:country IS NULL OR country = :country) AND c IN (:cur)',
      {
        named: { from: 'a', to: 'b', country: null, cur: ['EUR', 'GBP'] },
      },
    );
    expect(q.text).toBe(
      'SELECT * FROM t WHERE ts >= $1 AND ts < $2 AND ($3 IS NULL OR country = $3) AND c IN ($4, $5)',
    );
    expect(q.params).toEqual(['a', 'b', null, 'EUR', 'GBP']);
    expect(bindQuery('SELECT :ids', { named: { ids: [] } })).toEqual({ text: 'SELECT $1', params: [null] });
  });

  it('numbers conditions and named parameters in text order', () => {
    const q = bindQuery('SELECT :x FROM t {{where}} LIMIT :n', {
      conditions: [{ column: 'a', op: '=', value: 'v' }],
      named: { x: 1, n: 5 },
    });
    expect(q.text).toBe('SELECT $1 FROM t WHERE a = $2 LIMIT $3');
    expect(q.params).toEqual([1, 'v', 5]);
  });

  it('leaves strings, quoted identifiers, comments and :: casts alone', () => {
    const sql = `SELECT ':from' AS a, "x:to" AS b, ts::DATE AS d, 'it''s {{where}}' AS c -- :comment {{where}}\nFROM t /* :block */ WHERE n = :n`;
    const q = bindQuery(sql, { named: { n: 1 } });
    expect(q.text).toBe(sql.replace(':n', '$1'));
    expect(templateParams(sql)).toEqual(['n']);
  });

  it('refuses unknown parameters, unknown placeholders and hand-written $n', () => {
    expect(() => bindQuery('SELECT :nope', { named: { from: null } })).toThrow(
      /unknown parameter :nope \(known: :from\)/,
    );
    expect(() => parseTemplate('SELECT 1 {{limit}}')).toThrow(QueryTemplateError);
    expect(() => parseTemplate('SELECT $1')).toThrow(/named parameters/);
  });

  it('paginates with bound LIMIT/OFFSET and strips a trailing semicolon', () => {
    const q = paginate(bindQuery('SELECT * FROM t WHERE a = :a;', { named: { a: 1 } }), 10, 20);
    expect(q.text).toBe('SELECT * FROM (\nSELECT * FROM t WHERE a = $1\n) AS _page LIMIT $2 OFFSET $3');
    expect(q.params).toEqual([1, 10, 20]);
  });
});

describe('injection attempts stay data (DuckDB)', () => {
  let db: SqlClient;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ client: db, close } = await testDuckDb());
    await db.exec(
      `CREATE TABLE sales (country VARCHAR, amount DOUBLE); INSERT INTO sales VALUES ('DE', 1), ('FR', 2), ('x'' OR 1=1 --', 3)`,
    );
  });
  afterAll(() => close());

  const attempts = [
    "DE' OR '1'='1",
    "'; DROP TABLE sales; --",
    "x' OR 1=1 --",
    'DE") OR ("1"="1',
    '{{where}}',
    ':from',
    '$1',
  ];

  it.each(attempts)('a filter value %j matches only itself', async (value) => {
    const q = bindQuery('SELECT count(*) AS n FROM sales {{where}}', {
      conditions: [{ column: 'country', op: '=', value }],
    });
    expect(q.text).toBe('SELECT count(*) AS n FROM sales WHERE country = $1');
    const [row] = await db.query(q.text, q.params);
    expect(row.n).toBe(value === "x' OR 1=1 --" ? 1 : 0);
    const lists = bindQuery('SELECT count(*) AS n FROM sales WHERE country IN (:c)', { named: { c: [value, 'DE'] } });
    expect((await db.query(lists.text, lists.params))[0].n).toBe(value === "x' OR 1=1 --" ? 2 : 1);
  });

  it('the table is still there', async () => {
    expect((await db.query('SELECT count(*) AS n FROM sales'))[0].n).toBe(3);
  });
});
