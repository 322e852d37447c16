// Lineage across hops (a sink's files, topic or table read by a source), and the counters a step's page shows:
// totals kept across restarts next to this run's, recent errors, a sample of the last batch, settings with secrets masked.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinConnectionModules } from '../../connections/index.ts';
import { loadManifest, type StepDeclaration } from '../manifest/index.ts';
import {
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type Batch,
  type Row,
  type Sink,
  type Source,
  type SourceRun,
  type Transform,
  type TransformContext,
} from '../sdk/index.ts';
import { PluginCatalog } from '../sdk/container.ts';
import { dataInputs, producersOf, resourcesOf, sameResource, sqlViews, tablesInSql } from './lineage.ts';
import { MemoryLogger } from '../sdk/logger.ts';
import { Pipeline } from './pipeline.ts';

const step = (
  id: string,
  kind: StepDeclaration['kind'],
  config: Record<string, unknown>,
  extra: Partial<StepDeclaration> = {},
): StepDeclaration => ({
  id,
  kind,
  use: 'x',
  from: [],
  config,
  policy: {} as StepDeclaration['policy'],
  line: 1,
  ...extra,
});

describe('lineage across hops', () => {
  it('links a sink to the source reading its files, topic, table, objects or collection', () => {
    const steps = [
      step('processed-parquet', 'sink', { path: 'data/processed/{YYYY}/{MM}/{DD}/cleaned.parquet' }),
      step('processed-files', 'source', { path: './data/processed/{YYYY}/{MM}/{DD}/cleaned.parquet' }),
      step('lake', 'sink', { path: 'lake/t/{YYYY}/{MM}/{DD}/part-{uuid}.parquet' }),
      step('lake-reader', 'source', { path: 'lake/t/**/*.parquet' }),
      step('to-topic', 'sink', { topic: 'payment-events', key: 'user_id' }, { connection: 'bus' }),
      step('events', 'source', { topics: 'payment-events' }, { connection: 'bus' }),
      step('other-bus', 'source', { topics: ['payment-events'] }, { connection: 'bus2' }),
      step('shop-table', 'sink', { table: 'public.transactions' }, { connection: 'shop' }),
      step('transactions', 'source', { table: 'transactions' }, { connection: 'shop' }),
      step('kpis', 'sink', { table: 'kpi_windows' }, { connection: 'warehouse' }),
      step(
        'export',
        'source',
        { query: 'WITH w AS (SELECT 1) SELECT * FROM kpi_windows k JOIN "events" e ON true, w' },
        { connection: 'warehouse', trigger: { upload: false, after: ['kpis'], debounceMs: 0 } },
      ),
      step('landing', 'sink', { bucket: 'sales', key: 'sales/{YYYY}/{MM}/{DD}/sales.csv' }, { connection: 's3' }),
      step('sheets', 'source', { bucket: 'sales', prefix: 'sales/' }, { connection: 's3' }),
      step('elsewhere', 'source', { bucket: 'sales', prefix: 'returns/' }, { connection: 's3' }),
      step('winners', 'sink', { collection: 'product_winners', mode: 'replace' }, { connection: 'hot' }),
      step('winners-back', 'source', { collection: 'product_winners' }, { connection: 'hot' }),
      step('unrelated', 'source', { path: 'data/raw/{YYYY}/{MM}/{DD}/transactions.csv' }),
    ];
    const inputs = dataInputs(steps);
    expect(Object.fromEntries(inputs)).toEqual({
      'processed-files': ['processed-parquet'],
      'lake-reader': ['lake'],
      events: ['to-topic'],
      transactions: ['shop-table'],
      export: ['kpis'],
      sheets: ['landing'],
      'winners-back': ['winners'],
    });
    expect(resourcesOf(steps[4]).writes).toEqual([{ kind: 'topic', connection: 'bus', name: 'payment-events' }]);
    expect(
      tablesInSql(
        'WITH w AS (SELECT 1) SELECT * FROM kpi_windows k JOIN "events" e ON true, w LEFT JOIN public.x USING (a)',
      ),
    ).toEqual(['kpi_windows', 'events', 'x']);
    expect(sameResource({ kind: 'files', name: 'a/{YYYY}/b.csv' }, { kind: 'files', name: 'a/*/c.csv' })).toBe(false);
  });

  it("names the sinks behind a widget's query, through the SQL views of the connection's init", () => {
    const views = sqlViews([
      {
        name: 'store',
        type: 'duckdb',
        config: {
          init: [
            'CREATE TABLE IF NOT EXISTS products (id INT)',
            'CREATE OR REPLACE VIEW product_sales AS SELECT p.id, sum(i.q) FROM products p LEFT JOIN invoices i USING (id) GROUP BY 1',
            'CREATE VIEW "winners" AS SELECT * FROM product_sales WHERE true',
          ],
        },
      },
    ]);
    const steps = [
      step('products-table', 'sink', { table: 'products' }, { connection: 'store' }),
      step('clients-table', 'sink', { table: 'clients' }, { connection: 'store' }),
      step('invoices-table', 'sink', { table: 'invoices' }, { connection: 'store' }),
      step('elsewhere', 'sink', { table: 'invoices' }, { connection: 'other' }),
    ];
    expect(
      producersOf(steps, 'store', 'SELECT name, total_profit FROM winners {{where}} ORDER BY rank', views),
    ).toEqual(['products-table', 'invoices-table']);
    expect(producersOf(steps, 'store', 'SELECT count(*) FROM clients', views)).toEqual(['clients-table']);
    expect(producersOf(steps, 'store', 'SELECT 1', views)).toEqual([]);
  });
});

