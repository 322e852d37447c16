// Writes the sample workbooks of pipelines/economic-analytics.yaml, from a seeded generator (the same rows every time):
// - stock_data.xlsx in the original's format: sheets Products, Clients, Invoices and Invoice_Details with its
//   lower-case snake headers, its three sample products, clients and invoices (ORIGINALS.md 001 §1a) and more
//   made here: multi-line invoices, dated stock (date cells, typed text and the literal "None"), dirty rows;
// - stock_data_single_sheet.xlsx in this manifest's earlier form: Products, Clients and Invoices with one row per
//   invoice line (the rows of an invoice share its invoice_id).
//
//   npx tsx pipelines/data/make-stock-data.ts [folder]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import JSZip from 'jszip'; // exceljs's own zip library
import { random } from './random.ts';

const day = (iso: string) => new Date(`${iso}T00:00:00Z`);
const addDays = (iso: string, days: number) =>
  new Date(day(iso).getTime() + days * 86_400_000).toISOString().slice(0, 10);

/** A workbook: sheet name → rows, the header first. */
export type Sheets = Record<string, unknown[][]>;

/** The day the original-format sample's dates are made around (its tests judge loss risk as of this day). */
export const ORIGINAL_SAMPLE_DAY = '2025-12-30';

/**
 * The original's workbook: its sample rows (prices below cost, "None" dates), then 32 more products with dates
 * around ORIGINAL_SAMPLE_DAY (exactly on the loss-risk boundaries too), 14 clients and 60 invoices of 1–5 lines, an
 * invoice for an unknown product and one for an unknown client, and dirty rows.
 */
