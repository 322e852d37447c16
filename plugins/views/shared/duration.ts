// Durations in view configs ('30s', '24h', '7d'): parsing and human labels.

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** '500ms' | '15s' | '5m' | '24h' | '7d' | '2w' → milliseconds; throws on anything else. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(text);
  if (!match) throw new Error(`invalid duration "${text}" (use e.g. 500ms, 15s, 5m, 12h, 7d)`);
  return Number(match[1]) * UNITS[match[2]];
}

export function isDuration(text: string): boolean {
  return /^\s*\d+(?:\.\d+)?\s*(ms|s|m|h|d|w)\s*$/.test(text);
}

const NAMES: Record<string, [string, string]> = { ms: ['millisecond', 'milliseconds'], s: ['second', 'seconds'], m: ['minute', 'minutes'], h: ['hour', 'hours'], d: ['day', 'days'], w: ['week', 'weeks'] };

/** '24h' → 'Last 24 hours', '1d' → 'Last day', 'all' → 'All time'. */
export function rangeLabel(option: string): string {
  if (option === 'all') return 'All time';
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(option.trim());
  if (!match) return option;
  const n = Number(match[1]);
  const [one, many] = NAMES[match[2]];
  return n === 1 ? `Last ${one}` : `Last ${n} ${many}`;
}
