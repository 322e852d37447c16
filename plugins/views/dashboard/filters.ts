// Filters: URL parameters → typed values → bound SQL conditions, time windows, and (cascading) options.
import type { Row, SqlClient } from '../../../core/sdk/index.ts';
import { isDuration, parseDuration, rangeLabel } from '../shared/duration.ts';
import { coerceParam, isIsoDate, ParamError, type ParamSpec } from '../shared/params.ts';
import { bindQuery, type Condition } from '../shared/sql.ts';
import type { FilterModel, Option } from '../ui/types.ts';
import type { FilterConfig } from './config.ts';

export type FilterValue = string | number | (string | number)[] | { from: string | null; to: string | null } | null;

/** A resolved time window: timeRange → Dates, dateRange → 'YYYY-MM-DD' (to exclusive). */
export interface TimeWindow {
  from: Date | string | null;
  to: Date | string | null;
  previous: { from: Date | string; to: Date | string } | null;
}

export const DEFAULT_TIME_OPTIONS = ['12h', '24h', '7d', '30d', 'all'];

/** Names other parameters of the data API take (paging, a table's sort and search, :from/:to). */
export const RESERVED_FILTER_IDS = ['format', 'limit', 'offset', 'from', 'to', 'sort', 'order', 'q'];

export class Filters {
  readonly order: string[];

