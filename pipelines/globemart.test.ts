import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { EmbeddedTopicLog } from '../core/connections/kafka/index.ts';
import type { DuckDbClient } from '../core/connections/duckdb/index.ts';
import { platform } from '../tests/cli.ts';
import { runOnce, tempStateDir } from '../tests/pipelines.ts';

const TABLE = `CREATE TABLE IF NOT EXISTS transactions (transaction_id text, user_id text, country text, currency text,
  amount numeric(12,2), product_category text, transaction_time timestamptz, batch_id text)`;

type Tx = [id: string, country: string, currency: string, amount: number, time: string];

async function shop(stateDir: string, rows: Tx[]) {
  const db = await PGlite.create(join(stateDir, 'pglite'));
  await db.exec(TABLE);
  for (const [id, country, currency, amount, time] of rows) {
    await db.query('INSERT INTO transactions VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [id, 'USER-1', country, currency, amount, 'Books', time, 'b1']);
  }
  await db.close();
}

async function fx(stateDir: string, ticks: { timestamp: string; rates: Record<string, number> }[]) {
  const log = new EmbeddedTopicLog(join(stateDir, 'topics'));
  await log.produce('fx-rates', ticks.map((t) => ({ key: 'USD', value: JSON.stringify({ base: 'USD', ...t }) })));
  await log.close();
}

function env(stateDir: string) {
  return { GLOBEMART_SIMULATE: 'false', GLOBEMART_DUCKDB_PATH: join(stateDir, 'analytics.duckdb'), GLOBEMART_PG_URL: 'embedded', GLOBEMART_KAFKA_BROKERS: 'embedded' };
}

async function revenue(run: Awaited<ReturnType<typeof runOnce>>) {
  const db = await run.pipeline.connections.get<DuckDbClient>('warehouse');
  return db.query<{ transaction_id: string; currency: string; fx_rate: number; fx_rate_time: Date; usd_amount: number }>(
    'SELECT transaction_id, currency, fx_rate, fx_rate_time, usd_amount FROM revenue ORDER BY transaction_id');
}

describe('GlobeMart pipeline (embedded)', () => {
  it('passes the original\'s validation cases: platform test runs the manifest\'s own tests', async () => {
    const result = await platform(['test', 'pipelines/globemart.yaml']);
    expect(result.stdout).toMatch(/\n(\d+) passed, 0 failed\n/);
    expect(result.code).toBe(0);
  });

  it('converts each transaction at the rate in force at its time, keeps unknown-rate ones pending, and re-runs change nothing', async () => {
    const stateDir = tempStateDir('globemart');
    await shop(stateDir, [
      ['TX-0000000001-2024', 'US', 'USD', 100, '2024-05-01T09:30:00Z'],
      ['TX-0000000002-2024', 'DE', 'EUR', 80, '2024-05-01T10:30:00Z'],
      ['TX-0000000002-2024', 'DE', 'EUR', 80, '2024-05-01T10:30:00Z'], // a duplicate: upserted, not double counted
      ['TX-0000000003-2024', 'FR', 'EUR', 90, '2024-05-01T11:30:00Z'], // after the EUR rate changed
      ['TX-0000000004-2024', 'GB', 'GBP', 75, '2024-05-01T09:00:00Z'], // before the first GBP rate: takes it when it arrives
      ['TX-0000000005-2024', 'JP', 'JPY', 1234, '2024-05-01T10:15:00Z'],
      ['TX-0000000006-2024', 'CA', 'CAD', 50, '2024-05-01T10:00:00Z'], // no CAD rate yet: pending, never at 1.0
      ['TX-0000000007-2024', 'United States', '$', 10, '2024-05-01T10:45:00Z'], // cleaned to US/USD
      ['TX-1', 'Atlantis', 'XYZ', -5, '2024-05-01T10:50:00Z'], // rejected with every reason
    ]);
    await fx(stateDir, [
      { timestamp: '2024-05-01T10:00:00Z', rates: { EUR: 0.8, GBP: 0.75, JPY: 100 } },
      { timestamp: '2024-05-01T11:00:00Z', rates: { EUR: 0.9 } },
    ]);

    const first = await runOnce('globemart', env(stateDir), stateDir);
    expect(first.ok).toBe(true);
    const rows = await revenue(first);
    // Independent computation: usd = amount / rate of the latest tick at or before the transaction (else the first after).
    const expected: Record<string, number> = {
      'TX-0000000001-2024': 100, 'TX-0000000002-2024': 80 / 0.8, 'TX-0000000003-2024': 90 / 0.9,
      'TX-0000000004-2024': 75 / 0.75, 'TX-0000000005-2024': Math.round((1234 / 100) * 100) / 100, 'TX-0000000007-2024': 10,
    };
    expect(Object.fromEntries(rows.map((r) => [r.transaction_id, r.usd_amount]))).toEqual(expected);
    expect(rows.find((r) => r.transaction_id === 'TX-0000000003-2024')!.fx_rate).toBe(0.9);
    expect(rows.find((r) => r.transaction_id === 'TX-0000000002-2024')!.fx_rate).toBe(0.8);
    expect(rows.find((r) => r.transaction_id === 'TX-0000000004-2024')!.fx_rate_time).toEqual(new Date('2024-05-01T10:00:00Z'));
    const db = await first.pipeline.connections.get<DuckDbClient>('warehouse');
    expect(await db.query('SELECT sum(usd_amount) AS total FROM revenue')).toEqual([{ total: 422.34 }]);
    expect(await db.query('SELECT transaction_id FROM transactions ANTI JOIN revenue USING (transaction_id)')).toEqual([{ transaction_id: 'TX-0000000006-2024' }]);
    expect(await db.query('SELECT count(*) AS n FROM fx_rates')).toEqual([{ n: 4 }]);
    expect(await db.query("SELECT country, currency, transactions, usd_amount FROM revenue_hourly WHERE hour = TIMESTAMPTZ '2024-05-01 10:00:00+00' ORDER BY country")).toEqual([
      { country: 'DE', currency: 'EUR', transactions: 1, usd_amount: 100 },
      { country: 'JP', currency: 'JPY', transactions: 1, usd_amount: 12.34 },
      { country: 'US', currency: 'USD', transactions: 1, usd_amount: 10 },
    ]);
    const dead = await first.pipeline.deadLetters.list({ steps: ['valid-transactions'] });
    expect(dead.total).toBe(1);
    expect(dead.entries[0].reasons).toEqual([
      'transaction_id: must match pattern "^TX-\\d{10,}-\\d{4}$"',
      'country: must match format "iso3166-alpha2"',
      'currency: must match format "iso4217"',
      'amount: must be > 0',
    ]);
    const before = await revenue(first);
    await first.pipeline.stop();

    // The same hour again: nothing changes, nothing is converted twice.
    const second = await runOnce('globemart', env(stateDir), stateDir);
    expect(await revenue(second)).toEqual(before);
    expect(second.pipeline.stats().find((s) => s.id === 'conversions')!.recordsOut).toBe(0);
    await second.pipeline.stop();

    // A CAD rate arrives later: the pending transaction is converted with it.
    await fx(stateDir, [{ timestamp: '2024-05-01T12:00:00Z', rates: { CAD: 1.25 } }]);
    const third = await runOnce('globemart', env(stateDir), stateDir);
    const cad = (await revenue(third)).find((r) => r.transaction_id === 'TX-0000000006-2024');
    expect(cad).toMatchObject({ fx_rate: 1.25, usd_amount: 40 });
    await third.pipeline.stop();
  });

  it('serves the dashboard data with deltas computed from data and the rejected count', async () => {
    const stateDir = tempStateDir('globemart');
    const now = Date.now();
    const at = (hoursAgo: number) => new Date(now - hoursAgo * 3600_000).toISOString();
    await shop(stateDir, [
      ['TX-0000000011-2024', 'US', 'USD', 100, at(30)], // previous 24 h
      ['TX-0000000012-2024', 'US', 'USD', 300, at(2)], // last 24 h
      ['TX-0000000013-2024', 'DE', 'EUR', 90, at(1)],
      ['TX-bad', 'US', 'USD', 5, at(1)],
    ]);
    await fx(stateDir, [{ timestamp: at(48), rates: { EUR: 0.9 } }]);
    const run = await runOnce('globemart', env(stateDir), stateDir);
    const app = await run.app();
    const kpi = (await (await app.request('/api/views/dashboard/revenue?period=24h')).json()) as { data: { value: number }[]; meta: { previous: { value: number } } };
    expect(kpi.data[0].value).toBe(400);
    expect(kpi.meta.previous).toEqual({ value: 100 }); // the delta's base is the previous 24 h, from the data
    const byCountry = (await (await app.request('/api/views/dashboard/by_country?period=7d')).json()) as { data: { country: string; revenue: number }[] };
    expect(byCountry.data).toEqual([{ country: 'US', revenue: 400 }, { country: 'DE', revenue: 100 }]);
    const filtered = (await (await app.request('/api/views/dashboard/by_country?period=7d&country=DE')).json()) as { data: unknown[] };
    expect(filtered.data).toEqual([{ country: 'DE', revenue: 100 }]);
    const bad = await app.request('/api/views/dashboard/by_country?period=2y');
    expect(bad.status).toBe(400);
    const pipelineJson = (await (await app.request('/api/pipeline')).json()) as { deadLetters: number };
    expect(pipelineJson.deadLetters).toBe(1);
    const page = await (await app.request('/views/dashboard')).text();
    expect(page).toContain('GlobeMart revenue');
    await run.pipeline.stop();
  });
});
