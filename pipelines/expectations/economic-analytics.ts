// An independent reading of stock_data.xlsx and of the economic-analytics manifest's analytics, in plain JS
// (exceljs, no platform code): shared by the embedded and the real-server tests.
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { repoRoot } from '../../tests/cli.ts';

export const WORKBOOK = join(repoRoot, 'pipelines', 'data', 'stock_data.xlsx');
export type Row = Record<string, unknown>;

export async function sheets(): Promise<Record<string, Row[]>> {
  const book = new ExcelJS.Workbook();
  await book.xlsx.readFile(WORKBOOK);
  const out: Record<string, Row[]> = {};
  for (const sheet of book.worksheets) {
    const rows: unknown[][] = [];
    sheet.eachRow((row) => void rows.push((row.values as unknown[]).slice(1)));
    const [header, ...body] = rows;
    out[sheet.name] = body.map((values) => Object.fromEntries((header as string[]).map((h, i) => [h, values[i] ?? null])));
  }
  return out;
}

const isId = (v: unknown) => typeof v === 'string' && /^\S{1,64}$/.test(v);
const isText = (v: unknown) => typeof v === 'string' && v.length > 0;
const isAmount = (v: unknown) => typeof v === 'number' && v >= 0;
const isDay = (v: unknown) => v instanceof Date; // every valid date of the sample is an Excel date cell
const iso = (d: Date) => d.toISOString().slice(0, 10);
const cents = (v: unknown) => Math.round(Number(v) * 100);
const daysBetween = (a: string, b: string) => Math.round((Date.parse(b) - Date.parse(a)) / 86_400_000);

export function expectations(book: Record<string, Row[]>, settings: { asOf?: string; topN?: number } = {}) {
  const products = book.Products.filter((p) => isId(p.product_id) && isText(p.name) && Number.isInteger(p.quantity) && (p.quantity as number) >= 0
    && isAmount(p.buy_price) && isAmount(p.sell_price) && (p.expiry_date === null || isDay(p.expiry_date)) && isDay(p.received_date));
  const clients = book.Clients.filter((c) => isId(c.client_id) && isText(c.name) && /^[^@\s]+@[^@\s]+\.[a-z]+$/i.test(String(c.email)));
  const invoices = book.Invoices.filter((i) => isId(i.invoice_id) && isDay(i.invoice_date) && isId(i.client_id) && isId(i.product_id)
    && Number.isInteger(i.quantity) && (i.quantity as number) >= 1);
  const product = new Map(products.map((p) => [p.product_id as string, p]));
  const client = new Map(clients.map((c) => [c.client_id as string, c]));
  const asOf = settings.asOf ?? invoices.map((i) => iso(i.invoice_date as Date)).sort().at(-1)!;

  const sales = new Map<string, { units: number; revenue: number; profit: number; last: string }>();
  const spend = new Map<string, number>();
  for (const i of invoices) {
    const p = product.get(i.product_id as string);
    if (!p) continue;
    const q = i.quantity as number;
    const s = sales.get(p.product_id as string) ?? { units: 0, revenue: 0, profit: 0, last: '' };
    s.units += q;
    s.revenue += q * cents(p.sell_price);
    s.profit += q * (cents(p.sell_price) - cents(p.buy_price));
    s.last = [s.last, iso(i.invoice_date as Date)].sort().at(-1)!;
    sales.set(p.product_id as string, s);
    spend.set(i.client_id as string, (spend.get(i.client_id as string) ?? 0) + q * cents(p.sell_price));
  }
  const winners = [...sales].filter(([, s]) => s.profit > 0)
    .sort(([a, x], [b, y]) => y.profit - x.profit || a.localeCompare(b)).slice(0, settings.topN ?? 10)
    .map(([id, s], n) => ({ rank: n + 1, product_id: id, total_profit: s.profit / 100 }));
  const lossRisk = products.filter((p) => (p.quantity as number) > 0).map((p) => {
    const expiry = p.expiry_date ? iso(p.expiry_date as Date) : null;
    const last = [iso(p.received_date as Date), sales.get(p.product_id as string)?.last ?? ''].sort().at(-1)!;
    const expiring = expiry !== null && daysBetween(asOf, expiry) <= 30;
    const dead = daysBetween(last, asOf) > 60;
    const risk = [expiry !== null && expiry < asOf ? 'expired' : expiring ? 'expiring soon' : null, dead ? 'dead stock' : null].filter(Boolean).join(' + ');
    return { product_id: p.product_id, risk, last_movement: last, flagged: expiring || dead };
  }).filter((p) => p.flagged).map(({ flagged: _, ...p }) => p).sort((a, b) => String(a.product_id).localeCompare(String(b.product_id)));
  const tier = (revenue: number) => (revenue >= 1000 ? 'Gold' : revenue >= 250 ? 'Silver' : revenue > 0 ? 'Bronze' : 'None');
  const loyalty = clients.map((c) => {
    const revenue = (spend.get(c.client_id as string) ?? 0) / 100;
    return { client_id: c.client_id, total_revenue_generated: revenue, loyalty_tier: tier(revenue), eligible_promo: revenue >= 250 };
  }).sort((a, b) => String(a.client_id).localeCompare(String(b.client_id)));
  const waiting = invoices.filter((i) => !product.has(i.product_id as string) || !client.has(i.client_id as string)).map((i) => i.invoice_id).sort();
  const profit = [...sales.values()].reduce((sum, s) => sum + s.profit, 0) / 100;
  return { products, clients, invoices, asOf, winners, lossRisk, loyalty, waiting, profit };
}
