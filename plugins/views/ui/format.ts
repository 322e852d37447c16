// The one formatting layer of the views, the same on the server and in the browser: a value is shown by its
// column's type and declared format (currency keeps its currency and cents, percentages come from fractions,
// declared decimals always hold), timestamps in one style in the view's time zone with the zone named, dates as
// dates, booleans as Yes/No; headers come from declared labels or the humanised column name.
import type { ColumnInfo, ColumnSpec, Row, ValueFormat } from './types.ts';

const cache = new Map<string, Intl.NumberFormat>();

function numberFormat(locale: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = locale + JSON.stringify(options);
  let format = cache.get(key);
  if (!format) {
    try {
      format = new Intl.NumberFormat(locale, options);
    } catch {
      format = new Intl.NumberFormat('en-US', {
        ...options,
        currency: options.style === 'currency' ? 'USD' : undefined,
      });
    }
    cache.set(key, format);
  }
  return format;
}

export const DASH = '—';
export const DEFAULT_TIME_ZONE = 'UTC';

export function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}

export interface FormatOptions extends ValueFormat {
  locale?: string;
  /** Time zone of timestamps (IANA name; default UTC). */
  timeZone?: string;
  /** Compact notation (12.3K, 4.56M) for large magnitudes: KPI cards; tables and tooltips show full values. */
  compact?: boolean;
  /** Magnitude from which `compact` applies (default 100,000). */
  compactFrom?: number;
}

/** Formats one value for display; null/NaN → '—'; text as text (ISO timestamps and dates in the one date style). */
export function formatValue(value: unknown, options: FormatOptions = {}): string {
  const locale = options.locale ?? 'en-US';
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  const n = toNumber(value);
  if (n === null) {
    if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) return DASH;
    if (typeof value === 'string' && isDate(value)) return value;
    if (typeof value === 'string' && isTimestamp(value)) return formatTime(value, { timeZone: options.timeZone });
    if (typeof value === 'object') return JSON.stringify(value);
    return String(value);
  }
  const compact = Boolean(options.compact) && Math.abs(n) >= (options.compactFrom ?? 100_000);
  const digits = options.decimals;
  // Compact figures always carry three significant digits ($2.00M next to $2.10M), or the declared decimals.
  const compactDigits: Intl.NumberFormatOptions =
    digits === undefined
      ? { notation: 'compact', minimumSignificantDigits: 3, maximumSignificantDigits: 3 }
      : { notation: 'compact', minimumFractionDigits: digits, maximumFractionDigits: digits };
  switch (options.format) {
    case 'currency':
      return numberFormat(locale, {
        style: 'currency',
        currency: options.currency ?? 'USD',
        ...(compact
          ? compactDigits
          : digits === undefined
            ? {}
            : { minimumFractionDigits: digits, maximumFractionDigits: digits }),
      }).format(n);
    case 'percent':
      // One decimal unless declared: a column of rates reads alike (10.4%, 9.4%, 0.5%).
      return numberFormat(locale, {
        style: 'percent',
        minimumFractionDigits: digits === undefined ? 0 : digits,
        maximumFractionDigits: digits ?? 1,
      }).format(n);
    case 'integer':
      return withUnit(
        numberFormat(locale, compact ? compactDigits : { maximumFractionDigits: 0 }).format(n),
        options.unit,
      );
    case 'duration':
      return formatDuration(options.unit === 's' ? n * 1000 : n, locale);
    default:
      return withUnit(numberFormat(locale, compact ? compactDigits : plainDigits(n, digits)).format(n), options.unit);
  }
}

/** A plain number: the declared decimals, else whole numbers as such, cents kept, small fractions to 4 significant digits. */
function plainDigits(n: number, digits: number | undefined): Intl.NumberFormatOptions {
  if (digits !== undefined) return { minimumFractionDigits: digits, maximumFractionDigits: digits };
  if (Number.isInteger(n)) return { maximumFractionDigits: 0 };
  if (Math.abs(n) >= 1) return { minimumFractionDigits: 0, maximumFractionDigits: 2 };
  return { maximumSignificantDigits: 4 };
}

function withUnit(text: string, unit?: string): string {
  if (!unit) return text;
  return unit === '%' ? `${text}%` : `${text} ${unit}`;
}

/** How a column is shown: its declared spec, its currency from the row when `currencyColumn` names one. */
export interface FieldContext {
  locale: string;
  timeZone: string;
  /** The view's default currency. */
  currency?: string;
}

