import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { EmbeddedTopicLog } from '../connections/kafka/index.ts';
import type { DuckDbClient } from '../connections/duckdb/index.ts';
import { platform } from '../tests/cli.ts';
import { runOnce, tempStateDir } from '../tests/pipelines.ts';
import { expected, FX_ZONE, scenario, SHOP_DDL, type ShopRow } from './expectations/globemart.ts';
import { expectDashboard, wanted, warehouseFigures } from './expectations/globemart-checks.ts';

async function shop(stateDir: string, rows: ShopRow[]) {
  const db = await PGlite.create(join(stateDir, 'pglite'));
  await db.exec(SHOP_DDL);
  for (const r of rows) {
    await db.query('INSERT INTO transactions VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      r.transaction_id,
      r.user_id,
      r.country,
      r.currency,
      r.amount,
      r.product_category,
      r.transaction_time,
      r.batch_id,
    ]);
  }
  await db.close();
}

/** The producers' messages as they are: no key, the raw JSON text. */
async function fx(stateDir: string, messages: string[]) {
  const log = new EmbeddedTopicLog(join(stateDir, 'topics'));
  await log.produce(
    'fx-rates',
    messages.map((value) => ({ key: null, value })),
  );
  await log.close();
}

const env = (stateDir: string) => ({
  GLOBEMART_SIMULATE: 'false',
  GLOBEMART_DUCKDB_PATH: join(stateDir, 'analytics.duckdb'),
  GLOBEMART_PG_URL: 'embedded',
  GLOBEMART_KAFKA_BROKERS: 'embedded',
  GLOBEMART_FX_TIMEZONE: FX_ZONE,
});