@injectable()
class Numbers implements Source {
  static fail = false;
  constructor(@inject(TOKENS.Config) private readonly config: { total: number; path: string; password: string }) {}
  async *read(run: SourceRun): AsyncIterable<Batch> {
    const start = (run.checkpoint as number | undefined) ?? 0;
    const records = Array.from({ length: this.config.total }, (_, i) => ({
      n: start + i + 1,
      at: new Date(Date.UTC(2026, 0, 1 + i)),
    }));
    yield {
      records,
      checkpoint: start + this.config.total,
      lag: 7,
      rejects: [{ record: { n: -start }, reasons: ['negative'] }],
    };
  }
}

@injectable()
class OddOut implements Transform {
  process(records: Row[], ctx: TransformContext) {
    return records.filter((r) => ((r.n as number) % 2 === 0 ? true : (ctx.reject(r, `n=${r.n} is odd`), false)));
  }
}

@injectable()
class FlakySink implements Sink {
  private failed = false;
  async write() {
    if (!this.failed) {
      this.failed = true;
      throw new Error('connection reset by peer');
    }
  }
}

const modules = [
  pluginModule(
    { kind: 'source', name: 'numbers', summary: '', stability: 'stable', config: { type: 'object' } },
    Numbers,
  ),
  pluginModule(
    { kind: 'transform', name: 'odd-out', summary: '', stability: 'stable', config: { type: 'object' } },
    OddOut,
  ),
  pluginModule(
    { kind: 'sink', name: 'flaky', summary: '', stability: 'stable', config: { type: 'object' } },
    FlakySink,
  ),
];

async function start(stateDir: string) {
  const file = join(stateDir, 'pipeline.yaml');
  writeFileSync(
    file,
    `name: t
defaults: { backoff: 1ms, retries: 2 }
sources:
  nums: { use: numbers, with: { total: 6, path: "in/{YYYY}/*.csv", password: hunter2, url: "postgres://app:s3cret@db:5432/x" } }
transforms:
  even: { use: odd-out, from: nums }
sinks:
  out: { use: flaky, from: even, with: { path: "in/{YYYY}/{uuid}.csv" } }
`,
  );
  const catalog = new PluginCatalog([...builtinConnectionModules, ...modules]);
  const pipeline = new Pipeline(await loadManifest(file, catalog, {}), catalog, {
    once: true,
    stateDir,
    logger: new MemoryLogger([]),
  });
  await pipeline.start();
  return pipeline;
}

describe("a step's counters and page details", () => {
  it('keeps totals across restarts next to this run, traces the file hop, and shows errors, a sample and masked settings', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lineage-'));
    const first = await start(stateDir);
    await first.run();
    const byId = (p: Pipeline) => Object.fromEntries(p.stats().map((s) => [s.id, s]));
    expect(byId(first).even).toMatchObject({
      recordsIn: 6,
      recordsOut: 3,
      rejected: 3,
      run: { rejected: 3 },
      totals: { recordsIn: 6, recordsOut: 3, batches: 1 },
    });
    expect(byId(first).nums).toMatchObject({ lag: 7, reads: ['files in/{YYYY}/*.csv'], dataFrom: ['out'] });
    expect(byId(first).out.writes).toEqual(['files in/{YYYY}/{uuid}.csv']);
    // The sink writes the files the source reads: the source is upstream of itself through them.
    expect(first.services.status.upstream('nums').sort()).toEqual(['even', 'nums', 'out']);

    const details = first.services.status.details!('nums')!;
    expect(details.config).toEqual({
      total: 6,
      path: 'in/{YYYY}/*.csv',
      password: '••••',
      url: 'postgres://app:••••@db:5432/x',
    });
    expect(details.sample).toHaveLength(5);
    expect(details.sample.at(-1)).toEqual({ n: 6, at: '2026-01-06T00:00:00.000Z' });
    expect(first.services.status.details!('out')!.errors).toEqual([
      { at: expect.any(String), message: 'connection reset by peer' },
    ]);
    await first.stop();

    const second = await start(stateDir);
    expect(byId(second).even).toMatchObject({
      recordsIn: 0,
      rejected: 3,
      run: { rejected: 0 },
      totals: { recordsIn: 6, recordsOut: 3, batches: 1 },
    });
    await second.run();
    expect(byId(second).even).toMatchObject({
      recordsIn: 6,
      rejected: 6,
      run: { rejected: 3 },
      totals: { recordsIn: 12, recordsOut: 6, batches: 2 },
    });
    expect(byId(second).nums.totals).toMatchObject({ recordsOut: 12, since: byId(first).nums.totals!.since });
    await second.stop();
  });
});
