// The sales-ETL original's sheet and rules (ORIGINALS.md 002), written out independently of the manifest in plain
// TypeScript (money in cents): sheets made here in its 24-column CSV format as its csv_generator.py writes them, the
// checks of its pydantic SalesRecord, and its dashboard's KPIs. Shared by the embedded and the real-server tests.
import { random } from '../data/random.ts';
import { csvCell, splitCsvLine } from './csv.ts';

export const HEADERS = [
  'Sale Date',
  'Sale ID',
  'Product ID',
  'Product Name',
  'Product Category',
  'Quantity Sold',
  'Unit Price',
  'Discount (%)',
  'Total Value (with Discount)',
  'Unit Cost',
  'Total Cost',
  'Gross Profit',
  'Payment Method',
  'Payment Status',
  'Payment Date',
  'Customer ID',
  'Customer Name',
  'Sales Channel',
  'Sales Region',
  'Sales Representative',
  'Customer Rating',
  'Shipping Cost',
  'Delivery Status',
  'Delivery Date',
];

const PRODUCTS = [
  'Apples',
  'Bananas',
  'Carrots',
  'Spinach',
  'Milk',
  'Cheese',
  'Yogurt',
  'Butter',
  'Orange Juice',
  'Coffee',
  'Mineral Water',
  'Soda',
  'Potato Chips',
  'Chocolate Bar',
  'Nuts',
  'Crackers',
  'Dish Soap',
  'Paper Towels',
  'Laundry Detergent',
  'Trash Bags',
];
const CATEGORIES = ['Fresh Produce', 'Dairy Products', 'Beverages', 'Snacks', 'Household Essentials'];
const REPS = Array.from({ length: 30 }, (_, i) => `Rep ${String.fromCharCode(65 + (i % 26))}${i}`);

export const keyOf = (date: string, prefix = 'CSV/') => `${prefix}sales_data_${date.replaceAll('-', '')}.csv`;

