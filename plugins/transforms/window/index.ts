import {
  configSchema,
  duration,
  fieldOf as ownField,
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type ConfigOf,
  type ConfigSchema,
  type Row,
  type StepInfo,
  type Transform,
  type TransformContext,
} from '../../../core/sdk/index.ts';
import { parseDuration } from '../../../core/sdk/duration.ts';

type WindowConfig = ConfigOf<typeof CONFIG>;
type Aggregate = WindowConfig['aggregates'][string];

/** Accumulator of one aggregate in one window (plain JSON but for `distinct`, a Set saved as an array). */
interface Acc {
  n: number;
  s: number;
  min: number | null;
  max: number | null;
  values?: number[];
  distinct?: Set<string>;
}

interface WindowState {
  start: number;
  groups: Row;
  accs: Record<string, Acc>;
}

type SavedAcc = Omit<Acc, 'distinct'> & { distinct?: string[] };

/** What snapshot() returns: plain JSON. */
export interface WindowSnapshot {
  /** Newest event time seen (epoch ms), null before the first event. */
  newest: number | null;
  windows: { key: string; start: number; groups: Row; accs: Record<string, SavedAcc> }[];
}

/**
 * Tumbling (size) or hopping (size + hop) event-time windows aligned to the epoch (5-minute windows start at :00,
 * :05, … UTC). Emits the current value of every window a batch touched (update mode: upsert by window_start and the
 * groups, and the table converges on the final values).
 *
 * The watermark is the newest event time seen minus `allowedLateness`, taken at the start of each batch. A window
 * closes once its end is at or behind the watermark: its state is dropped after the batch, and an event that only
 * falls in closed windows goes to dead-letter ("late beyond allowed lateness"). Quantiles (p95, quantile) are exact:
 * every value of an open window is kept, and the result interpolates linearly between the closest ranks (like
 * DuckDB's quantile_cont and numpy's default). An aggregate over no values is null, never NaN (counts are 0).
 * Event times are Dates, ISO strings (without a zone: UTC) or epoch milliseconds.
 */
@injectable()
export class WindowTransform implements Transform {
  private readonly size: number;
  private readonly hop: number;
  private readonly lateness: number;
  private readonly aggregates: [string, Aggregate][];
  private windows = new Map<string, WindowState>();
  private newest = -Infinity;

  constructor(
    @inject(TOKENS.Config) private readonly config: WindowConfig,
    @inject(TOKENS.Step) step: StepInfo,
  ) {
    this.size = parseDuration(config.size);
    this.hop = config.hop ? parseDuration(config.hop) : this.size;
    this.lateness = parseDuration(config.allowedLateness);
    this.aggregates = Object.entries(config.aggregates);
    if (this.size <= 0 || this.hop <= 0) throw new Error(`${step.id}: size and hop must be longer than 0`);
    if (this.hop > this.size)
      throw new Error(`${step.id}: hop (${config.hop}) cannot be longer than size (${config.size})`);
    const taken = new Set(['window_start', 'window_end', ...config.groupBy]);
    for (const [name] of this.aggregates)
      if (taken.has(name))
        throw new Error(
          `${step.id}: aggregate ${name} has the name of a ${config.groupBy.includes(name) ? 'groupBy field' : 'window column'}`,
        );
  }

