// Readable numbers, dates and deltas (Intl), the same on the server and in the browser.
import type { ValueFormat } from './types.ts';

const cache = new Map<string, Intl.NumberFormat>();

function numberFormat(locale: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = locale + JSON.stringify(options);
  let format = cache.get(key);
  if (!format) {
    try {
      format = new Intl.NumberFormat(locale, options);
    } catch {
      format = new Intl.NumberFormat('en-US', { ...options, currency: options.style === 'currency' ? 'USD' : undefined });
    }
    cache.set(key, format);
  }
  return format;
}

export const DASH = '—';

export function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}

export interface FormatOptions extends ValueFormat {
  locale?: string;
  /** Compact notation (12.3K, 4.5M) for large magnitudes: KPI cards and axes; tables show full values. */
  compact?: boolean;
  /** Magnitude from which `compact` applies (default 100,000; axes use 1,000). */
  compactFrom?: number;
}

/** Formats one value for display; null/NaN → '—'; non-numeric values are shown as text (ISO timestamps as dates). */
export function formatValue(value: unknown, options: FormatOptions = {}): string {
  const locale = options.locale ?? 'en-US';
  const n = toNumber(value);
  if (n === null) {
    if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) return DASH;
    if (typeof value === 'string' && isTimestamp(value)) return formatTime(value, locale);
    if (typeof value === 'object') return JSON.stringify(value);
    return String(value);
  }
  const compact = Boolean(options.compact) && Math.abs(n) >= (options.compactFrom ?? 100_000);
  const digits = options.decimals;
  switch (options.format) {
    case 'currency':
      return numberFormat(locale, {
        style: 'currency', currency: options.currency ?? 'USD', notation: compact ? 'compact' : 'standard',
        maximumFractionDigits: digits ?? (compact ? 1 : 2), minimumFractionDigits: digits ?? (compact || Number.isInteger(n) && options.compact ? 0 : 2),
      }).format(n);
    case 'percent':
      return numberFormat(locale, { style: 'percent', maximumFractionDigits: digits ?? (Math.abs(n) < 0.1 ? 2 : 1) }).format(n);
    case 'integer':
      return withUnit(numberFormat(locale, { maximumFractionDigits: 0, notation: compact ? 'compact' : 'standard', ...(compact ? { maximumFractionDigits: 1 } : {}) }).format(n), options.unit);
    case 'duration':
      return formatDuration(options.unit === 's' ? n * 1000 : n, locale);
    default:
      return withUnit(numberFormat(locale, {
        notation: compact ? 'compact' : 'standard',
        maximumFractionDigits: digits ?? (compact ? 1 : Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 1 ? 2 : 3),
        minimumFractionDigits: digits ?? 0,
      }).format(n), options.unit);
  }
}

function withUnit(text: string, unit?: string): string {
  if (!unit) return text;
  return unit === '%' ? `${text}%` : `${text} ${unit}`;
}

/** 850 ms, 1.2 s, 3 min 20 s, 2 h 5 min, 3 d 4 h. */
export function formatDuration(ms: number, locale = 'en-US'): string {
  const sign = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  const n = (value: number, digits = 0) => numberFormat(locale, { maximumFractionDigits: digits }).format(value);
  if (a < 1000) return `${sign}${n(a)} ms`;
  if (a < 60_000) return `${sign}${n(a / 1000, 1)} s`;
  if (a < 3_600_000) return `${sign}${Math.floor(a / 60_000)} min${Math.round((a % 60_000) / 1000) ? ` ${Math.round((a % 60_000) / 1000)} s` : ''}`;
  if (a < 86_400_000) return `${sign}${Math.floor(a / 3_600_000)} h${Math.round((a % 3_600_000) / 60_000) ? ` ${Math.round((a % 3_600_000) / 60_000)} min` : ''}`;
  return `${sign}${Math.floor(a / 86_400_000)} d${Math.round((a % 86_400_000) / 3_600_000) ? ` ${Math.round((a % 86_400_000) / 3_600_000)} h` : ''}`;
}

export function isTimestamp(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text);
}

export function formatTime(iso: string, locale = 'en-US'): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(locale, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** A short time: "04:03 AM" today, "Nov 22, 04:03 AM" this year, with the year otherwise. */
export function shortTime(iso: string, locale = 'en-US', now = Date.now()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const today = new Date(now);
  const time: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit' };
  if (date.toDateString() === today.toDateString()) return date.toLocaleTimeString(locale, time);
  const day: Intl.DateTimeFormatOptions = { month: 'short', day: 'numeric', ...(date.getFullYear() === today.getFullYear() ? {} : { year: 'numeric' }) };
  return date.toLocaleString(locale, { ...day, ...time });
}

/** "just now", "5 min ago", "3 h ago", "2 d ago" (or "in 5 min" for future times). */
export function timeAgo(iso: string | null, now = Date.now()): string {
  if (!iso) return 'never';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const s = Math.round((now - then) / 1000);
  const a = Math.abs(s);
  const text = a < 10 ? 'just now' : a < 60 ? `${a} s` : a < 3600 ? `${Math.floor(a / 60)} min` : a < 86_400 ? `${Math.floor(a / 3600)} h` : `${Math.floor(a / 86_400)} d`;
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
  const text = numberFormat(locale, { style: 'percent', maximumFractionDigits: 1, minimumFractionDigits: Math.abs(ratio) < 10 ? 1 : 0, signDisplay: 'exceptZero' }).format(ratio);
  return { ratio, direction, good, text: text.replace('-', '−') };
}
