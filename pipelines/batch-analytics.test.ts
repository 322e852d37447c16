import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresClient } from '../connections/postgres/index.ts';
import { DuckDbClient } from '../connections/duckdb/index.ts';
import { loadManifest } from '../core/manifest/index.ts';
import { MemoryLogger } from '../core/sdk/logger.ts';
import { Pipeline } from '../core/runtime/pipeline.ts';
import type { DeadLetterEntry } from '../core/sdk/types.ts';
import { createCatalog } from '../cli/catalog.ts';
import { repoRoot } from '../tests/cli.ts';
import { expectManifestChecksPass, runOnce, tempStateDir, type PipelineRun } from '../tests/pipelines.ts';
import {
  CHANNELS,
  CITIES,
  CUSTOMERS,
  expectedOf,
  kpis,
  originalDay,
  processedPath,
  rawPath,
  readRaw,
  topByFailure,
  trends,
  writeRaw,
  type Fact,
  type RawLine,
} from './expectations/batch-analytics.ts';

// Days with data and days without: the 7-day average is over the last 7 days *with data* (the original's rolling).
const DAYS = [
  '2024-03-01',
  '2024-03-02',
  '2024-03-04',
  '2024-03-05',
  '2024-03-08',
  '2024-03-09',
  '2024-03-10',
  '2024-03-12',
  '2024-03-15',
];

/** A day's file as the original's ingest.py writes it, with the dirt a user's file may have, line by line. */
function dirtyDay(date: string, seed: number): RawLine[] {
  const key = date.replaceAll('-', '');
  const lines = originalDay(date, 120, seed);
  const base = (i: number, changes: Partial<Record<number, string>>): RawLine =>
    lines[i].map((v, j) => changes[j] ?? v);
  return [
    ...lines.slice(0, 60),
    lines[3], // an exact duplicate line: dropped, as the original's drop_duplicates
    base(5, { 5: '777.77' }), // the id of line 7 again, with other values: refused (the original's load failed on it)
    [`T${key}90001`, key, '17', '2', '3', '13904.50', 'success', '1.00'], // 13,904.50 × 1% = 139.045 → 139.05; exactly 1 s is medium
    [`T${key}90002`, key, '18', '1', '1', '0.125', 'success', '0.99'], // 0.125 rounds half-up to 0.13; just below 1 s is fast
    [`T${key}90003`, key, '19', '3', '4', '10.01', 'failed', '3.00'], // fee revenue of a failed payment is kept (0.05), exactly 3 s is slow
    [`T${key}90004`, key, '5000', '4', '2', '99.99', 'success', '2.99'], // a customer the reference does not know: loaded, no segment
    [`T${key}90005`, key, '20', '2', '2', '0', 'success', '1.5'], // amount <= 0
    [`T${key}90006`, key, '21', '2', '2', '-5', 'pending', '1.5'], // amount <= 0 and an unknown status
    ['', key, '22', '2', '2', '15.00', 'success', '1.5'], // no id
    [`T${key}90008`, key, '23', '7', '9', '15.00', 'success', '1.5'], // a channel and a city not in the reference files
    [`T${key}90009`, '20240231', 'x1', '2', '2', '12,5', 'success', 'NaN'], // no such day, a key and a number that are no numbers
    ...lines.slice(60),
  ];
}