  constructor(readonly defs: Record<string, FilterConfig>) {
    for (const [id, def] of Object.entries(defs)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(id))
        throw new Error(`filter "${id}": ids are letters, digits and _ (they are URL and SQL parameter names)`);
      if (RESERVED_FILTER_IDS.includes(id))
        throw new Error(`filter "${id}": the name is reserved (${RESERVED_FILTER_IDS.join(', ')})`);
      for (const parent of def.dependsOn ?? [])
        if (!defs[parent]) throw new Error(`filter "${id}": dependsOn names an unknown filter "${parent}"`);
      if (def.type === 'timeRange') {
        for (const option of timeOptions(def))
          if (option !== 'all' && !isDuration(option))
            throw new Error(`filter "${id}": "${option}" is not a duration or "all"`);
        if (def.anchor === 'latest' && !(def.table && def.column))
          throw new Error(`filter "${id}": anchor: latest needs table and column`);
      }
    }
    this.order = topological(defs);
  }

  ids(): string[] {
    return Object.keys(this.defs);
  }

  /** Query-parameter specs, for validation and OpenAPI. */
  paramSpecs(): Record<string, ParamSpec> {
    const specs: Record<string, ParamSpec> = {};
    for (const [id, def] of Object.entries(this.defs)) {
      const description = def.label ? `${def.label} filter` : `${id} filter`;
      switch (def.type) {
        case 'select':
        case 'multiSelect': {
          const staticValues =
            def.options && !def.query ? def.options.map((o) => (typeof o === 'object' ? o.value : o)) : undefined;
          specs[id] = {
            type: def.valueType ?? 'string',
            array: def.type === 'multiSelect',
            enum: staticValues,
            description,
          };
          break;
        }
        case 'timeRange':
          specs[id] = {
            type: 'string',
            enum: timeOptions(def),
            default: timeDefault(def),
            description: `${description}: a range ending ${def.anchor === 'latest' ? 'at the newest data' : 'now'}`,
          };
          break;
        case 'dateRange':
          specs[id] = {
            type: 'string',
            pattern: '^((\\d{4}-\\d{2}-\\d{2})?\\.\\.(\\d{4}-\\d{2}-\\d{2})?)?$',
            description: `${description}: YYYY-MM-DD..YYYY-MM-DD (either side may be empty; both inclusive)`,
          };
          break;
      }
    }
    return specs;
  }

  /** One filter's value from its raw URL values; throws ParamError. */
  parse(id: string, raws: string[]): FilterValue {
    const def = this.defs[id];
    const spec = this.paramSpecs()[id];
    if (raws.length === 0) return this.defaultValue(id);
    if (def.type === 'multiSelect')
      return raws
        .filter((r) => r !== '')
        .map((raw) => coerceParam(id, raw, { ...spec, array: false }) as string | number);
    if (raws.length > 1) throw new ParamError(id, `${id} must be given once (got ${raws.length} values)`);
    const raw = raws[0];
    if (def.type === 'select') return raw === '' ? null : (coerceParam(id, raw, spec) as string | number);
    if (def.type === 'timeRange') return coerceParam(id, raw, spec) as string;
    return parseDateRange(id, raw);
  }

  defaultValue(id: string): FilterValue {
    const def = this.defs[id];
    const given = def.default;
    switch (def.type) {
      case 'timeRange':
        return timeDefault(def);
      case 'dateRange':
        return typeof given === 'string' ? parseDateRange(id, given) : null;
      case 'multiSelect':
        return given === undefined ? [] : ([] as (string | number)[]).concat(given);
      default:
        return given === undefined || Array.isArray(given) ? null : given;
    }
  }

  /**
   * Every filter's value from a query string. Strict: unknown or malformed parameters throw ParamError;
   * lenient: they fall back to the default and are reported in `ignored`.
   */
  read(
    search: URLSearchParams,
    options: { strict: boolean; allowed?: string[] },
  ): { values: Record<string, FilterValue>; ignored: string[] } {
    const values: Record<string, FilterValue> = {};
    const ignored: string[] = [];
    for (const key of new Set(search.keys())) {
      if (this.defs[key] || options.allowed?.includes(key)) continue;
      if (options.strict)
        throw new ParamError(
          key,
          `unknown parameter "${key}" (expected: ${[...this.ids(), ...(options.allowed ?? [])].join(', ')})`,
        );
      ignored.push(`unknown parameter "${key}"`);
    }
    for (const id of this.ids()) {
      try {
        values[id] = this.parse(id, search.getAll(id));
      } catch (error) {
        if (options.strict || !(error instanceof ParamError)) throw error;
        ignored.push(error.message);
        values[id] = this.defaultValue(id);
      }
    }
    return { values, ignored };
  }

  /** True when the value constrains the data. */
  isActive(id: string, value: FilterValue): boolean {
    if (value === null || value === undefined) return false;
    if (Array.isArray(value)) return value.length > 0;
    if (this.defs[id].type === 'timeRange') return value !== 'all';
    if (typeof value === 'object') return Boolean(value.from || value.to);
    return true;
  }

  /** Resolves time windows (one max() query per `anchor: latest` filter). */
  async windows(
    client: SqlClient | undefined,
    values: Record<string, FilterValue>,
    now: Date,
  ): Promise<Record<string, TimeWindow | null>> {
    const out: Record<string, TimeWindow | null> = {};
    for (const [id, def] of Object.entries(this.defs)) {
      const value = values[id];
      if (!this.isActive(id, value)) out[id] = null;
      else if (def.type === 'timeRange')
        out[id] = relativeWindow(parseDuration(value as string), await anchorOf(client, def, now));
      else if (def.type === 'dateRange') out[id] = dateWindow(value as { from: string | null; to: string | null });
    }
    return out;
  }

  /** Bound conditions and named values for a query that responds to `applies`. */
  bindInput(
    applies: string[],
    values: Record<string, FilterValue>,
    windows: Record<string, TimeWindow | null>,
    options: { columns?: Record<string, string>; previous?: boolean } = {},
  ) {
    const conditions: Condition[] = [];
    const named: Record<string, unknown> = { from: null, to: null };
    let timeBound = false;
    for (const id of this.ids()) named[id] = namedValue(values[id]);
    for (const id of applies) {
      const def = this.defs[id];
      const value = values[id];
      const column = options.columns?.[id] ?? def.column;
      if (def.type === 'timeRange' || def.type === 'dateRange') {
        const window = windows[id];
        if (!window) continue;
        const range = options.previous && window.previous ? window.previous : window;
        if (!timeBound) {
          named.from = range.from;
          named.to = range.to;
          timeBound = true;
        }
        if (column) conditions.push({ column, op: 'range', from: range.from ?? undefined, to: range.to ?? undefined });
      } else if (this.isActive(id, value) && column) {
        if (Array.isArray(value)) conditions.push({ column, op: 'in', values: value });
        else conditions.push({ column, op: '=', value });
      }
    }
    return { conditions, named };
  }

  /** The UI model of every filter, with options fetched in dependency order; values no longer offered are cleared. */
  async models(client: SqlClient | undefined, values: Record<string, FilterValue>): Promise<FilterModel[]> {
    const models = new Map<string, FilterModel>();
    for (const id of this.order) {
      const def = this.defs[id];
      let options: Option[] = [];
      let failed = false;
      try {
        options = await this.options(client, id, values);
      } catch {
        failed = true; // e.g. the table does not exist yet: keep the value, offer nothing
      }
      if (this.isDynamic(id) && !failed) values[id] = keepOffered(values[id], options);
      models.set(id, {
        id,
        type: def.type,
        label: def.label ?? id,
        options,
        value: urlValue(values[id]),
        defaultValue: urlValue(this.defaultValue(id)),
        dependsOn: def.dependsOn ?? [],
        dynamic: this.isDynamic(id),
      });
    }
    return this.ids().map((id) => models.get(id)!);
  }

  isDynamic(id: string): boolean {
    const def = this.defs[id];
    return (def.type === 'select' || def.type === 'multiSelect') && !def.options;
  }

  /** The choices of one filter given the values of the filters it depends on. */
  async options(client: SqlClient | undefined, id: string, values: Record<string, FilterValue>): Promise<Option[]> {
    const def = this.defs[id];
    if (def.type === 'timeRange') return timeOptions(def).map((value) => ({ value, label: rangeLabel(value) }));
    if (def.type === 'dateRange') return [];
    if (def.options)
      return def.options.map((o) =>
        typeof o === 'object'
          ? { value: String(o.value), label: o.label ?? String(o.value) }
          : { value: String(o), label: String(o) },
      );
    const sql =
      def.query ??
      (def.column && def.table
        ? `SELECT DISTINCT ${def.column} AS value FROM ${def.table} {{where}} ORDER BY 1 LIMIT 500`
        : undefined);
    if (!sql) return [];
    if (!client) throw new Error(`filter "${id}" needs the step's connection for its choices`);
    const input = this.bindInput(
      def.dependsOn ?? [],
      values,
      await this.windows(client, pick(values, def.dependsOn ?? []), new Date()),
    );
    const bound = bindQuery(sql, input);
    const rows = await client.query(bound.text, bound.params);
    return rows
      .filter((row) => firstValue(row) !== null && firstValue(row) !== undefined)
      .slice(0, 1000)
      .map(optionOf);
  }
}

