import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDbClient } from '../core/connections/duckdb/index.ts';
import type { DocumentStore } from '../core/connections/mongodb/index.ts';
import { repoRoot } from '../tests/cli.ts';
import { expectManifestChecksPass, runOnce, tempStateDir, type PipelineRun } from '../tests/pipelines.ts';
import { writeStockWorkbook } from './data/make-stock-data.ts';
import { expectations, sheets, WORKBOOK, type Row } from './expectations/economic-analytics.ts';


function env(stateDir: string): Record<string, string> {
  return {
    ECON_KAFKA_BROKERS: 'embedded', ECON_MONGO_URL: 'embedded',
    ECON_DUCKDB_PATH: join(stateDir, 'analytics.duckdb'), ECON_LAKE_DIR: join(stateDir, 'lake'),
  };
}


// --- Driving the pipeline as its users do.

async function upload(run: PipelineRun): Promise<Response> {
  const app = await run.app();
  const body = new FormData();
  body.append('file', new File([readFileSync(WORKBOOK)], 'stock_data.xlsx'));
  return app.request('/api/views/upload/upload/workbook', { method: 'POST', body });
}

async function hot(run: PipelineRun) {
  const store = await run.pipeline.connections.get<DocumentStore>('hot');
  const read = (collection: string) => store.find(collection, {}, {}).then((docs) => docs.map(({ _id, ...d }) => d));
  return {
    inventory: await read('inventory'), clients: await read('clients'),
    product_winners: await read('product_winners'), loss_risk_products: await read('loss_risk_products'),
  };
}

async function lakeRows(lake: string, topic: string): Promise<Row[]> {
  const db = await DuckDbClient.open(':memory:');
  try {
    return await db.query(`SELECT * FROM read_parquet('${join(lake, topic)}/*/*/*/*.parquet', union_by_name = true, filename = true)`);
  } finally {
    db.close();
  }
}

const sortBy = <T extends Row>(rows: T[], key: string) => [...rows].sort((a, b) => String(a[key]).localeCompare(String(b[key])));