describe("batch analytics pipeline (embedded): the original's raw files dropped by a user", () => {
  const stateDir = tempStateDir('batch-analytics');
  const dataDir = join(stateDir, 'data');
  const env = { BATCH_DATA_DIR: dataDir, BATCH_PG_URL: 'embedded', BATCH_SIMULATE: 'false' };
  const facts: Fact[] = [];
  const rejected = new Map<string, Map<number, string[]>>();
  let run: PipelineRun;

  beforeAll(async () => {
    // The user's files, in the original's 8-column format; the first day has a second file (another branch).
    DAYS.forEach((date, i) =>
      writeRaw(rawPath(dataDir, date), i === 0 ? dirtyDay(date, 1) : originalDay(date, 80 + i * 7, 100 + i)),
    );
    writeRaw(
      rawPath(dataDir, DAYS[0], 'branch-b.csv'),
      originalDay(DAYS[0], 30, 7).map((l, i) => [
        `T${DAYS[0].replaceAll('-', '')}8${String(i).padStart(4, '0')}`,
        ...l.slice(1),
      ]),
    );
    for (const [file, date] of [
      ...DAYS.map((d) => [rawPath(dataDir, d), d]),
      [rawPath(dataDir, DAYS[0], 'branch-b.csv'), DAYS[0]],
    ]) {
      const day = expectedOf(file, readRaw(file));
      facts.push(...day.facts);
      rejected.set(file, day.rejected);
      expect(date).toBeTruthy();
    }
    run = await runOnce('batch-analytics', env, stateDir);
    expect(run.ok, run.logs.filter((l) => /ERROR|WARN/.test(l)).join('\n')).toBe(true);
  }, 180_000);

  afterAll(async () => {
    await run?.pipeline.stop();
  });

  const db = () => run.pipeline.connections.get<PostgresClient>('warehouse');

  it("validates, and passes the manifest's own cleaning, validation and enrichment cases", async () => {
    await expectManifestChecksPass('batch-analytics', { BATCH_PG_URL: 'embedded' });
  }, 60_000);

  it("writes one processed Parquet per raw file, money as DECIMAL, rows equal to the original's transform computed here", async () => {
    const parquet = await DuckDbClient.open(':memory:');
    try {
      const file = processedPath(dataDir, DAYS[0]);
      expect(
        await parquet.query(
          `SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`,
        ),
      ).toEqual(
        expect.arrayContaining([
          { name: 'amount', type: 'DECIMAL(10,2)' },
          { name: 'processing_time', type: 'DECIMAL(5,2)' },
          { name: 'fee_percent', type: 'DECIMAL(5,2)' },
          { name: 'revenue', type: 'DECIMAL(10,2)' },
          { name: 'date_key', type: 'INTEGER' },
          { name: 'transaction_sk', type: 'INTEGER' },
        ]),
      );
      // The original's columns, in its order, first.
      expect(
        (await parquet.query(`SELECT column_name AS name FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`))
          .map((c) => c.name)
          .slice(0, 13),
      ).toEqual([
        'transaction_id',
        'date_key',
        'customer_key',
        'channel_key',
        'city_key',
        'amount',
        'status',
        'processing_time',
        'transaction_sk',
        'channel_name',
        'fee_percent',
        'processing_delay_bucket',
        'revenue',
      ]);
      for (const [raw, processed] of [
        [rawPath(dataDir, DAYS[0]), file],
        [rawPath(dataDir, DAYS[0], 'branch-b.csv'), processedPath(dataDir, DAYS[0], 'cleaned_branch-b.parquet')],
      ]) {
        const rows =
          await parquet.query(`SELECT transaction_id, CAST(amount AS VARCHAR) AS amount, processing_delay_bucket AS bucket, CAST(revenue AS VARCHAR) AS revenue,
          transaction_sk AS sk, channel_name, CAST(fee_percent AS VARCHAR) AS fee FROM read_parquet('${processed}') ORDER BY transaction_sk`);
        expect(rows).toEqual(
          facts
            .filter((f) => f.file === raw)
            .map((f) => ({
              transaction_id: f.transaction_id,
              amount: f.amount.toFixed(2),
              bucket: f.bucket,
              revenue: f.revenue.toFixed(2),
              sk: f.sk,
              channel_name: CHANNELS[f.channel_key].name,
              fee: (CHANNELS[f.channel_key].fee / 100).toFixed(2),
            })),
        );
      }
      const key = DAYS[0].replaceAll('-', '');
      expect(
        await parquet.query(
          `SELECT CAST(revenue AS VARCHAR) AS revenue, processing_delay_bucket AS bucket FROM read_parquet('${file}') WHERE transaction_id IN ('T${key}90001', 'T${key}90002', 'T${key}90003') ORDER BY transaction_id`,
        ),
      ).toEqual([
        { revenue: '139.05', bucket: 'medium' },
        { revenue: '0.00', bucket: 'fast' },
        { revenue: '0.05', bucket: 'slow' },
      ]);
      for (const day of DAYS) expect(existsSync(processedPath(dataDir, day))).toBe(true);
    } finally {
      parquet.close();
    }
  });

  it('loads fact_transactions and the dimensions equal to the computation from the raw files', async () => {
    const client = await db();
    const rows =
      await client.query(`SELECT transaction_id, date_key, customer_key, channel_key, city_key, amount::text AS amount, status, processing_time::text AS processing_time,
      processing_delay_bucket AS bucket, revenue::text AS revenue FROM fact_transactions ORDER BY transaction_id`);
    expect(rows).toEqual(
      [...facts]
        .sort((a, b) => (a.transaction_id < b.transaction_id ? -1 : 1))
        .map((f) => ({
          transaction_id: f.transaction_id,
          date_key: f.date_key,
          customer_key: f.customer_key,
          channel_key: f.channel_key,
          city_key: f.city_key,
          amount: f.amount.toFixed(2),
          status: f.status,
          processing_time: f.processing_time.toFixed(2),
          bucket: f.bucket,
          revenue: f.revenue.toFixed(2),
        })),
    );
    expect(facts.length).toBeGreaterThan(900);
    expect(
      await client.query('SELECT channel_key, channel_name, fee_percent::text AS fee FROM dim_channel ORDER BY 1'),
    ).toEqual(
      Object.entries(CHANNELS).map(([key, c]) => ({
        channel_key: Number(key),
        channel_name: c.name,
        fee: (c.fee / 100).toFixed(2),
      })),
    );
    expect(await client.query('SELECT city_key, city_name, state, region FROM dim_city ORDER BY 1')).toEqual(
      [...new Set(facts.map((f) => f.city_key))].sort().map((key) => ({ city_key: key, ...CITIES.get(key)! })),
    );
    const customers = [...new Set(facts.map((f) => f.customer_key))].sort((a, b) => a - b);
    expect(await client.query('SELECT customer_key, customer_id, segment FROM dim_customer ORDER BY 1')).toEqual(
      customers.map((key) => ({
        customer_key: key,
        customer_id: CUSTOMERS.get(key)?.customer_id ?? null,
        segment: CUSTOMERS.get(key)?.segment ?? null,
      })),
    );
    expect(
      await client.query('SELECT date_key, full_date::text AS day, weekday_flag, quarter FROM dim_date ORDER BY 1'),
    ).toEqual(
      DAYS.map((day) => ({
        date_key: Number(day.replaceAll('-', '')),
        day,
        weekday_flag: [0, 6].includes(new Date(`${day}T00:00:00Z`).getUTCDay()) ? 0 : 1,
        quarter: 1,
      })),
    );
  });

  it('puts every refused line in the dead-letter with its file, line and reasons; exact duplicates are dropped', async () => {
    const { entries, total } = await run.pipeline.deadLetters.list({ steps: ['enriched'], limit: 1000 });
    expect(total).toBe([...rejected.values()].reduce((n, m) => n + m.size, 0));
    const got = new Map(
      (entries as DeadLetterEntry[]).map((e) => {
        const record = e.record as { source_file: string; source_line: number };
        return [
          `${record.source_file}:${record.source_line}`,
          e.reasons
            .join('; ')
            .split('; ')
            .map((r) => r.split(':')[0]),
        ];
      }),
    );
    const want = new Map(
      [...rejected].flatMap(([file, lines]) => [...lines].map(([line, fields]) => [`${file}:${line}`, fields])),
    );
    expect(got).toEqual(want);
    const reasons = (entries as DeadLetterEntry[]).flatMap((e) => e.reasons).join('\n');
    const key = DAYS[0].replaceAll('-', '');
    expect(reasons).toContain(`transaction_id: T${key}00005 is already on line 7 with other values`);
    expect(reasons).toContain(
      'channel_key: 7 is not in the fee table (1 Credit Card, 2 Debit Card, 3 UPI, 4 Net Banking); city_key: 9 is not in the city table',
    );
    expect(reasons).toContain(
      'date_key: "20240231" is not a date YYYYMMDD; customer_key: "x1" is not a whole number; amount: "12,5" is not a number; processing_time: "NaN" is not a number',
    );
    expect(reasons).toContain('amount: must be > 0 (got -5); status: must be success or failed (got "pending")');
    expect(run.pipeline.deadLetters.count()).toBe(total); // nothing refused later (the dimensions, the facts)
  });

  it("serves the original's KPIs, both revenues labelled, 7-day averages over days with data, top 10 comparisons, cascading filters", async () => {
    const app = await run.app();
    const get = async (path: string) => {
      const response = await app.request(path);
      expect(response.status, path).toBe(200);
      return (await response.json()) as { data: Record<string, number | string>[]; options?: { value: string }[] };
    };
    const all = `dates=${DAYS[0]}..${DAYS.at(-1)}`;
    const want = kpis(facts);
    expect((await get(`/api/views/dashboard/total_revenue?${all}`)).data[0].value).toBe(want.grossRevenue);
    expect((await get(`/api/views/dashboard/fee_revenue?${all}`)).data[0].value).toBe(want.feeRevenue);
    expect((await get(`/api/views/dashboard/failure_rate?${all}`)).data[0].value).toBeCloseTo(want.failureRate, 12);
    expect((await get(`/api/views/dashboard/avg_processing_time?${all}`)).data[0].value).toBeCloseTo(
      want.avgProcessingTime,
      10,
    );
    expect((await get(`/api/views/dashboard/transactions?${all}`)).data[0].value).toBe(want.transactions);
    const page = await (await app.request(`/views/dashboard?${all}`)).text();
    expect(page).toContain('Total revenue (gross)');
    expect(page).toContain('Fee revenue');

    // One day, one channel in one region.
    const day = facts.filter((f) => f.day === DAYS[4]);
    expect((await get(`/api/views/dashboard/total_revenue?dates=${DAYS[4]}..${DAYS[4]}`)).data[0].value).toBe(
      kpis(day).grossRevenue,
    );
    const upiWest = facts.filter((f) => f.channel_key === 3 && CITIES.get(f.city_key)!.region === 'West');
    expect((await get(`/api/views/dashboard/fee_revenue?${all}&channel=UPI&region=West`)).data[0].value).toBe(
      kpis(upiWest).feeRevenue,
    );

    // Trends: the last 7 days with data (rows), within the selected dates.
    const series = trends(facts);
    const revenue = (await get(`/api/views/dashboard/revenue_trend?${all}`)).data;
    expect(revenue.map((p) => String(p.day).slice(0, 10))).toEqual(DAYS);
    expect(revenue.map((p) => p.revenue)).toEqual(series.map((s) => s.revenue));
    revenue.forEach((p, i) => expect(p.revenue_7d).toBeCloseTo(series[i].revenue7, 6));
    const failures = (await get(`/api/views/dashboard/failure_trend?${all}`)).data;
    failures.forEach((p, i) => {
      expect(p.failure_rate).toBeCloseTo(series[i].failure, 12);
      expect(p.failure_rate_7d).toBeCloseTo(series[i].failure7, 12);
    });
    const processing = (await get(`/api/views/dashboard/processing_trend?${all}`)).data;
    processing.forEach((p, i) => expect(p.avg_processing_time_7d).toBeCloseTo(series[i].processing7, 10));
    // From the third day on, the average starts at the range's first day, as the original's.
    const later = trends(facts.filter((f) => f.day >= DAYS[2]));
    expect(
      (await get(`/api/views/dashboard/revenue_trend?dates=${DAYS[2]}..${DAYS.at(-1)}`)).data.map((p) => p.revenue_7d),
    ).toEqual(later.map((s) => expect.closeTo(s.revenue7, 6)));

    // Comparisons: the top 10 cities by failure rate (all 4 here), and per channel.
    expect((await get(`/api/views/dashboard/failure_top_cities?${all}`)).data).toEqual(
      topByFailure(facts, (f) => CITIES.get(f.city_key)!.city_name).map((c) => ({
        city: c.name,
        failure_rate: expect.closeTo(c.rate, 12),
      })),
    );
    expect((await get(`/api/views/dashboard/failure_by_channel?${all}`)).data).toEqual(
      topByFailure(facts, (f) => CHANNELS[f.channel_key].name).map((c) => ({
        channel: c.name,
        failure_rate: expect.closeTo(c.rate, 12),
      })),
    );
    expect((await get('/api/views/dashboard/filters/state?region=South')).options!.map((o) => o.value)).toEqual([
      'Karnataka',
    ]);
    expect((await get('/api/views/dashboard/filters/segment')).options!.map((o) => o.value)).toEqual(
      [...new Set(facts.map((f) => CUSTOMERS.get(f.customer_key)?.segment).filter(Boolean))].sort(),
    );
  });

  it("a --date backfill reads that day's files again and changes nothing", async () => {
    const client = await db();
    const factsBefore = await client.query('SELECT * FROM fact_transactions ORDER BY transaction_id');
    const deadBefore = run.pipeline.deadLetters.count();
    // One process owns a state folder at a time: the first run stops before the backfill opens the same folder.
    await run.pipeline.stop();
    const again = await runOnce('batch-analytics', env, stateDir, { date: DAYS[0] });
    expect(again.ok).toBe(true);
    expect(again.pipeline.stats().find((s) => s.id === 'facts')!.recordsIn).toBe(
      facts.filter((f) => f.day === DAYS[0]).length,
    );
    expect(
      await (
        await again.pipeline.connections.get<PostgresClient>('warehouse')
      ).query('SELECT * FROM fact_transactions ORDER BY transaction_id'),
    ).toEqual(factsBefore);
    expect(again.pipeline.deadLetters.count()).toBe(deadBefore);
    await again.pipeline.stop();
  }, 60_000);
});