export function originalStockData(): Sheets {
  const rand = random(20251230);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)];
  const cents = (x: number) => Math.round(x * 100) / 100;
  const asOf = ORIGINAL_SAMPLE_DAY;

  const products: unknown[][] = [
    [
      'id',
      'name',
      'quantity',
      'price',
      'category',
      'buy_price',
      'min_margin_threshold',
      'last_movement',
      'expiry_date',
      'batch_no',
    ],
  ];
  // The original's sample (stock_data.xlsx): every price below its cost, dates and batch the text "None".
  products.push([2, 'sechoire', 58, 200, 'women', 380, 15, 'None', 'None', 'None']);
  products.push([3, 'machine a laver', 794, 1500, 'electromengers', 2800, 300, 'None', 'None', 'None']);
  products.push([4, 'laptop lenovo', 58, 5550, 'technologie', 7500, 1200, 'None', 'None', 'None']);
  const categories = ['technologie', 'electromengers', 'women', 'men', 'alimentation', 'maison'];
  // Dates of each kind: a date cell, the same day typed as text, a date-time text, "None", nothing; and the exact
  // boundaries of the rules (expiry on today + 7 is not at risk, today + 6 is; last movement on today − 30 is not, − 31 is).
  const dated = (offset: number, kind: number): unknown => {
    const iso = addDays(asOf, offset);
    return [day(iso), iso, `${iso} 10:15:00`, 'None', null][kind % 5];
  };
  const fixed: [expiry: number | null, movement: number | null][] = [
    [7, -5],
    [6, -5],
    [-2, -5],
    [200, -30],
    [200, -31],
    [3, -90],
    [null, -400],
    [400, null],
  ];
  for (let id = 5; id <= 36; id++) {
    const buy = cents(5 + rand() * 295);
    const sell = cents(buy * (0.85 + rand() * 0.75));
    const [expiry, movement] = fixed[id - 5] ?? [rand() < 0.5 ? int(-20, 300) : null, int(-120, 0)];
    // The boundary products get real dates (a cell, text, date-time text); the others any kind.
    const [kind, expiryKind] = id <= 12 ? [id % 3, (id + 1) % 3] : [id % 5, (id % 5) + 1 + (id % 2)];
    products.push([
      id,
      `product ${id}`,
      int(0, 400),
      sell,
      pick(categories),
      buy,
      cents(buy * 0.1),
      movement === null ? 'None' : dated(movement, kind),
      expiry === null ? 'None' : dated(expiry, expiryKind),
      rand() < 0.6 ? `B-${int(100, 999)}` : 'None',
    ]);
  }
  // Dirty rows: a price typed as text, a negative cost, an impossible date, no id.
  products.push([90, 'mystery box', 5, 'twelve', 'maison', 10, 1, 'None', 'None', 'None']);
  products.push([91, 'broken scale', 3, 15, 'maison', -4, 1, 'None', 'None', 'None']);
  products.push([92, 'goat cheese', 9, 4.5, 'alimentation', 2.5, 0.5, '2025-12-01', '2025-02-31', 'L-7']);
  products.push([null, 'unnamed item', 7, 2, 'alimentation', 1, 0.1, 'None', 'None', 'None']);

  const clients: unknown[][] = [['id', 'name', 'email', 'phone', 'total_revenue_generated', 'loyalty_tier']];
  clients.push([1, 'adil', 'adilchagri7@gmail.com', '0770498926', 11500, 'Silver']);
  clients.push([2, 'amine', 'amine@example.com', '0661234567', 7500, 'Standard']);
  clients.push([3, 'yahya', 'yahya@example.com', 45130563, 1500, 'Standard']);
  const names = [
    'salma',
    'karim',
    'nadia',
    'youssef',
    'imane',
    'omar',
    'hajar',
    'mehdi',
    'sara',
    'anas',
    'lina',
    'reda',
  ];
  names.forEach((name, i) =>
    clients.push([
      4 + i,
      name,
      `${name}@example.com`,
      `06${String(int(10000000, 99999999))}`,
      int(0, 30000),
      pick(['Standard', 'Silver', 'Gold']),
    ]),
  );
  // Dirty rows: a malformed e-mail, a client without a name.
  clients.push([16, 'niklaus', 'niklaus(at)example', '0600000000', 0, 'Standard']);
  clients.push([17, '', 'someone@example.com', '0600000001', 0, 'Standard']);
  // Exactly on the thresholds: 10,000 is Silver but no promotion (strictly above), 20,000 is Gold.
  clients.push([18, 'rim', 'rim@example.com', '0600000002', 10000, 'Silver']);
  clients.push([19, 'zineb', 'zineb@example.com', '0600000003', 20000, 'Gold']);

  const invoices: unknown[][] = [['id', 'client_id', 'date', 'total']];
  const details: unknown[][] = [['id', 'facture_id', 'product_id', 'quantity', 'price']];
  let line = 0;
  const priceOf = new Map(products.slice(1).map((p) => [p[0], p[3]]));
  const invoice = (
    id: number,
    client: number,
    date: unknown,
    lines: [product: number, quantity: unknown][],
    total?: number,
  ) => {
    let sum = 0;
    for (const [product, quantity] of lines) {
      const price = typeof priceOf.get(product) === 'number' ? (priceOf.get(product) as number) : 100;
      details.push([++line, id, product, quantity, price]);
      if (typeof quantity === 'number') sum += quantity * price;
    }
    invoices.push([id, client, date, total ?? cents(sum)]);
  };
  // The original's sample: one line each, total = quantity × line price.
  invoice(1, 1, '2025-12-27 13:32:48', [[2, 2]]);
  invoice(2, 2, '2025-12-27 13:41:41', [[3, 5]]);
  invoice(3, 1, '2025-12-27 13:49:04', [[4, 2]]);
  invoice(4, 3, '2025-12-27 13:51:49', [[3, 1]]);
  // 60 more, of 1–5 lines (a product may appear on two lines of an invoice); big buyers reach Gold.
  for (let id = 5; id <= 64; id++) {
    const client = rand() < 0.4 ? pick([1, 4, 5]) : int(2, 15);
    const lines: [number, number][] = Array.from({ length: int(1, 5) }, () => [int(2, 36), int(1, 6)]);
    const date = addDays(asOf, -int(1, 60));
    invoice(
      id,
      client,
      id % 3 === 0 ? day(date) : `${date} ${String(int(8, 20)).padStart(2, '0')}:${String(int(10, 59))}:00`,
      lines,
    );
  }
  invoice(70, 18, '2025-12-15 09:00:00', [[2, 50]]); // 10,000.00
  invoice(71, 19, '2025-12-15 09:30:00', [
    [2, 60],
    [2, 40],
  ]); // 20,000.00, the same product on two lines
  // Valid invoices the analytics cannot use whole yet: a product or a client not known.
  invoice(65, 2, '2025-12-20 10:00:00', [
    [5, 1],
    [999, 2],
  ]);
  invoice(66, 99, '2025-12-21 10:00:00', [[6, 1]]);
  // Dirty: a line of quantity 0 (the whole invoice is refused), no lines at all, a date nobody can read, lines
  // whose invoice is missing.
  invoice(67, 4, '2025-12-22 10:00:00', [
    [7, 2],
    [8, 0],
  ]);
  invoices.push([68, 5, '2025-12-22 11:00:00', 0]);
  invoice(69, 6, 'last tuesday', [[9, 1]]);
  details.push([++line, 500, 10, 1, 100]);
  return { Products: products, Clients: clients, Invoices: invoices, Invoice_Details: details };
}

