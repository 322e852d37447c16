// GlobeMart test data in the original's own formats (ORIGINALS.md 000 §1) and an independent computation of every
// figure the manifest must produce: plain TypeScript, exact decimal arithmetic (BigInt cents), no DuckDB, no manifest SQL.

/** A seeded PRNG (mulberry32): the same data on every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A row of the original's PostgreSQL table `transactions` (its generator's DDL). */
export interface ShopRow {
  transaction_id: string;
  user_id: string;
  country: string;
  currency: string;
  /** DECIMAL(10,2) as text, e.g. '532.18' (may be negative: the cleaner takes the absolute value). */
  amount: string;
  product_category: string;
  /** ISO with Z, millisecond precision (the PostgreSQL source hands Dates on). */
  transaction_time: string;
  batch_id: string;
}

export const SHOP_DDL = `CREATE TABLE transactions (
  transaction_id VARCHAR PRIMARY KEY, user_id VARCHAR NOT NULL, country VARCHAR NOT NULL, currency VARCHAR NOT NULL,
  amount DECIMAL(10,2) NOT NULL, product_category VARCHAR NOT NULL, transaction_time TIMESTAMP WITH TIME ZONE NOT NULL,
  batch_id VARCHAR NOT NULL)`;

/** The FX producers' zone in the test: local time without zone in Europe/Berlin, summer time (UTC+2) in May 2025. */
export const FX_ZONE = 'Europe/Berlin';
const BERLIN_SUMMER_OFFSET_MS = 2 * 3600_000;

