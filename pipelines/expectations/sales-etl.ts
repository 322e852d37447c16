// The sales-etl sheet's rules, written independently of the manifest's SQL: shared by the embedded and the real-server tests.

export const keyOf = (date: string) => `sales/${date.replaceAll('-', '/')}/sales.csv`;

/** A CSV parser of its own (quotes, doubled quotes), so the expectations do not come from the code under test. */
export function parseCsv(text: string): { line: number; row: Record<string, string> }[] {
  const lines = text.replace(/\r?\n$/, '').split(/\r?\n/);
  const split = (line: string) => {
    const cells: string[] = [];
    let cell = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted && ch === '"' && line[i + 1] === '"') (cell += '"', i++);
      else if (ch === '"') quoted = !quoted;
      else if (ch === ',' && !quoted) (cells.push(cell), (cell = ''));
      else cell += ch;
    }
    return [...cells, cell];
  };
  const header = split(lines[0]);
  return lines.slice(1).map((text, i) => ({ line: i + 2, row: Object.fromEntries(split(text).map((v, j) => [header[j], v])) }));
}

export interface Sale { sale_id: string; line: number; product: string; category: string; quantity: number; amount: number }

const CATEGORIES = ['Electronics', 'Clothing', 'Home', 'Books', 'Sports'];
const MISSING = new Set(['', 'N/A', 'NA', 'NULL', 'NONE', '-']);

/** The sheet's rules, written independently of the manifest's SQL: the valid sales and, per bad line, the fields at fault. */
export function expectedOf(csv: string) {
  const valid: Sale[] = [];
  const invalid = new Map<number, string[]>();
  for (const { line, row } of parseCsv(csv)) {
    const bad: string[] = [];
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(row.sold_at) || Number.isNaN(Date.parse(row.sold_at))) bad.push('sold_at');
    if (MISSING.has(row.product.trim().toUpperCase())) bad.push('product');
    if (!CATEGORIES.includes(row.category)) bad.push('category');
    const quantity = /^\d+$/.test(row.quantity.trim()) ? Number(row.quantity) : NaN;
    if (!(quantity >= 1 && quantity <= 1000)) bad.push('quantity');
    const digits = row.unit_price.replace(/[^0-9,.-]/g, '');
    const price = Math.round(Number(digits.includes('.') ? digits.replaceAll(',', '') : digits.replace(',', '.')) * 100) / 100;
    if (!(digits !== '' && price > 0)) bad.push('unit_price');
    if (MISSING.has(row.customer.trim().toUpperCase())) bad.push('customer');
    if (bad.length) invalid.set(line, bad);
    else valid.push({ sale_id: row.sale_id, line, product: row.product, category: row.category, quantity, amount: Math.round(quantity * price * 100) / 100 });
  }
  return { valid, invalid };
}

export function summary(sales: Sale[]) {
  const cents = (n: number) => Math.round(n * 100) / 100;
  const byCategory: Record<string, number> = {};
  const units: Record<string, number> = {};
  for (const s of sales) {
    byCategory[s.category] = cents((byCategory[s.category] ?? 0) + s.amount);
    units[s.product] = (units[s.product] ?? 0) + s.quantity;
  }
  const total = cents(sales.reduce((sum, s) => sum + s.amount, 0));
  const top = Object.entries(units).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return { count: sales.length, total, average: total / sales.length, byCategory, top };
}
