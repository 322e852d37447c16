const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "15s", "5m", "1h", "1d" → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) throw new Error(`invalid duration "${text}" (use e.g. 500ms, 15s, 5m, 1h, 1d)`);
  return Number(match[1]) * UNITS[match[2]];
}
