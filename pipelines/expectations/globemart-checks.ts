// Reads every GlobeMart figure the pipeline produced (DuckDB tables, the dashboard's data API) in the shape of the
// independent computation of ./globemart.ts, for the embedded and the real-server tests.
import { expect } from 'vitest';
import type { SqlClient } from '../../core/sdk/index.ts';
import type { PipelineRun } from '../../tests/pipelines.ts';
import { cents, type expected } from './globemart.ts';

/**
 * Every figure of the warehouse as exact text (DECIMAL and microsecond TIMESTAMPTZ cast in SQL, no float on the way):
 * of the run's state connection (`warehouse`, DuckDB, by default; `postgres` with GLOBEMART_STATE=postgres), or of
 * any SQL client. Texts are ordered by their bytes, as the independent computation sorts them.
 */
export async function warehouseFigures(run: PipelineRun | SqlClient, connection = 'warehouse') {
  const db = 'pipeline' in run ? await run.pipeline.connections.get<SqlClient>(connection) : run;
  const duck = db.dialect === 'duckdb';
  const iso = (column: string) =>
    duck
      ? `strftime(timezone('UTC', ${column}), '%Y-%m-%dT%H:%M:%S.%fZ')`
      : `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
  const hour = duck
    ? "strftime(timezone('UTC', hour), '%Y-%m-%dT%H:%M:%S.%g') || 'Z'"
    : `to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const bytes = (column: string) => (duck ? column : `${column} COLLATE "C"`);
  return {
    revenue:
      await db.query(`SELECT transaction_id, country, currency, CAST(amount AS VARCHAR) AS amount, rtrim(rtrim(CAST(fx_rate AS VARCHAR), '0'), '.') AS fx_rate,
      ${iso('fx_rate_time')} AS fx_rate_time, CAST(usd_amount AS VARCHAR) AS usd_amount, product_category, user_id FROM revenue ORDER BY ${bytes('transaction_id')}`),
    hourly: await db.query(`SELECT ${hour} AS hour, country, currency, transactions,
      CAST(amount AS VARCHAR) AS amount, CAST(usd_amount AS VARCHAR) AS usd_amount FROM revenue_hourly ORDER BY 1, ${bytes('country')}, ${bytes('currency')}`),
    fx: await db.query(
      `SELECT currency, rtrim(rtrim(CAST(rate AS VARCHAR), '0'), '.') AS rate, ${iso('rate_time')} AS time FROM fx_rates ORDER BY ${bytes('currency')}, rate_time`,
    ),
    pending: (
      await db.query<{
        transaction_id: string;
      }>(`SELECT transaction_id FROM transactions t WHERE NOT EXISTS (SELECT 1 FROM revenue r WHERE r.transaction_id = t.transaction_id)
      ORDER BY ${bytes('transaction_id')}`)
    ).map((r) => r.transaction_id),
  };
}

/** The independent computation in the same shape. */
export function wanted(want: ReturnType<typeof expected>) {
  return {
    revenue: want.converted.map(
      ({
        transaction_id,
        country,
        currency,
        amount,
        fx_rate,
        fx_rate_time,
        usd_amount,
        product_category,
        user_id,
      }) => ({
        transaction_id,
        country,
        currency,
        amount,
        fx_rate,
        fx_rate_time,
        usd_amount,
        product_category,
        user_id,
      }),
    ),
    hourly: want.hourly,
    fx: want.fx.rates.map((r) => ({
      currency: r.currency,
      rate: r.rate,
      time:
        new Date(Number(r.time / 1000n)).toISOString().slice(0, 20) +
        String(r.time % 1_000_000n).padStart(6, '0') +
        'Z',
    })),
    pending: want.pending,
  };
}

/**
 * The dashboard's data API against the independent computation (over all time: the data is from 2025), of a run or of
 * a server (`request(path)`: its answer).
 */
export async function expectDashboard(
  server: PipelineRun | ((path: string) => Promise<Response>),
  want: ReturnType<typeof expected>,
) {
  const request =
    typeof server === 'function' ? server : await server.app().then((app) => async (path: string) => app.request(path));
  const get = async (widget: string) =>
    ((await (await request(`/api/views/dashboard/${widget}?period=all`)).json()) as { data: Record<string, unknown>[] })
      .data;
  const money = (value: bigint) => Number(cents(value));
  expect(await get('revenue')).toEqual([{ value: money(want.total) }]);
  expect(await get('transactions')).toEqual([{ value: want.converted.length }]);
  expect(await get('countries')).toEqual([{ value: new Set(want.converted.map((c) => c.country)).size }]);
  expect(await get('currencies')).toEqual([{ value: new Set(want.converted.map((c) => c.currency)).size }]);
  expect(await get('pending')).toEqual([{ value: want.pending.length }]);
  expect(await get('by_country')).toEqual(
    want.byCountry.slice(0, 10).map((c) => ({ country: c.country, revenue: money(c.revenue) })),
  );
  expect(await get('by_currency')).toEqual(
    want.byCurrency.map((c) => ({ currency: c.currency, revenue: money(c.revenue) })),
  );
  expect(await get('hourly')).toEqual(
    want.byHour.map((h) => ({ hour: h.hour, revenue: money(h.revenue), transactions: h.transactions })),
  );
  // Money comes out as exact decimals: no binary noise in any figure.
  for (const row of await get('by_currency')) expect(String(row.revenue)).toMatch(/^\d+(\.\d{1,2})?$/);
}
