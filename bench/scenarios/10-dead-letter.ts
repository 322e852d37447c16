// 7. Dead-letter store at 1,000,000 entries (a 250 MB file, as in issue 14): list, filter (step, reason text, time)
// and count latency through the running pipeline's HTTP API, its start-up time and memory, next to the same
// store with 1,000 entries (memory must not grow with the entries) and to the index queries in DuckDB alone.
import { createWriteStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DeadLetterStore } from '../../core/runtime/deadletter.ts';
import { materializedRows } from '../../connections/duckdb/client.ts';
import { startPlatform } from '../../tests/cli.ts';
import { median, peakRss, percentile, scale, type Result } from '../lib.ts';
import { workDir } from '../pipeline.ts';

const STEPS = ['files', 'checked', 'priced', 'sales', 'events'];
const DAY = 86_400_000;

/** A dead-letter file of `count` entries like real ones: five steps, a few reason shapes, origins, ~200-byte records. */
async function writeStore(dir: string, count: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const out = createWriteStream(join(dir, 'dead-letter.jsonl'));
  const start = Date.parse('2026-11-01T00:00:00Z');
  let chunk = '';
  for (let i = 1; i <= count; i++) {
    const step = STEPS[i % STEPS.length];
    const reasons =
      i % 3 === 0
        ? [`amount: must be > 0 (got -${i % 97})`]
        : i % 3 === 1
          ? [`Error when converting column "amount". Could not convert string "n/a${i % 13}" to 'DOUBLE'`]
          : ['missing required property "id"', `country: must be equal to one of the allowed values (got X${i % 50})`];
    const entry = {
      id: i,
      at: new Date(start + Math.floor((i / count) * 30 * DAY)).toISOString(),
      step,
      reasons,
      origin: `data/in/2026-11-${String(1 + (i % 30)).padStart(2, '0')}.csv:${i % 50_000}`,
      record: {
        id: `tx-${i}`,
        amount: -(i % 97),
        currency: 'EUR',
        country: `X${i % 50}`,
        customer: `customer ${i % 1000}`,
        note: 'a rejected record of average size'.repeat(2),
      },
    };
    chunk += `${JSON.stringify(entry)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

async function latencies(urls: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const url of urls) {
    const t0 = performance.now();
    const response = await fetch(url);
    await response.arrayBuffer();
    out.push(performance.now() - t0);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  }
  return out;
}

/** The HTTP queries: 50 of each kind, each a different filter (DuckDB caches no results). */
function queries(server: string): Record<string, string[]> {
  const n = Array.from({ length: 50 }, (_, i) => i);
  const day = (i: number) => `2026-11-${String(1 + (i % 29)).padStart(2, '0')}T00:00:00Z`;
  return {
    list: n.map((i) => `${server}/api/dead-letter?limit=100&offset=${i * 100}`),
    step: n.map((i) => `${server}/api/dead-letter?steps=${STEPS[i % STEPS.length]}&limit=100`),
    reason: n.map((i) => `${server}/api/dead-letter?reason=${encodeURIComponent(`got X${i}`)}&limit=100`),
    since: n.map((i) => `${server}/api/dead-letter?since=${encodeURIComponent(day(i))}&limit=100`),
    count: n.map((i) => `${server}/api/dead-letter?steps=${STEPS.slice(0, 1 + (i % STEPS.length)).join(',')}&limit=1`),
  };
}

interface Measured {
  startupMs: number;
  rssMb: number | null;
  p: Record<string, number[]>;
}

/** Starts `platform run` on the store in `dir`, times each kind of query, and reads the process's peak memory. */
async function measure(dir: string, count: number): Promise<Measured> {
  const manifest = join(dir, 'm.yaml');
  writeFileSync(
    manifest,
    `name: bench-dead-letter
sources:
  idle: { use: generator, trigger: { upload: true }, with: { count: 1, fields: { n: { sequence: {} } } } }
sinks:
  out: { use: console, from: idle }
`,
  );
  const t0 = performance.now();
  const server = await startPlatform(['run', manifest, '--port', '0', '--state-dir', join(dir, 'state')], {
    timeoutMs: 600_000,
  });
  const startupMs = performance.now() - t0;
  try {
    const check = (await (await fetch(`${server.url}/api/dead-letter?limit=1`)).json()) as { total: number };
    if (check.total !== count) throw new Error(`the store holds ${check.total} entries, not ${count}`);
    const p: Record<string, number[]> = {};
    for (const [kind, urls] of Object.entries(queries(server.url))) p[kind] = await latencies(urls);
    return { startupMs, rssMb: peakRss(server.child.pid!), p };
  } finally {
    await server.stop();
  }
}

/** The same filters as index queries in DuckDB alone (no HTTP, no reading of the entries): the floor. */
async function indexOnly(dir: string): Promise<Record<string, number[]>> {
  const instance = await DuckDBInstance.create(join(dir, 'state', 'dead-letter.duckdb'));
  const connection = await instance.connect();
  // Each request's statements, timed together.
  const time = async (requests: string[][]) => {
    const out: number[] = [];
    for (const statements of requests) {
      const t0 = performance.now();
      for (const sql of statements) materializedRows(await connection.run(sql));
      out.push(performance.now() - t0);
    }
    return out;
  };
  const n = Array.from({ length: 50 }, (_, i) => i);
  const [{ last }] = materializedRows(await connection.run('SELECT max(id) AS last FROM entries'));
  const at = (i: number) => Date.parse(`2026-11-${String(1 + (i % 29)).padStart(2, '0')}T00:00:00Z`);
  // What the store asks DuckDB for each request (a page among the newest ids, or a count and a top-N).
  const result = {
    list: await time(
      n.map((i) => [
        `SELECT pos, len FROM entries WHERE id > ${Number(last) - 2 * (i * 100 + 100) - 1024} ORDER BY id DESC LIMIT 100 OFFSET ${i * 100}`,
      ]),
    ),
    step: await time(
      n.map((i) => [
        `SELECT pos, len FROM entries WHERE step = '${STEPS[i % STEPS.length]}' AND id > ${Number(last) - 1024} ORDER BY id DESC LIMIT 100`,
      ]),
    ),
    reason: await time(
      n.map((i) => [
        `SELECT count(*) FROM entries WHERE contains(reasons, 'got x${i}')`,
        `SELECT pos, len FROM entries WHERE contains(reasons, 'got x${i}') ORDER BY id DESC LIMIT 100`,
      ]),
    ),
    since: await time(
      n.map((i) => [
        `SELECT count(*) FROM entries WHERE at_ms >= ${at(i)}`,
        `SELECT pos, len FROM entries WHERE at_ms >= ${at(i)} AND id > ${Number(last) - 1024} ORDER BY id DESC LIMIT 100`,
      ]),
    ),
  };
  connection.closeSync();
  instance.closeSync();
  return result;
}

export async function deadLetter(): Promise<Result[]> {
  const count = Math.max(2000, Math.round(1_000_000 * scale));
  const small = 1000;
  const dir = workDir('dead-letter');
  const big = join(dir, 'big');
  const tiny = join(dir, 'tiny');
  await writeStore(join(big, 'state'), count);
  await writeStore(join(tiny, 'state'), small);
  const megabytes = statSync(join(big, 'state', 'dead-letter.jsonl')).size / 2 ** 20;

  // The index is built once, when a store without one is first opened (here: a file written by another tool).
  const t0 = performance.now();
  const store = new DeadLetterStore(join(big, 'state'));
  await store.ready;
  const buildMs = performance.now() - t0;
  await store.close();
  const tinyStore = new DeadLetterStore(join(tiny, 'state'));
  await tinyStore.ready;
  await tinyStore.close();

  const floor: Record<string, number[]> = await indexOnly(big);
  const large = await measure(big, count);
  const baseline = await measure(tiny, small);
  const p95 = (values: number[]) => percentile(values, 0.95);
  const size = `${count.toLocaleString('en-US')} entries (${megabytes.toFixed(0)} MB)`;
  const row = (id: string, kind: string, title: string): Result => ({
    id,
    title: `Dead-letter API at ${size}: ${title}`,
    ours: p95(large.p[kind]),
    limit: floor[kind] ? p95(floor[kind]) : null,
    unit: 'ms p95',
    ratio: floor[kind] ? p95(floor[kind]) / p95(large.p[kind]) : null,
    target: 'p95 < 50 ms',
    met: p95(large.p[kind]) < 50,
    note: `p50 ${median(large.p[kind]).toFixed(1)} ms via HTTP (50 requests, each a different filter); with ${small.toLocaleString('en-US')} entries p95 ${p95(baseline.p[kind]).toFixed(1)} ms${floor[kind] ? `; limit: the index query alone in DuckDB` : ''}`,
  });
  return [
    row('10', 'list', 'newest 100, paged'),
    row('10a', 'step', 'filtered by step'),
    row('10b', 'reason', 'filtered by reason text'),
    row('10c', 'since', 'filtered by time'),
    row('10d', 'count', 'count by steps (the total of a list)'),
    {
      id: '10e',
      title: `Dead-letter store: peak RSS of the running pipeline with ${size} vs ${small.toLocaleString('en-US')} entries`,
      ours: large.rssMb,
      limit: baseline.rssMb,
      unit: 'MB',
      ratio: large.rssMb && baseline.rssMb ? baseline.rssMb / large.rssMb : null,
      target: 'constant (≤ 1.2× the small store)',
      met: large.rssMb !== null && baseline.rssMb !== null && large.rssMb <= baseline.rssMb * 1.2,
      note: 'VmHWM of the platform process after start-up and the 250 queries (before: the whole file read into memory, 2.3 GB at 1M)',
    },
    {
      id: '10f',
      title: `Dead-letter store: start-up of \`platform run\` with ${size} vs ${small.toLocaleString('en-US')} entries (index built)`,
      ours: large.startupMs,
      limit: baseline.startupMs,
      unit: 'ms',
      ratio: baseline.startupMs / large.startupMs,
      target: 'no slower than the small store by more than 1 s',
      met: large.startupMs - baseline.startupMs < 1000,
      note: `process start to listening; building the index of a store that has none (once, e.g. after an upgrade) took ${(buildMs / 1000).toFixed(1)} s`,
    },
  ];
}
