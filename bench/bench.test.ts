// Keeps the benchmarks from rotting: every scenario at a tiny scale, asserting that the data landed and the
// result is well formed. Speed itself is judged by `npm run bench`, never here.
import { describe, expect, it } from 'vitest';

process.env.BENCH_SCALE = '0.002';
process.env.BENCH_RUNS = '1';
// The Benthos peer of scenario 7 is built by `npm run bench` (bench/peers/benthos.sh), not by the test run.
process.env.BENCH_NO_PEER = '1';

describe('benchmarks (smoke, tiny sizes)', () => {
  it('runs each scenario end to end with positive figures', async () => {
    const { fileBatch } = await import('./scenarios/1-file-batch.ts');
    const { stream } = await import('./scenarios/2-stream.ts');
    const { postgresUpsert } = await import('./scenarios/3-postgres-upsert.ts');
    const { latency } = await import('./scenarios/4-latency.ts');
    const { dashboardApi } = await import('./scenarios/5-dashboard-api.ts');
    const { fileWork } = await import('./scenarios/7-file-work.ts');
    const { deadLetter } = await import('./scenarios/10-dead-letter.ts');
    const results = [
      await fileBatch(),
      ...(await stream()),
      ...(await postgresUpsert()),
      await latency(),
      ...(await dashboardApi()),
      ...(await fileWork()),
      ...(await deadLetter()),
    ];
    expect(results.map((r) => r.id)).toEqual([
      '1',
      '2',
      '6',
      '3',
      '3b',
      '4',
      '5',
      '5a',
      '5b',
      '5c',
      '5d',
      '5e',
      '7a',
      '7b',
      '7c',
      '7d',
      '7e',
      '7f',
      '7g',
      '7h',
      '10',
      '10a',
      '10b',
      '10c',
      '10d',
      '10e',
      '10f',
    ]);
    for (const r of results) {
      expect(r.ours, r.id).toBeGreaterThan(0);
      expect(r.met, r.id).not.toBeNull();
    }
  }, 300_000);

  it('measures XLSX uploads: peak memory of the server, and the reader next to its floor', async () => {
    const { xlsxMemory } = await import('./scenarios/12-xlsx-memory.ts');
    const results = await xlsxMemory();
    expect(results.map((r) => r.id)).toEqual(['12a', '12b', '12c', '12d']);
    for (const r of results) expect(r.ours, r.id).toBeGreaterThan(0);
  }, 300_000);

  it('scales the revenue monitor out over 1, 2 and 3 workers on the real servers, with the bounds measured beside', async () => {
    const { scaleOut } = await import('./scenarios/11-scale-out.ts');
    const results = await scaleOut();
    expect(results.map((r) => r.id)).toEqual(['11a', '11b', '11c', '11d', '11e', '11f', '11g']);
    for (const r of results) expect(r.ours, r.id).toBeGreaterThan(0);
  }, 300_000);

  it('measures the bytes of a dashboard tab (first load and a window of live updates)', async () => {
    const { dashboardPayload } = await import('./scenarios/9-dashboard-payload.ts');
    const results = await dashboardPayload();
    expect(results.map((r) => r.id)).toEqual(['9', '9a']);
    for (const r of results) expect(r.ours, r.id).toBeGreaterThan(0);
  }, 180_000);
});
