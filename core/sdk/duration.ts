const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/;

/** "500ms", "15s", "5m", "1h", "1d", "2w" → milliseconds. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text);
  if (!match) throw new Error(`invalid duration "${text}" (use e.g. 500ms, 15s, 5m, 1h, 1d)`);
  return Number(match[1]) * UNITS[match[2]];
}

export function isDuration(text: string): boolean {
  return DURATION.test(text);
}