const LIVE_BASE: Record<string, number> = {
  EUR: 0.85,
  GBP: 0.73,
  JPY: 110.0,
  CAD: 1.25,
  AUD: 1.35,
  CNY: 6.45,
  BRL: 5.2,
  INR: 74.5,
  CHF: 0.92,
};
const OLD_BASE: Record<string, number> = {
  EUR: 0.85,
  GBP: 0.73,
  CAD: 1.35,
  JPY: 110.0,
  AUD: 1.45,
  CHF: 0.92,
  SEK: 10.5,
  NOK: 10.8,
};
const LIVE_MARKETS: [string, string][] = [
  ['US', 'USD'],
  ['GB', 'GBP'],
  ['DE', 'EUR'],
  ['FR', 'EUR'],
  ['JP', 'JPY'],
  ['CA', 'CAD'],
  ['AU', 'AUD'],
  ['CN', 'CNY'],
  ['BR', 'BRL'],
  ['IN', 'INR'],
];
const OLD_MARKETS: [string, string][] = [
  ['US', 'USD'],
  ['UK', 'GBP'],
  ['DE', 'EUR'],
  ['FR', 'EUR'],
  ['CA', 'CAD'],
  ['JP', 'JPY'],
  ['AU', 'AUD'],
  ['CH', 'CHF'],
  ['SE', 'SEK'],
  ['NO', 'NOK'],
];
const LIVE_CATEGORIES = ['Electronics', 'Fashion', 'Home', 'Books', 'Sports', 'Beauty', 'Food', 'Toys'];
const OLD_CATEGORIES = [
  'Electronics',
  'Clothing',
  'Books',
  'Home & Garden',
  'Sports',
  'Toys',
  'Health',
  'Automotive',
  'Food',
];

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Python's datetime.isoformat() of a UTC instant shown as Berlin summer local time, with microseconds. */
function berlinLocal(utcMs: number, micros: number): string {
  const d = new Date(utcMs + BERLIN_SUMMER_OFFSET_MS);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(micros, 6)}`;
}

/** A JSON number as Python's json.dumps writes a float (1.0, not 1). */
function pyNumber(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

/** A flat message exactly as the original producers serialise it: json.dumps of a dict, in their key order. */
function flatMessage(entries: [string, number | string][]): string {
  return (
    '{' + entries.map(([k, v]) => `"${k}": ${typeof v === 'number' ? pyNumber(v) : JSON.stringify(v)}`).join(', ') + '}'
  );
}

function round(value: number, decimals: number): number {
  return Number(value.toFixed(decimals));
}

export interface Scenario {
  shop: ShopRow[];
  /** FX messages in topic order (raw text, as produced). */
  fx: string[];
  /** FX messages published later (the currency that appears late). */
  lateFx: string[];
  start: number;
}

/**
 * Six hours of the original's shop (2025-05-31 08:00–14:00 UTC): the live generator's rows, the older scripts' rows
 * (tx_… ids, UK, CHF/SEK/NOK, 0-decimal yen), dirty and invalid rows; and the FX feed: the live producer's flat ticks
 * every 15 min (9 currencies, 4 decimals, sometimes fewer, keys in its order or shuffled), the older producer's
 * ticks every 30 min (timestamp first, SEK/NOK, 6 decimals), nested ticks with a zone, and broken messages.
 * NOK's first tick comes at 12:00 (earlier NOK rows take it); SEK ticks come only in `lateFx`.
 */
export function scenario(seed = 2025): Scenario {
  const rnd = random(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(rnd() * items.length)];
  const start = Date.UTC(2025, 4, 31, 8, 0, 0);
  const hour = 3600_000;
  const shop: ShopRow[] = [];
  const ids = new Set<string>();
  const batchOf = (ms: number, old = false) => {
    const d = new Date(ms);
    return old
      ? `batch_${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}_${pad(d.getUTCHours())}`
      : `BATCH-${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}`;
  };
  for (let i = 0; i < 360; i++) {
    const time = start + Math.floor(rnd() * 6 * hour);
    let id: string;
    do id = `TX-${String(1_000_000_000 + Math.floor(rnd() * 9_000_000_000))}-2025`;
    while (ids.has(id));
    ids.add(id);
    const [country, currency] = pick(LIVE_MARKETS);
    shop.push({
      transaction_id: id,
      user_id: `USER-${1 + Math.floor(rnd() * 1000)}`,
      country,
      currency,
      amount: (10 + rnd() * 990).toFixed(2),
      product_category: pick(LIVE_CATEGORIES),
      transaction_time: new Date(time).toISOString(),
      batch_id: batchOf(time),
    });
  }
  for (let i = 0; i < 120; i++) {
    const time = start + Math.floor((rnd() * 6 * hour) / 1000) * 1000;
    const d = new Date(time);
    const [country, currency] = pick(OLD_MARKETS);
    const amount =
      currency === 'JPY'
        ? (1000 + rnd() * 49000).toFixed(0)
        : currency === 'USD'
          ? (10 + rnd() * 490).toFixed(2)
          : currency === 'EUR'
            ? (15 + rnd() * 385).toFixed(2)
            : (5 + rnd() * 295).toFixed(2);
    shop.push({
      transaction_id: `tx_${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}_${pad(i, 4)}`,
      user_id: `user_${pad(1000 + Math.floor(rnd() * 9000), 4)}`,
      country,
      currency,
      amount,
      product_category: pick(OLD_CATEGORIES),
      transaction_time: d.toISOString(),
      batch_id: batchOf(time, true),
    });
  }
  // Dirty rows the cleaner repairs, rows validation rejects, and a currency no feed quotes (pending for good).
  const at = (minutes: number) => new Date(start + minutes * 60_000).toISOString();
  shop.push(
    {
      transaction_id: 'TX-2000000001-2025',
      user_id: ' USER 77 ',
      country: 'United States',
      currency: '$',
      amount: '-55.10',
      product_category: 'tech',
      transaction_time: at(61),
      batch_id: 'BATCH-20250531-09',
    },
    {
      transaction_id: 'TX-2000000002-2025',
      user_id: 'USER-78',
      country: ' japon ',
      currency: '¥',
      amount: '4321.00',
      product_category: 'fashion',
      transaction_time: at(95),
      batch_id: 'BATCH-20250531-09',
    },
    {
      transaction_id: 'TX-2000000003-2025',
      user_id: 'USER-79',
      country: 'Deutschland',
      currency: 'Euro',
      amount: '12.34',
      product_category: 'BOOKS',
      transaction_time: at(150),
      batch_id: 'BATCH-20250531-10',
    },
    {
      transaction_id: 'TX-2000000004-2025',
      user_id: 'USER-80',
      country: 'UK',
      currency: 'British Pound',
      amount: '99.99',
      product_category: 'groceries',
      transaction_time: at(200),
      batch_id: 'BATCH-20250531-11',
    },
    {
      transaction_id: 'TX-2000000005-2025',
      user_id: 'USER-81',
      country: 'MX',
      currency: 'MXN',
      amount: '250.00',
      product_category: 'Toys',
      transaction_time: at(210),
      batch_id: 'BATCH-20250531-11',
    },
    // At the exact time of the 09:00 live tick: the rate "at or before" includes it.
    {
      transaction_id: 'TX-2000000006-2025',
      user_id: 'USER-82',
      country: 'DE',
      currency: 'EUR',
      amount: '10.25',
      product_category: 'Home',
      transaction_time: at(60),
      batch_id: 'BATCH-20250531-09',
    },
    // Exact ties at half a cent (EUR at 0.8 from 10:37): 10.02 / 0.8 = 12.525 → 12.52 and 10.06 / 0.8 = 12.575 → 12.58 (half to even).
    {
      transaction_id: 'TX-2000000011-2025',
      user_id: 'USER-87',
      country: 'FR',
      currency: 'EUR',
      amount: '10.02',
      product_category: 'Books',
      transaction_time: new Date(start + 157 * 60_000 + 1).toISOString(),
      batch_id: 'BATCH-20250531-10',
    },
    {
      transaction_id: 'TX-2000000012-2025',
      user_id: 'USER-88',
      country: 'FR',
      currency: 'EUR',
      amount: '10.06',
      product_category: 'Books',
      transaction_time: new Date(start + 157 * 60_000 + 2).toISOString(),
      batch_id: 'BATCH-20250531-10',
    },
    {
      transaction_id: 'TX-123-2025',
      user_id: 'USER-83',
      country: 'US',
      currency: 'USD',
      amount: '10.00',
      product_category: 'Toys',
      transaction_time: at(100),
      batch_id: 'BATCH-20250531-09',
    },
    {
      transaction_id: 'TX-2000000008-2025',
      user_id: 'USER-84',
      country: 'Atlantis',
      currency: 'XYZ',
      amount: '10.00',
      product_category: 'Toys',
      transaction_time: at(101),
      batch_id: 'BATCH-20250531-09',
    },
    {
      transaction_id: 'TX-2000000009-2025',
      user_id: 'USER-85',
      country: 'US',
      currency: 'USD',
      amount: '0.00',
      product_category: 'Toys',
      transaction_time: at(102),
      batch_id: 'BATCH-20250531-09',
    },
    {
      transaction_id: 'TX-2000000010-2025',
      user_id: 'USER-86',
      country: 'US',
      currency: 'USD',
      amount: '2000000.00',
      product_category: 'Toys',
      transaction_time: at(103),
      batch_id: 'BATCH-20250531-09',
    },
  );

  const fx: string[] = [];
  const tick = (ms: number) => berlinLocal(ms, Math.floor(rnd() * 1_000_000));
  for (let t = start - hour; t <= start + 6 * hour; t += 15 * 60_000) {
    // The live producer: base × (1 ± 1%), 4 decimals; key order: the currencies, USD, timestamp.
    let currencies = Object.keys(LIVE_BASE);
    if (rnd() < 0.25) currencies = currencies.filter(() => rnd() < 0.7); // sometimes fewer
    let entries: [string, number | string][] = currencies.map((c) => [
      c,
      round(LIVE_BASE[c] * (1 + (rnd() * 2 - 1) * 0.01), 4),
    ]);
    entries.push(['USD', 1.0], ['timestamp', t === start + hour ? berlinLocal(t, 0) : tick(t)]);
    if (rnd() < 0.3) entries = entries.sort(() => rnd() - 0.5); // keys in any order
    fx.push(flatMessage(entries));
    if ((t - start) % (30 * 60_000) === 0 && t >= start) {
      // The older producer: timestamp before USD, ±2%, 6 decimals; NOK from 12:00 only, SEK only later (lateFx).
      const old = Object.keys(OLD_BASE).filter((c) => c !== 'SEK' && (c !== 'NOK' || t >= start + 4 * hour));
      fx.push(
        flatMessage([
          ['timestamp', tick(t + 5_000)],
          ['USD', 1.0],
          ...old.map((c): [string, number] => [c, round(OLD_BASE[c] * (1 + (rnd() * 2 - 1) * 0.02), 6)]),
        ]),
      );
    }
    if ((t - start) % hour === 0) {
      // The nested form with a zone, mixed into the same topic.
      const ts = new Date(t + 7.5 * 60_000).toISOString();
      fx.push(
        JSON.stringify({
          timestamp: ts,
          base: 'USD',
          rates: {
            EUR: round(0.85 * (1 + rnd() * 0.01), 4),
            GBP: round(0.73 * (1 + rnd() * 0.01), 4),
            JPY: round(110 * (1 + rnd() * 0.01), 4),
          },
        }),
      );
    }
  }
  fx.push(JSON.stringify({ timestamp: '2025-05-31T10:37:00Z', base: 'USD', rates: { EUR: 0.8 } }));
  fx.splice(
    5,
    0,
    '{"EUR": 0.85,',
    '[0.85, 0.73]',
    '{"EUR": 0.85, "USD": 1.0}',
    '{"EUR": 0.85, "timestamp": "31/05/2025 14:00"}',
    JSON.stringify({ timestamp: '2025-05-31T09:00:00Z', base: 'EUR', rates: { USD: 1.17 } }),
    '{"USD": 1.0, "timestamp": "2025-05-31T11:00:00.000001"}',
    '{"EUR": -0.85, "GBP": "n/a", "XYZ": 2.0, "CHF": 0.9301, "timestamp": "2025-05-31T11:00:00.000002"}',
  );
  const lateFx = [
    flatMessage([
      ['timestamp', tick(start + 3 * hour)],
      ['USD', 1.0],
      ['SEK', 10.512345],
    ]),
    flatMessage([
      ['timestamp', tick(start + 5 * hour)],
      ['USD', 1.0],
      ['SEK', 10.498761],
    ]),
  ];
  return { shop, fx, lateFx, start };
}

// ---------------------------------------------------------------- the independent computation

/** Microseconds since the epoch of an ISO text; without a zone it is Berlin summer time (the test's FX_ZONE). */
export function micros(text: string): bigint | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?$/.exec(
    text.trim(),
  );
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac = '', zone] = m;
  let ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  if (!zone) ms -= BERLIN_SUMMER_OFFSET_MS;
  else if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 3600_000 + Number(digits.slice(2)) * 60_000);
  }
  return BigInt(ms) * 1000n + BigInt(frac.padEnd(6, '0'));
}

/** Text of a microsecond instant as ISO with 6 decimals. */
export function isoMicros(us: bigint): string {
  const ms = Number(us / 1000n);
  return new Date(ms).toISOString().slice(0, 20) + String(us % 1_000_000n).padStart(6, '0') + 'Z';
}

/** A decimal text as an integer of 10^-scale units (exact). */
function scaled(text: string, scale: number): bigint {
  const negative = text.startsWith('-');
  const [whole, frac = ''] = text.replace('-', '').split('.');
  if (frac.length > scale) throw new Error(`${text} has more than ${scale} decimals`);
  const value = BigInt(whole || '0') * 10n ** BigInt(scale) + BigInt(frac.padEnd(scale, '0') || '0');
  return negative ? -value : value;
}

/** Integer cents → '1234.50' (trailing zeros kept, as DuckDB prints DECIMAL(…,2)). */
export function cents(value: bigint): string {
  const sign = value < 0n ? '-' : '';
  const v = value < 0n ? -value : value;
  return `${sign}${v / 100n}.${String(v % 100n).padStart(2, '0')}`;
}

/** n / d to an integer, ties to even. */
function halfEven(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r2 = 2n * (n % d);
  return r2 > d || (r2 === d && q % 2n === 1n) ? q + 1n : q;
}

const COUNTRY_NAMES: Record<string, string> = {
  USA: 'US',
  'UNITED STATES': 'US',
  AMERICA: 'US',
  UK: 'GB',
  'UNITED KINGDOM': 'GB',
  BRITAIN: 'GB',
  GERMANY: 'DE',
  DEUTSCHLAND: 'DE',
  FRANCE: 'FR',
  FRANCIA: 'FR',
  JAPAN: 'JP',
  JAPON: 'JP',
  CANADA: 'CA',
  AUSTRALIA: 'AU',
  CHINA: 'CN',
  BRAZIL: 'BR',
  INDIA: 'IN',
};
const CURRENCY_NAMES: Record<string, string> = {
  $: 'USD',
  'US DOLLAR': 'USD',
  '€': 'EUR',
  EURO: 'EUR',
  '£': 'GBP',
  'BRITISH POUND': 'GBP',
  '¥': 'JPY',
  'JAPANESE YEN': 'JPY',
};
/** The ISO codes this data uses (the manifest checks full ISO lists; the data holds nothing else but XYZ/Atlantis). */
const COUNTRIES = new Set(['US', 'GB', 'DE', 'FR', 'JP', 'CA', 'AU', 'CN', 'BR', 'IN', 'CH', 'SE', 'NO', 'MX']);
const CURRENCIES = new Set(['USD', 'EUR', 'GBP', 'JPY', 'CAD', 'AUD', 'CNY', 'BRL', 'INR', 'CHF', 'SEK', 'NOK', 'MXN']);

function titleCase(text: string): string {
  return text
    .toLowerCase()
    .replace(/(^|[^\p{L}])(\p{L})/gu, (_m, before: string, letter: string) => before + letter.toUpperCase());
}

function category(raw: string): string {
  const c = titleCase(raw.trim());
  if (['Electronic', 'Electron', 'Tech'].includes(c) || c.includes('Electronics')) return 'Electronics';
  if (['Clothes', 'Apparel', 'Fashion'].includes(c) || c.includes('Clothing')) return 'Clothing';
  if (['Grocery', 'Groceries', 'Foods'].includes(c) || c.includes('Food')) return 'Food';
  if (['Book', 'Reading', 'Literature'].includes(c) || c.includes('Books')) return 'Books';
  return c || 'UNKNOWN';
}

export interface CleanTx {
  transaction_id: string;
  user_id: string;
  country: string;
  currency: string;
  /** Cents. */
  amount: bigint;
  product_category: string;
  /** Microseconds. */
  time: bigint;
}

/** The original's cleaning and validation (000 §2) of one row; null when validation rejects it. */
export function cleanTransaction(row: ShopRow): CleanTx | null {
  const country = COUNTRY_NAMES[row.country.trim().toUpperCase()] ?? row.country.trim().toUpperCase();
  const currency = CURRENCY_NAMES[row.currency.trim().toUpperCase()] ?? row.currency.trim().toUpperCase();
  const amount = scaled(row.amount.replace(/^-/, ''), 2);
  const user =
    row.user_id
      .trim()
      .replaceAll(' ', '_')
      .replace(/[^\p{L}\p{N}_-]/gu, '') || 'UNKNOWN';
  const valid =
    /^(TX-\d{10,}-\d{4}|tx_\d+(_\d+)?)$/.test(row.transaction_id) &&
    COUNTRIES.has(country) &&
    CURRENCIES.has(currency) &&
    amount > 0n &&
    amount <= 100_000_000n;
  return valid
    ? {
        transaction_id: row.transaction_id,
        user_id: user,
        country,
        currency,
        amount,
        product_category: category(row.product_category),
        time: micros(row.transaction_time)!,
      }
    : null;
}

export interface FxRate {
  currency: string;
  rate: string;
  time: bigint;
}

/** The FX history the messages give (units per USD, by currency and time; a later message wins a repeated key). */
export function fxHistory(messages: string[]): {
  rates: FxRate[];
  rejectedMessages: number;
  rejectedRates: number;
  rejectedCodes: number;
  notJson: number;
} {
  const byKey = new Map<string, FxRate>();
  let rejectedMessages = 0,
    rejectedRates = 0,
    rejectedCodes = 0,
    notJson = 0;
  for (const text of messages) {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      notJson++;
      continue;
    }
    if (!message || typeof message !== 'object' || Array.isArray(message)) {
      notJson++;
      continue;
    }
    const m = message as Record<string, unknown>;
    const time = typeof m.timestamp === 'string' ? micros(m.timestamp) : null;
    const entries = [
      ...Object.entries(m).filter(([k]) => !['timestamp', 'base', 'rates'].includes(k)),
      ...(m.rates && typeof m.rates === 'object' ? Object.entries(m.rates as Record<string, unknown>) : []),
    ].filter(([k, v]) => k.toUpperCase() !== 'USD' && v !== null);
    if (time === null || String(m.base ?? 'USD').toUpperCase() !== 'USD' || entries.length === 0) {
      rejectedMessages++;
      continue;
    }
    for (const [key, value] of entries) {
      if (typeof value !== 'number' || !(value > 0)) {
        rejectedRates++;
        continue;
      }
      const currency = key.toUpperCase();
      if (!CURRENCIES.has(currency)) {
        rejectedCodes++;
        continue;
      }
      // Times are kept to the millisecond (the microseconds of the producer's timestamp are dropped).
      const ms = (time / 1000n) * 1000n;
      byKey.set(`${currency}|${ms}`, { currency, rate: String(value), time: ms });
    }
  }
  const rates = [...byKey.values()].sort((a, b) =>
    a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : Number(a.time - b.time),
  );
  return { rates, rejectedMessages, rejectedRates, rejectedCodes, notJson };
}

export interface Converted {
  transaction_id: string;
  country: string;
  currency: string;
  amount: string;
  fx_rate: string;
  fx_rate_time: string;
  usd_amount: string;
  product_category: string;
  user_id: string;
  usdCents: bigint;
  hour: string;
}

/**
 * Each valid transaction (the last row of an id wins) converted at the rate in force at its time: the latest tick at
 * or before it, else its currency's first tick; USD at 1. usd = amount / rate exactly, to cents, ties to even.
 */
export function expected(shop: ShopRow[], messages: string[]) {
  const fx = fxHistory(messages);
  const byId = new Map<string, CleanTx>();
  let rejected = 0;
  for (const row of shop) {
    const clean = cleanTransaction(row);
    if (clean) byId.set(clean.transaction_id, clean);
    else rejected++;
  }
  const converted: Converted[] = [];
  const pending: string[] = [];
  for (const tx of [...byId.values()].sort((a, b) => (a.transaction_id < b.transaction_id ? -1 : 1))) {
    let rate: FxRate | undefined;
    if (tx.currency === 'USD') rate = { currency: 'USD', rate: '1', time: tx.time };
    else {
      const history = fx.rates.filter((r) => r.currency === tx.currency);
      rate = history.filter((r) => r.time <= tx.time).at(-1) ?? history[0];
    }
    if (!rate) {
      pending.push(tx.transaction_id);
      continue;
    }
    const scale = (rate.rate.split('.')[1] ?? '').length;
    const usdCents = halfEven(tx.amount * 10n ** BigInt(scale), scaled(rate.rate, scale));
    const hourMs = Number(tx.time / 1000n) - (Number(tx.time / 1000n) % 3600_000);
    converted.push({
      transaction_id: tx.transaction_id,
      country: tx.country,
      currency: tx.currency,
      amount: cents(tx.amount),
      fx_rate: rate.rate,
      fx_rate_time: isoMicros(rate.time),
      usd_amount: cents(usdCents),
      product_category: tx.product_category,
      user_id: tx.user_id,
      usdCents,
      hour: new Date(hourMs).toISOString(),
    });
  }
  const sumBy = (key: (c: Converted) => string) => {
    const sums = new Map<string, { usd: bigint; amount: bigint; count: number }>();
    for (const c of converted) {
      const k = key(c);
      const s = sums.get(k) ?? { usd: 0n, amount: 0n, count: 0 };
      s.usd += c.usdCents;
      s.amount += scaled(c.amount, 2);
      s.count++;
      sums.set(k, s);
    }
    return sums;
  };
  const hourly = [...sumBy((c) => `${c.hour}|${c.country}|${c.currency}`)]
    .map(([k, s]) => {
      const [hour, country, currency] = k.split('|');
      return { hour, country, currency, transactions: s.count, amount: cents(s.amount), usd_amount: cents(s.usd) };
    })
    .sort((a, b) => (`${a.hour}|${a.country}|${a.currency}` < `${b.hour}|${b.country}|${b.currency}` ? -1 : 1));
  const total = converted.reduce((sum, c) => sum + c.usdCents, 0n);
  const byCountry = [...sumBy((c) => c.country)]
    .map(([country, s]) => ({ country, revenue: s.usd }))
    .sort((a, b) => (b.revenue > a.revenue ? 1 : b.revenue < a.revenue ? -1 : 0));
  const byCurrency = [...sumBy((c) => c.currency)]
    .map(([currency, s]) => ({ currency, revenue: s.usd }))
    .sort((a, b) => (b.revenue > a.revenue ? 1 : b.revenue < a.revenue ? -1 : 0));
  const byHour = [...sumBy((c) => c.hour)]
    .map(([hour, s]) => ({ hour, revenue: s.usd, transactions: s.count }))
    .sort((a, b) => (a.hour < b.hour ? -1 : 1));
  return { fx, converted, pending, rejected, hourly, total, byCountry, byCurrency, byHour };
}