  process(records: Row[], ctx: TransformContext): Row[] {
    const touched = new Set<string>();
    const watermark = this.newest - this.lateness;
    for (const record of records) {
      const raw = ownField(record, this.config.timeField);
      const time = timeOf(raw);
      if (time === null) {
        ctx.reject(record, `${this.config.timeField}: not a time (${JSON.stringify(raw) ?? 'missing'})`);
        continue;
      }
      const starts = this.startsOf(time).filter((start) => start + this.size > watermark);
      if (starts.length === 0) {
        ctx.reject(
          record,
          `late beyond allowed lateness (${this.config.allowedLateness}): event at ${new Date(time).toISOString()}, watermark ${new Date(watermark).toISOString()}`,
        );
        continue;
      }
      const groupValues = this.config.groupBy.map((g) => ownField(record, g) ?? null);
      let group: string;
      try {
        group = JSON.stringify(groupValues);
      } catch (error) {
        // A group value nested too deeply to compare is this record's problem, not the batch's.
        ctx.reject(
          record,
          `${this.config.groupBy.join(', ')}: cannot be grouped (${error instanceof RangeError ? 'nested too deeply' : (error as Error).message})`,
        );
        continue;
      }
      for (const start of starts) {
        // The same text as JSON.stringify([start, ...groupValues]) (snapshots keep these keys).
        const key = groupValues.length ? `[${start},${group.slice(1)}` : `[${start}]`;
        let window = this.windows.get(key);
        if (!window) {
          const groups = Object.fromEntries(this.config.groupBy.map((g, i) => [g, groupValues[i]]));
          const accs = Object.fromEntries(this.aggregates.map(([name, aggregate]) => [name, emptyAcc(aggregate)]));
          this.windows.set(key, (window = { start, groups, accs }));
        }
        for (const [name, aggregate] of this.aggregates) accumulate(window.accs[name], aggregate, record);
        touched.add(key);
      }
      if (time > this.newest) this.newest = time;
    }
    const out = [...touched].map((key) => this.row(this.windows.get(key)!));
    // Windows at or behind the new watermark can no longer change: drop their state.
    const closed = this.newest - this.lateness;
    for (const [key, window] of this.windows) if (window.start + this.size <= closed) this.windows.delete(key);
    return out;
  }

  snapshot(): WindowSnapshot {
    return {
      newest: Number.isFinite(this.newest) ? this.newest : null,
      windows: [...this.windows].map(([key, w]) => ({
        key,
        start: w.start,
        groups: w.groups,
        accs: Object.fromEntries(
          Object.entries(w.accs).map(([name, acc]) => [
            name,
            { ...acc, distinct: acc.distinct ? [...acc.distinct] : undefined },
          ]),
        ),
      })),
    };
  }

  restore(state: unknown): void {
    const saved = state as WindowSnapshot | null | undefined;
    if (!saved || !Array.isArray(saved.windows)) return;
    this.newest = saved.newest ?? -Infinity;
    this.windows = new Map(
      saved.windows.map((w) => [
        w.key,
        {
          start: w.start,
          groups: w.groups,
          accs: Object.fromEntries(
            this.aggregates.map(([name, aggregate]) => {
              const acc = w.accs[name];
              return [
                name,
                acc ? { ...acc, distinct: acc.distinct ? new Set(acc.distinct) : undefined } : emptyAcc(aggregate),
              ];
            }),
          ),
        },
      ]),
    );
  }

  private startsOf(time: number): number[] {
    const starts: number[] = [];
    for (let start = Math.floor(time / this.hop) * this.hop; start > time - this.size; start -= this.hop)
      starts.push(start);
    return starts;
  }

  private row(window: WindowState): Row {
    const row: Row = {
      window_start: new Date(window.start),
      window_end: new Date(window.start + this.size),
      ...window.groups,
    };
    for (const [name, aggregate] of this.aggregates) row[name] = result(window.accs[name], aggregate);
    return row;
  }
}

/** Epoch ms of a Date, an ISO string (no zone: UTC) or a number; null when it is none of them. */
function timeOf(value: unknown): number | null {
  let time = NaN;
  if (value instanceof Date) time = value.getTime();
  else if (typeof value === 'number') time = value;
  else if (typeof value === 'string') {
    const local = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(value.trim());
    time = new Date(
      local ? `${value.trim().replace(' ', 'T')}${value.includes(':') ? 'Z' : 'T00:00:00Z'}` : value,
    ).getTime();
  }
  return Number.isFinite(time) ? time : null;
}