describe('economic analytics pipeline (embedded)', () => {
  it('passes validate and the manifest\'s own validation cases (platform test)', async () => {
    await expectManifestChecksPass('economic-analytics');
  });

  it('the committed sample workbook is exactly what pipelines/data/make-stock-data.ts generates', async () => {
    const fresh = join(tempStateDir('stock-data'), 'stock_data.xlsx');
    await writeStockWorkbook(fresh);
    expect(readFileSync(fresh).equals(readFileSync(WORKBOOK))).toBe(true);
  });

  it('uploaded workbook → topics → validated → DuckDB and MongoDB analytics equal an independent computation; re-upload changes nothing', async () => {
    const want = expectations(await sheets());
    const stateDir = tempStateDir('economic-analytics');
    const lake = join(stateDir, 'lake');

    // 1. The accountant uploads the workbook: each sheet's rows go to its topic.
    const first = await runOnce('economic-analytics', env(stateDir), stateDir);
    expect(first.ok).toBe(true);
    const response = await upload(first);
    expect(response.status).toBe(200);
    const book = await sheets();
    const rawCount = book.Products.length + book.Clients.length + book.Invoices.length;
    expect(await response.json()).toMatchObject({ records: rawCount, rejected: 0, deadLetter: '/dead-letter?steps=products-sheet,clients-sheet,invoices-sheet' });
    await first.pipeline.stop();

    // 2. The stream processor consumes the topics, stores, derives the analytics and writes MongoDB.
    const second = await runOnce('economic-analytics', env(stateDir), stateDir);
    expect(second.ok).toBe(true);
    const store = await second.pipeline.connections.get<DuckDbClient>('store');
    expect(await store.query('SELECT count(*) AS n FROM products')).toEqual([{ n: want.products.length }]);
    expect(await store.query('SELECT count(*) AS n FROM clients')).toEqual([{ n: want.clients.length }]);
    expect(await store.query('SELECT count(*) AS n FROM invoices')).toEqual([{ n: want.invoices.length }]);
    expect(await store.query('SELECT as_of FROM analytics_settings')).toEqual([{ as_of: want.asOf }]);

    const winners = await store.query('SELECT rank, product_id, total_profit FROM product_winners ORDER BY rank');
    expect(winners).toEqual(want.winners);
    const lossRisk = await store.query('SELECT product_id, risk, last_movement FROM loss_risk_products ORDER BY product_id');
    expect(lossRisk).toEqual(want.lossRisk);
    expect(new Set(want.lossRisk.map((p) => p.risk))).toEqual(new Set(['expired', 'expiring soon', 'dead stock'])); // the sample has each kind
    const loyalty = await store.query('SELECT client_id, total_revenue_generated, loyalty_tier, eligible_promo FROM client_loyalty ORDER BY client_id');
    expect(loyalty).toEqual(want.loyalty);
    expect(new Set(want.loyalty.map((c) => c.loyalty_tier))).toEqual(new Set(['Gold', 'Silver', 'Bronze', 'None']));
    expect((await store.query('SELECT invoice_id FROM invoices_waiting')).map((r) => r.invoice_id)).toEqual(want.waiting);

    // MongoDB (stock_management) holds the same analytics.
    const mongo = await hot(second);
    expect(mongo.product_winners.map(({ rank, product_id, total_profit }) => ({ rank, product_id, total_profit }))).toEqual(want.winners);
    expect(sortBy(mongo.loss_risk_products, 'product_id').map(({ product_id, risk, last_movement }) => ({ product_id, risk, last_movement }))).toEqual(want.lossRisk);
    expect(sortBy(mongo.clients, 'client_id').map(({ client_id, total_revenue_generated, loyalty_tier, eligible_promo }) => ({ client_id, total_revenue_generated, loyalty_tier, eligible_promo })))
      .toEqual(want.loyalty);
    expect(sortBy(mongo.inventory, 'product_id').map((p) => p.product_id)).toEqual(want.products.map((p) => p.product_id).sort());
    expect(mongo.inventory.find((p) => p.product_id === 'P001')).toMatchObject({ name: 'Olive oil 1L', category: 'Grocery', buy_price: 6.4, source_file: 'stock_data.xlsx' });

    // Cold storage: every raw message, dirty ones included, under today's partition.
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    for (const [topic, sheet, key] of [['topic-inventory-updates', 'Products', 'product_id'], ['topic-clients', 'Clients', 'client_id'], ['topic-raw-sales', 'Invoices', 'invoice_id']] as const) {
      const rows = await lakeRows(lake, topic);
      expect(rows.map((r) => r[key] ?? null).sort()).toEqual(book[sheet].map((r) => r[key] ?? null).sort());
      expect(rows.every((r) => String(r.filename).includes(`/${topic}/${today}/`))).toBe(true);
    }
    expect((await lakeRows(lake, 'topic-inventory-updates')).find((r) => r.product_id === 'P027')).toMatchObject({ sell_price: 'twelve' });

    // Dirty rows are in the dead-letter store, each with reasons naming the field.
    const dead = async (step: string) => (await second.pipeline.deadLetters.list({ steps: [step] })).entries;
    const reasonsOf = (entries: Awaited<ReturnType<typeof dead>>, key: string) =>
      Object.fromEntries(entries.map((e) => [String((e.record as Row)[key]), e.reasons]));
    const products = reasonsOf(await dead('valid-products'), 'product_id');
    expect(Object.keys(products).sort()).toEqual(['P027', 'P028', 'P029', 'null']);
    expect(products.P027).toEqual(['sell_price: must be number']);
    expect(products.P028).toEqual(['buy_price: must be >= 0']);
    expect(products.P029).toContain('expiry_date: must match format "date"');
    expect(products.null).toEqual(['product_id: must be string']);
    const clients = reasonsOf(await dead('valid-clients'), 'client_id');
    expect(clients).toEqual({ C013: ['email: must match format "email"'], C014: ['name: must NOT have fewer than 1 characters'] });
    const invoices = reasonsOf(await dead('valid-invoices'), 'invoice_id');
    expect(Object.keys(invoices)).toHaveLength(book.Invoices.length - want.invoices.length);
    expect(Object.values(invoices).flat().map((r) => r.split(':')[0]).sort()).toEqual(['client_id', 'invoice_date', 'invoice_date', 'invoice_date', 'quantity', 'quantity']);

    // The administrator's dashboard answers from the same store.
    const app = await second.app();
    const widget = async (id: string, query = '') => (await (await app.request(`/api/views/admin/${id}${query}`)).json()) as { data: Row[]; meta: { freshness: { rejected: number } } };
    expect((await widget('top_products')).data).toEqual(want.winners.map((w) => ({ name: want.products.find((p) => p.product_id === w.product_id)!.name, total_profit: w.total_profit })));
    expect((await widget('profit')).data).toEqual([{ value: want.profit }]);
    expect((await widget('at_risk')).data).toEqual([{ value: want.lossRisk.length }]);
    expect((await widget('waiting')).data).toEqual([{ value: want.waiting.length }]);
    const tiers = (await widget('tiers')).data;
    expect(Object.fromEntries(tiers.map((t) => [t.loyalty_tier, t.clients])))
      .toEqual(want.loyalty.reduce<Record<string, number>>((n, c) => ({ ...n, [c.loyalty_tier]: (n[c.loyalty_tier] ?? 0) + 1 }), {}));
    const risk = await widget('loss_risk');
    expect(risk.data.map((r) => r.product_id).sort()).toEqual(want.lossRisk.map((p) => p.product_id));
    // Rejects are visible on the cards: those upstream of what the card reads (loss_risk_products reads products and invoices).
    expect(risk.meta.freshness.rejected).toBe(book.Products.length + book.Invoices.length - want.products.length - want.invoices.length);
    const dairy = await widget('at_risk', '?category=Dairy');
    expect(dairy.data).toEqual([{ value: want.lossRisk.filter((p) => want.products.find((x) => x.product_id === p.product_id)!.category === 'Dairy').length }]);
    expect((await (await app.request('/views/admin')).text())).toContain('Stock analytics');
    expect((await (await app.request('/views/upload')).text())).toContain('Stock workbook upload');

    // 3. The same file again: every table and collection stays as it was, no new dead letter.
    const before = { mongo, tables: await store.query('SELECT * FROM products ORDER BY product_id'), rejected: await second.pipeline.deadLetters.list({}) };
    expect((await upload(second)).status).toBe(200);
    await second.pipeline.stop();
    const third = await runOnce('economic-analytics', env(stateDir), stateDir);
    expect(third.ok).toBe(true);
    const again = await third.pipeline.connections.get<DuckDbClient>('store');
    expect(await again.query('SELECT * FROM products ORDER BY product_id')).toEqual(before.tables);
    expect(await again.query('SELECT count(*) AS n FROM invoices')).toEqual([{ n: want.invoices.length }]);
    expect(await hot(third)).toEqual(before.mongo);
    expect((await third.pipeline.deadLetters.list({})).total).toBe(before.rejected.total);
    expect(await lakeRows(lake, 'topic-raw-sales')).toHaveLength(2 * book.Invoices.length); // cold storage keeps both arrivals
    await third.pipeline.stop();

    // 4. The thresholds are settings: a fixed reference date and a top 3 re-derive both stores accordingly.
    const pinned = expectations(book, { asOf: '2024-04-15', topN: 3 });
    expect(pinned.lossRisk).not.toEqual(want.lossRisk);
    const fourth = await runOnce('economic-analytics', { ...env(stateDir), ECON_AS_OF: '2024-04-15', ECON_TOP_N: '3' }, stateDir);
    expect(fourth.ok).toBe(true);
    const settled = await hot(fourth);
    expect(settled.product_winners.map(({ rank, product_id, total_profit }) => ({ rank, product_id, total_profit }))).toEqual(pinned.winners);
    expect(sortBy(settled.loss_risk_products, 'product_id').map(({ product_id, risk, last_movement }) => ({ product_id, risk, last_movement }))).toEqual(pinned.lossRisk);
    const pinnedStore = await fourth.pipeline.connections.get<DuckDbClient>('store');
    expect(await pinnedStore.query('SELECT product_id, risk, last_movement FROM loss_risk_products ORDER BY product_id')).toEqual(pinned.lossRisk);
    await fourth.pipeline.stop();

    // 5. Results that become empty empty their collections (no stale rows shown as current): judged as of a date
    // before every receipt and expiry, no product is at risk; a top 0 has no winner.
    const none = expectations(book, { asOf: '2000-01-01', topN: 0 });
    expect([none.lossRisk, none.winners]).toEqual([[], []]);
    const fifth = await runOnce('economic-analytics', { ...env(stateDir), ECON_AS_OF: '2000-01-01', ECON_TOP_N: '0' }, stateDir);
    expect(fifth.ok).toBe(true);
    const emptied = await hot(fifth);
    expect([emptied.loss_risk_products, emptied.product_winners]).toEqual([[], []]);
    expect(sortBy(emptied.clients, 'client_id').map((c) => c.client_id)).toEqual(want.loyalty.map((c) => c.client_id)); // upserted collections keep theirs
    await fifth.pipeline.stop();
  }, 60_000);
});