/** pandas' to_csv of a float: 120.5, 325.35, 50.0 */
const pyFloat = (x: number) => (Number.isInteger(x) ? `${x}.0` : String(x));
const round2 = (x: number) => Math.round(x * 100) / 100;
const plusDays = (iso: string, days: number) =>
  new Date(Date.parse(`${iso}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** A day's sheet as the original's generator writes it (its value lists, formulas, empty dates), rows of cells. */
export function originalSheet(date: string, rows: number, seed: number): string[][] {
  const rand = random(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)];
  return Array.from({ length: rows }, (_, i) => {
    const quantity = int(1, 10);
    const unitPrice = round2(50 + rand() * 450);
    const discount = pick([0, 5, 10, 15, 20]);
    const totalValue = round2(quantity * unitPrice * (1 - discount / 100));
    const unitCost = round2(unitPrice * (0.5 + rand() * 0.3));
    const totalCost = round2(quantity * unitCost);
    const paymentStatus = pick(['Paid', 'Pending', 'Canceled']);
    const deliveryStatus = pick(['Delivered', 'In Transit', 'Canceled']);
    return [
      date,
      `${seed.toString(16)}-${date}-${String(i).padStart(4, '0')}-4e2a-9c1f-0d2b7a5e8c11`,
      `PRD${int(10000, 99999)}`,
      pick(PRODUCTS),
      pick(CATEGORIES),
      String(quantity),
      pyFloat(unitPrice),
      String(discount),
      pyFloat(totalValue),
      pyFloat(unitCost),
      pyFloat(totalCost),
      pyFloat(round2(totalValue - totalCost)),
      pick(['Credit Card', 'Pix', 'Invoice', 'Bank Transfer']),
      paymentStatus,
      paymentStatus === 'Paid' ? plusDays(date, int(0, 5)) : '',
      `CUS${int(1000, 9999)}`,
      `Customer ${int(1, 500)}`,
      pick(['Online Store', 'Marketplace', 'Physical Store']),
      pick(['New York', 'California', 'Texas', 'Florida', 'Illinois']),
      pick(REPS),
      pick(['1 star', '2 stars', '3 stars', '4 stars', '5 stars']),
      pyFloat(round2(5 + rand() * 45)),
      deliveryStatus,
      deliveryStatus === 'Delivered' ? plusDays(date, int(1, 10)) : '',
    ];
  });
}

/** A CSV as pandas writes it: a header, then the rows. */
export function toCsv(rows: string[][], header = HEADERS): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

/** The lines of a CSV with their line numbers (the header is line 1). */
export function parseCsv(text: string): { line: number; row: Record<string, string> }[] {
  const lines = text.replace(/\r?\n$/, '').split(/\r?\n/);
  const header = splitCsvLine(lines[0]);
  return lines
    .slice(1)
    .map((text, i) => ({ line: i + 2, row: Object.fromEntries(splitCsvLine(text).map((v, j) => [header[j], v])) }));
}

export interface Sale {
  sale_id: string;
  sale_date: string;
  product_name: string;
  product_category: string;
  quantity_sold: number;
  total_value: number;
  gross_profit: number;
  sales_channel: string;
  sales_region: string;
  sales_rep: string;
  discount: number | null;
  payment_date: string | null;
  delivery_date: string | null;
  source_key: string;
  source_line: number;
}

const isDate = (v: string) => /^\d{4}-\d{2}-\d{2}$/.test(v) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v);
const isNumber = (v: string) => v.trim() !== '' && Number.isFinite(Number(v));

/**
 * The original's SalesRecord on each line of one object: the valid sales and, per bad line, the fields at fault
 * (a Sale ID already used on an earlier line of the object counts as one).
 */
export function expectedOf(key: string, csv: string) {
  const valid: Sale[] = [];
  const invalid = new Map<number, string[]>();
  const seen = new Set<string>();
  for (const { line, row } of parseCsv(csv)) {
    const bad: string[] = [];
    const need = (field: string, ok: (v: string) => boolean, optional = false) => {
      const v = (row[field] ?? '').trim();
      if (v === '' ? !optional : !ok(v)) bad.push(field);
    };
    need('Sale Date', isDate);
    const id = (row['Sale ID'] ?? '').trim();
    if (!id || seen.has(id)) bad.push('Sale ID');
    if (id) seen.add(id);
    for (const field of [
      'Product ID',
      'Product Name',
      'Product Category',
      'Payment Method',
      'Payment Status',
      'Customer ID',
      'Customer Name',
      'Sales Channel',
      'Sales Region',
      'Sales Representative',
      'Delivery Status',
    ])
      need(field, () => true);
    need('Quantity Sold', (v) => isNumber(v) && Number.isInteger(Number(v)) && Number(v) >= 1);
    for (const field of ['Unit Price', 'Total Value (with Discount)', 'Unit Cost', 'Total Cost', 'Shipping Cost'])
      need(field, (v) => isNumber(v) && Number(v) >= 0);
    need('Discount (%)', (v) => isNumber(v) && Number.isInteger(Number(v)) && Number(v) >= 0 && Number(v) <= 100, true);
    need('Gross Profit', isNumber);
    need('Payment Date', isDate, true);
    need('Delivery Date', isDate, true);
    if (bad.length) {
      invalid.set(line, bad);
      continue;
    }
    valid.push({
      sale_id: id,
      sale_date: row['Sale Date'],
      product_name: row['Product Name'],
      product_category: row['Product Category'],
      quantity_sold: Number(row['Quantity Sold']),
      total_value: Number(row['Total Value (with Discount)']),
      gross_profit: Number(row['Gross Profit']),
      sales_channel: row['Sales Channel'],
      sales_region: row['Sales Region'],
      sales_rep: row['Sales Representative'],
      discount: row['Discount (%)'] === '' ? null : Number(row['Discount (%)']),
      payment_date: row['Payment Date'] || null,
      delivery_date: row['Delivery Date'] || null,
      source_key: key,
      source_line: line,
    });
  }
  return { valid, invalid };
}

/** Sales loaded from several objects read in this order: a sale_id of a later object replaces the earlier one. */
export function loaded(objects: Sale[][]): Sale[] {
  const byId = new Map<string, Sale>();
  for (const sales of objects) for (const sale of sales) byId.set(sale.sale_id, sale);
  return [...byId.values()].sort((a, b) => (a.sale_id < b.sale_id ? -1 : 1));
}

const cents = (x: number) => Math.round(x * 100);

/** The original dashboard's KPIs and charts (src/frontend/app.py), over every loaded row. */
export function kpis(sales: Sale[]) {
  const revenue = sales.reduce((s, x) => s + cents(x.total_value), 0);
  const profit = sales.reduce((s, x) => s + cents(x.gross_profit), 0);
  const quantity = sales.reduce((s, x) => s + x.quantity_sold, 0);
  const group = (of: (s: Sale) => string, value: (s: Sale) => number) => {
    const out = new Map<string, number>();
    for (const s of sales) out.set(of(s), (out.get(of(s)) ?? 0) + value(s));
    return [...out].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  };
  return {
    totalRevenue: revenue / 100,
    grossProfitMargin: revenue === 0 ? 0 : profit / revenue,
    totalQuantity: quantity,
    averageQuantity: sales.length ? quantity / sales.length : null,
    averageOrderValue: sales.length ? revenue / 100 / sales.length : null,
    revenueByCategory: group(
      (s) => s.product_category,
      (s) => cents(s.total_value),
    ).map(([k, v]) => [k, v / 100] as const),
    topReps: group(
      (s) => s.sales_rep,
      (s) => s.quantity_sold,
    ).slice(0, 10),
    valueByRegion: group(
      (s) => s.sales_region,
      (s) => cents(s.total_value),
    ).map(([k, v]) => [k, v / 100] as const),
    byDay: [
      ...group(
        (s) => s.sale_date,
        (s) => cents(s.total_value),
      ),
    ]
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([k, v]) => [k, v / 100] as const),
  };
}
