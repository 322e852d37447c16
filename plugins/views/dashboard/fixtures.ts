// Test fixtures: GlobeMart-like tables in DuckDB and a dashboard config over them (HTTP and browser tests).
import type { SqlClient } from '../../../core/sdk/index.ts';

export const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'JP'];
export const CURRENCY: Record<string, string> = { DE: 'EUR', FR: 'EUR', US: 'USD', GB: 'GBP', JP: 'JPY' };
export const CITIES: Record<string, string[]> = {
  DE: ['Berlin', 'Munich'],
  FR: ['Paris', 'Lyon'],
  US: ['Boston', 'Denver'],
  GB: ['London'],
  JP: ['Tokyo'],
};

/** Hourly sales over the 15 days before `now`, deterministic; plus FX rates and a region dimension. */
export async function seedGlobeMart(client: SqlClient, now = new Date()): Promise<void> {
  const end = now.getTime();
  const rows: string[] = [];
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let h = 0; h < 15 * 24; h++) {
    const ts = new Date(end - h * 3_600_000 - 60_000).toISOString();
    for (const [i, country] of COUNTRIES.entries()) {
      const amount = Math.round((50 + 100 * random() + i * 20 + (h < 24 ? 40 : 0)) * 100) / 100;
      const city = CITIES[country][h % CITIES[country].length];
      rows.push(
        `('${ts}', '${country}', '${city}', '${CURRENCY[country]}', ${amount}, 'sku-${(h + i) % 7}', 'cat-${i % 3}', '')`,
      );
    }
  }
  await client.exec(`
    CREATE OR REPLACE TABLE sales (ts TIMESTAMPTZ, country VARCHAR, city VARCHAR, currency VARCHAR, amount DOUBLE, product VARCHAR, category VARCHAR, note VARCHAR);
    INSERT INTO sales VALUES ${rows.join(',\n')};
    CREATE OR REPLACE TABLE fx_rates AS
      SELECT ts, currency, CASE currency WHEN 'EUR' THEN 1.0 WHEN 'USD' THEN 1.08 + 0.01 * sin(epoch(ts) / 20000) WHEN 'GBP' THEN 0.86 ELSE 160 + sin(epoch(ts) / 30000) END AS rate
      FROM (SELECT DISTINCT ts FROM sales) t, (VALUES ('EUR'), ('USD'), ('GBP'), ('JPY')) c(currency);
    CREATE OR REPLACE TABLE regions (country VARCHAR, city VARCHAR, region VARCHAR);
    INSERT INTO regions VALUES ('DE','Berlin','Europe'),('DE','Munich','Europe'),('FR','Paris','Europe'),('FR','Lyon','Europe'),
      ('US','Boston','Americas'),('US','Denver','Americas'),('GB','London','Europe'),('JP','Tokyo','Asia');
  `);
}

/** A GlobeMart-style dashboard: KPIs with deltas, bars, pie, lines per currency, a table, an alert and an upload. */
export function globeMartConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: 'GlobeMart revenue',
    description: 'Orders from every store, converted at the hourly FX rate.',
    refresh: '2s',
    currency: 'EUR',
    filters: {
      period: { type: 'timeRange', label: 'Period', column: 'ts', options: ['12h', '24h', '7d'], default: '7d' },
      region: { type: 'select', label: 'Region', query: 'SELECT DISTINCT region FROM regions ORDER BY 1' },
      country: {
        type: 'select',
        label: 'Country',
        column: 'country',
        dependsOn: ['region'],
        query: 'SELECT DISTINCT country FROM regions WHERE (:region IS NULL OR region = :region) ORDER BY 1',
      },
      currency: { type: 'multiSelect', label: 'Currency', column: 'currency', options: ['EUR', 'USD', 'GBP', 'JPY'] },
    },
    widgets: [
      {
        id: 'revenue',
        type: 'kpi',
        title: 'Revenue',
        format: 'currency',
        sparkline: true,
        filters: ['period', 'country', 'currency'],
        query: 'SELECT sum(amount) AS value FROM sales {{where}}',
      },
      {
        id: 'orders',
        type: 'kpi',
        title: 'Orders',
        format: 'integer',
        filters: ['period', 'country', 'currency'],
        query: 'SELECT count(*) AS value FROM sales {{where}}',
      },
      {
        id: 'avg_order',
        type: 'kpi',
        title: 'Average order',
        format: 'currency',
        filters: ['period', 'country', 'currency'],
        query: 'SELECT avg(amount) AS value FROM sales {{where}}',
      },
      {
        id: 'small_orders',
        type: 'kpi',
        title: 'Small orders',
        format: 'percent',
        downIsGood: true,
        filters: ['period', 'country', 'currency'],
        query: 'SELECT avg(CASE WHEN amount < 100 THEN 1.0 ELSE 0.0 END) AS value FROM sales {{where}}',
      },
      {
        id: 'health',
        type: 'alert',
        title: 'Revenue monitor',
        filters: ['period'],
        query: 'SELECT count(*) AS orders, sum(amount) AS revenue FROM sales {{where}}',
        columns: { orders: { format: 'integer' }, revenue: { format: 'currency' } },
        rules: [
          { when: { field: 'orders', op: '<', value: 10 }, state: 'CRIT', reason: 'only {orders} orders' },
          { when: { field: 'revenue', op: '<', value: 1e9 }, state: 'WARN', reason: 'revenue {revenue} below target' },
        ],
      },
      {
        id: 'by_country',
        type: 'bar',
        title: 'Revenue by country',
        top: 10,
        format: 'currency',
        filters: ['period', 'country', 'currency'],
        query: 'SELECT country, round(sum(amount), 2) AS revenue FROM sales {{where}} GROUP BY 1 ORDER BY 2 DESC',
      },
      {
        id: 'by_currency',
        type: 'pie',
        title: 'Revenue by currency',
        format: 'currency',
        filters: ['period', 'country', 'currency'],
        query: 'SELECT currency, round(sum(amount), 2) AS revenue FROM sales {{where}} GROUP BY 1 ORDER BY 2 DESC',
      },
      {
        id: 'hourly',
        type: 'area',
        title: 'Hourly revenue',
        format: 'currency',
        x: 'hour',
        filters: ['period', 'country', 'currency'],
        query:
          "SELECT date_trunc('hour', ts) AS hour, round(sum(amount), 2) AS revenue FROM sales {{where}} GROUP BY 1 ORDER BY 1",
      },
      {
        id: 'fx',
        type: 'line',
        title: 'FX rates (per EUR)',
        x: 'ts',
        y: 'rate',
        series: 'currency',
        decimals: 4,
        filters: ['period'],
        query: "SELECT ts, currency, rate FROM fx_rates WHERE currency <> 'JPY' {{and}} ORDER BY ts",
      },
      {
        id: 'recent',
        type: 'table',
        title: 'Recent orders',
        pageSize: 8,
        filters: ['period', 'country', 'currency'],
        columns: { amount: { label: 'Amount', format: 'currency' }, ts: { label: 'Time' } },
        query:
          'SELECT ts, country, city, currency, amount, product, note FROM sales {{where}} ORDER BY ts DESC, country',
      },
      { id: 'orders_upload', type: 'upload', title: 'Upload orders', target: 'orders_file', accept: ['.xlsx', '.csv'] },
      ...((extra.widgets as unknown[]) ?? []),
    ],
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'widgets')),
  };
}
