import { inject, injectable, pluginModule, TOKENS, type Row, type StepInfo, type Transform, type TransformContext } from '../../../core/sdk/index.ts';
import { parseDuration } from '../../../core/manifest/duration.ts';

type Aggregate =
  | { count: true } | { sum: string } | { avg: string } | { min: string } | { max: string }
  | { p95: string } | { quantile: [string, number] } | { countDistinct: string }
  | { countWhere: { field: string; in: unknown[] } } | { sumWhere: { field: string; in: unknown[]; sum: string } };

interface WindowConfig {
  timeField: string;
  size: string;
  hop?: string;
  groupBy: string[];
  aggregates: Record<string, Aggregate>;
  allowedLateness: string;
}

/** Accumulator of one aggregate in one window; plain JSON so the state can be snapshotted. */
type Acc = { n: number; s: number; min: number | null; max: number | null; values: number[]; distinct: string[] };

interface WindowState {
  start: number;
  groups: Row;
  accs: Record<string, Acc>;
}

/**
 * Tumbling (size) or hopping (size + hop) event-time windows aligned to the epoch (so 5-minute windows start at
 * :00, :05, …). Emits the current value of every window a batch touched (update mode: upsert by window_start and
 * the groups). The watermark is the newest event time minus `allowedLateness`: a window closes when its end is
 * behind it; a later event for a closed window goes to dead-letter. Quantiles interpolate linearly between the
 * closest ranks (like DuckDB's quantile_cont); an aggregate over no values is null, never NaN.
 */
@injectable()
export class WindowTransform implements Transform {
  private readonly size: number;
  private readonly hop: number;
  private readonly lateness: number;
  private windows = new Map<string, WindowState>();
  private newest = -Infinity;

  constructor(@inject(TOKENS.Config) private readonly config: WindowConfig, @inject(TOKENS.Step) step: StepInfo) {
    this.size = parseDuration(config.size);
    this.hop = config.hop ? parseDuration(config.hop) : this.size;
    this.lateness = parseDuration(config.allowedLateness);
    if (this.hop > this.size) throw new Error(`${step.id}: hop (${config.hop}) cannot be longer than size (${config.size})`);
  }

  process(records: Row[], ctx: TransformContext): Row[] {
    const touched = new Set<string>();
    const watermark = this.newest - this.lateness;
    for (const record of records) {
      const raw = record[this.config.timeField];
      const time = raw instanceof Date ? raw.getTime() : typeof raw === 'string' || typeof raw === 'number' ? new Date(raw).getTime() : NaN;
      if (Number.isNaN(time)) {
        ctx.reject(record, `${this.config.timeField}: not a time (${JSON.stringify(raw)})`);
        continue;
      }
      const starts = this.startsOf(time);
      if (starts.every((start) => start + this.size <= watermark)) {
        ctx.reject(record, `late beyond the allowed lateness of ${this.config.allowedLateness} (event at ${new Date(time).toISOString()}, watermark ${new Date(watermark).toISOString()})`);
        continue;
      }
      const groups = Object.fromEntries(this.config.groupBy.map((g) => [g, record[g] ?? null]));
      for (const start of starts) {
        if (start + this.size <= watermark) continue;
        const key = JSON.stringify([start, ...this.config.groupBy.map((g) => record[g] ?? null)]);
        let window = this.windows.get(key);
        if (!window) this.windows.set(key, (window = { start, groups, accs: Object.fromEntries(Object.keys(this.config.aggregates).map((name) => [name, emptyAcc()])) }));
        for (const [name, aggregate] of Object.entries(this.config.aggregates)) accumulate(window.accs[name], aggregate, record);
        touched.add(key);
      }
      this.newest = Math.max(this.newest, time);
    }
    const out = [...touched].map((key) => this.row(this.windows.get(key)!));
    // Windows behind the watermark can no longer change: drop their state.
    const closed = this.newest - this.lateness;
    for (const [key, window] of this.windows) if (window.start + this.size <= closed) this.windows.delete(key);
    return out;
  }

  snapshot(): unknown {
    return { newest: this.newest, windows: [...this.windows.entries()] };
  }

  restore(state: unknown): void {
    const saved = state as { newest: number | null; windows: [string, WindowState][] };
    this.newest = saved.newest ?? -Infinity;
    this.windows = new Map(saved.windows);
  }

  private startsOf(time: number): number[] {
    const starts: number[] = [];
    for (let start = Math.floor(time / this.hop) * this.hop; start > time - this.size; start -= this.hop) starts.push(start);
    return starts;
  }

  private row(window: WindowState): Row {
    const row: Row = { window_start: new Date(window.start), window_end: new Date(window.start + this.size), ...window.groups };
    for (const [name, aggregate] of Object.entries(this.config.aggregates)) row[name] = result(window.accs[name], aggregate);
    return row;
  }
}

function emptyAcc(): Acc {
  return { n: 0, s: 0, min: null, max: null, values: [], distinct: [] };
}