function pick(values: Record<string, FilterValue>, ids: string[]): Record<string, FilterValue> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, ids.includes(k) ? v : null]));
}

function firstValue(row: Row): unknown {
  return Object.values(row)[0];
}

function optionOf(row: Row): Option {
  const [value, label] = Object.values(row);
  const text = value instanceof Date ? value.toISOString() : String(value);
  return { value: text, label: label === undefined || label === null ? text : String(label) };
}

function keepOffered(value: FilterValue, options: Option[]): FilterValue {
  const offered = new Set(options.map((o) => o.value));
  if (Array.isArray(value)) return value.filter((v) => offered.has(String(v)));
  if (value === null || typeof value === 'object') return value;
  return offered.has(String(value)) ? value : null;
}

function namedValue(value: FilterValue): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) return `${value.from ?? ''}..${value.to ?? ''}`;
  return value;
}

/** The URL form of a value ('YYYY-MM-DD..YYYY-MM-DD' for date ranges). */
export function urlValue(value: FilterValue): string | string[] | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'object') return value.from || value.to ? `${value.from ?? ''}..${value.to ?? ''}` : null;
  return String(value);
}

function timeOptions(def: FilterConfig): string[] {
  return def.options?.length
    ? def.options.map((o) => String(typeof o === 'object' ? o.value : o))
    : DEFAULT_TIME_OPTIONS;
}

function timeDefault(def: FilterConfig): string {
  const options = timeOptions(def);
  if (typeof def.default === 'string' && options.includes(def.default)) return def.default;
  return options.includes('24h') ? '24h' : options[0];
}

export function parseDateRange(id: string, raw: string): { from: string | null; to: string | null } | null {
  if (raw === '' || raw === '..') return null;
  const match = /^(\d{4}-\d{2}-\d{2})?\.\.(\d{4}-\d{2}-\d{2})?$/.exec(raw);
  if (!match || (match[1] && !isIsoDate(match[1])) || (match[2] && !isIsoDate(match[2]))) {
    throw new ParamError(id, `${id} must be YYYY-MM-DD..YYYY-MM-DD (got ${JSON.stringify(raw)})`);
  }
  if (match[1] && match[2] && match[1] > match[2])
    throw new ParamError(id, `${id}: the start ${match[1]} is after the end ${match[2]}`);
  return { from: match[1] ?? null, to: match[2] ?? null };
}

async function anchorOf(client: SqlClient | undefined, def: FilterConfig, now: Date): Promise<Date> {
  if (def.anchor !== 'latest' || !client) return now;
  try {
    const [row] = await client.query(`SELECT max(${def.column}) AS latest FROM ${def.table}`);
    const latest = row?.latest;
    const time = latest instanceof Date ? latest.getTime() : typeof latest === 'string' ? Date.parse(latest) : NaN;
    // +1 ms: ranges end exclusive, and the newest row belongs in them.
    return Number.isNaN(time) ? now : new Date(time + 1);
  } catch {
    return now;
  }
}

function relativeWindow(ms: number, end: Date): TimeWindow {
  const from = new Date(end.getTime() - ms);
  return { from, to: end, previous: { from: new Date(from.getTime() - ms), to: from } };
}

function dateWindow(range: { from: string | null; to: string | null }): TimeWindow {
  const to = range.to ? addDays(range.to, 1) : null;
  if (!range.from || !to) return { from: range.from, to, previous: null };
  const days = Math.round((Date.parse(to) - Date.parse(range.from)) / 86_400_000);
  return { from: range.from, to, previous: { from: addDays(range.from, -days), to: range.from } };
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

function topological(defs: Record<string, FilterConfig>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]) => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting')
      throw new Error(`filters depend on each other in a cycle: ${[...path, id].join(' → ')}`);
    state.set(id, 'visiting');
    for (const parent of defs[id].dependsOn ?? []) visit(parent, [...path, id]);
    state.set(id, 'done');
    order.push(id);
  };
  for (const id of Object.keys(defs)) visit(id, []);
  return order;
}