describe('batch analytics pipeline (embedded): the generator, and the fee table and buckets from a file and the environment', () => {
  it("the generator writes a day's file in the original's format only when there is none: a user's file is never rewritten", async () => {
    const stateDir = tempStateDir('batch-analytics');
    const dataDir = join(stateDir, 'data');
    const mine = originalDay('2024-04-01', 40, 9);
    writeRaw(rawPath(dataDir, '2024-04-01'), mine);
    const before = readFileSync(rawPath(dataDir, '2024-04-01'), 'utf8');
    const mtime = statSync(rawPath(dataDir, '2024-04-01')).mtimeMs;
    const env = {
      BATCH_DATA_DIR: dataDir,
      BATCH_PG_URL: 'embedded',
      BATCH_SIMULATE: 'true',
      BATCH_TRANSACTIONS: '300',
    };
    const first = await runOnce('batch-analytics', env, stateDir, { date: '2024-04-01' });
    expect(first.ok).toBe(true);
    expect(readFileSync(rawPath(dataDir, '2024-04-01'), 'utf8')).toBe(before);
    expect(statSync(rawPath(dataDir, '2024-04-01')).mtimeMs).toBe(mtime);
    const client = await first.pipeline.connections.get<PostgresClient>('warehouse');
    expect(
      (await client.query('SELECT transaction_id FROM fact_transactions ORDER BY 1')).map((r) => r.transaction_id),
    ).toEqual(
      expectedOf(rawPath(dataDir, '2024-04-01'), mine)
        .facts.map((f) => f.transaction_id)
        .sort(),
    );
    await first.pipeline.stop();

    // A day without a file: the generator makes it, in the original's 8 columns, ids T + YYYYMMDD + 5 digits.
    const second = await runOnce('batch-analytics', env, stateDir, { date: '2024-04-02' });
    expect(second.ok).toBe(true);
    const made = readFileSync(rawPath(dataDir, '2024-04-02'), 'utf8').split('\n');
    expect(made[0]).toBe('transaction_id,date_key,customer_key,channel_key,city_key,amount,status,processing_time');
    const lines = readRaw(rawPath(dataDir, '2024-04-02'));
    expect(lines.length).toBeGreaterThanOrEqual(300);
    expect(lines.filter((l) => l[0]).every((l) => /^T20240402\d{5}$/.test(l[0]) && l[1] === '20240402')).toBe(true);
    expect(lines.every((l) => l[4] === String(CUSTOMERS.get(Number(l[2]))!.city_key))).toBe(true); // the original's customer → city map
    const expected = expectedOf(rawPath(dataDir, '2024-04-02'), lines);
    const loaded = await (
      await second.pipeline.connections.get<PostgresClient>('warehouse')
    ).query<{ n: number }>('SELECT count(*)::int AS n FROM fact_transactions WHERE date_key = 20240402');
    expect(loaded).toEqual([{ n: expected.facts.length }]);
    await second.pipeline.stop();
  }, 90_000);

  it('generated ids never cut: 200,000 transactions a day are 200,000 different ids', async () => {
    const catalog = createCatalog();
    const manifest = await loadManifest(join(repoRoot, 'pipelines', 'batch-analytics.yaml'), catalog, {
      ...process.env,
      BATCH_PG_URL: 'embedded',
      BATCH_TRANSACTIONS: '200000',
    });
    const pipeline = new Pipeline(manifest, catalog, {
      once: true,
      stateDir: tempStateDir('batch-ids'),
      logger: new MemoryLogger([]),
    });
    await pipeline.start();
    const draws = Array.from({ length: 200_000 }, (_, n) => ({
      n,
      day: '2024-03-02',
      customer_key: 1 + (n % 1000),
      channel_key: 1 + (n % 4),
      amount: 10,
      status: 'success',
      processing_time: 1,
      dirt: 'clean',
    }));
    const { output } = await pipeline.runTransform('raw-rows', draws);
    const ids = new Set(output.map((r) => r.transaction_id));
    expect(ids.size).toBe(200_000);
    expect(
      ids.has('T2024030200000') &&
        ids.has('T2024030299999') &&
        ids.has('T20240302100000') &&
        ids.has('T20240302199999'),
    ).toBe(true);
    await pipeline.stop();
  }, 60_000);

  it('the fee table comes from BATCH_CHANNELS_FILE and the buckets from BATCH_FAST_BELOW_S / BATCH_SLOW_FROM_S, without editing the manifest', async () => {
    const stateDir = tempStateDir('batch-analytics');
    const dataDir = join(stateDir, 'data');
    const channels = join(stateDir, 'channels.csv');
    writeFileSync(
      channels,
      'channel_key,channel_name,fee_percent\n1,Credit Card,3.0\n2,Debit Card,0.75\n3,UPI,0.25\n4,Net Banking,2.0\n',
    );
    const lines = originalDay('2024-05-01', 200, 11);
    writeRaw(rawPath(dataDir, '2024-05-01'), lines);
    const run = await runOnce(
      'batch-analytics',
      {
        BATCH_DATA_DIR: dataDir,
        BATCH_PG_URL: 'embedded',
        BATCH_SIMULATE: 'false',
        BATCH_CHANNELS_FILE: channels,
        BATCH_FAST_BELOW_S: '2',
        BATCH_SLOW_FROM_S: '4',
      },
      stateDir,
    );
    expect(run.ok).toBe(true);
    const want = expectedOf(rawPath(dataDir, '2024-05-01'), lines, {
      fees: { 1: 300, 2: 75, 3: 25, 4: 200 },
      fastBelow: 2,
      slowFrom: 4,
    });
    const client = await run.pipeline.connections.get<PostgresClient>('warehouse');
    expect(
      await client.query(
        'SELECT transaction_id, revenue::text AS revenue, processing_delay_bucket AS bucket FROM fact_transactions ORDER BY 1',
      ),
    ).toEqual(
      want.facts
        .map((f) => ({ transaction_id: f.transaction_id, revenue: f.revenue.toFixed(2), bucket: f.bucket }))
        .sort((a, b) => (a.transaction_id < b.transaction_id ? -1 : 1)),
    );
    expect(new Set(want.facts.map((f) => f.bucket))).toEqual(new Set(['fast', 'medium', 'slow']));
    expect(await client.query('SELECT fee_percent::text AS fee FROM dim_channel ORDER BY channel_key')).toEqual(
      ['3.00', '0.75', '0.25', '2.00'].map((fee) => ({ fee })),
    );
    await run.pipeline.stop();
  }, 60_000);
});