const CATALOG: [name: string, category: string, buy: number, shelfDays: number | null][] = [
  ['Olive oil 1L', 'Grocery', 6.4, 400],
  ['Basmati rice 5kg', 'Grocery', 9.8, 500],
  ['Green tea 100g', 'Grocery', 2.1, 300],
  ['Espresso beans 1kg', 'Grocery', 11.5, 200],
  ['Dark chocolate', 'Grocery', 1.6, 150],
  ['Fresh milk 1L', 'Dairy', 0.7, 10],
  ['Greek yogurt', 'Dairy', 0.9, 20],
  ['Cheddar 400g', 'Dairy', 3.2, 60],
  ['Butter 250g', 'Dairy', 1.9, 45],
  ['Sourdough loaf', 'Bakery', 1.8, 5],
  ['Croissant x4', 'Bakery', 2.0, 4],
  ['Orange juice 1L', 'Drinks', 1.3, 30],
  ['Sparkling water x6', 'Drinks', 2.2, 365],
  ['Craft beer x4', 'Drinks', 5.5, 180],
  ['Red wine', 'Drinks', 7.9, null],
  ['Dish soap', 'Household', 1.4, null],
  ['Paper towels x6', 'Household', 3.9, null],
  ['Laundry pods', 'Household', 8.2, null],
  ['LED bulb', 'Household', 2.6, null],
  ['Batteries AA x8', 'Household', 4.1, null],
  ['Shampoo', 'Care', 3.3, 700],
  ['Toothpaste', 'Care', 1.2, 600],
  ['Sunscreen SPF50', 'Care', 6.7, 20],
  ['Hand cream', 'Care', 2.9, 500],
];

