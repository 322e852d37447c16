// The economic-analytics original's rules (ORIGINALS.md 001, its bugs fixed), written out independently of the
// manifest in plain TypeScript (exceljs to read workbooks, integer cents for money): shared by the embedded and the
// real-server tests.
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { repoRoot } from '../../tests/cli.ts';

export type Row = Record<string, unknown>;
export const SAMPLE_WORKBOOK = join(repoRoot, 'pipelines', 'data', 'stock_data.xlsx');
export const SINGLE_SHEET_WORKBOOK = join(repoRoot, 'pipelines', 'data', 'stock_data_single_sheet.xlsx');

/** A workbook's sheets as rows keyed by the header cells (values as exceljs reads them: numbers, text, Dates, null). */
export async function readWorkbook(path: string): Promise<Record<string, Row[]>> {
  const book = new ExcelJS.Workbook();
  await book.xlsx.readFile(path);
  const out: Record<string, Row[]> = {};
  for (const sheet of book.worksheets) {
    const rows: unknown[][] = [];
    sheet.eachRow((row) => void rows.push((row.values as unknown[]).slice(1)));
    const [header, ...body] = rows;
    out[sheet.name] = body.map((values) =>
      Object.fromEntries((header as string[]).map((h, i) => [h, values[i] ?? null])),
    );
  }
  return out;
}

// --- The producer: sheets → the original's Kafka messages (kafka_producer.py's renames and grouping).

export interface Messages {
  inventory: Row[];
  clients: Row[];
  sales: Row[];
}

/** A date cell as the producer sends it (ISO text); other values as they are. */
const cell = (v: unknown) => (v instanceof Date ? v.toISOString().slice(0, 19) : (v ?? null));

/** The four-sheet workbook: Products/Clients renamed, one sales message per invoice with its Invoice_Details as items. */
export function originalMessages(book: Record<string, Row[]>): Messages {
  const inventory = book.Products.map((p) => ({
    product_id: p.id,
    name: p.name,
    quantity: p.quantity,
    sell_price: p.price,
    category: p.category,
    buy_price: p.buy_price,
    min_margin_threshold: p.min_margin_threshold,
    last_movement: cell(p.last_movement),
    expiry_date: cell(p.expiry_date),
    batch_no: p.batch_no,
  }));
  const clients = book.Clients.map((c) => ({
    client_id: c.id,
    name: c.name,
    email: c.email,
    phone: c.phone,
    total_revenue_generated: c.total_revenue_generated,
    loyalty_tier: c.loyalty_tier,
  }));
  const linesOf = new Map<string, Row[]>();
  for (const d of [...book.Invoice_Details].sort((a, b) => Number(a.id) - Number(b.id))) {
    const key = String(d.facture_id);
    linesOf.set(key, [...(linesOf.get(key) ?? []), { product_id: d.product_id, quantity: d.quantity }]);
  }
  const headers = book.Invoices.filter((i) => i.id !== null);
  const sales: Row[] = headers.map((i) => ({
    invoice_id: i.id,
    client_id: i.client_id,
    timestamp: cell(i.date),
    total_amount: i.total,
    items: linesOf.get(String(i.id)) ?? [],
  }));
  // Lines whose invoice is missing are sent too (the consumer refuses them by name).
  for (const [key, items] of linesOf) {
    if (!headers.some((i) => String(i.id) === key))
      sales.push({ invoice_id: Number(key), client_id: null, timestamp: null, total_amount: null, items });
  }
  return { inventory, clients, sales };
}

/** The single-sheet form: product_id/sell_price/received_date, client_id, and invoice rows grouped by invoice_id. */
export function singleSheetMessages(book: Record<string, Row[]>): Messages {
  const inventory = book.Products.map((p) => ({
    product_id: p.product_id,
    name: p.name,
    quantity: p.quantity,
    sell_price: p.sell_price,
    category: p.category,
    buy_price: p.buy_price,
    min_margin_threshold: null,
    last_movement: cell(p.received_date),
    expiry_date: cell(p.expiry_date),
    batch_no: null,
  }));
  const clients = book.Clients.map((c) => ({
    client_id: c.client_id,
    name: c.name,
    email: c.email,
    phone: null,
    total_revenue_generated: null,
    loyalty_tier: null,
  }));
  const sales = new Map<string, Row>();
  for (const row of book.Invoices) {
    if (row.invoice_id === null) continue;
    const sale = sales.get(String(row.invoice_id)) ?? {
      invoice_id: row.invoice_id,
      client_id: row.client_id,
      timestamp: cell(row.invoice_date),
      total_amount: null,
      items: [],
    };
    (sale.items as Row[]).push({ product_id: row.product_id, quantity: row.quantity });
    sales.set(String(row.invoice_id), sale);
  }
  return { inventory, clients, sales: [...sales.values()] };
}

