// A demo server for working on the views' look: `npx tsx plugins/views/dashboard/demo.ts [port]`.
// Serves the GlobeMart fixture dashboard (in-memory DuckDB), the pipeline overview and the dead-letter page,
// and commits a new order every few seconds so live updates can be watched.
import { serve } from '@hono/node-server';
import { createTestStep } from '../../../core/testing.ts';
import type { SqlClient, View } from '../../../core/sdk/index.ts';
import { corePages } from '../ui/pages.tsx';
import { fakeStatus, mountView, stepStats } from '../shared/testing.ts';
import dashboard from './index.ts';
import { globeMartConfig, seedGlobeMart } from './fixtures.ts';

const port = Number(process.argv[2] ?? 8787);
const now = new Date().toISOString();
const status = fakeStatus(
  [
    stepStats('orders_file', { kind: 'source', use: 'file', recordsOut: 3120, lastCommitAt: now }),
    stepStats('orders', { kind: 'source', use: 'kafka', recordsOut: 48210, lastCommitAt: now, watermark: now }),
    stepStats('convert', {
      kind: 'transform',
      use: 'fx-convert',
      from: ['orders', 'orders_file'],
      recordsIn: 51330,
      recordsOut: 51318,
      rejected: 12,
      lastCommitAt: now,
    }),
    stepStats('warehouse', {
      kind: 'sink',
      use: 'duckdb',
      from: ['convert'],
      recordsIn: 51318,
      recordsOut: 51318,
      lastCommitAt: now,
      batches: 412,
    }),
    stepStats('revenue', { kind: 'view', use: 'dashboard', from: ['warehouse'] }),
  ],
  'globemart',
);
const step = await createTestStep<View>(dashboard, 'view', globeMartConfig(), {
  connections: { warehouse: { type: 'duckdb', path: ':memory:' } },
  connection: 'warehouse',
  id: 'revenue',
  from: ['warehouse'],
  services: { status },
});
const client = await step.services.connections.get<SqlClient>('warehouse');
await seedGlobeMart(client);
await (step.services.deadLetters as unknown as { add(step: string, rejects: unknown[]): Promise<number> }).add(
  'convert',
  [
    {
      record: { country: 'XX', amount: 'n/a' },
      reasons: ['unknown country XX', 'amount is not a number'],
      origin: 'orders partition 0 offset 991',
    },
  ],
);
const app = await mountView(step.plugin, 'revenue');

// A second view showing the states a card can be in: waiting for data, all rejected, filtered to nothing, failing, no data.
status.stats.push(
  stepStats('returns_sink', { kind: 'sink', use: 'duckdb', from: ['returns'] }),
  stepStats('returns', { kind: 'source', use: 'file', recordsOut: 0, rejected: 40 }),
);
await (step.services.deadLetters as unknown as { add(step: string, rejects: unknown[]): Promise<number> }).add(
  'returns',
  Array.from({ length: 40 }, (_, i) => ({ record: { line: i }, reasons: ['missing order id'] })),
);
const states = await createTestStep<View>(
  dashboard,
  'view',
  {
    title: 'Card states',
    description: 'What each card says when there is nothing to show.',
    filters: { country: { type: 'select', column: 'country', options: ['DE', 'XX'], default: 'XX' } },
    widgets: [
      {
        id: 'waiting',
        type: 'kpi',
        title: 'New table',
        filters: [],
        from: ['returns_sink'],
        query: 'SELECT count(*) AS value FROM sales WHERE FALSE',
      },
      {
        id: 'rejected',
        type: 'table',
        title: 'Returns',
        width: 2,
        filters: [],
        from: ['returns'],
        query: 'SELECT * FROM sales WHERE FALSE',
      },
      {
        id: 'filtered',
        type: 'bar',
        title: 'Revenue by city',
        query: 'SELECT city, sum(amount) AS revenue FROM sales {{where}} GROUP BY 1',
      },
      { id: 'failing', type: 'line', title: 'Refunds', query: 'SELECT * FROM refunds' },
      {
        id: 'nodata',
        type: 'alert',
        title: 'Monitor',
        filters: [],
        query: 'SELECT 1 AS x WHERE FALSE',
        rules: [{ when: { field: 'x', op: '>', value: 0 }, state: 'WARN' }],
      },
      { id: 'about', type: 'text', title: 'About', text: 'These cards are empty on purpose.\n\nEach one says why.' },
    ],
  },
  {
    connections: { warehouse: { type: 'duckdb', path: ':memory:' } },
    connection: 'warehouse',
    id: 'states',
    from: ['warehouse'],
    services: { status, deadLetters: step.services.deadLetters },
  },
);
await seedGlobeMart(await states.services.connections.get<SqlClient>('warehouse'));
await mountView(states.plugin, 'states', app);
app.get('/', (c) =>
  c.html(
    corePages.index({
      pipeline: 'globemart',
      description: 'Revenue of every GlobeMart store, live.',
      views: [{ title: 'GlobeMart revenue', path: '/views/revenue' }],
      steps: status.steps(),
    }),
  ),
);
app.get('/pipeline', (c) => c.redirect('/'));
app.get('/dead-letter', async (c) =>
  c.html(
    corePages.deadLetters({
      pipeline: 'globemart',
      ...(await step.services.deadLetters.list({})),
      steps: c.req.query('steps')?.split(','),
    }),
  ),
);

setInterval(
  async () => {
    await client.exec(
      `INSERT INTO sales VALUES (now(), 'DE', 'Berlin', 'EUR', ${(100 + Math.random() * 900).toFixed(2)}, 'sku-1', 'cat-0', 'live')`,
    );
    const at = new Date();
    status.stats.find((s) => s.id === 'warehouse')!.lastCommitAt = at.toISOString();
    step.services.events.emit({ type: 'commit', step: 'warehouse', records: 1, at });
  },
  Number(process.env.DEMO_COMMIT_MS ?? 5000),
).unref?.();

serve({ fetch: app.fetch, port }, () => console.log(`demo on http://localhost:${port}/views/revenue`));