/** One cell of a column: declared format first, then what the column holds (numbers, dates, booleans, text). */
export function formatCell(
  value: unknown,
  column: ColumnInfo | undefined,
  spec: ColumnSpec | undefined,
  context: FieldContext,
  row?: Row,
): string {
  const currency =
    (spec?.currencyColumn && typeof row?.[spec.currencyColumn] === 'string'
      ? (row[spec.currencyColumn] as string)
      : undefined) ??
    spec?.currency ??
    context.currency;
  const options: FormatOptions = { ...spec, currency, locale: context.locale, timeZone: context.timeZone };
  if (!spec?.format && spec?.currencyColumn) options.format = 'currency';
  if (!options.format && column?.type === 'number') options.format = 'number';
  // Rates in a column (a table, bars, an alert's fields) keep one decimal each, so 9.0% sits level with 10.4%.
  if (options.format === 'percent' && options.decimals === undefined) options.decimals = 1;
  // A timestamp column names its zone in the header: its cells leave it out.
  if (typeof value === 'string' && isTimestamp(value) && column?.type === 'timestamp')
    return formatTime(value, { timeZone: context.timeZone, zone: false });
  return formatValue(value, options);
}

/** A column header: the declared label, else the name made readable ("TRANSACTION_TIME" → "Transaction time"), timestamps with their zone. */
export function columnLabel(
  name: string,
  spec: ColumnSpec | undefined,
  column: ColumnInfo | undefined,
  timeZone: string,
): string {
  const label = spec?.label ?? humanize(name);
  return column?.type === 'timestamp' ? `${label} (${zoneName(timeZone)})` : label;
}

/** "order_amount" → "Order amount", "TRANSACTION_TIME" → "Transaction time", "fxRateTime" → "Fx rate time". */
export function humanize(name: string): string {
  const words = name
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/[_\-.]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** 850 ms, 1.2 s, 3 min 20 s, 2 h 5 min, 3 d 4 h. */
export function formatDuration(ms: number, locale = 'en-US'): string {
  const sign = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  const n = (value: number, digits = 0) => numberFormat(locale, { maximumFractionDigits: digits }).format(value);
  if (a < 1000) return `${sign}${n(a)} ms`;
  if (a < 60_000) return `${sign}${n(a / 1000, 1)} s`;
  if (a < 3_600_000)
    return `${sign}${Math.floor(a / 60_000)} min${Math.round((a % 60_000) / 1000) ? ` ${Math.round((a % 60_000) / 1000)} s` : ''}`;
  if (a < 86_400_000)
    return `${sign}${Math.floor(a / 3_600_000)} h${Math.round((a % 3_600_000) / 60_000) ? ` ${Math.round((a % 3_600_000) / 60_000)} min` : ''}`;
  return `${sign}${Math.floor(a / 86_400_000)} d${Math.round((a % 86_400_000) / 3_600_000) ? ` ${Math.round((a % 86_400_000) / 3_600_000)} h` : ''}`;
}

export function isTimestamp(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text);
}

export function isDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text);
}

const partsCache = new Map<string, Intl.DateTimeFormat>();

function dateParts(time: number, timeZone: string): Record<string, string> {
  let format = partsCache.get(timeZone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
      });
    } catch {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: 'UTC',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
      });
    }
    partsCache.set(timeZone, format);
  }
  return Object.fromEntries(format.formatToParts(time).map((p) => [p.type, p.value]));
}

/** The zone as shown after times: "UTC", else its short name in the view's locale (e.g. "GMT+5:30"). */
export function zoneName(timeZone: string): string {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 'UTC';
  try {
    return (
      new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'short' })
        .formatToParts(0)
        .find((p) => p.type === 'timeZoneName')?.value ?? timeZone
    );
  } catch {
    return timeZone;
  }
}

/**
 * The one timestamp style: "2026-12-06 20:04:13 UTC" (24 h, the view's zone named). `seconds: false` drops the
 * seconds (axis ticks, relative captions); `zone: false` leaves the zone to a header that names it.
 */
export function formatTime(
  iso: string | number,
  options: { timeZone?: string; seconds?: boolean; zone?: boolean } = {},
): string {
  const time = typeof iso === 'number' ? iso : Date.parse(iso);
  if (Number.isNaN(time)) return String(iso);
  const timeZone = options.timeZone ?? DEFAULT_TIME_ZONE;
  const p = dateParts(time, timeZone);
  const clock = options.seconds === false ? `${p.hour}:${p.minute}` : `${p.hour}:${p.minute}:${p.second}`;
  return `${p.year}-${p.month}-${p.day} ${clock}${options.zone === false ? '' : ` ${zoneName(timeZone)}`}`;
}

/** The day of a time in the zone, "2026-12-06". */
export function formatDay(iso: string | number, timeZone = DEFAULT_TIME_ZONE): string {
  const time = typeof iso === 'number' ? iso : Date.parse(iso);
  if (Number.isNaN(time)) return String(iso);
  const p = dateParts(time, timeZone);
  return `${p.year}-${p.month}-${p.day}`;
}

