import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DuckDbClient } from '../connections/duckdb/index.ts';
import type { TopicClient } from '../connections/kafka/index.ts';
import { expectManifestChecksPass, runOnce, tempStateDir } from '../tests/pipelines.ts';
import {
  env,
  expectFigures,
  hot,
  lakeRows,
  topicMessages,
  upload,
  uploadAndProcess,
} from './expectations/economic-analytics-run.ts';
import {
  ORIGINAL_SAMPLE_DAY,
  originalStockData,
  writeStockWorkbooks,
  writeWorkbook,
  type Sheets,
} from './data/make-stock-data.ts';
import {
  analytics,
  originalMessages,
  readWorkbook,
  SAMPLE_WORKBOOK,
  SINGLE_SHEET_WORKBOOK,
  singleSheetMessages,
  type Messages,
  type Row,
} from './expectations/economic-analytics.ts';

async function workbookFile(prefix: string, sheets: Sheets): Promise<string> {
  const file = join(tempStateDir(prefix), 'stock_data.xlsx');
  await writeWorkbook(file, sheets);
  return file;
}

describe('economic analytics pipeline (embedded)', () => {
  it("passes validate and the manifest's own validation cases (platform test)", async () => {
    await expectManifestChecksPass('economic-analytics');
  });

  it('the committed sample workbooks are exactly what pipelines/data/make-stock-data.ts writes', async () => {
    const folder = tempStateDir('stock-data');
    await writeStockWorkbooks(folder);
    expect(readFileSync(join(folder, 'stock_data.xlsx')).equals(readFileSync(SAMPLE_WORKBOOK))).toBe(true);
    expect(readFileSync(join(folder, 'stock_data_single_sheet.xlsx')).equals(readFileSync(SINGLE_SHEET_WORKBOOK))).toBe(
      true,
    );
  });

  it("the original's four-sheet workbook: the original's messages on its topics, every line of every invoice counted, figures equal an independent computation in DuckDB, MongoDB and the dashboard; a re-upload changes nothing", async () => {
    const file = await workbookFile('econ-original', originalStockData());
    const book = await readWorkbook(file);
    const settings = { ECON_AS_OF: ORIGINAL_SAMPLE_DAY };
    const want = analytics(originalMessages(book), { asOf: ORIGINAL_SAMPLE_DAY });
    // The data has what the rules are about: multi-line invoices, each kind of risk, each tier, both promo answers.
    expect([...want.invoices.values()].filter((i) => i.items.length > 1).length).toBeGreaterThan(30);
    expect(new Set(want.lossRisk.map((p) => p.risk))).toEqual(
      new Set(['expired', 'expiring soon', 'dead stock', 'expiring soon + dead stock']),
    );
    expect(new Set(want.loyalty.map((c) => c.loyalty_tier))).toEqual(new Set(['Gold', 'Silver', 'Standard']));
    expect(want.loyalty.find((c) => c.client_id === '18')).toEqual({
      client_id: '18',
      total_revenue_generated: 10000,
      loyalty_tier: 'Silver',
      eligible_promo: false,
    });
    expect(want.loyalty.find((c) => c.client_id === '19')).toEqual({
      client_id: '19',
      total_revenue_generated: 20000,
      loyalty_tier: 'Gold',
      eligible_promo: true,
    });

    const stateDir = tempStateDir('economic-analytics');
    const { uploaded, run } = await uploadAndProcess(stateDir, file, settings);
    const sheetRows = Object.values(book).reduce((n, rows) => n + rows.length, 0);
    expect(uploaded).toMatchObject({ records: sheetRows, rejected: 0 });

    // The topics carry the original's messages: its keys, in its order, with its values (the digest's examples).
    const inventoryMessages = await topicMessages(run, 'topic-inventory-updates');
    expect(inventoryMessages[0]).toEqual({
      product_id: 2,
      name: 'sechoire',
      quantity: 58,
      sell_price: 200,
      category: 'women',
      buy_price: 380,
      min_margin_threshold: 15,
      last_movement: 'None',
      expiry_date: 'None',
      batch_no: 'None',
    });
    expect(Object.keys(inventoryMessages[0])).toEqual([
      'product_id',
      'name',
      'quantity',
      'sell_price',
      'category',
      'buy_price',
      'min_margin_threshold',
      'last_movement',
      'expiry_date',
      'batch_no',
    ]);
    expect((await topicMessages(run, 'topic-clients'))[0]).toEqual({
      client_id: 1,
      name: 'adil',
      email: 'adilchagri7@gmail.com',
      phone: '0770498926',
      total_revenue_generated: 11500,
      loyalty_tier: 'Silver',
    });
    const salesMessages = await topicMessages(run, 'topic-raw-sales');
    expect(salesMessages.find((m) => m.invoice_id === 3)).toEqual({
      invoice_id: 3,
      client_id: 1,
      timestamp: '2025-12-27 13:49:04',
      total_amount: 11100,
      items: [{ product_id: 4, quantity: 2 }],
    });
    expect(Object.keys(salesMessages[0])).toEqual(['invoice_id', 'client_id', 'timestamp', 'total_amount', 'items']);
    expect(salesMessages.find((m) => m.invoice_id === 71)!.items).toEqual([
      { product_id: 2, quantity: 60 },
      { product_id: 2, quantity: 40 },
    ]);
    expect(salesMessages).toHaveLength(book.Invoices.length + 1); // one per invoice, and the lines without their invoice

    const { store, mongo } = await expectFigures(run, want);
    // The dashboard shows the date loss risk is judged as of.
    const app = await run.app();
    expect(((await (await app.request('/api/views/admin/as_of')).json()) as { data: Row[] }).data).toEqual([
      { value: ORIGINAL_SAMPLE_DAY },
    ]);
    expect(await (await app.request('/views/admin')).text()).toContain('Loss risk judged as of');
    expect(mongo.inventory.find((p) => p.product_id === '2')).toMatchObject({
      name: 'sechoire',
      sell_price: 200,
      buy_price: 380,
      last_movement: null,
      expiry_date: null,
    });

    // Cold storage: every message, the refused ones too, under the day it arrived.
    const lake = join(stateDir, 'lake');
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    for (const [topic, messages] of [
      ['topic-inventory-updates', inventoryMessages],
      ['topic-raw-sales', salesMessages],
    ] as const) {
      const rows = await lakeRows(lake, topic);
      expect(rows).toHaveLength(messages.length);
      expect(rows.every((r) => String(r.filename).includes(`/${topic}/${today}/`))).toBe(true);
    }

    // Dirty rows are in the dead-letter store, each with reasons naming the field.
    const dead = async (step: string) => (await run.pipeline.deadLetters.list({ steps: [step], limit: 1000 })).entries;
    const reasonsOf = async (steps: string[], key: string) =>
      Object.fromEntries(
        (await Promise.all(steps.map(dead))).flat().map((e) => [String((e.record as Row)[key]), e.reasons.join('; ')]),
      );
    const products = await reasonsOf(['valid-products', 'product-rows'], 'product_id');
    expect(Object.keys(products).sort()).toEqual(want.rejected.inventory.map((p) => String(p.product_id)).sort());
    expect(products['90']).toBe('sell_price: must be number');
    expect(products['91']).toBe('buy_price: must be >= 0');
    expect(products['92']).toBe('expiry_date: "2025-02-31" is not a date');
    const clients = await reasonsOf(['valid-clients'], 'client_id');
    expect(clients).toEqual({
      16: 'email: must match format "email"',
      17: 'name: must NOT have fewer than 1 characters',
    });
    const invoices = await reasonsOf(['valid-invoices', 'invoice-rows'], 'invoice_id');
    expect(invoices).toEqual({
      67: 'items.1.quantity: must be >= 1',
      68: 'items: must NOT have fewer than 1 items',
      69: 'timestamp: "last tuesday" is not a date or date-time',
      500: 'client_id: must be integer,string; timestamp: must be string',
    });

    // The same workbook again: every table and collection stays as it was, no new dead letter.
    const deadLetters = async (r: typeof run) =>
      (await r.pipeline.deadLetters.list({ limit: 1000 })).entries
        .map((e) => `${e.step}: ${JSON.stringify(e.record)} ${e.reasons.join('; ')}`)
        .sort();
    const before = {
      mongo,
      lines: await store.query('SELECT * FROM invoice_lines ORDER BY ALL'),
      deadLetters: await deadLetters(run),
    };
    expect((await upload(run, file)).status).toBe(200);
    await run.pipeline.stop();
    const again = await runOnce('economic-analytics', env(stateDir, settings), stateDir);
    expect(again.ok).toBe(true);
    const store2 = await again.pipeline.connections.get<DuckDbClient>('store');
    expect(await store2.query('SELECT * FROM invoice_lines ORDER BY ALL')).toEqual(before.lines);
    await expectFigures(again, want);
    expect(await hot(again)).toEqual(before.mongo);
    expect(await deadLetters(again)).toEqual(before.deadLetters);
    expect(await lakeRows(lake, 'topic-raw-sales')).toHaveLength(2 * salesMessages.length); // cold storage keeps both arrivals
    await again.pipeline.stop();

    // An invoice sent again with fewer lines keeps only those (its lines are replaced, not added to).
    const edited = originalStockData();
    edited.Invoice_Details = edited.Invoice_Details.filter((d, i) => i === 0 || !(d[1] === 71 && d[3] === 40));
    edited.Invoices = edited.Invoices.map((r) => (r[0] === 71 ? [71, 19, r[2], 12000] : r));
    const third = await uploadAndProcess(stateDir, await workbookFile('econ-edited', edited), settings);
    const wantEdited = analytics(originalMessages(await readWorkbook(await workbookFile('econ-edited-read', edited))), {
      asOf: ORIGINAL_SAMPLE_DAY,
    });
    expect(wantEdited.loyalty.find((c) => c.client_id === '19')).toMatchObject({
      total_revenue_generated: 12000,
      loyalty_tier: 'Silver',
    });
    await expectFigures(third.run, wantEdited);
    await third.run.pipeline.stop();
  }, 120_000);

  it("the digest's worked example: the original's own sample gives its winners, and without double counting only adil is above 10,000; today is the default date", async () => {
    const sample = originalStockData();
    const only = (rows: unknown[][], n: number) => rows.slice(0, n + 1);
    const sheets: Sheets = {
      Products: only(sample.Products, 3),
      Clients: only(sample.Clients, 3),
      Invoices: only(sample.Invoices, 4),
      Invoice_Details: only(sample.Invoice_Details, 4),
    };
    const file = await workbookFile('econ-sample', sheets);
    const stateDir = tempStateDir('economic-analytics');
    const { run } = await uploadAndProcess(stateDir, file);
    const today = new Date().toISOString().slice(0, 10);
    const want = analytics(originalMessages(await readWorkbook(file)), { asOf: today });
    // ORIGINALS.md 001 §3, computed by hand there: sechoire −360, laptop lenovo −3,900, machine a laver −7,800.
    expect(want.winners.map((w) => [w.name, w.total_profit])).toEqual([
      ['sechoire', -360],
      ['laptop lenovo', -3900],
      ['machine a laver', -7800],
    ]);
    expect(want.loyalty).toEqual([
      { client_id: '1', total_revenue_generated: 11500, loyalty_tier: 'Silver', eligible_promo: true },
      { client_id: '2', total_revenue_generated: 7500, loyalty_tier: 'Standard', eligible_promo: false },
      { client_id: '3', total_revenue_generated: 1500, loyalty_tier: 'Standard', eligible_promo: false },
    ]);
    await expectFigures(run, want);
    const store = await run.pipeline.connections.get<DuckDbClient>('store');
    expect(await store.query("SELECT strftime(as_of, '%Y-%m-%d') AS as_of FROM analytics_settings")).toEqual([
      { as_of: today },
    ]);
    expect(await store.query('SELECT count(*) AS n FROM loss_risk_products')).toEqual([{ n: 0 }]); // "None" is no date
    await run.pipeline.stop();
  }, 60_000);

  it('the single-sheet form: invoice rows sharing an invoice_id are one invoice of several lines; the thresholds are settings', async () => {
    const book = await readWorkbook(SINGLE_SHEET_WORKBOOK);
    const want = analytics(singleSheetMessages(book), { asOf: '2024-05-31' });
    expect([...want.invoices.values()].filter((i) => i.items.length > 1).length).toBeGreaterThan(20);
    const stateDir = tempStateDir('economic-analytics');
    const { run } = await uploadAndProcess(stateDir, SINGLE_SHEET_WORKBOOK, { ECON_AS_OF: 'data' });
    await expectFigures(run, want);
    expect((await run.pipeline.deadLetters.list({ steps: ['valid-invoices', 'invoice-rows'] })).total).toBe(
      want.rejected.sales.length,
    );
    await run.pipeline.stop();

    // Other thresholds, from the environment: a top 3, lower tiers, a 60-day expiry window.
    const other = {
      ECON_AS_OF: '2024-04-15',
      ECON_TOP_N: '3',
      ECON_GOLD_REVENUE: '1000',
      ECON_SILVER_REVENUE: '250',
      ECON_PROMO_REVENUE: '400',
      ECON_EXPIRY_WITHIN_DAYS: '60',
      ECON_NO_MOVEMENT_DAYS: '45',
    };
    const pinned = analytics(singleSheetMessages(book), {
      asOf: '2024-04-15',
      topN: 3,
      gold: 1000_00,
      silver: 250_00,
      promo: 400_00,
      expiryWithin: 60,
      noMovement: 45,
    });
    expect(new Set(pinned.loyalty.map((c) => c.loyalty_tier))).toEqual(new Set(['Gold', 'Silver', 'Standard']));
    const rerun = await runOnce('economic-analytics', env(stateDir, other), stateDir);
    expect(rerun.ok).toBe(true);
    await expectFigures(rerun, pinned);
    await rerun.pipeline.stop();
  }, 60_000);

  it('messages in the original\'s shapes produced straight to its topics (as its kafka_producer.py: int ids, "None", NaN for an empty cell) give the same figures', async () => {
    const book = await readWorkbook(SAMPLE_WORKBOOK);
    const messages: Messages = originalMessages(book);
    const stateDir = tempStateDir('economic-analytics');
    const first = await runOnce('economic-analytics', env(stateDir, { ECON_AS_OF: ORIGINAL_SAMPLE_DAY }), stateDir);
    const bus = await first.pipeline.connections.get<TopicClient>('bus');
    // Python's json.dumps writes the NaN of an empty cell as a bare NaN token.
    const python = (m: Row) => JSON.stringify(m).replace(/"category":null/, '"category":NaN');
    for (const [topic, rows] of [
      ['topic-inventory-updates', messages.inventory],
      ['topic-clients', messages.clients],
      ['topic-raw-sales', messages.sales],
    ] as const) {
      await bus.createTopic(topic);
      await bus.produce(
        topic,
        rows.map((m) => ({
          key: null,
          value: python(topic === 'topic-inventory-updates' && m.product_id === 5 ? { ...m, category: null } : m),
        })),
      );
    }
    await first.pipeline.stop();
    const run = await runOnce('economic-analytics', env(stateDir, { ECON_AS_OF: ORIGINAL_SAMPLE_DAY }), stateDir);
    expect(run.ok).toBe(true);
    await expectFigures(run, analytics(messages, { asOf: ORIGINAL_SAMPLE_DAY }));
    const store = await run.pipeline.connections.get<DuckDbClient>('store');
    expect(await store.query("SELECT category FROM products WHERE product_id = '5'")).toEqual([{ category: null }]);
    await run.pipeline.stop();
  }, 60_000);
});
