// batch-analytics.yaml against a real PostgreSQL, switched only by its environment variables.
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createServer } from '../core/server/app.ts';
import { runOnce, tempStateDir } from '../tests/pipelines.ts';
import { freshDatabase } from '../tests/services.ts';
import {
  CITIES,
  CUSTOMERS,
  expectedOf,
  kpis,
  originalDay,
  rawPath,
  readRaw,
  trends,
  writeRaw,
  type Fact,
} from './expectations/batch-analytics.ts';

describe('batch-analytics.yaml on a real PostgreSQL', () => {
  it("the original's raw files of three days fill the star schema and the dashboard as computed here; a --date re-run changes nothing", async () => {
    const database = await freshDatabase('batch');
    const stateDir = tempStateDir('batch-real');
    const dataDir = join(stateDir, 'data');
    const days = ['2024-03-01', '2024-03-02', '2024-03-04'];
    days.forEach((day, i) => writeRaw(rawPath(dataDir, day), originalDay(day, 300 + 50 * i, 40 + i)));
    // A line a user got wrong: refused with its reason, the rest of the file loads.
    writeRaw(rawPath(dataDir, days[0], 'late.csv'), [
      ['T2024030190000', '20240301', '12', '3', '1', '13904.50', 'success', '1.00'],
      ['T2024030190001', '20240301', '13', '5', '1', '10.00', 'success', '1.00'],
    ]);
    const facts: Fact[] = [];
    for (const file of [...days.map((d) => rawPath(dataDir, d)), rawPath(dataDir, days[0], 'late.csv')])
      facts.push(...expectedOf(file, readRaw(file)).facts);
    const env = { BATCH_PG_URL: database.url, BATCH_DATA_DIR: dataDir, BATCH_SIMULATE: 'false' };
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const run = await runOnce('batch-analytics', env, stateDir);
      expect(run.ok, run.logs.filter((l) => /ERROR|WARN/.test(l)).join('\n')).toBe(true);
      expect(run.logs.some((l) => l.includes('connection warehouse (postgres): real'))).toBe(true);
      expect(run.pipeline.deadLetters.count(['enriched'])).toBe(1);
      const rows = (
        await client.query(`SELECT f.transaction_id, f.amount::text AS amount, f.revenue::text AS revenue, f.processing_delay_bucket AS bucket, ci.city_name, cu.segment
        FROM fact_transactions f JOIN dim_city ci USING (city_key) JOIN dim_customer cu USING (customer_key) ORDER BY 1`)
      ).rows;
      expect(rows).toEqual(
        [...facts]
          .sort((a, b) => (a.transaction_id < b.transaction_id ? -1 : 1))
          .map((f) => ({
            transaction_id: f.transaction_id,
            amount: f.amount.toFixed(2),
            revenue: f.revenue.toFixed(2),
            bucket: f.bucket,
            city_name: CITIES.get(f.city_key)!.city_name,
            segment: CUSTOMERS.get(f.customer_key)!.segment,
          })),
      );
      expect(rows.find((r) => r.transaction_id === 'T2024030190000')).toMatchObject({
        revenue: '69.52',
        bucket: 'medium',
      }); // 13,904.50 × 0.5% = 69.5225
      const app = await createServer(run.pipeline);
      const value = async (id: string) =>
        (
          (await (await app.request(`/api/views/dashboard/${id}?dates=${days[0]}..${days[2]}`)).json()) as {
            data: { value: number }[];
          }
        ).data[0].value;
      const want = kpis(facts);
      expect(await value('total_revenue')).toBe(want.grossRevenue);
      expect(await value('fee_revenue')).toBe(want.feeRevenue);
      expect(await value('failure_rate')).toBeCloseTo(want.failureRate, 12);
      expect(await value('avg_processing_time')).toBeCloseTo(want.avgProcessingTime, 10);
      const trend = (
        (await (await app.request(`/api/views/dashboard/revenue_trend?dates=${days[0]}..${days[2]}`)).json()) as {
          data: { revenue_7d: number }[];
        }
      ).data;
      expect(trend.map((p) => p.revenue_7d)).toEqual(trends(facts).map((t) => expect.closeTo(t.revenue7, 6)));
      await run.pipeline.stop();

      const before = (await client.query('SELECT * FROM fact_transactions ORDER BY transaction_id')).rows;
      const again = await runOnce('batch-analytics', env, stateDir, { date: days[1] });
      expect(again.ok).toBe(true);
      expect(again.pipeline.stats().find((s) => s.id === 'facts')!.recordsIn).toBe(
        facts.filter((f) => f.day === days[1]).length,
      );
      expect((await client.query('SELECT * FROM fact_transactions ORDER BY transaction_id')).rows).toEqual(before);
      await again.pipeline.stop();
    } finally {
      await client.end();
      await database.drop();
    }
  }, 150_000);
});