/** A short time for captions: "20:04 UTC" today, "2026-12-05 20:04 UTC" otherwise. */
export function shortTime(iso: string, timeZone = DEFAULT_TIME_ZONE, now = Date.now()): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  if (formatDay(time, timeZone) === formatDay(now, timeZone))
    return `${formatTime(time, { timeZone, seconds: false, zone: false }).slice(11)} ${zoneName(timeZone)}`;
  return formatTime(time, { timeZone, seconds: false });
}

/** "just now", "5 min ago", "3 h ago", "2 d ago" (or "in 5 min" for future times). */
export function timeAgo(iso: string | null, now = Date.now()): string {
  if (!iso) return 'never';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const s = Math.round((now - then) / 1000);
  const a = Math.abs(s);
  const text =
    a < 10
      ? 'just now'
      : a < 60
        ? `${a} s`
        : a < 3600
          ? `${Math.floor(a / 60)} min`
          : a < 86_400
            ? `${Math.floor(a / 3600)} h`
            : `${Math.floor(a / 86_400)} d`;
  if (text === 'just now') return text;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

export interface Delta {
  /** Relative change (0.12 = +12 %), null when the previous value is 0 or missing. */
  ratio: number | null;
  direction: 'up' | 'down' | 'flat';
  /** Whether the change is good news, given downIsGood. */
  good: boolean | null;
  text: string;
}

/** The change from `previous` to `current`; the text reads "+12.3%", "−4.0%", "0%", or "new" (previous 0). */
export function computeDelta(current: unknown, previous: unknown, downIsGood = false, locale = 'en-US'): Delta | null {
  const a = toNumber(current);
  const b = toNumber(previous);
  if (a === null || b === null) return null;
  const diff = a - b;
  const direction = Math.abs(diff) < 1e-12 ? 'flat' : diff > 0 ? 'up' : 'down';
  const good = direction === 'flat' ? null : (direction === 'down') === downIsGood;
  if (b === 0) return { ratio: null, direction, good, text: direction === 'flat' ? '0%' : 'new' };
  const ratio = diff / Math.abs(b);
  const text = numberFormat(locale, {
    style: 'percent',
    maximumFractionDigits: 1,
    minimumFractionDigits: Math.abs(ratio) < 10 ? 1 : 0,
    signDisplay: 'exceptZero',
  }).format(ratio);
  return { ratio, direction, good, text: text.replace('-', '−') };
}

/**
 * Labels for an axis whose ticks are `step` apart: one unit for the whole axis (K, M, B) and as many decimals as
 * the step needs, so neighbouring ticks never read the same ("1.05K, 1.10K", not "1.1K, 1.1K").
 */
export function axisFormatter(options: FormatOptions, step: number, largest: number): (value: number) => string {
  const locale = options.locale ?? 'en-US';
  const magnitude = Math.abs(largest);
  const [divisor, suffix] =
    magnitude >= 1e9 ? [1e9, 'B'] : magnitude >= 1e6 ? [1e6, 'M'] : magnitude >= 1e4 ? [1e3, 'K'] : [1, ''];
  // The decimals the step has (2.5 → 1, 0.25 → 2): every tick then reads differently.
  const decimalsFor = (unitStep: number) => {
    for (let d = 0; d < 6; d++) if (Math.abs(unitStep * 10 ** d - Math.round(unitStep * 10 ** d)) < 1e-6) return d;
    return 6;
  };
  if (options.format === 'percent') {
    const d = decimalsFor(step * 100);
    return (v) =>
      numberFormat(locale, { style: 'percent', minimumFractionDigits: d, maximumFractionDigits: d }).format(v);
  }
  if (options.format === 'duration') return (v) => formatDuration(options.unit === 's' ? v * 1000 : v, locale);
  const d = decimalsFor(step / divisor);
  const style: Intl.NumberFormatOptions =
    options.format === 'currency' ? { style: 'currency', currency: options.currency ?? 'USD' } : {};
  const format = numberFormat(locale, { ...style, minimumFractionDigits: d, maximumFractionDigits: d });
  return (v) => {
    const text = format.format(v / divisor);
    if (!suffix || v === 0)
      return withUnit(
        v === 0 ? numberFormat(locale, { ...style, maximumFractionDigits: 0 }).format(0) : text,
        options.unit,
      );
    // The suffix goes after the digits, before a trailing currency sign (de-DE: "1,5K €").
    const withSuffix = text.replace(/(\d)(?!.*\d)/, `$1${suffix}`);
    return withUnit(withSuffix, options.unit);
  };
}

/** Nice ticks over [min, max]: about `count` steps of 1, 2, 2.5 or 5 × 10^n; the bounds rounded out to a step. */
export function niceScale(min: number, max: number, count = 5): { min: number; max: number; step: number } {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { min: 0, max: 1, step: 0.2 };
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const round = (v: number) => Number(v.toPrecision(12));
  return { min: round(Math.floor(min / step) * step), max: round(Math.ceil(max / step) * step), step: round(step) };
}
