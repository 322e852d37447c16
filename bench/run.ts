// `npm run bench`: every scenario next to its physical limit, measured in the same run; prints the table and
// writes BENCHMARKS.md. BENCH_SCALE=0.1 shrinks the data; BENCH_ONLY=1,3 picks scenarios.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { DuckDbClient } from '../connections/duckdb/index.ts';
import { machine, scale, table, type Result } from './lib.ts';
import { fileBatch } from './scenarios/1-file-batch.ts';
import { stream } from './scenarios/2-stream.ts';
import { postgresUpsert } from './scenarios/3-postgres-upsert.ts';
import { latency } from './scenarios/4-latency.ts';
import { dashboardApi } from './scenarios/5-dashboard-api.ts';
import { fileWork } from './scenarios/7-file-work.ts';
import { manifestLoad } from './scenarios/8-manifest-load.ts';
import { dashboardPayload } from './scenarios/9-dashboard-payload.ts';
import { deadLetter } from './scenarios/10-dead-letter.ts';
import { scaleOut } from './scenarios/11-scale-out.ts';
import { xlsxMemory } from './scenarios/12-xlsx-memory.ts';
import { startup } from './scenarios/13-startup.ts';

const scenarios: [string, () => Promise<Result | Result[]>][] = [
  ['1', fileBatch],
  ['2', stream],
  ['3', postgresUpsert],
  ['4', latency],
  ['5', dashboardApi],
  ['7', fileWork],
  ['8', manifestLoad],
  ['9', dashboardPayload],
  ['10', deadLetter],
  ['11', scaleOut],
  ['12', xlsxMemory],
  ['13', startup],
];
const only = process.env.BENCH_ONLY?.split(',');

execFileSync('bash', ['scripts/services/up.sh', 'pg', 'kafka'], { stdio: 'inherit' });
const results: Result[] = [];
for (const [id, scenario] of scenarios) {
  if (only && !only.includes(id)) continue;
  process.stderr.write(`scenario ${id}…\n`);
  try {
    results.push(...([] as Result[]).concat(await scenario()));
  } catch (error) {
    results.push({
      id,
      title: `scenario ${id}`,
      ours: null,
      limit: null,
      unit: '',
      ratio: null,
      target: '',
      met: null,
      note: `failed: ${(error as Error).message}`,
    });
  }
}
results.sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));

const db = await DuckDbClient.open(':memory:');
const [{ v }] = await db.query<{ v: string }>('SELECT version() AS v');
db.close();
const text = [
  '# Benchmarks',
  '',
  `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}, scale ${scale} (BENCH_SCALE). Each figure is the median of 3 runs; the limit is measured in the same run on the same data.`,
  '',
  ...machine({
    DuckDB: v,
    PostgreSQL: '15 (scripts/services)',
    Kafka: `${process.env.PLATFORM_KAFKA_VERSION ?? '4.1.1'} KRaft (scripts/services)`,
  }),
  '',
  table(results),
  '',
  readFileSync(new URL('./analysis.md', import.meta.url), 'utf8'),
].join('\n');
process.stdout.write(text + '\n');
if (!process.env.BENCH_NO_WRITE) writeFileSync('BENCHMARKS.md', text);
