import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresClient } from '../core/connections/postgres/index.ts';
import { readRecords } from '../core/formats/index.ts';
import { loadManifest } from '../core/manifest/index.ts';
import { MemoryLogger } from '../core/runtime/logger.ts';
import { Pipeline } from '../core/runtime/pipeline.ts';
import type { DeadLetterEntry } from '../core/sdk/types.ts';
import { createServer } from '../core/server/app.ts';
import { createCatalog } from '../cli/catalog.ts';
import { platform, repoRoot } from '../tests/cli.ts';
import { expectManifestChecksPass, tempStateDir } from '../tests/pipelines.ts';
import { dailyRevenue, expected, FEE_PERCENT, readRaw, rawPath, REGION_OF_STATE, round2, STATE_OF_CITY, type Fact } from './expectations/batch-analytics.ts';

const MANIFEST = 'pipelines/batch-analytics.yaml';
// Two consecutive days and one a week later: the 7-day average of the last reaches back to the second only.
const DATES = ['2024-03-01', '2024-03-02', '2024-03-08'];

describe('batch analytics pipeline (embedded)', () => {
  const stateDir = tempStateDir('batch-analytics');
  const dataDir = join(stateDir, 'data');
  const env = { BATCH_DATA_DIR: dataDir, BATCH_PG_URL: 'embedded' };
  const facts: Fact[] = [];
  const rejectedLines = new Map<string, Map<number, string[]>>();
  let rerun: Pipeline;
  let factsBefore: unknown[];
  let dimensionsBefore: unknown[];
  let deadLettersBefore: number;

  const db = () => rerun.connections.get<PostgresClient>('warehouse');
  const factRows = async () => (await db()).query(`SELECT f.*, d.full_date::text AS day FROM fact_transactions f JOIN dim_date d USING (date_key) ORDER BY transaction_id`);
  const dimensionRows = async () => (await db()).query(`SELECT 'date' AS dim, date_key AS key, full_date::text AS natural FROM dim_date
    UNION ALL SELECT 'channel', channel_key, channel_name || ' ' || fee_percent FROM dim_channel UNION ALL SELECT 'customer', customer_key, customer_id || ' ' || customer_name || ' ' || segment FROM dim_customer
    UNION ALL SELECT 'city', city_key, city_name || ' ' || state || ' ' || region FROM dim_city ORDER BY 1, 2`);

  beforeAll(async () => {
    // The backfill, as users run it: one `platform run --once --date` per day.
    for (const date of DATES) {
      const result = await platform(['run', MANIFEST, '--once', '--date', date, '--state-dir', stateDir], { env, timeoutMs: 90_000 });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const { facts: dayFacts, rejected, duplicates } = expected(readRaw(rawPath(dataDir, date)));
      expect(duplicates).toBeGreaterThan(0);
      expect(rejected.size).toBeGreaterThan(0);
      facts.push(...dayFacts);
      rejectedLines.set(date, rejected);
    }
    // Then the first day again, in-process so that the data and the dashboard can be looked at afterwards.
    const catalog = createCatalog();
    const manifest = await loadManifest(join(repoRoot, MANIFEST), catalog, { ...process.env, ...env });
    const probe = new Pipeline(manifest, catalog, { once: true, stateDir, logger: new MemoryLogger([]) });
    await probe.start();
    const probeDb = await probe.connections.get<PostgresClient>('warehouse');
    factsBefore = await probeDb.query(`SELECT f.*, d.full_date::text AS day FROM fact_transactions f JOIN dim_date d USING (date_key) ORDER BY transaction_id`);
    dimensionsBefore = await probeDb.query(`SELECT 'date' AS dim, date_key AS key, full_date::text AS natural FROM dim_date
      UNION ALL SELECT 'channel', channel_key, channel_name || ' ' || fee_percent FROM dim_channel UNION ALL SELECT 'customer', customer_key, customer_id || ' ' || customer_name || ' ' || segment FROM dim_customer
      UNION ALL SELECT 'city', city_key, city_name || ' ' || state || ' ' || region FROM dim_city ORDER BY 1, 2`);
    deadLettersBefore = probe.deadLetters.count();
    await probe.stop();
    rerun = new Pipeline(manifest, catalog, { once: true, date: DATES[0], stateDir, logger: new MemoryLogger([]) });
    await rerun.start();
    expect((await rerun.run()).ok).toBe(true);
  }, 240_000);

  afterAll(async () => {
    await rerun?.stop();
  });

  it('validates, and passes the manifest\'s own cleaning, validation and enrichment cases', async () => {
    await expectManifestChecksPass('batch-analytics', { BATCH_PG_URL: 'embedded' });
  }, 60_000);

  it('writes the raw CSV and the processed Parquet of each day under its dated paths', async () => {
    for (const date of DATES) {
      expect(existsSync(rawPath(dataDir, date))).toBe(true);
      const rows = readRaw(rawPath(dataDir, date));
      expect(rows.every((r) => r.transaction_time.startsWith(date))).toBe(true);
      const parquet: string[] = [];
      for await (const batch of readRecords(rawPath(dataDir, date, 'processed'))) parquet.push(...batch.records.map((r) => String(r.transaction_id)));
      expect(parquet.sort()).toEqual(facts.filter((f) => f.day === date).map((f) => f.transaction_id).sort());
    }
  });

  it('loads fact_transactions equal to a computation from the raw CSV (dedupe, validation, fee revenue, buckets)', async () => {
    const rows = (await (await db()).query<Record<string, unknown>>(`SELECT f.transaction_id, d.full_date::text AS day, ch.channel_name AS channel, ci.city_name AS city, cu.customer_id,
        f.amount, f.status, f.processing_time, f.processing_delay_bucket AS bucket, f.revenue
      FROM fact_transactions f JOIN dim_date d USING (date_key) JOIN dim_channel ch USING (channel_key) JOIN dim_city ci USING (city_key)
      JOIN dim_customer cu USING (customer_key) ORDER BY transaction_id`));
    expect(rows).toEqual([...facts].sort((a, b) => a.transaction_id.localeCompare(b.transaction_id)));
    expect(facts.length).toBeGreaterThan(1400);
  });

  it('keeps the dimension keys consistent: every fact\'s keys exist, each natural key once, attributes right', async () => {
    const client = await db();
    for (const [dim, key] of [['dim_date', 'date_key'], ['dim_channel', 'channel_key'], ['dim_customer', 'customer_key'], ['dim_city', 'city_key']]) {
      expect(await client.query(`SELECT count(*)::int AS orphans FROM fact_transactions f WHERE NOT EXISTS (SELECT 1 FROM ${dim} d WHERE d.${key} = f.${key})`)).toEqual([{ orphans: 0 }]);
    }
    expect(await client.query('SELECT channel_name, fee_percent FROM dim_channel ORDER BY 1')).toEqual(Object.entries(FEE_PERCENT).sort().map(([channel_name, fee_percent]) => ({ channel_name, fee_percent })));
    const cities = await client.query<{ city_name: string; state: string; region: string }>('SELECT city_name, state, region FROM dim_city ORDER BY 1');
    expect(cities.map((c) => c.city_name)).toEqual([...new Set(facts.map((f) => f.city))].sort());
    for (const c of cities) expect([c.state, c.region]).toEqual([STATE_OF_CITY[c.city_name], REGION_OF_STATE[STATE_OF_CITY[c.city_name]]]);
    expect(await client.query('SELECT full_date::text AS day, date_key, weekday_flag FROM dim_date ORDER BY 1')).toEqual([
      { day: '2024-03-01', date_key: 20240301, weekday_flag: 1 }, { day: '2024-03-02', date_key: 20240302, weekday_flag: 0 }, { day: '2024-03-08', date_key: 20240308, weekday_flag: 1 },
    ]);
    expect(await client.query('SELECT count(DISTINCT customer_id)::int AS n FROM dim_customer')).toEqual([{ n: new Set(facts.map((f) => f.customer_id)).size }]);
  });

  it('puts every rejected row in the dead-letter with its file:line and reasons', async () => {
    const { entries, total } = await rerun.deadLetters.list({ steps: ['valid'], limit: 1000 });
    const all = [...rejectedLines.values()].reduce((n, m) => n + m.size, 0);
    expect(total).toBe(all);
    expect(rerun.deadLetters.count()).toBe(all); // nothing rejected later (enrichment, the facts' lookups)
    for (const entry of entries as DeadLetterEntry[]) {
      const record = entry.record as { source_file: string; source_line: number; transaction_id: string | null };
      const date = DATES.find((d) => record.source_file.includes(d.replaceAll('-', '/')))!;
      const fields = rejectedLines.get(date)!.get(record.source_line);
      expect(fields, `${record.source_file}:${record.source_line}`).toBeDefined();
      expect(entry.reasons.map((r) => r.split(':')[0])).toEqual(fields);
      const line = readFileSync(record.source_file, 'utf8').split('\n')[record.source_line - 1];
      expect(line.split(',')[0]).toBe(record.transaction_id ?? '');
    }
  });

  it('changes nothing when a day is run again', async () => {
    expect(rerun.stats().find((s) => s.id === 'facts')!.recordsIn).toBe(facts.filter((f) => f.day === DATES[0]).length);
    expect(await factRows()).toEqual(factsBefore);
    expect(await dimensionRows()).toEqual(dimensionsBefore);
    expect(rerun.deadLetters.count()).toBe(deadLettersBefore);
  });

  it('serves KPIs, moving averages and cascading filters equal to computations from the raw data', async () => {
    const app = await createServer(rerun);
    const get = async (path: string) => {
      const response = await app.request(path);
      expect(response.status, path).toBe(200);
      return (await response.json()) as { data: Record<string, number | string>[]; meta: { previous?: Record<string, number> }; options?: { value: string }[] };
    };
    const all = `dates=${DATES[0]}..${DATES[2]}`;
    const revenue = round2(facts.filter((f) => f.status === 'SUCCESS').reduce((s, f) => s + f.revenue, 0));
    expect((await get(`/api/views/dashboard/total_revenue?${all}`)).data[0].value).toBeCloseTo(revenue, 2);
    const failureRate = facts.filter((f) => f.status === 'FAILED').length / facts.length;
    expect((await get(`/api/views/dashboard/failure_rate?${all}`)).data[0].value).toBeCloseTo(failureRate, 10);

    // A day's KPI and its delta base, the day before.
    const day2 = await get(`/api/views/dashboard/total_revenue?dates=${DATES[1]}..${DATES[1]}`);
    expect(day2.data[0].value).toBeCloseTo(dailyRevenue(facts, DATES[1]), 2);
    expect(day2.meta.previous!.value).toBeCloseTo(dailyRevenue(facts, DATES[0]), 2);

    // Filtered: UPI in the South.
    const south = facts.filter((f) => f.channel === 'UPI' && REGION_OF_STATE[STATE_OF_CITY[f.city]] === 'South' && f.status === 'SUCCESS');
    expect((await get(`/api/views/dashboard/total_revenue?${all}&channel=UPI&region=South`)).data[0].value).toBeCloseTo(round2(south.reduce((s, f) => s + f.revenue, 0)), 2);

    // 7 calendar days back, also from before the selected range: 03-02 averages 03-01 and 03-02; 03-08 averages 03-02 and 03-08.
    const trend = await get(`/api/views/dashboard/revenue_trend?dates=${DATES[1]}..${DATES[2]}`);
    const [r1, r2, r3] = DATES.map((d) => dailyRevenue(facts, d));
    expect(trend.data.map((p) => String(p.day).slice(0, 10))).toEqual([DATES[1], DATES[2]]);
    expect(trend.data.map((p) => p.revenue)).toEqual([r2, r3].map((x) => expect.closeTo(x, 2)));
    expect(trend.data.map((p) => p.revenue_7d)).toEqual([(r1 + r2) / 2, (r2 + r3) / 2].map((x) => expect.closeTo(x, 2)));
    const failures = await get(`/api/views/dashboard/failure_trend?dates=${DATES[2]}..${DATES[2]}`);
    const window = facts.filter((f) => f.day >= '2024-03-02');
    expect(failures.data[0].failure_rate_7d).toBeCloseTo(window.filter((f) => f.status === 'FAILED').length / window.length, 10);

    // Cascading choices: a region narrows the states, a state the cities.
    const states = (await get('/api/views/dashboard/filters/state')).options!.map((o) => o.value);
    const southStates = (await get('/api/views/dashboard/filters/state?region=South')).options!.map((o) => o.value);
    const present = (region?: string) => [...new Set(facts.map((f) => STATE_OF_CITY[f.city]).filter((s) => !region || REGION_OF_STATE[s] === region))].sort();
    expect(states).toEqual(present());
    expect(southStates).toEqual(present('South'));
    expect(southStates.length).toBeLessThan(states.length);
    expect((await get('/api/views/dashboard/filters/city?region=South&state=Karnataka')).options!.map((o) => o.value)).toEqual(['Bengaluru']);
    expect((await app.request('/api/views/dashboard/total_revenue?dates=2024-13-01..')).status).toBe(400);
    const page = await app.request(`/views/dashboard?${all}&region=South`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Payments analytics');
  });
});