function numberOf(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

function accumulate(acc: Acc, aggregate: Aggregate, record: Row): void {
  if ('count' in aggregate) return void acc.n++;
  if ('countDistinct' in aggregate) {
    const value = record[aggregate.countDistinct];
    if (value != null && !acc.distinct.includes(String(value))) acc.distinct.push(String(value));
    return;
  }
  if ('countWhere' in aggregate) {
    if (aggregate.countWhere.in.includes(record[aggregate.countWhere.field])) acc.n++;
    return;
  }
  if ('sumWhere' in aggregate) {
    if (!aggregate.sumWhere.in.includes(record[aggregate.sumWhere.field])) return;
    const v = numberOf(record[aggregate.sumWhere.sum]);
    if (v !== null) (acc.s += v), acc.n++;
    return;
  }
  const field = 'sum' in aggregate ? aggregate.sum : 'avg' in aggregate ? aggregate.avg : 'min' in aggregate ? aggregate.min : 'max' in aggregate ? aggregate.max : 'p95' in aggregate ? aggregate.p95 : aggregate.quantile[0];
  const v = numberOf(record[field]);
  if (v === null) return;
  acc.n++;
  acc.s += v;
  acc.min = acc.min === null ? v : Math.min(acc.min, v);
  acc.max = acc.max === null ? v : Math.max(acc.max, v);
  if ('p95' in aggregate || 'quantile' in aggregate) acc.values.push(v);
}

function result(acc: Acc, aggregate: Aggregate): number | null {
  if ('count' in aggregate || 'countWhere' in aggregate) return acc.n;
  if ('countDistinct' in aggregate) return acc.distinct.length;
  if (acc.n === 0) return 'sum' in aggregate || 'sumWhere' in aggregate ? 0 : null;
  if ('sum' in aggregate || 'sumWhere' in aggregate) return acc.s;
  if ('avg' in aggregate) return acc.s / acc.n;
  if ('min' in aggregate) return acc.min;
  if ('max' in aggregate) return acc.max;
  return quantile(acc.values, 'p95' in aggregate ? 0.95 : aggregate.quantile[1]);
}

/** Linear interpolation between the closest ranks (DuckDB quantile_cont, numpy's default). */
export function quantile(values: number[], q: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const position = q * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

const field = { type: 'string' };
export default pluginModule({
  kind: 'transform',
  name: 'window',
  summary: 'Tumbling or hopping event-time windows with a watermark and allowed lateness; emits updated windows (upsert them).',
  stability: 'beta',
  config: {
    type: 'object',
    additionalProperties: false,
    required: ['timeField', 'size', 'aggregates'],
    properties: {
      timeField: { type: 'string', description: 'Event time of each record (a Date or an ISO string).', examples: ['event_ts'] },
      size: { type: 'string', pattern: '^[0-9]+(ms|s|m|h|d)$', description: 'Window length; windows are aligned to the epoch (5m → :00, :05, …).', examples: ['5m'] },
      hop: { type: 'string', pattern: '^[0-9]+(ms|s|m|h|d)$', description: 'Start a window every hop (hopping windows); default size (tumbling).' },
      groupBy: { type: 'array', items: { type: 'string' }, default: [], description: 'Fields that split windows (one row per window and group).' },
      allowedLateness: { type: 'string', pattern: '^[0-9]+(ms|s|m|h|d)$', default: '0s', description: 'How far behind the newest event a window still accepts events.' },
      aggregates: {
        type: 'object', minProperties: 1,
        description: 'Output column → {count: true} | {sum|avg|min|max|p95|countDistinct: field} | {quantile: [field, q]} | {countWhere: {field, in}} | {sumWhere: {field, in, sum}}.',
        additionalProperties: {
          oneOf: [
            { type: 'object', required: ['count'], additionalProperties: false, properties: { count: { const: true } } },
            ...['sum', 'avg', 'min', 'max', 'p95', 'countDistinct'].map((k) => ({ type: 'object', required: [k], additionalProperties: false, properties: { [k]: field } })),
            { type: 'object', required: ['quantile'], additionalProperties: false, properties: { quantile: { type: 'array', prefixItems: [field, { type: 'number', minimum: 0, maximum: 1 }], minItems: 2, maxItems: 2 } } },
            { type: 'object', required: ['countWhere'], additionalProperties: false, properties: { countWhere: { type: 'object', required: ['field', 'in'], properties: { field, in: { type: 'array' } } } } },
            { type: 'object', required: ['sumWhere'], additionalProperties: false, properties: { sumWhere: { type: 'object', required: ['field', 'in', 'sum'], properties: { field, in: { type: 'array' }, sum: field } } } },
          ],
        },
        examples: [{ events: { count: true }, revenue: { sumWhere: { field: 'event_type', in: ['purchase'], sum: 'amount' } }, p95_latency_ms: { p95: 'latency_ms' } }],
      },
    },
  },
}, WindowTransform);
