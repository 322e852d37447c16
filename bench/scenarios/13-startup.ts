// 13. Start-up (issue 18 target 1, issue 15's idle memory): what a process costs before any real data.
//   13a/13b  `platform run --once` of a 1,000-row CSV file (file → validate → sql → csv): wall seconds from spawn to
//            exit, and peak RSS. The limit: a bare `node` that opens DuckDB and runs the one statement doing the same
//            file work (read, filter, join, write), start-up included.
//   13c–13f  `platform run` of pipelines/economic-analytics.yaml and pipelines/globemart.yaml on embedded defaults:
//            seconds from spawn to /readyz answering 200, and RSS once idle (5 s after ready). The limit: the same bare
//            DuckDB process's time and peak RSS. GlobeMart is started again on the same state folder (its embedded
//            PostgreSQL folders then exist): the note of 13e gives that start too.
// Every run is a new process (a fresh state folder); medians of max(BENCH_RUNS, 5), after one run not counted (it
// builds the compiled command when a source changed).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { platformArgs, repoRoot, startPlatform } from '../../tests/cli.ts';
import { median, peakRss, runs, type Result } from '../lib.ts';
import { workDir } from '../pipeline.ts';
import { platformManifest } from './7-file-work.ts';

const ROWS = 1000;
const TIMES = Math.max(runs, 5);
/** Figures of the command before the start-up work (same machine, load average ~1.5–2): issue 18's notes. */
const BEFORE = {
  once: '1.3–1.6 s, ~180–190 MB',
  econ: 'idle ~170–180 MB',
};

interface Measured {
  seconds: number;
  rssMb: number;
}

function writeInputs(dir: string): { rows: string; rates: string } {
  const currencies = ['USD', 'GBP', 'EUR', 'JPY'];
  const lines = ['id,ts,country,currency,amount,category'];
  for (let i = 0; i < ROWS; i++)
    lines.push(
      `${i % 97 === 0 ? '' : i},2024-01-01 00:${String(i % 60).padStart(2, '0')}:00,DE,${currencies[i % 4]},${((i % 50) - 2).toFixed(2)},cat${i % 5}`,
    );
  const rows = join(dir, 'rows.csv');
  const rates = join(dir, 'rates.csv');
  writeFileSync(rows, lines.join('\n') + '\n');
  writeFileSync(rates, 'currency,rate\nUSD,1\nGBP,0.73\nEUR,0.85\nJPY,110\n');
  return { rows, rates };
}

/** The least a process doing this file work costs: Node, DuckDB opened, one statement. */
function floorScript(rows: string, rates: string, out: string): string {
  return `import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
await c.run(\`COPY (SELECT i.id, i.ts, i.country, i.currency, i.amount, i.amount / r.rate AS usd, upper(i.category) AS category
  FROM read_csv('${rows}') i JOIN read_csv('${rates}') r USING (currency) WHERE i.id IS NOT NULL AND i.amount > 0) TO '${out}'\`);`;
}

/** Runs a process to its end: wall seconds from spawn, peak RSS (VmHWM, sampled every 20 ms and at exit). */
async function timeProcess(args: string[], cwd = repoRoot): Promise<Measured> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let peak = 0;
  const sample = () => (peak = Math.max(peak, peakRss(child.pid!) ?? 0));
  const sampler = setInterval(sample, 20);
  child.once('exit', sample); // the last figure before the process is reaped
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`node ${args.join(' ').slice(0, 200)} exited ${code}:\n${output.slice(-1500)}`);
  return { seconds: (performance.now() - t0) / 1000, rssMb: peak };
}

