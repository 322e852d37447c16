import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../../core/sdk/index.ts';
import { testDuckDb } from '../shared/testing.ts';
import { generateDashboard, humanize, introspect, roleOf, type TableSchema } from './auto.ts';
import { buildLayout } from './layout.ts';

const sales: TableSchema = {
  name: 'sales',
  rows: 100,
  span: 30 * 86_400_000,
  columns: [
    { name: 'order_id', type: 'BIGINT' },
    { name: 'ts', type: 'TIMESTAMP WITH TIME ZONE' },
    { name: 'country', type: 'VARCHAR', distinct: 9 },
    { name: 'currency', type: 'VARCHAR', distinct: 4 },
    { name: 'customer', type: 'VARCHAR', distinct: 5000 },
    { name: 'amount', type: 'DECIMAL(18,2)' },
    { name: 'quantity', type: 'INTEGER' },
  ],
};

describe('auto dashboard', () => {
  it('classifies columns', () => {
    expect(sales.columns.map(roleOf)).toEqual(['other', 'time', 'category', 'category', 'other', 'measure', 'measure']);
    expect(roleOf({ name: 'amount', type: 'double precision' })).toBe('measure');
    expect(roleOf({ name: 'created', type: 'timestamp without time zone' })).toBe('time');
    expect(humanize('orderAmount_eur')).toBe('Order amount eur');
  });

  it('generates KPI sums, a time series, bars/pies of low-cardinality columns and a table', () => {
    const { widgets, filters } = generateDashboard([sales]);
    expect(widgets.map((w) => `${w.type}:${w.id}`)).toEqual([
      'kpi:rows',
      'kpi:total_amount',
      'kpi:total_quantity',
      'area:over_time',
      'bar:by_country',
      'pie:by_currency',
      'table:records',
    ]);
    expect(widgets[1].query).toBe('SELECT sum("amount") AS value FROM "sales" {{where}}');
    expect(widgets[1].sparkline).toContain(`date_trunc('day', "ts")`);
    expect(widgets[3].query).toContain(`date_trunc('day', "ts") AS "time"`);
    expect(widgets.at(-1)!.query).toBe('SELECT * FROM "sales" {{where}} ORDER BY "ts" DESC');
    expect(Object.keys(filters)).toEqual(['period', 'country', 'currency']);
    expect(filters.period).toMatchObject({ type: 'timeRange', column: '"ts"', anchor: 'latest', table: '"sales"' });
    expect(() => buildLayout(filters, widgets, ['warehouse'], 'test')).not.toThrow();
  });

  it('prefixes ids and titles when there are several tables, and each table gets only its filters', () => {
    const { widgets, filters } = generateDashboard([
      sales,
      { name: 'main.returns', columns: [{ name: 'reason', type: 'VARCHAR', distinct: 3 }] },
    ]);
    expect(Object.keys(filters)).toEqual(['sales_period', 'sales_country', 'sales_currency', 'main_returns_reason']);
    const returns = widgets.filter((w) => w.id.startsWith('main_returns_'));
    expect(returns.map((w) => w.id)).toEqual(['main_returns_rows', 'main_returns_by_reason', 'main_returns_records']);
    expect(returns[0]).toMatchObject({
      title: 'Main returns: Rows',
      filters: ['main_returns_reason'],
      query: 'SELECT count(*) AS value FROM "main"."returns" {{where}}',
    });
  });

  describe('on DuckDB', () => {
    let db: SqlClient;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ client: db, close } = await testDuckDb());
      await db.exec(
        `CREATE TABLE sales AS SELECT TIMESTAMP '2024-01-01' + INTERVAL (i) HOUR AS ts, ['DE','FR','US'][i % 3 + 1] AS country, 'c' || i AS customer, i * 1.5 AS amount FROM range(48) t(i)`,
      );
    });
    afterAll(() => close());

    it('reads the schema, cardinalities and time span, and the generated queries run', async () => {
      const [schema] = await introspect(db, ['sales']);
      expect(schema).toMatchObject({ name: 'sales', rows: 48, span: 47 * 3_600_000 });
      expect(schema.columns.find((c) => c.name === 'country')?.distinct).toBe(3);
      const { widgets } = generateDashboard([schema]);
      expect(widgets.map((w) => w.type)).toEqual(['kpi', 'kpi', 'area', 'pie', 'table']);
      for (const w of widgets) await expect(db.query(w.query!.replace('{{where}}', ''))).resolves.toBeDefined();
      expect((await introspect(db, ['missing']))[0].columns).toEqual([]);
    });
  });
});