// --- The consumer's validation, written as plain checks (the reasons' fields, not their wording).

const isId = (v: unknown) =>
  (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^\S{1,64}$/.test(v));
const isCount = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;
const isAmount = (v: unknown) => typeof v === 'number' && v >= 0;
const NO_DATE = new Set(['', 'NONE', 'NAN', 'NAT', 'NULL', 'N/A', '-']);

/** A date field: null when it holds no date, the calendar day, or undefined when the text is no date. */
export function dateOf(v: unknown): string | null | undefined {
  if (v === null || v === undefined || NO_DATE.has(String(v).trim().toUpperCase())) return null;
  const text = String(v).trim();
  if (!/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/.test(text)) return undefined;
  const iso = text.slice(0, 10);
  const parsed = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(iso) ? iso : undefined;
}

const cents = (v: unknown) => Math.round(Number(v) * 100);

export interface Product {
  product_id: string;
  name: string;
  quantity: number;
  sell: number;
  buy: number;
  category: unknown;
  last_movement: string | null;
  expiry_date: string | null;
}
export interface Client {
  client_id: string;
  name: string;
  recorded_revenue: number | null;
}
export interface Invoice {
  invoice_id: string;
  client_id: string;
  date: string;
  total: number | null;
  items: { product_id: string; quantity: number }[];
}

export function validMessages(messages: Messages) {
  const rejected = { inventory: [] as Row[], clients: [] as Row[], sales: [] as Row[] };
  const products = new Map<string, Product>();
  for (const p of messages.inventory) {
    const last = dateOf(p.last_movement);
    const expiry = dateOf(p.expiry_date);
    const ok =
      isId(p.product_id) &&
      typeof p.name === 'string' &&
      p.name.length > 0 &&
      isCount(p.quantity, 0) &&
      isAmount(p.sell_price) &&
      isAmount(p.buy_price) &&
      last !== undefined &&
      expiry !== undefined;
    if (!ok) rejected.inventory.push(p);
    else
      products.set(String(p.product_id), {
        product_id: String(p.product_id),
        name: String(p.name).trim(),
        quantity: p.quantity as number,
        sell: cents(p.sell_price),
        buy: cents(p.buy_price),
        category: p.category,
        last_movement: last,
        expiry_date: expiry,
      });
  }
  const clients = new Map<string, Client>();
  for (const c of messages.clients) {
    const ok =
      isId(c.client_id) &&
      typeof c.name === 'string' &&
      c.name.length > 0 &&
      (c.email === null || /^[^@\s]+@[^@\s]+\.[a-z]+$/i.test(String(c.email)));
    if (!ok) rejected.clients.push(c);
    else
      clients.set(String(c.client_id), {
        client_id: String(c.client_id),
        name: String(c.name).trim(),
        recorded_revenue: c.total_revenue_generated === null ? null : cents(c.total_revenue_generated),
      });
  }
  const invoices = new Map<string, Invoice>();
  for (const s of messages.sales) {
    const items = Array.isArray(s.items) ? (s.items as Row[]) : [];
    const date = typeof s.timestamp === 'string' ? dateOf(s.timestamp) : undefined;
    const ok =
      isId(s.invoice_id) &&
      isId(s.client_id) &&
      typeof date === 'string' &&
      (s.total_amount === null || isAmount(s.total_amount)) &&
      items.length > 0 &&
      items.every((i) => isId(i.product_id) && isCount(i.quantity, 1));
    if (!ok) rejected.sales.push(s);
    else
      invoices.set(String(s.invoice_id), {
        invoice_id: String(s.invoice_id),
        client_id: String(s.client_id),
        date: date!,
        total: s.total_amount === null ? null : cents(s.total_amount),
        items: items.map((i) => ({ product_id: String(i.product_id), quantity: i.quantity as number })),
      });
  }
  return { products, clients, invoices, rejected };
}

