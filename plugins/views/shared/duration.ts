// Durations in view configs ('30s', '24h', '7d'): human labels.

// Parsing is core's (one definition for manifests and views); labels are the views' own.
export { isDuration, parseDuration } from '../../../core/sdk/duration.ts';

const NAMES: Record<string, [string, string]> = {
  ms: ['millisecond', 'milliseconds'],
  s: ['second', 'seconds'],
  m: ['minute', 'minutes'],
  h: ['hour', 'hours'],
  d: ['day', 'days'],
  w: ['week', 'weeks'],
};

/** '24h' → 'Last 24 hours', '1d' → 'Last day', 'all' → 'All time'. */
export function rangeLabel(option: string): string {
  if (option === 'all') return 'All time';
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(option.trim());
  if (!match) return option;
  const n = Number(match[1]);
  const [one, many] = NAMES[match[2]];
  return n === 1 ? `Last ${one}` : `Last ${n} ${many}`;
}
