// Driving the economic-analytics pipeline as its users do, and checking every figure it shows against the
// independent computation of ./economic-analytics.ts: shared by the embedded and the real-server tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { DuckDbClient } from '../../connections/duckdb/index.ts';
import type { DocumentStore } from '../../connections/mongodb/index.ts';
import type { TopicClient } from '../../connections/kafka/index.ts';
import { runOnce, type PipelineRun } from '../../tests/pipelines.ts';
import type { analytics, Row } from './economic-analytics.ts';

export function env(stateDir: string, settings: Record<string, string> = {}): Record<string, string> {
  return {
    ECON_KAFKA_BROKERS: 'embedded',
    ECON_MONGO_URL: 'embedded',
    ECON_DUCKDB_PATH: join(stateDir, 'analytics.duckdb'),
    ECON_LAKE_DIR: join(stateDir, 'lake'),
    ...settings,
  };
}

// --- Driving the pipeline as its users do.

export async function upload(run: PipelineRun, file: string): Promise<Response> {
  const app = await run.app();
  const body = new FormData();
  body.append('file', new File([readFileSync(file)], 'stock_data.xlsx'));
  return app.request('/api/views/upload/upload/workbook', { method: 'POST', body });
}

/** Uploads a workbook (the producer), then runs the consumers and the analytics: the second run, still open. */
export async function uploadAndProcess(
  stateDir: string,
  file: string,
  settings: Record<string, string> = {},
  base = env(stateDir),
) {
  const first = await runOnce('economic-analytics', { ...base, ...settings }, stateDir);
  let uploaded: { records: number; rejected: number; deadLetters: unknown[] };
  try {
    expect(first.ok).toBe(true);
    const response = await upload(first, file);
    const body = (await response.json()) as { records: number; rejected: number };
    // What was rejected goes with the counts, so a failing comparison shows why.
    uploaded = {
      ...body,
      deadLetters: (await first.pipeline.deadLetters.list({ limit: 5 })).entries.map((e) => ({
        step: e.step,
        origin: e.origin,
        reasons: e.reasons,
      })),
    };
    expect(response.status, JSON.stringify(uploaded)).toBe(200);
  } finally {
    await first.pipeline.stop();
  }
  const second = await runOnce('economic-analytics', { ...base, ...settings }, stateDir);
  expect(second.ok, second.logs.filter((l) => /ERROR|WARN/.test(l)).join('\n')).toBe(true);
  return { uploaded, run: second };
}

export async function hot(run: PipelineRun) {
  const store = await run.pipeline.connections.get<DocumentStore>('hot');
  const read = (collection: string) => store.find(collection, {}, {}).then((docs) => docs.map(({ _id, ...d }) => d));
  return {
    inventory: await read('inventory'),
    clients: await read('clients'),
    product_winners: await read('product_winners'),
    loss_risk_products: await read('loss_risk_products'),
  };
}

export async function topicMessages(run: PipelineRun, topic: string): Promise<Row[]> {
  const bus = await run.pipeline.connections.get<TopicClient>('bus');
  const consumer = await bus.consumer({ group: `peek-${Math.random()}`, topics: [topic], from: 'earliest' });
  const out: Row[] = [];
  for await (const batch of consumer.batches(new AbortController().signal, { once: true, maxBatch: 10_000 }))
    out.push(...batch.messages.map((m) => JSON.parse(m.value.toString('utf8')) as Row));
  await consumer.close();
  return out;
}

export async function lakeRows(lake: string, topic: string): Promise<Row[]> {
  const db = await DuckDbClient.open(':memory:');
  try {
    return await db.query(
      `SELECT * FROM read_parquet('${join(lake, topic)}/*/*/*/*.parquet', union_by_name = true, filename = true)`,
    );
  } finally {
    db.close();
  }
}

export const sortBy = <T extends Row>(rows: T[], key: string) =>
  [...rows].sort((a, b) => (String(a[key]) < String(b[key]) ? -1 : String(a[key]) > String(b[key]) ? 1 : 0));
export const pickKeys = (rows: Row[], keys: string[]) =>
  rows.map((r) => Object.fromEntries(keys.map((k) => [k, r[k] ?? null])));

