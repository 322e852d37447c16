// 7. File work next to its floor and a peer: 1M rows (id, ts, country, currency, amount, category; ~3% invalid)
// read → validate (id present, amount > 0) → sql (usd = amount / rate from a small currency table, upper(category))
// → valid rows to a file, invalid rows to dead-letter. The floor is DuckDB alone doing the valid part in one SQL
// statement; the peer is Benthos v4 (the MIT core of Redpanda Connect) in its best configuration (a batched `csv`
// input; JSON lines by a `file` input inside a 1,000-message `batched` input), built once by bench/peers/benthos.sh.
// Every run is a whole process (start-up included), runs are interleaved, and all outputs must agree: the same
// number of valid rows and the same USD sum to the cent.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbClient } from '../../connections/duckdb/index.ts';
import { platformArgs } from '../../tests/cli.ts';
import { median, peakRss, runs, scale, type Result } from '../lib.ts';
import { workDir } from '../pipeline.ts';

/** Units per 1 USD, as the originals' FX feeds quote them. */
const RATES: Record<string, number> = {
  USD: 1,
  GBP: 0.73,
  EUR: 0.85,
  JPY: 110,
  CAD: 1.25,
  AUD: 1.35,
  CNY: 6.45,
  BRL: 5.2,
  INR: 74.5,
};

type Input = 'csv' | 'jsonl';
type Output = 'csv' | 'parquet';
interface Measured {
  seconds: number;
  rssMb: number;
  /** The platform's data part alone: from its source's first read to its last commit (start-up excluded). */
  dataSeconds?: number;
}
interface Totals {
  rows: number;
  usdCents: number;
}

