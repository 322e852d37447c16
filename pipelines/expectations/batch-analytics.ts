// The batch-analytics original's rules (ORIGINALS.md 003, its bugs fixed), written out independently of the manifest
// in plain TypeScript with exact integer money (cents; fees in hundredths of a percent): shared by the embedded and
// the real-server tests. Raw files are written here in the original's 8-column format, as its ingest.py does.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from '../../tests/cli.ts';
import { random } from '../data/random.ts';
import { csvCell, splitCsvLine } from './csv.ts';

/** The original's fee table (ingest.py, transform.py), fees in hundredths of a percent. */
export const CHANNELS: Record<number, { name: string; fee: number }> = {
  1: { name: 'Credit Card', fee: 250 },
  2: { name: 'Debit Card', fee: 100 },
  3: { name: 'UPI', fee: 50 },
  4: { name: 'Net Banking', fee: 150 },
};
export const HEADER = 'transaction_id,date_key,customer_key,channel_key,city_key,amount,status,processing_time';

function referenceRows(file: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(join(repoRoot, 'pipelines', 'reference', 'batch-analytics', file), 'utf8')
    .trim()
    .split('\n');
  const names = header.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i], v])));
}
export const CITIES = new Map(
  referenceRows('cities.csv').map((c) => [
    Number(c.city_key),
    { city_name: c.city_name, state: c.state, region: c.region },
  ]),
);
export const CUSTOMERS = new Map(
  referenceRows('customers.csv').map((c) => [
    Number(c.customer_key),
    { customer_id: c.customer_id, segment: c.segment, city_key: Number(c.city_key) },
  ]),
);

export type RawLine = string[]; // the 8 cells, as text

/** One day of the original's ingest.py: T + YYYYMMDD + 5-digit index, the customer's home city, 90% success. */
export function originalDay(date: string, count: number, seed: number): RawLine[] {
  const rand = random(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const key = date.replaceAll('-', '');
  return Array.from({ length: count }, (_, i) => {
    const customer = int(1, 1000);
    // Python's str(float) of a 2-decimal value: 952.23, 10.5, 1000.0
    const float = (lo: number, hi: number) => {
      const x = Math.round((lo + rand() * (hi - lo)) * 100) / 100;
      return Number.isInteger(x) ? `${x}.0` : String(x);
    };
    return [
      `T${key}${String(i).padStart(5, '0')}`,
      key,
      String(customer),
      String(int(1, 4)),
      String(CUSTOMERS.get(customer)!.city_key),
      float(10, 1000),
      rand() < 0.9 ? 'success' : 'failed',
      float(0.5, 5),
    ];
  });
}

export function rawPath(dataDir: string, date: string, name = 'transactions.csv'): string {
  return join(dataDir, 'raw', ...date.split('-'), name);
}
export function processedPath(dataDir: string, date: string, name = 'cleaned_transactions.parquet'): string {
  return join(dataDir, 'processed', ...date.split('-'), name);
}

/** Writes a raw file as pandas' to_csv does. */
export function writeRaw(file: string, lines: RawLine[]): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, [HEADER, ...lines.map((l) => l.map(csvCell).join(','))].join('\n') + '\n');
}

/** A raw file's lines as cells. */
export function readRaw(file: string): RawLine[] {
  const [, ...lines] = readFileSync(file, 'utf8').trimEnd().split('\n');
  return lines.map(splitCsvLine);
}

export interface Fact {
  transaction_id: string;
  date_key: number;
  day: string;
  customer_key: number;
  channel_key: number;
  city_key: number;
  amount: number;
  status: string;
  processing_time: number;
  bucket: string;
  revenue: number;
  file: string;
  line: number;
  sk: number;
}

/** Cents of a decimal text, half-up at the third decimal; NaN when it is no number. */
function centsOf(text: string): number {
  if (!/^-?\d+(\.\d+)?$/.test(text.trim())) return NaN;
  const [whole, fraction = ''] = text.trim().replace('-', '').split('.');
  const digits = (fraction + '000').slice(0, 3);
  const cents = Number(whole) * 100 + Math.floor(Number(digits) / 10) + (Number(digits[2]) >= 5 ? 1 : 0);
  return text.trim().startsWith('-') ? -cents : cents;
}

const realDay = (key: string) => {
  if (!/^\d{8}$/.test(key)) return undefined;
  const iso = `${key.slice(0, 4)}-${key.slice(4, 6)}-${key.slice(6, 8)}`;
  const d = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(iso) ? iso : undefined;
};

/**
 * One raw file through the original's transform, its bugs fixed: exact duplicate lines dropped, then each line valid or
 * rejected with the fields at fault; the facts with the fee revenue (half-up cents) and the delay bucket.
 */