function emptyAcc(aggregate: Aggregate): Acc {
  const acc: Acc = { n: 0, s: 0, min: null, max: null };
  if ('p95' in aggregate || 'quantile' in aggregate) acc.values = [];
  if ('countDistinct' in aggregate) acc.distinct = new Set();
  return acc;
}

function numberOf(value: unknown): number | null {
  if (value === null || value === undefined || value === '' || typeof value === 'boolean') return null;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

function accumulate(acc: Acc, aggregate: Aggregate, record: Row): void {
  if ('count' in aggregate) return void acc.n++;
  if ('countDistinct' in aggregate) {
    const value = record[aggregate.countDistinct];
    if (value !== null && value !== undefined)
      acc.distinct!.add(
        value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value),
      );
    return;
  }
  if ('countWhere' in aggregate) {
    if (aggregate.countWhere.in.includes(record[aggregate.countWhere.field])) acc.n++;
    return;
  }
  if ('sumWhere' in aggregate && !aggregate.sumWhere.in.includes(record[aggregate.sumWhere.field])) return;
  const v = numberOf(record[fieldOf(aggregate)]);
  if (v === null) return;
  acc.n++;
  acc.s += v;
  acc.min = acc.min === null ? v : Math.min(acc.min, v);
  acc.max = acc.max === null ? v : Math.max(acc.max, v);
  acc.values?.push(v);
}

function fieldOf(aggregate: Aggregate): string {
  if ('sum' in aggregate) return aggregate.sum;
  if ('avg' in aggregate) return aggregate.avg;
  if ('min' in aggregate) return aggregate.min;
  if ('max' in aggregate) return aggregate.max;
  if ('p95' in aggregate) return aggregate.p95;
  // quantile is [field, q] (prefixItems, checked by the schema; ConfigOf reads it as unknown[]).
  if ('quantile' in aggregate) return aggregate.quantile[0] as string;
  if ('sumWhere' in aggregate) return aggregate.sumWhere.sum;
  throw new Error(`no field in ${JSON.stringify(aggregate)}`);
}

function result(acc: Acc, aggregate: Aggregate): number | null {
  if ('count' in aggregate || 'countWhere' in aggregate) return acc.n;
  if ('countDistinct' in aggregate) return acc.distinct!.size;
  if (acc.n === 0) return null;
  if ('sum' in aggregate || 'sumWhere' in aggregate) return acc.s;
  if ('avg' in aggregate) return acc.s / acc.n;
  if ('min' in aggregate) return acc.min;
  if ('max' in aggregate) return acc.max;
  return quantile(acc.values!, 'p95' in aggregate ? 0.95 : (aggregate.quantile[1] as number));
}