/** Every figure of the store, MongoDB and the dashboard against the independent computation `want`. */
export async function expectFigures(run: PipelineRun, want: ReturnType<typeof analytics>) {
  const store = await run.pipeline.connections.get<DuckDbClient>('store');
  expect(await store.query('SELECT count(*) AS n FROM products')).toEqual([{ n: want.products.size }]);
  expect(await store.query('SELECT count(*) AS n FROM clients')).toEqual([{ n: want.clients.size }]);
  expect(await store.query('SELECT count(*) AS n FROM invoices')).toEqual([{ n: want.invoices.size }]);
  // Every line of every invoice, keyed by invoice and line number.
  expect(
    await store.query('SELECT invoice_id, line, product_id, quantity FROM invoice_items ORDER BY invoice_id, line'),
  ).toEqual(
    [...want.lines].sort((a, b) =>
      a.invoice_id < b.invoice_id ? -1 : a.invoice_id > b.invoice_id ? 1 : a.line - b.line,
    ),
  );
  expect(
    await store.query(
      'SELECT rank, product_id, name, units_sold, revenue, total_profit FROM product_winners ORDER BY rank',
    ),
  ).toEqual(want.winners);
  expect(
    await store.query(
      'SELECT product_id, risk, expiry_date, last_movement, stock_value_at_cost FROM loss_risk_products ORDER BY product_id',
    ),
  ).toEqual(want.lossRisk);
  expect(
    await store.query(
      'SELECT client_id, total_revenue_generated, loyalty_tier, eligible_promo FROM client_loyalty ORDER BY client_id',
    ),
  ).toEqual(want.loyalty);
  expect(
    (await store.query('SELECT invoice_id FROM invoices_waiting ORDER BY invoice_id')).map((r) => r.invoice_id),
  ).toEqual(want.waiting);

  // MongoDB (stock_management) holds the same analytics.
  const mongo = await hot(run);
  expect(
    pickKeys(
      [...mongo.product_winners].sort((a, b) => Number(a.rank) - Number(b.rank)),
      ['rank', 'product_id', 'name', 'units_sold', 'revenue', 'total_profit'],
    ),
  ).toEqual(want.winners);
  expect(
    pickKeys(sortBy(mongo.loss_risk_products, 'product_id'), [
      'product_id',
      'risk',
      'expiry_date',
      'last_movement',
      'stock_value_at_cost',
    ]),
  ).toEqual(want.lossRisk);
  expect(
    pickKeys(sortBy(mongo.clients, 'client_id'), [
      'client_id',
      'total_revenue_generated',
      'loyalty_tier',
      'eligible_promo',
    ]),
  ).toEqual(want.loyalty);
  expect(sortBy(mongo.inventory, 'product_id').map((p) => p.product_id)).toEqual([...want.products.keys()].sort());

  // The administrator's dashboard answers from the same store.
  const app = await run.app();
  const widget = async (id: string, query = '') => {
    const response = await app.request(`/api/views/admin/${id}${query}`);
    expect(response.status, id).toBe(200);
    return ((await response.json()) as { data: Row[] }).data;
  };
  expect(await widget('top_products')).toEqual(
    want.winners.map((w) => ({ name: w.name, total_profit: w.total_profit })),
  );
  expect(await widget('profit')).toEqual([{ value: want.profit }]);
  expect(await widget('sales')).toEqual([{ value: want.invoiceTotal }]);
  expect(await widget('at_risk')).toEqual([{ value: want.lossRisk.length }]);
  expect(await widget('value_at_risk')).toEqual([
    { value: Math.round(want.lossRisk.reduce((s, p) => s + p.stock_value_at_cost * 100, 0)) / 100 },
  ]);
  expect(await widget('promo_clients')).toEqual([{ value: want.loyalty.filter((c) => c.eligible_promo).length }]);
  expect(await widget('waiting')).toEqual([{ value: want.waiting.length }]);
  expect(Object.fromEntries((await widget('tiers')).map((t) => [t.loyalty_tier, t.clients]))).toEqual(
    want.loyalty.reduce<Record<string, number>>(
      (n, c) => ({ ...n, [c.loyalty_tier]: (n[c.loyalty_tier] ?? 0) + 1 }),
      {},
    ),
  );
  expect(
    pickKeys(sortBy(await widget('promotions'), 'client_id'), [
      'client_id',
      'total_revenue_generated',
      'loyalty_tier',
      'eligible_promo',
    ]),
  ).toEqual(want.loyalty);
  expect((await widget('loss_risk')).map((r) => r.product_id).sort()).toEqual(
    want.lossRisk.map((p) => p.product_id).sort(),
  );
  return { store, mongo, widget };
}