/** The single-sheet form: Products, Clients, and Invoices with one row per line (rows of an invoice share its id). */
export function singleSheetStockData(): Sheets {
  const rand = random(20240531);
  const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const lastInvoiceDay = '2024-05-31';

  const products: unknown[][] = [
    ['product_id', 'name', 'category', 'quantity', 'buy_price', 'sell_price', 'expiry_date', 'received_date'],
  ];
  CATALOG.forEach(([name, category, buy, shelfDays], i) => {
    const id = `P${String(i + 1).padStart(3, '0')}`;
    const received = addDays(
      lastInvoiceDay,
      -int(0, shelfDays !== null && shelfDays < 100 ? Math.min(shelfDays + 3, 50) : 150),
    );
    const sell = Math.round(buy * (1.15 + rand() * 0.9) * 100) / 100;
    const expiry = shelfDays === null ? null : day(addDays(received, shelfDays));
    products.push([id, name, category, int(0, 80), buy, sell, expiry, day(received)]);
  });
  products.push(['P025', 'Fondue set', 'Household', 12, 24.5, 39.9, null, day('2024-01-10')]);
  products.push(['P026', 'Promo mug', 'Household', 40, 3.5, 2.5, null, day('2024-05-20')]);
  // Dirty rows: a price typed as text, a negative cost, a missing id, an impossible date.
  products.push(['P027', 'Mystery box', 'Household', 5, 10, 'twelve', null, day('2024-03-01')]);
  products.push(['P028', 'Broken scale', 'Household', 3, -4, 15, null, day('2024-03-01')]);
  products.push([null, 'Unnamed item', 'Grocery', 7, 1, 2, null, day('2024-03-01')]);
  products.push(['P029', 'Goat cheese', 'Dairy', 9, 2.5, 4.5, '2024-02-31', day('2024-04-01')]);

  const cities = ['Lyon', 'Porto', 'Gdansk', 'Ghent', 'Turin', 'Leeds'];
  const names = [
    'Ada Byron',
    'Alan Turing',
    'Grace Hopper',
    'Edsger Dijkstra',
    'Barbara Liskov',
    'Donald Knuth',
    'Frances Allen',
    'John Backus',
    'Margaret Hamilton',
    'Ken Thompson',
    'Radia Perlman',
    'Tony Hoare',
  ];
  const clients: unknown[][] = [['client_id', 'name', 'email', 'city']];
  names.forEach((name, i) =>
    clients.push([
      `C${String(i + 1).padStart(3, '0')}`,
      name,
      `${name.split(' ')[0].toLowerCase()}@example.org`,
      pick(cities),
    ]),
  );
  clients.push(['C013', 'Niklaus Wirth', 'niklaus(at)example', 'Zurich']);
  clients.push(['C014', '', 'someone@example.org', 'Ghent']);

  // Invoices of 1–4 lines, each line a row; big buyers make the Gold tier (above 20,000).
  const sellable = products.slice(1, 25).map((row) => row[0] as string);
  const invoices: unknown[][] = [['invoice_id', 'invoice_date', 'client_id', 'product_id', 'quantity']];
  let n = 0;
  const invoice = (date: unknown, client: unknown, lines: [product: unknown, quantity: unknown][]) => {
    const id = `INV-${String(++n).padStart(4, '0')}`;
    for (const [product, quantity] of lines) invoices.push([id, date, client, product, quantity]);
  };
  for (let i = 0; i < 70; i++) {
    const weight = rand();
    const client =
      weight < 0.35
        ? pick(['C001', 'C002'])
        : weight < 0.6
          ? pick(['C003', 'C004', 'C005'])
          : pick(clients.slice(6, 13).map((c) => c[0] as string));
    const lines = Array.from(
      { length: rand() < 0.5 ? 1 : int(2, 4) },
      () => [rand() < 0.5 ? pick(sellable.slice(0, 8)) : pick(sellable), int(1, 12)] as [string, number],
    );
    invoice(day(addDays('2024-03-01', int(0, 90))), client, lines);
  }
  invoice(day('2024-05-20'), 'C003', [['P026', 30]]); // the mug sells at a loss
  invoice(day(lastInvoiceDay), 'C001', [
    ['P004', 20],
    ['P001', 3],
  ]);
  invoice(day('2024-05-10'), 'C002', [
    ['P999', 2],
    ['P002', 1],
  ]); // a product not known
  invoice(day('2024-05-11'), 'C099', [['P001', 1]]); // a client not known
  // Dirty: no quantity on one line, a zero quantity, a date nobody can read, a missing client.
  invoice(day('2024-04-02'), 'C004', [
    ['P002', 3],
    ['P003', null],
  ]);
  invoice(day('2024-04-03'), 'C004', [['P002', 0]]);
  invoice('last tuesday', 'C005', [['P003', 2]]);
  invoice(day('2024-04-05'), null, [['P003', 2]]);
  return { Products: products, Clients: clients, Invoices: invoices };
}

export async function writeWorkbook(path: string, sheets: Sheets): Promise<void> {
  const book = new ExcelJS.Workbook();
  book.creator = 'make-stock-data.ts';
  book.created = book.modified = day('2024-06-01');
  for (const [name, rows] of Object.entries(sheets)) {
    const sheet = book.addWorksheet(name);
    sheet.addRows(rows);
    sheet.getRow(1).font = { bold: true };
    sheet.columns.forEach((column) => (column.width = 16));
  }
  // exceljs stamps each zip entry with the current time: re-pack with a fixed one, so the file is byte-identical.
  const packed = await JSZip.loadAsync(await book.xlsx.writeBuffer());
  const fixed = new JSZip();
  for (const entry of Object.values(packed.files)) {
    if (!entry.dir)
      fixed.file(entry.name, await entry.async('uint8array'), { date: day('2024-06-01'), createFolders: false });
  }
  writeFileSync(path, await fixed.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
}

/** Both sample workbooks into `folder`. */
export async function writeStockWorkbooks(folder: string): Promise<void> {
  await writeWorkbook(join(folder, 'stock_data.xlsx'), originalStockData());
  await writeWorkbook(join(folder, 'stock_data_single_sheet.xlsx'), singleSheetStockData());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const folder = process.argv[2] ?? fileURLToPath(new URL('.', import.meta.url));
  await writeStockWorkbooks(folder);
  console.log(`wrote ${join(folder, 'stock_data.xlsx')} and ${join(folder, 'stock_data_single_sheet.xlsx')}`);
}