/** Linear interpolation between the closest ranks (DuckDB quantile_cont, numpy's default); null for no values. */
export function quantile(values: number[], q: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const position = q * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

const field = configSchema({ type: 'string', description: 'A numeric field of the records.' });
const where = <const E extends Record<string, ConfigSchema>>(extra: E) =>
  configSchema({
    type: 'object',
    required: ['field', 'in', ...(Object.keys(extra) as (keyof E & string)[])],
    additionalProperties: false,
    properties: {
      field: { type: 'string', description: 'Field to test.' },
      in: { type: 'array', minItems: 1, description: 'Values that count.' },
      ...extra,
    },
  });
/** {sum|avg|min|max|p95|countDistinct: field}, one call each (a map would lose the literal types ConfigOf reads). */
const onField = <const K extends string>(k: K) =>
  configSchema({
    type: 'object',
    required: [k],
    additionalProperties: false,
    properties: {
      [k]: {
        type: 'string',
        description: `${k} of this field (non-numeric values are skipped${k === 'countDistinct' ? '; any type counts' : ''}).`,
      },
    } as Record<K, { type: 'string'; description: string }>,
  });

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['timeField', 'size', 'aggregates'],
  properties: {
    timeField: {
      type: 'string',
      description:
        'Event time of each record: a Date, an ISO string (without a zone: UTC) or epoch milliseconds. Records without one go to dead-letter.',
      examples: ['event_ts'],
    },
    // Above 0: a window of 0 would never close.
    size: duration({
      description: 'Window length; windows are aligned to the epoch (5m → :00, :05, … UTC).',
      examples: ['5m', '1h'],
    }),
    hop: duration({
      description:
        'Start a window every hop (hopping windows, each event in size/hop windows); default: size (tumbling).',
      examples: ['1m'],
    }),
    groupBy: {
      type: 'array',
      items: { type: 'string' },
      default: [],
      description: 'Fields that split windows (one row per window and group).',
      examples: [['country']],
    },
    allowedLateness: duration(
      {
        default: '0s',
        description: 'How far behind the newest event time a window still accepts events.',
        examples: ['30m'],
      },
      { zero: true },
    ),
    aggregates: {
      type: 'object',
      minProperties: 1,
      description:
        'Output column → {count: true} | {sum|avg|min|max|p95|countDistinct: field} | {quantile: [field, q]} | {countWhere: {field, in}} | {sumWhere: {field, in, sum}}.',
      additionalProperties: {
        oneOf: [
          {
            type: 'object',
            required: ['count'],
            additionalProperties: false,
            properties: { count: { const: true, description: 'Events in the window.' } },
          },
          onField('sum'),
          onField('avg'),
          onField('min'),
          onField('max'),
          onField('p95'),
          onField('countDistinct'),
          {
            type: 'object',
            required: ['quantile'],
            additionalProperties: false,
            properties: {
              quantile: {
                type: 'array',
                prefixItems: [field, { type: 'number', minimum: 0, maximum: 1 }],
                minItems: 2,
                maxItems: 2,
                description: '[field, q]: the q-quantile, 0 ≤ q ≤ 1.',
              },
            },
          },
          {
            type: 'object',
            required: ['countWhere'],
            additionalProperties: false,
            properties: { countWhere: { ...where({}), description: 'Events whose field is one of `in`.' } },
          },
          {
            type: 'object',
            required: ['sumWhere'],
            additionalProperties: false,
            properties: {
              sumWhere: {
                ...where({ sum: field }),
                description: 'Sum of `sum` over events whose field is one of `in`.',
              },
            },
          },
        ],
      },
      examples: [
        {
          events: { count: true },
          revenue: { sumWhere: { field: 'event_type', in: ['purchase'], sum: 'amount' } },
          failed: { countWhere: { field: 'event_type', in: ['payment_failed'] } },
          p95_latency_ms: { p95: 'latency_ms' },
        },
      ],
    },
  },
});

export default pluginModule(
  {
    kind: 'transform',
    name: 'window',
    summary:
      'Tumbling or hopping event-time windows with a watermark and allowed lateness; emits updated windows (upsert them).',
    description:
      'Each batch emits the current aggregates of every window it touched, with window_start and window_end (timestamps) and the groupBy fields: ' +
      'write them with an upserting sink keyed by window_start (and the groups). The watermark is the newest event time minus allowedLateness; ' +
      'windows behind it are final and their state dropped, and events that only fall in them go to dead-letter. ' +
      'Quantiles are exact (linear interpolation between closest ranks, like DuckDB quantile_cont). Empty aggregates are null; counts are 0. ' +
      'The open windows are saved with the checkpoint.',
    stability: 'beta',
    config: CONFIG,
    examples: [
      {
        title: 'Revenue KPIs per 5-minute window, upserted',
        yaml: 'kpis:\n  use: window\n  from: events\n  with:\n    timeField: event_ts\n    size: 5m\n    allowedLateness: 30m\n    aggregates:\n      events: { count: true }\n      revenue: { sumWhere: { field: event_type, in: [purchase], sum: amount } }\n      p95_latency_ms: { p95: latency_ms }\n',
      },
    ],
  },
  WindowTransform,
);