export async function fileWork(): Promise<Result[]> {
  // The inputs and every run's output and state (~1 GB at scale 1) go once the figures are taken.
  const dir = workDir('filework');
  try {
    return await measure(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(dir: string): Promise<Result[]> {
  const rows = Math.max(1000, Math.round(1_000_000 * scale));
  const inputs = await makeInputs(dir, rows);
  const benthos = process.env.BENCH_NO_PEER
    ? undefined
    : execFileSync('bash', ['bench/peers/benthos.sh'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }).trim();
  const expected = await totalsOf(
    `SELECT * FROM read_csv('${inputs.csv}') t JOIN read_csv('${inputs.rates}') r USING (currency) WHERE id IS NOT NULL AND amount > 0`,
    'amount / rate',
  );

  const variants: { key: string; input: Input; output: Output; held: boolean }[] = [];
  for (const input of ['csv', 'jsonl'] as const) {
    for (const output of ['csv', 'parquet'] as const)
      for (const held of [false, true])
        variants.push({ key: `${input}-${output}-${held ? 'held' : 'records'}`, input, output, held });
  }
  const times = new Map<string, Measured[]>();
  const record = (key: string, m: Measured) => times.set(key, [...(times.get(key) ?? []), m]);
  for (let r = 0; r < runs; r++) {
    for (const input of ['csv', 'jsonl'] as const) {
      const floorOut = join(dir, `floor-${input}-${r}.csv`);
      record(
        `floor-${input}`,
        await timeProcess(process.execPath, [
          '--input-type=module',
          '-e',
          floorScript(inputs[input], input, inputs.rates, floorOut),
        ]),
      );
      await expectTotals(`floor ${input}`, await totalsOf(`SELECT * FROM read_csv('${floorOut}')`), expected);
      if (benthos) {
        const out = join(dir, `benthos-${input}-${r}.csv`);
        const config = join(dir, `benthos-${input}-${r}.yaml`);
        writeFileSync(config, benthosConfig(inputs[input], input, out, join(dir, `benthos-dead-${input}-${r}.jsonl`)));
        record(`benthos-${input}`, await timeProcess(benthos, ['run', config]));
        await expectTotals(
          `benthos ${input}`,
          await totalsOf(`SELECT * FROM read_csv('${out}', header = false, columns = ${BENTHOS_COLUMNS})`),
          expected,
        );
      }
    }
    for (const v of variants) {
      const run = join(dir, `${v.key}-${r}`);
      mkdirSync(run);
      const manifest = join(run, 'manifest.yaml');
      writeFileSync(manifest, platformManifest(inputs[v.input], inputs.rates, v.output, v.held, run));
      record(
        v.key,
        await timeProcess(
          process.execPath,
          platformArgs(['run', manifest, '--once', '--state-dir', join(run, 'state'), '--log-format', 'json']),
          { PLATFORM_LOG_LEVEL: 'debug' },
        ),
      );
      const read =
        v.output === 'csv'
          ? `read_csv('${run}/out/*.csv', union_by_name = true)`
          : `read_parquet('${run}/out/*.parquet', union_by_name = true)`;
      await expectTotals(`platform ${v.key}`, await totalsOf(`SELECT * FROM ${read}`), expected);
    }
  }

  const secs = (key: string) => median((times.get(key) ?? []).map((m) => m.seconds));
  const rss = (key: string) => median((times.get(key) ?? []).map((m) => m.rssMb));
  const data = (key: string) => median((times.get(key) ?? []).map((m) => m.dataSeconds ?? NaN));
  const results: Result[] = [];
  let n = 0;
  for (const v of variants) {
    const ours = rows / secs(v.key);
    const floor = rows / secs(`floor-${v.input}`);
    const peer = benthos ? rows / secs(`benthos-${v.input}`) : null;
    const vsPeer =
      peer && v.output === 'csv'
        ? `; ${(ours / peer).toFixed(2)}× Benthos (${secs(`benthos-${v.input}`).toFixed(2)} s, ${rss(`benthos-${v.input}`).toFixed(0)} MB)`
        : '';
    results.push({
      id: `7${'abcdefghij'[n++]}`,
      title: `File work ${rows.toLocaleString('en-US')} rows: ${v.input.toUpperCase()} → validate → sql → ${v.output} (${v.held ? 'file source with connection: warehouse' : "file source without a connection: the runtime holds it in the sql step's DuckDB"})`,
      ours,
      limit: floor,
      unit: 'rows/s',
      ratio: ours / floor,
      target: '≥ 0.5× floor, ≥ 3× Benthos, ≤ 200 MB',
      met: ours / floor >= 0.5 && (peer === null || v.output !== 'csv' || ours / peer >= 3) && rss(v.key) <= 200,
      note: `${secs(v.key).toFixed(2)} s (data part, first read to last commit: ${data(v.key).toFixed(2)} s), peak ${rss(v.key).toFixed(0)} MB; floor (one DuckDB statement) ${secs(`floor-${v.input}`).toFixed(2)} s, ${rss(`floor-${v.input}`).toFixed(0)} MB${vsPeer}`,
    });
  }
  if (benthos) {
    for (const input of ['csv', 'jsonl'] as const) {
      const peer = rows / secs(`benthos-${input}`);
      const floor = rows / secs(`floor-${input}`);
      results.push({
        id: `7${'abcdefghij'[n++]}`,
        title: `File work peer: Benthos 4.60 best configuration, ${input.toUpperCase()} → CSV`,
        ours: peer,
        limit: floor,
        unit: 'rows/s',
        ratio: peer / floor,
        target: 'reference',
        met: true,
        note: `${secs(`benthos-${input}`).toFixed(2)} s, peak ${rss(`benthos-${input}`).toFixed(0)} MB; outputs checked equal to the floor's (rows, USD sum to the cent)`,
      });
    }
  }
  return results;
}

const BENTHOS_COLUMNS =
  "{'id': 'BIGINT', 'ts': 'TIMESTAMP', 'country': 'VARCHAR', 'currency': 'VARCHAR', 'amount': 'DOUBLE', 'usd': 'DOUBLE', 'category': 'VARCHAR'}";

async function makeInputs(dir: string, rows: number): Promise<Record<Input | 'rates', string>> {
  const files = { csv: join(dir, 'in.csv'), jsonl: join(dir, 'in.jsonl'), rates: join(dir, 'rates.csv') };
  writeFileSync(
    files.rates,
    'currency,rate\n' +
      Object.entries(RATES)
        .map(([c, r]) => `${c},${r}`)
        .join('\n') +
      '\n',
  );
  const db = await DuckDbClient.open(':memory:');
  const currencies = `[${Object.keys(RATES)
    .map((c) => `'${c}'`)
    .join(', ')}]`;
  // ~1.5% without id, ~1.4% with a non-positive amount: the rows validate sends to dead-letter.
  await db.exec(`CREATE TABLE t AS SELECT
      CASE WHEN i % 67 = 5 THEN NULL ELSE i END AS id,
      TIMESTAMP '2024-01-01' + to_seconds(i) AS ts,
      ['US', 'GB', 'DE', 'FR', 'JP', 'CA', 'AU', 'CN', 'BR', 'IN'][i % 10 + 1] AS country,
      ${currencies}[i % ${Object.keys(RATES).length} + 1] AS currency,
      CASE WHEN i % 71 = 3 THEN -round((i * 7919 % 100000) / 100.0, 2) ELSE round((i * 7919 % 100000) / 100.0 + 0.01, 2) END AS amount,
      ['electronics', 'fashion', 'home', 'books', 'sports', 'beauty', 'food', 'toys'][i % 8 + 1] AS category
    FROM range(${rows}) r(i)`);
  await db.exec(`COPY t TO '${files.csv}' (HEADER); COPY t TO '${files.jsonl}' (FORMAT json)`);
  db.close();
  return files;
}

function floorScript(input: string, kind: Input, rates: string, out: string): string {
  const read = kind === 'csv' ? `read_csv('${input}')` : `read_json('${input}', format = 'newline_delimited')`;
  return `import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
await c.run(\`COPY (SELECT t.id, t.ts, t.country, t.currency, t.amount, t.amount / r.rate AS usd, upper(t.category) AS category
  FROM ${read} t JOIN read_csv('${rates}') r USING (currency) WHERE t.id IS NOT NULL AND t.amount > 0) TO '${out}' (HEADER)\`);
c.closeSync();`;
}

function benthosConfig(input: string, kind: Input, out: string, dead: string): string {
  const source =
    kind === 'csv'
      ? `csv: { paths: ["${input}"], parse_header_row: true, batch_count: 1000 }`
      : `batched: { child: { file: { paths: ["${input}"], scanner: { lines: {} } } }, policy: { count: 1000, period: 100ms } }`;
  return `input:
  ${source}
pipeline:
  threads: -1
  processors:
    - mapping: |
        let rates = ${JSON.stringify(RATES)}
        let amount = this.amount.number().catch(0)
        let invalid = this.id.or("").string() == "" || $amount <= 0
        meta invalid = if $invalid { "yes" } else { "no" }
        root = if $invalid { this } else { [this.id.string(), this.ts.string(), this.country, this.currency, this.amount.string(), ($amount / $rates.get(this.currency)).string(), this.category.uppercase()].join(",") }
output:
  switch:
    cases:
      - check: '@invalid == "yes"'
        output: { file: { path: "${dead}", codec: lines } }
      - output: { file: { path: "${out}", codec: lines } }
logger: { level: WARN }
`;
}

/** The file work's manifest (also bench 13's, at 1,000 rows): validate → sql → a csv or parquet file. */
export function platformManifest(input: string, rates: string, output: Output, held: boolean, dir: string): string {
  return `name: bench-filework
connections:
  warehouse: { type: duckdb, path: "${join(dir, 'warehouse.duckdb')}", init: ["CREATE TABLE IF NOT EXISTS rates AS SELECT * FROM read_csv('${rates}')"] }
sources:
  rows: { use: file, ${held ? 'connection: warehouse, ' : ''}with: { path: "${input}" } }
transforms:
  valid:
    use: validate
    from: rows
    with: { schema: { type: object, required: [id, amount], properties: { id: { type: integer }, amount: { type: number, exclusiveMinimum: 0 } } } }
  usd:
    use: sql
    from: valid
    connection: warehouse
    with: { query: "SELECT i.id, i.ts, i.country, i.currency, i.amount, i.amount / r.rate AS usd, upper(i.category) AS category FROM input i JOIN rates r USING (currency)" }
sinks:
  out: { use: ${output}, from: usd, with: { path: "${join(dir, 'out', `usd.${output}`)}" } }
`;
}

/**
 * Runs a process to its end; wall time (start-up included) and peak RSS (VmHWM sampled every 50 ms), and for the
 * platform (JSON log lines at debug level) its data part as the scheduler logs it.
 */
async function timeProcess(command: string, args: string[], env: Record<string, string> = {}): Promise<Measured> {
  const t0 = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, peakRss(child.pid!) ?? 0)), 50);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`${command} ${args.join(' ').slice(0, 200)} exited ${code}:\n${output.slice(-1500)}`);
  const data = /"msg":"[^"]*: run read and committed"[^\n]*"ms":(\d+)/.exec(output);
  return {
    seconds: (performance.now() - t0) / 1000,
    rssMb: peak,
    ...(data ? { dataSeconds: Number(data[1]) / 1000 } : {}),
  };
}

async function totalsOf(select: string, usd = 'usd'): Promise<Totals> {
  const db = await DuckDbClient.open(':memory:');
  try {
    const [t] = await db.query<{ rows: bigint; cents: bigint }>(
      `SELECT count(*) AS rows, CAST(round(sum(${usd}) * 100) AS BIGINT) AS cents FROM (${select})`,
    );
    return { rows: Number(t.rows), usdCents: Number(t.cents) };
  } finally {
    db.close();
  }
}

async function expectTotals(who: string, got: Totals, expected: Totals): Promise<void> {
  if (got.rows !== expected.rows || Math.abs(got.usdCents - expected.usdCents) > 1) {
    throw new Error(
      `${who}: ${got.rows} rows, USD ${got.usdCents / 100}; expected ${expected.rows} rows, USD ${expected.usdCents / 100}`,
    );
  }
}