// --- The analytics (money in cents).

export interface Settings {
  asOf: string;
  topN?: number;
  promo?: number;
  gold?: number;
  silver?: number;
  expiryWithin?: number;
  noMovement?: number;
}

const plusDays = (iso: string, days: number) =>
  new Date(Date.parse(`${iso}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function analytics(messages: Messages, settings: Settings) {
  const { products, clients, invoices, rejected } = validMessages(messages);
  const {
    asOf,
    topN = 10,
    promo = 10_000_00,
    gold = 20_000_00,
    silver = 10_000_00,
    expiryWithin = 7,
    noMovement = 30,
  } = settings;
  const lines = [...invoices.values()].flatMap((i) =>
    i.items.map((item, n) => ({ invoice_id: i.invoice_id, line: n + 1, ...item })),
  );

  const sales = new Map<string, { units: number; revenue: number; profit: number }>();
  for (const line of lines) {
    const p = products.get(line.product_id);
    if (!p) continue;
    const s = sales.get(p.product_id) ?? { units: 0, revenue: 0, profit: 0 };
    s.units += line.quantity;
    s.revenue += line.quantity * p.sell;
    s.profit += line.quantity * (p.sell - p.buy);
    sales.set(p.product_id, s);
  }
  const winners = [...sales]
    .sort(([a, x], [b, y]) => y.profit - x.profit || byText(a, b))
    .slice(0, topN)
    .map(([id, s], n) => ({
      rank: n + 1,
      product_id: id,
      name: products.get(id)!.name,
      units_sold: s.units,
      revenue: s.revenue / 100,
      total_profit: s.profit / 100,
    }));

  const expiringBefore = plusDays(asOf, expiryWithin);
  const movedBefore = plusDays(asOf, -noMovement);
  const lossRisk = [...products.values()]
    .map((p) => {
      const expiring = p.expiry_date !== null && p.expiry_date < expiringBefore;
      const dead = p.last_movement !== null && p.last_movement < movedBefore;
      const risk = [
        p.expiry_date !== null && p.expiry_date < asOf ? 'expired' : expiring ? 'expiring soon' : null,
        dead ? 'dead stock' : null,
      ]
        .filter(Boolean)
        .join(' + ');
      return {
        product_id: p.product_id,
        risk,
        expiry_date: p.expiry_date,
        last_movement: p.last_movement,
        flagged: expiring || dead,
        stock_value_at_cost: (p.quantity * p.buy) / 100,
      };
    })
    .filter((p) => p.flagged)
    .map(({ flagged: _, ...p }) => p)
    .sort((a, b) => byText(a.product_id, b.product_id));

  // Each invoice once: its total, or its lines at catalogue prices.
  const totals = new Map(
    [...invoices.values()].map((i) => [
      i.invoice_id,
      i.total ?? i.items.reduce((sum, item) => sum + item.quantity * (products.get(item.product_id)?.sell ?? 0), 0),
    ]),
  );
  const revenue = new Map<string, number>();
  for (const i of invoices.values())
    revenue.set(i.client_id, (revenue.get(i.client_id) ?? 0) + totals.get(i.invoice_id)!);
  const loyalty = [...clients.values()]
    .map((c) => {
      const r = revenue.get(c.client_id) ?? 0;
      return {
        client_id: c.client_id,
        total_revenue_generated: r / 100,
        loyalty_tier: r >= gold ? 'Gold' : r >= silver ? 'Silver' : 'Standard',
        eligible_promo: r > promo,
      };
    })
    .sort((a, b) => byText(a.client_id, b.client_id));

  const waiting = [...invoices.values()]
    .filter((i) => !clients.has(i.client_id) || i.items.some((item) => !products.has(item.product_id)))
    .map((i) => i.invoice_id)
    .sort(byText);
  const profit = [...sales.values()].reduce((sum, s) => sum + s.profit, 0) / 100;
  const invoiceTotal = [...totals.values()].reduce((a, b) => a + b, 0) / 100;
  return { products, clients, invoices, lines, rejected, winners, lossRisk, loyalty, waiting, profit, invoiceTotal };
}