/** Starts a server on a fresh state folder: seconds to /readyz 200, and RSS once idle (5 s later). */
async function serverStart(file: string, state: string): Promise<{ seconds: number; idleMb: number; peakMb: number }> {
  const t0 = performance.now();
  const server = await startPlatform(['run', file, '--port', '0', '--state-dir', state], { timeoutMs: 180_000 });
  try {
    for (;;) {
      const status = await fetch(`${server.url}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      if (performance.now() - t0 > 180_000) throw new Error(`${file}: /readyz not 200 after 180 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const seconds = (performance.now() - t0) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)![1]);
    return { seconds, idleMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } finally {
    await server.stop();
  }
}

export async function startup(): Promise<Result[]> {
  const dir = workDir('startup');
  const { rows, rates } = writeInputs(dir);
  const once: Measured[] = [];
  const floor: Measured[] = [];
  const servers = {
    econ: [] as Awaited<ReturnType<typeof serverStart>>[],
    globemart: [] as Awaited<ReturnType<typeof serverStart>>[],
    globemartAgain: [] as Awaited<ReturnType<typeof serverStart>>[],
  };
  const floorFile = join(dir, 'floor.mjs');
  for (let r = -1; r < TIMES; r++) {
    const run = join(dir, `run-${r + 1}`);
    mkdirSync(run);
    const file = join(run, 'manifest.yaml');
    writeFileSync(file, platformManifest(rows, rates, 'csv', false, run));
    writeFileSync(floorFile, floorScript(rows, rates, join(run, 'floor.csv')));
    const measured = {
      once: await timeProcess(platformArgs(['run', file, '--once', '--state-dir', join(run, 'state')])),
      // In the repository, so that it finds @duckdb/node-api as the command does.
      floor: await timeProcess(['--input-type=module', '-e', readFileSync(floorFile, 'utf8')]),
      econ: await serverStart('pipelines/economic-analytics.yaml', join(run, 'econ')),
      globemart: await serverStart('pipelines/globemart.yaml', join(run, 'globemart')),
      globemartAgain: await serverStart('pipelines/globemart.yaml', join(run, 'globemart')),
    };
    if (r < 0) continue; // the warm-up run
    once.push(measured.once);
    floor.push(measured.floor);
    servers.econ.push(measured.econ);
    servers.globemart.push(measured.globemart);
    servers.globemartAgain.push(measured.globemartAgain);
  }
  rmSync(dir, { recursive: true, force: true }); // ~270 MB: every run's state folders (PGlite's ~40 MB each)
  const m = <T>(list: T[], pick: (t: T) => number) => median(list.map(pick));
  const floorSeconds = m(floor, (f) => f.seconds);
  const floorMb = m(floor, (f) => f.rssMb);
  const onceSeconds = m(once, (o) => o.seconds);
  const onceMb = m(once, (o) => o.rssMb);
  const server = (id: string, name: string, list: typeof servers.econ, before: string, again = ''): Result[] => {
    const seconds = m(list, (s) => s.seconds);
    const idle = m(list, (s) => s.idleMb);
    return [
      {
        id: `${id[0]}`,
        title: `${name} server: spawn to /readyz 200`,
        ours: seconds,
        limit: floorSeconds,
        unit: 's',
        ratio: null,
        target: '< 1 s',
        met: seconds < 1,
        note: `limit column: the bare DuckDB process (13a's); peak RSS at ready ${m(list, (s) => s.peakMb).toFixed(0)} MB${again}`,
      },
      {
        id: `${id[1]}`,
        title: `${name} server: RSS idle (5 s after ready)`,
        ours: idle,
        limit: floorMb,
        unit: 'MB',
        ratio: null,
        target: '~100 MB',
        met: idle <= 110,
        note: `limit column: the bare DuckDB process's peak; before: ${before}`,
      },
    ];
  };
  return [
    {
      id: '13a',
      title: `run --once, ${ROWS.toLocaleString('en-US')}-row CSV (file → validate → sql → csv): spawn to exit`,
      ours: onceSeconds,
      limit: floorSeconds,
      unit: 's',
      ratio: floorSeconds / onceSeconds,
      target: '< 0.5 s',
      met: onceSeconds < 0.5,
      note: `limit: bare node + DuckDB, one COPY statement doing the same work; before: ${BEFORE.once}`,
    },
    {
      id: '13b',
      title: `run --once, ${ROWS.toLocaleString('en-US')}-row CSV: peak RSS`,
      ours: onceMb,
      limit: floorMb,
      unit: 'MB',
      ratio: null,
      target: '~100 MB',
      met: onceMb <= 110,
      note: `limit: the bare DuckDB process's peak RSS; before: ${BEFORE.once}`,
    },
    ...server('cd', 'economic-analytics', servers.econ, BEFORE.econ),
    ...server(
      'ef',
      'globemart',
      servers.globemart,
      'idle 485 MB, start 23.4 s and 1132 MB peak at load 22–28 (PGlite initdb on each new folder, 128 MB buffer pools)',
      `; again on the same state folder ${m(servers.globemartAgain, (s) => s.seconds).toFixed(1)} s, peak ${m(servers.globemartAgain, (s) => s.peakMb).toFixed(0)} MB, idle ${m(servers.globemartAgain, (s) => s.idleMb).toFixed(0)} MB`,
    ),
  ].map((r) => (r.id.length === 1 ? { ...r, id: `13${r.id}` } : r));
}
