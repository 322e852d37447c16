// Writes pipelines/data/stock_data.xlsx, the sample workbook of pipelines/economic-analytics.yaml:
// sheets Products, Clients and Invoices as the original's accountant uploaded them, from a seeded generator
// (the same rows every time), plus a few dirty rows that the pipeline must reject with their reasons.
//
//   npx tsx pipelines/data/make-stock-data.ts [out.xlsx]
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import JSZip from 'jszip'; // exceljs's own zip library

/** mulberry32: a tiny seeded PRNG, so the workbook never changes between runs. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const day = (iso: string) => new Date(`${iso}T00:00:00Z`);
const addDays = (iso: string, days: number) => new Date(day(iso).getTime() + days * 86_400_000).toISOString().slice(0, 10);

const CATALOG: [name: string, category: string, buy: number, shelfDays: number | null][] = [
  ['Olive oil 1L', 'Grocery', 6.4, 400], ['Basmati rice 5kg', 'Grocery', 9.8, 500], ['Green tea 100g', 'Grocery', 2.1, 300],
  ['Espresso beans 1kg', 'Grocery', 11.5, 200], ['Dark chocolate', 'Grocery', 1.6, 150], ['Fresh milk 1L', 'Dairy', 0.7, 10],
  ['Greek yogurt', 'Dairy', 0.9, 20], ['Cheddar 400g', 'Dairy', 3.2, 60], ['Butter 250g', 'Dairy', 1.9, 45],
  ['Sourdough loaf', 'Bakery', 1.8, 5], ['Croissant x4', 'Bakery', 2.0, 4], ['Orange juice 1L', 'Drinks', 1.3, 30],
  ['Sparkling water x6', 'Drinks', 2.2, 365], ['Craft beer x4', 'Drinks', 5.5, 180], ['Red wine', 'Drinks', 7.9, null],
  ['Dish soap', 'Household', 1.4, null], ['Paper towels x6', 'Household', 3.9, null], ['Laundry pods', 'Household', 8.2, null],
  ['LED bulb', 'Household', 2.6, null], ['Batteries AA x8', 'Household', 4.1, null], ['Shampoo', 'Care', 3.3, 700],
  ['Toothpaste', 'Care', 1.2, 600], ['Sunscreen SPF50', 'Care', 6.7, 20], ['Hand cream', 'Care', 2.9, 500],
];

export interface StockData {
  products: unknown[][];
  clients: unknown[][];
  invoices: unknown[][];
}

/** The sheets' rows (header first). Dates are Date cells; dirty rows carry the values a person might type. */
export function stockData(): StockData {
  const rand = random(20240531);
  const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const lastInvoiceDay = '2024-05-31';

  const products: unknown[][] = [['product_id', 'name', 'category', 'quantity', 'buy_price', 'sell_price', 'expiry_date', 'received_date']];
  CATALOG.forEach(([name, category, buy, shelfDays], i) => {
    const id = `P${String(i + 1).padStart(3, '0')}`;
    // Perishables are restocked about as often as they expire (a few are just past it); the rest may have sat
    // on the shelf for months.
    const received = addDays(lastInvoiceDay, -int(0, shelfDays !== null && shelfDays < 100 ? Math.min(shelfDays + 3, 50) : 150));
    const sell = Math.round(buy * (1.15 + rand() * 0.9) * 100) / 100;
    const expiry = shelfDays === null ? null : day(addDays(received, shelfDays));
    products.push([id, name, category, int(0, 80), buy, sell, expiry, day(received)]);
  });
  // Stock that never sells (dead stock) and a product sold below cost.
  products.push(['P025', 'Fondue set', 'Household', 12, 24.5, 39.9, null, day('2024-01-10')]);
  products.push(['P026', 'Promo mug', 'Household', 40, 3.5, 2.5, null, day('2024-05-20')]);
  // Dirty rows: a price typed as text, a negative cost, a missing id, an impossible date.
  products.push(['P027', 'Mystery box', 'Household', 5, 10, 'twelve', null, day('2024-03-01')]);
  products.push(['P028', 'Broken scale', 'Household', 3, -4, 15, null, day('2024-03-01')]);
  products.push([null, 'Unnamed item', 'Grocery', 7, 1, 2, null, day('2024-03-01')]);
  products.push(['P029', 'Goat cheese', 'Dairy', 9, 2.5, 4.5, '2024-02-31', day('2024-04-01')]);

  const cities = ['Lyon', 'Porto', 'Gdansk', 'Ghent', 'Turin', 'Leeds'];
  const names = ['Ada Byron', 'Alan Turing', 'Grace Hopper', 'Edsger Dijkstra', 'Barbara Liskov', 'Donald Knuth', 'Frances Allen',
    'John Backus', 'Margaret Hamilton', 'Ken Thompson', 'Radia Perlman', 'Tony Hoare'];
  const clients: unknown[][] = [['client_id', 'name', 'email', 'city']];
  names.forEach((name, i) => clients.push([`C${String(i + 1).padStart(3, '0')}`, name, `${name.split(' ')[0].toLowerCase()}@example.org`, pick(cities)]));
  // Dirty rows: a malformed e-mail, a client without a name.
  clients.push(['C013', 'Niklaus Wirth', 'niklaus(at)example', 'Zurich']);
  clients.push(['C014', '', 'someone@example.org', 'Ghent']);

  // Sales: popular products sell often; P025 (dead stock) never does. Big buyers make the Gold tier.
  const sellable = products.slice(1, 25).map((row) => row[0] as string);
  const invoices: unknown[][] = [['invoice_id', 'invoice_date', 'client_id', 'product_id', 'quantity']];
  let n = 0;
  const invoice = (date: string, client: string, product: string, quantity: unknown) =>
    invoices.push([`INV-${String(++n).padStart(4, '0')}`, day(date), client, product, quantity]);
  for (let i = 0; i < 70; i++) {
    const weight = rand();
    const client = weight < 0.35 ? pick(['C001', 'C002']) : weight < 0.6 ? pick(['C003', 'C004', 'C005']) : pick(clients.slice(6, 13).map((c) => c[0] as string));
    const product = rand() < 0.5 ? pick(sellable.slice(0, 8)) : pick(sellable);
    invoice(addDays('2024-03-01', int(0, 90)), client, product, int(1, 12));
  }
  invoice('2024-05-20', 'C003', 'P026', 30); // the mug sells at a loss
  invoice(lastInvoiceDay, 'C001', 'P004', 20); // the last sale: it fixes the default reference date
  // Valid rows the analytics cannot use yet: their product or client is unknown (shown as waiting, not dropped).
  invoice('2024-05-10', 'C002', 'P999', 2);
  invoice('2024-05-11', 'C099', 'P001', 1);
  // Dirty rows: no quantity, a zero quantity, a date nobody can read, a missing client.
  invoice('2024-04-02', 'C004', 'P002', null);
  invoice('2024-04-03', 'C004', 'P002', 0);
  invoices.push([`INV-${String(++n).padStart(4, '0')}`, 'last tuesday', 'C005', 'P003', 2]);
  invoices.push([`INV-${String(++n).padStart(4, '0')}`, day('2024-04-05'), null, 'P003', 2]);
  return { products, clients, invoices };
}

export async function writeStockWorkbook(path: string): Promise<void> {
  const data = stockData();
  const book = new ExcelJS.Workbook();
  book.creator = 'make-stock-data.ts';
  book.created = book.modified = day('2024-06-01');
  for (const [name, rows] of [['Products', data.products], ['Clients', data.clients], ['Invoices', data.invoices]] as const) {
    const sheet = book.addWorksheet(name);
    sheet.addRows(rows);
    sheet.getRow(1).font = { bold: true };
    sheet.columns.forEach((column) => (column.width = 16));
  }
  // exceljs stamps each zip entry with the current time: re-pack with a fixed one, so the file is byte-identical.
  const packed = await JSZip.loadAsync(await book.xlsx.writeBuffer());
  const fixed = new JSZip();
  for (const entry of Object.values(packed.files)) {
    if (!entry.dir) fixed.file(entry.name, await entry.async('uint8array'), { date: day('2024-06-01'), createFolders: false });
  }
  writeFileSync(path, await fixed.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? fileURLToPath(new URL('./stock_data.xlsx', import.meta.url));
  await writeStockWorkbook(out);
  console.log(`wrote ${out}`);
}