describe('GlobeMart pipeline (embedded)', () => {
  it("passes the original's cleaning, validation and FX message cases: platform test runs the manifest's own tests", async () => {
    const result = await platform(['test', 'pipelines/globemart.yaml']);
    expect(result.stdout).toMatch(/\n10 passed, 0 failed\n/);
    expect(result.code).toBe(0);
  }, 120_000);

  it("the originals' inputs (flat + nested FX ticks mixed, zone-less local times, the live and the older generators' rows) give every figure of an independent computation; a currency first quoted late converts then", async () => {
    const stateDir = tempStateDir('globemart');
    const data = scenario();
    await shop(stateDir, data.shop);
    await fx(stateDir, data.fx);

    const first = await runOnce('globemart', env(stateDir), stateDir);
    expect(first.ok, first.logs.join('\n')).toBe(true);
    const want = expected(data.shop, data.fx);
    // The scenario covers what it claims: all nine live currencies, CHF/NOK from the older producer, SEK not yet.
    expect(new Set(want.converted.map((c) => c.currency))).toEqual(
      new Set(['USD', 'EUR', 'GBP', 'JPY', 'CAD', 'AUD', 'CNY', 'BRL', 'INR', 'CHF', 'NOK']),
    );
    expect(want.pending.length).toBeGreaterThan(3); // SEK (no tick yet) and MXN (never quoted)
    expect(await warehouseFigures(first)).toEqual(wanted(want));
    // USD is rounded half to even, like the original's Decimal quantize: 12.525 → 12.52, 12.575 → 12.58.
    expect(
      want.converted
        .filter((c) => ['TX-2000000011-2025', 'TX-2000000012-2025'].includes(c.transaction_id))
        .map((c) => [c.fx_rate, c.usd_amount]),
    ).toEqual([
      ['0.8', '12.52'],
      ['0.8', '12.58'],
    ]);
    // Nothing pending that has a rate: only currencies no tick quoted.
    const pendingCurrencies = new Set(
      data.shop.filter((r) => want.pending.includes(r.transaction_id)).map((r) => r.currency),
    );
    expect(pendingCurrencies).toEqual(new Set(['SEK', 'MXN']));
    await expectDashboard(first, want);

    // Dead letters, each with its reason: the broken FX messages, the bad rates alone, the invalid rows.
    const dead = first.pipeline.deadLetters;
    expect(dead.count(['fx-ticks'])).toBe(want.fx.notJson);
    expect(dead.count(['fx-entries'])).toBe(want.fx.rejectedMessages);
    expect(dead.count(['fx-rates-checked'])).toBe(want.fx.rejectedRates);
    expect(dead.count(['valid-fx'])).toBe(want.fx.rejectedCodes);
    expect(dead.count(['valid-transactions'])).toBe(want.rejected);
    const messageReasons = (await dead.list({ steps: ['fx-entries'] })).entries.map((e) => e.reasons[0]).sort();
    expect(messageReasons).toEqual([
      'base EUR is not USD (rates are units per 1 USD)',
      'no rate in the FX message (only USD, timestamp)',
      'no timestamp in the FX message',
      'timestamp is not a date-time: 31/05/2025 14:00',
    ]);
    expect((await dead.list({ steps: ['fx-rates-checked'] })).entries.map((e) => e.reasons[0]).sort()).toEqual([
      'EUR: the rate -0.85 is not a positive number below 100,000,000',
      'GBP: the rate "n/a" is not a positive number below 100,000,000',
    ]);
    const before = await warehouseFigures(first);
    await first.pipeline.stop();

    // The same input again changes nothing and converts nothing twice.
    const again = await runOnce('globemart', env(stateDir), stateDir);
    expect(await warehouseFigures(again)).toEqual(before);
    expect(again.pipeline.stats().find((s) => s.id === 'conversions')!.recordsOut).toBe(0);
    await again.pipeline.stop();

    // SEK is first quoted now (the older producer): its waiting transactions convert, at the tick in force or its first.
    await fx(stateDir, data.lateFx);
    const late = await runOnce('globemart', env(stateDir), stateDir);
    const wantLate = expected(data.shop, [...data.fx, ...data.lateFx]);
    expect(wantLate.pending.every((id) => data.shop.find((r) => r.transaction_id === id)!.currency === 'MXN')).toBe(
      true,
    );
    expect(await warehouseFigures(late)).toEqual(wanted(wantLate));
    expect(late.pipeline.stats().find((s) => s.id === 'conversions')!.recordsOut).toBe(
      want.pending.length - wantLate.pending.length,
    );
    await expectDashboard(late, wantLate);
    await late.pipeline.stop();
  }, 240_000);

  it('GLOBEMART_STATE=postgres (here embedded PGlite): converted in PostgreSQL, every figure of the independent computation; a currency quoted late converts then', async () => {
    const stateDir = tempStateDir('globemart-pg-state');
    const data = scenario();
    await shop(stateDir, data.shop);
    await fx(stateDir, data.fx);
    const pgEnv = { ...env(stateDir), GLOBEMART_STATE: 'postgres' };
    const first = await runOnce('globemart', pgEnv, stateDir);
    expect(first.ok, first.logs.join('\n')).toBe(true);
    const want = expected(data.shop, data.fx);
    expect(await warehouseFigures(first, 'postgres')).toEqual(wanted(want));
    await expectDashboard(first, want);
    expect(first.pipeline.deadLetters.count(['valid-transactions'])).toBe(want.rejected);
    await first.pipeline.stop();
    await fx(stateDir, data.lateFx);
    const late = await runOnce('globemart', pgEnv, stateDir);
    const wantLate = expected(data.shop, [...data.fx, ...data.lateFx]);
    expect(await warehouseFigures(late, 'postgres')).toEqual(wanted(wantLate));
    await expectDashboard(late, wantLate);
    await late.pipeline.stop();
  }, 240_000);

  it("reads the original's own table with its NOT NULL and primary-key constraints and the simulator's flat ticks: nothing pending that has a rate", async () => {
    const stateDir = tempStateDir('globemart-sim');
    const run = await runOnce('globemart', { ...env(stateDir), GLOBEMART_SIMULATE: 'true' }, stateDir);
    expect(run.ok, run.logs.join('\n')).toBe(true);
    const db = await run.pipeline.connections.get<DuckDbClient>('warehouse');
    const [{ converted, pending }] = await db.query<{ converted: number; pending: number }>(
      'SELECT (SELECT count(*) FROM revenue) AS converted, (SELECT count(*) FROM transactions ANTI JOIN revenue USING (transaction_id)) AS pending',
    );
    expect(converted).toBeGreaterThan(90);
    expect(pending).toBe(0);
    expect((await db.query<{ n: number }>('SELECT count(DISTINCT currency) AS n FROM fx_rates'))[0].n).toBe(11);
    await run.pipeline.stop();
  }, 120_000);
});