export function expectedOf(
  file: string,
  lines: RawLine[],
  settings: { fees?: Record<number, number>; fastBelow?: number; slowFrom?: number } = {},
) {
  const {
    fees = Object.fromEntries(Object.entries(CHANNELS).map(([k, c]) => [k, c.fee])),
    fastBelow = 1,
    slowFrom = 3,
  } = settings;
  const seenText = new Set<string>();
  const firstLineOf = new Map<string, number>();
  const facts: Fact[] = [];
  const rejected = new Map<number, string[]>();
  let duplicates = 0;
  lines.forEach((cells, i) => {
    const line = i + 2;
    const text = cells.join(',');
    if (seenText.has(text)) return void duplicates++;
    seenText.add(text);
    const [id, dateKey, customer, channel, city, amount, status, seconds] = cells;
    const fields: string[] = [];
    if (!id) fields.push('transaction_id');
    else if (firstLineOf.has(id)) fields.push('transaction_id');
    else firstLineOf.set(id, line);
    const day = realDay(dateKey);
    if (!day) fields.push('date_key');
    if (!/^\d{1,9}$/.test(customer)) fields.push('customer_key');
    if (!/^\d{1,9}$/.test(channel) || !(Number(channel) in fees)) fields.push('channel_key');
    if (!/^\d{1,9}$/.test(city) || !CITIES.has(Number(city))) fields.push('city_key');
    const cents = centsOf(amount);
    if (!(cents > 0 && cents < 1e10)) fields.push('amount');
    if (status !== 'success' && status !== 'failed') fields.push('status');
    const time = Number(seconds);
    if (seconds === '' || !Number.isFinite(time) || time < 0 || time >= 1000) fields.push('processing_time');
    if (fields.length) return void rejected.set(line, fields);
    const fee = fees[Number(channel)];
    facts.push({
      transaction_id: id,
      date_key: Number(dateKey),
      day: day!,
      customer_key: Number(customer),
      channel_key: Number(channel),
      city_key: Number(city),
      amount: cents / 100,
      status,
      processing_time: Math.round(time * 100) / 100,
      bucket: time < fastBelow ? 'fast' : time < slowFrom ? 'medium' : 'slow',
      revenue: Math.floor((cents * fee + 5000) / 10000) / 100,
      file,
      line,
      sk: 0,
    });
  });
  facts.forEach((f, i) => (f.sk = i + 1));
  return { facts, rejected, duplicates };
}

// --- The dashboard's figures (the original's dashboard/app.py), money in cents.

const sumCents = (xs: number[]) => xs.reduce((s, x) => s + Math.round(x * 100), 0) / 100;

export function kpis(facts: Fact[]) {
  const success = facts.filter((f) => f.status === 'success');
  return {
    grossRevenue: sumCents(success.map((f) => f.amount)),
    feeRevenue: sumCents(success.map((f) => f.revenue)),
    failureRate: facts.filter((f) => f.status === 'failed').length / facts.length,
    avgProcessingTime: sumCents(facts.map((f) => f.processing_time)) / facts.length,
    transactions: facts.length,
  };
}

/** Daily series and their average over the last 7 days with data (pandas rolling(7, min_periods=1) over the rows). */
export function trends(facts: Fact[]) {
  const days = [...new Set(facts.map((f) => f.day))].sort();
  const daily = days.map((day) => {
    const of = facts.filter((f) => f.day === day);
    return {
      day,
      revenue: kpis(of).grossRevenue,
      failure: Math.round((of.filter((f) => f.status === 'failed').length * 100 * 100) / of.length) / 100 / 100, // % rounded to 2 dp, as a fraction
      processing: kpis(of).avgProcessingTime,
    };
  });
  const rolling = (values: number[]) =>
    values.map((_, i) => {
      const w = values.slice(Math.max(0, i - 6), i + 1);
      return w.reduce((a, b) => a + b, 0) / w.length;
    });
  const [r, f, p] = [
    rolling(daily.map((d) => d.revenue)),
    rolling(daily.map((d) => d.failure)),
    rolling(daily.map((d) => d.processing)),
  ];
  return daily.map((d, i) => ({ ...d, revenue7: r[i], failure7: f[i], processing7: p[i] }));
}

/** Top N of a dimension by failure rate (desc, then name), as the original's comparison bars (LIMIT 10). */
export function topByFailure(facts: Fact[], of: (f: Fact) => string, n = 10) {
  const groups = new Map<string, Fact[]>();
  for (const f of facts) groups.set(of(f), [...(groups.get(of(f)) ?? []), f]);
  return [...groups]
    .map(([name, rows]) => ({ name, rate: rows.filter((r) => r.status === 'failed').length / rows.length }))
    .sort((a, b) => b.rate - a.rate || (a.name < b.name ? -1 : 1))
    .slice(0, n);
}
