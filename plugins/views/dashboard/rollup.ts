// Rollups the dashboard derives from its widgets' queries (issue 18, target 3): an aggregate over one DuckDB table is
// answered from a smaller table grouped by the columns the query and its filters read, kept in an in-memory database
// of the view's DuckDB and rebuilt when the table's writers commit. The query is analysed with DuckDB's own parser
// (`json_serialize_sql`); an answer comes from the rollup only while it is current, else from the raw query.
import type { Logger, SqlClient } from '../../../core/sdk/index.ts';
import { parseTemplate, quoteIdent } from '../shared/sql.ts';
import type { FilterConfig } from './config.ts';
import type { Widget } from './engine.ts';

/** The in-memory database (attached to the view's DuckDB) holding the rollups; gone when the process ends. */
export const ROLLUPS = '_rollups';

/** `auto` derives a rollup only when the table has at least this many rows… */
export const ROLLUP_MIN_ROWS = 100_000;
/** …and the rollup has at most this share of the table's rows. */
export const ROLLUP_MAX_SHARE = 0.1;

/** What a rollup keeps per group, and how the widget's aggregate is computed again from it. */
interface Measure {
  /** Column of the rollup. */
  name: string;
  /** Aggregate over the table (`sum(amount)`). */
  expr: string;
}

/** A widget query the view can answer from a rollup: how to build it and the query rewritten onto it. */
export interface RollupPlan {
  /** The table the query reads, as written in it. */
  source: string;
  /** `FROM` text of the build (the table with the query's alias). */
  from: string;
  /**
   * Rollup columns: the table's columns the query and its filters read outside aggregates; `day`: a timestamp only
   * read cut to the day or coarser (or by a date range), kept cut to the day.
   */
  dimensions: { name: string; day?: 'TIMESTAMP' | 'TIMESTAMP WITH TIME ZONE' }[];
  measures: Measure[];
  /** The widget's query template with the table and its aggregates replaced: `{{where}}`, `:params` kept. */
  template: string;
}

/** Why a query gets no rollup (said once in the log). */
export class NoRollup extends Error {}

/** Aggregates that combine from partial results; `avg` becomes sum/count. */
const DECOMPOSABLE = new Set(['sum', 'count', 'count_star', 'min', 'max', 'avg']);
/** Truncations to a day or coarser: over a timestamp already cut to its day they give the same value. */
const DAY_OR_COARSER = new Set(['day', 'week', 'month', 'quarter', 'year', 'decade', 'century', 'millennium']);
const DAY_TYPES = new Set(['TIMESTAMP', 'TIMESTAMP WITH TIME ZONE']);

/** Built-in macros that compute one value from their arguments (others, such as geomean, aggregate). */
const SCALAR_MACROS = new Set(['nullif', 'ifnull', 'date_add', 'fdiv', 'fmod', 'days_in_month']);

type Node = Record<string, unknown>;
type Sql = Pick<SqlClient, 'query'>;

/**
 * The normalised template and a text DuckDB can parse with the same character positions: each `:param` becomes `$1`
 * padded to its length, each `{{where}}`/`{{and}}` as many spaces (the filters' conditions are analysed apart).
 */
function probeOf(sql: string): { template: string; probe: string } {
  let template = '';
  let probe = '';
  for (const part of parseTemplate(sql)) {
    const text = part.kind === 'text' ? part.text : part.kind === 'param' ? `:${part.name}` : `{{${part.name}}}`;
    template += text;
    probe += part.kind === 'text' ? text : part.kind === 'param' ? '$1'.padEnd(text.length) : ' '.repeat(text.length);
  }
  return { template, probe };
}

async function parse(client: Sql, sql: string): Promise<Node> {
  const [row] = await client.query(`SELECT json_serialize_sql(${sqlLiteral(sql)}) AS tree`);
  const tree = JSON.parse(String(row?.tree)) as Node & { statements?: { node: Node }[] };
  if (tree.error) throw new NoRollup(`DuckDB cannot parse it (${String(tree.error_message)})`);
  if (tree.statements?.length !== 1) throw new NoRollup('it is not one statement');
  return tree.statements[0].node;
}

const sqlLiteral = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** Every expression node under `value` (lists and nested objects), each visited once, parents first. */
function* expressions(value: unknown): Generator<Node> {
  if (Array.isArray(value)) for (const item of value) yield* expressions(item);
  else if (value && typeof value === 'object') {
    const node = value as Node;
    if (typeof node.class === 'string') yield node;
    for (const [key, child] of Object.entries(node)) if (key !== 'value') yield* expressions(child);
  }
}

/** The end (exclusive) of the call whose name starts at `start`: its closing parenthesis, strings skipped. */
function callEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = text.indexOf('(', start); i < text.length; i++) {
    const ch = text[i];
    if (ch === "'" || ch === '"') {
      const close = text.indexOf(ch, i + 1);
      i = close === -1 ? text.length : close;
    } else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i + 1;
  }
  throw new NoRollup('an aggregate call has no closing parenthesis');
}

/** The end of a (possibly qualified, quoted) name starting at `start`. */
function nameEnd(text: string, start: number): number {
  const match = /^(?:"(?:[^"]|"")*"|[\w$]+)(?:\s*\.\s*(?:"(?:[^"]|"")*"|[\w$]+))*/.exec(text.slice(start));
  if (!match) throw new NoRollup('the table name was not found where DuckDB places it');
  return start + match[0].length;
}

const columnName = (node: Node) => (node.column_names as string[]).at(-1)!;

/**
 * Whether a query template can be answered from a rollup, and how. `filters` are the conditions the widget's
 * `{{where}}`/`{{and}}` receive (their columns, and whether the filter is a date range: whole days). Throws NoRollup
 * saying why not.
 */
export async function planRollup(
  client: Sql,
  sql: string,
  filters: { column: string; type: FilterConfig['type'] }[],
  name: string,
): Promise<RollupPlan> {
  const { template, probe } = probeOf(sql);
  const node = await parse(client, probe);
  if (node.type !== 'SELECT_NODE') throw new NoRollup('it is not a plain SELECT (a set operation or VALUES)');
  if ((node.cte_map as { map: unknown[] }).map.length) throw new NoRollup('it has a WITH clause');
  const from = node.from_table as Node;
  if (from.type !== 'BASE_TABLE' || from.sample || from.at_clause)
    throw new NoRollup('it does not read one table (a join, subquery or table function)');
  if ((node.modifiers as Node[]).some((m) => m.type === 'DISTINCT_MODIFIER'))
    throw new NoRollup('it is SELECT DISTINCT');
  if ((node.group_sets as unknown[][]).length > 1) throw new NoRollup('it has GROUPING SETS, ROLLUP or CUBE');
  if (node.qualify || node.sample) throw new NoRollup('it has QUALIFY or SAMPLE');

  // What each function name is: an aggregate, a scalar function, or a macro (which may hide an aggregate: geomean).
  const kinds = new Map<string, string[]>();
  for (const row of await client.query(
    'SELECT function_name AS name, list(DISTINCT function_type) AS kinds FROM duckdb_functions() GROUP BY 1',
  ))
    kinds.set(String(row.name), (row.kinds as string[]) ?? []);
  const aggregates = new Set([...kinds].filter(([, k]) => k.includes('aggregate')).map(([name]) => name));
  for (const fn of DECOMPOSABLE) aggregates.add(fn);
  const clauses = [
    node.select_list,
    node.where_clause,
    node.group_expressions,
    node.having,
    (node.modifiers as Node[]).filter((m) => m.type === 'ORDER_MODIFIER'),
  ];
  const calls: Node[] = [];
  /** Columns read outside aggregates, and whether every such read keeps its value when cut to the day. */
  const columns = new Map<string, boolean>();
  const visit = (value: unknown, inAggregate: boolean) => {
    if (Array.isArray(value)) return value.forEach((item) => visit(item, inAggregate));
    if (!value || typeof value !== 'object') return;
    const expr = value as Node;
    if (typeof expr.class !== 'string') {
      for (const [key, child] of Object.entries(expr)) if (key !== 'value') visit(child, inAggregate);
      return;
    }
    if (expr.class === 'SUBQUERY') throw new NoRollup('it has a subquery');
    if (expr.class === 'WINDOW') throw new NoRollup('it has a window function');
    if (expr.class === 'STAR') throw new NoRollup('it reads * outside count(*)');
    if (expr.class === 'FUNCTION' && aggregates.has(String(expr.function_name))) {
      const fn = String(expr.function_name);
      if (inAggregate) throw new NoRollup('it nests aggregates');
      if (!DECOMPOSABLE.has(fn))
        throw new NoRollup(`${fn}() is not decomposable (only sum, count, min, max and avg combine from a rollup)`);
      if (expr.distinct) throw new NoRollup(`${fn}(DISTINCT …) is not decomposable`);
      if (expr.filter || (expr.order_bys as { orders: unknown[] }).orders.length)
        throw new NoRollup(`${fn}() has FILTER or ORDER BY`);
      for (const inner of expressions(expr.children))
        if (inner.class === 'PARAMETER') throw new NoRollup(`${fn}() uses a parameter`);
      calls.push(expr);
      return visit(expr.children, true);
    }
    if (expr.class === 'FUNCTION' && !kinds.get(String(expr.function_name))?.includes('scalar')) {
      const fn = String(expr.function_name);
      if (!SCALAR_MACROS.has(fn))
        throw new NoRollup(`${fn}() is a macro or not a built-in function (it may aggregate)`);
    }
    if (expr.class === 'COLUMN_REF' && !inAggregate) {
      const name = columnName(expr);
      if (!columns.has(name)) columns.set(name, false);
      return;
    }
    if (!inAggregate && dayTruncated(expr)) {
      const name = columnName(dayTruncated(expr)!);
      columns.set(name, columns.get(name) ?? true);
      return;
    }
    for (const [key, child] of Object.entries(expr)) if (key !== 'value') visit(child, inAggregate);
  };
  for (const clause of clauses) visit(clause, false);
  if (!calls.length) throw new NoRollup('it has no aggregate');

  // The filters' columns: a date range compares whole days, another filter the column's values.
  for (const filter of filters) {
    const parsed = (await parse(client, `SELECT ${filter.column}`)).select_list as Node[];
    const single = parsed.length === 1 && parsed[0].class === 'COLUMN_REF' ? parsed[0] : undefined;
    if (single && filter.type === 'dateRange') {
      const name = columnName(single);
      columns.set(name, columns.get(name) ?? true);
    } else
      for (const ref of expressions(parsed)) {
        if (ref.class === 'SUBQUERY') throw new NoRollup(`the filter column ${filter.column} has a subquery`);
        if (ref.class === 'COLUMN_REF') columns.set(columnName(ref), false);
      }
  }

  const tableStart = Number(from.query_location);
  const tableEnd = nameEnd(probe, tableStart);
  const source = probe.slice(tableStart, tableEnd);
  const alias = String(from.alias ?? '');
  const fromText = alias ? `${source} AS ${quoteIdent(alias)}` : source;
  const types = new Map(
    (await client.query(`DESCRIBE SELECT * FROM ${fromText}`)).map((row) => [
      String(row.column_name),
      String(row.column_type),
    ]),
  );
  // A name that is no column of the table but an alias of the select list (ORDER BY revenue) stays as it is.
  const aliases = new Set((node.select_list as Node[]).map((item) => String(item.alias)).filter(Boolean));
  for (const column of columns.keys()) if (!types.has(column) && aliases.has(column)) columns.delete(column);
  const dimensions = [...columns].map(([column, daySafe]) => {
    const type = types.get(column);
    if (!type) throw new NoRollup(`${column} is not a column of ${source}`);
    return daySafe && DAY_TYPES.has(type)
      ? { name: column, day: type as 'TIMESTAMP' | 'TIMESTAMP WITH TIME ZONE' }
      : { name: column };
  });

  // Each aggregate call: the partial aggregates it needs, and the call that combines them (cast to the raw type).
  const measures: Measure[] = [];
  const measure = (expr: string) => {
    const found = measures.find((m) => m.expr === expr);
    if (found) return quoteIdent(found.name);
    measures.push({ name: `_m${measures.length}`, expr });
    return quoteIdent(measures.at(-1)!.name);
  };
  const spans = calls.map((call) => {
    const start = Number(call.query_location);
    const end = callEnd(probe, start);
    const text = probe.slice(start, end);
    const argument = text.slice(text.indexOf('(') + 1, -1);
    return { start, end, text, argument, fn: String(call.function_name) };
  });
  const described = await client.query(
    `DESCRIBE SELECT ${spans.map((s, i) => `${s.text} AS _a${i}`).join(', ')} FROM ${fromText}`,
  );
  const replacements = spans.map((span, i) => {
    const type = String(described[i].column_type);
    switch (span.fn) {
      case 'sum':
        return { ...span, with: `CAST(sum(${measure(span.text)}) AS ${type})` };
      case 'min':
      case 'max':
        return { ...span, with: `${span.fn}(${measure(span.text)})` };
      case 'count':
      case 'count_star':
        return { ...span, with: `CAST(coalesce(sum(${measure(span.text)}), 0) AS ${type})` };
      default: {
        if (type !== 'DOUBLE') throw new NoRollup(`avg() of a ${type}: only averages of numbers are rolled up`);
        const sum = measure(`sum(${span.argument})`);
        const count = measure(`count(${span.argument})`);
        return { ...span, with: `CAST(sum(${sum}) AS DOUBLE) / nullif(sum(${count}), 0)` };
      }
    }
  });
  let rewritten = template;
  for (const r of [...replacements, { start: tableStart, end: tableEnd, with: name }].sort((a, b) => b.start - a.start))
    rewritten = rewritten.slice(0, r.start) + r.with + rewritten.slice(r.end);
  return { source, from: fromText, dimensions, measures, template: rewritten };
}

/** `date_trunc('<day or coarser>', col)` or `CAST(col AS DATE)`: the column node, else undefined. */
function dayTruncated(expr: Node): Node | undefined {
  if (expr.class === 'CAST' && (expr.cast_type as Node).id === 'DATE' && !expr.try_cast) {
    const child = expr.child as Node;
    return child.class === 'COLUMN_REF' ? child : undefined;
  }
  if (expr.class === 'FUNCTION' && expr.function_name === 'date_trunc') {
    const [part, column] = expr.children as Node[];
    const unit = part?.class === 'CONSTANT' ? String((part.value as Node).value).toLowerCase() : '';
    return DAY_OR_COARSER.has(unit) && column?.class === 'COLUMN_REF' ? column : undefined;
  }
  return undefined;
}

const DAY_US = 86_400_000_000;

/**
 * The statement building (or rebuilding) a rollup. A timestamp kept by day is grouped by its day number (integer
 * arithmetic on the epoch, ten times faster than `date_trunc`'s time-zone library) and turned back into the day's
 * first instant per group; that holds for a TIMESTAMP, and for a TIMESTAMPTZ while the session's zone is UTC (`utc`),
 * else `date_trunc('day', …)` cuts it in the session's zone, as the raw query's conditions do.
 */
export function buildSql(plan: RollupPlan, name: string, utc: boolean): string {
  const byNumber = (d: RollupPlan['dimensions'][number]) => d.day === 'TIMESTAMP' || (d.day && utc);
  const inner = plan.dimensions.map((d) => {
    const column = quoteIdent(d.name);
    if (byNumber(d)) return `floor(epoch_us(${column}) / ${DAY_US}) AS ${column}`;
    return d.day ? `date_trunc('day', ${column}) AS ${column}` : column;
  });
  const outer = plan.dimensions.map((d) => {
    const column = quoteIdent(d.name);
    if (!byNumber(d)) return column;
    return d.day === 'TIMESTAMP'
      ? `make_timestamp(CAST(${column} AS BIGINT) * ${DAY_US}) AS ${column}`
      : `to_timestamp(${column} * 86400) AS ${column}`;
  });
  const groups = plan.dimensions.map((_, i) => String(i + 1));
  const grouped = `SELECT ${[...inner, ...plan.measures.map((m) => `${m.expr} AS ${quoteIdent(m.name)}`)].join(', ')} FROM ${plan.from}${groups.length ? ` GROUP BY ${groups.join(', ')}` : ''}`;
  return `CREATE OR REPLACE TABLE ${name} AS SELECT ${[...outer, ...plan.measures.map((m) => quoteIdent(m.name))].join(', ')} FROM (${grouped}) AS _grouped`;
}

/** Whether the session's time zone is UTC (days of a TIMESTAMPTZ are then whole multiples of 86,400 s). */
export async function sessionIsUtc(client: Sql): Promise<boolean> {
  const [row] = await client.query("SELECT current_setting('TimeZone') AS zone").catch(() => [{ zone: '' }]);
  return /^(Etc\/)?(UTC|UCT|GMT|Universal|Zulu)$/.test(String(row?.zone));
}

export interface RollupOptions {
  /** The view's DuckDB (not the cached reads). */
  client: () => Promise<SqlClient | undefined>;
  logger: Logger;
  view: string;
  /** Longest a rollup is used after it was built: writes the pipeline does not announce show within it. */
  maxAgeMs: number;
}

interface State {
  query: string;
  plan?: Promise<RollupPlan | NoRollup>;
  /** The rollup is built and pays: its rows are the table's as of `generation`. */
  built?: { generation: number; at: number; template: string };
  /** When the query got no rollup (table too small, rollup too large): judged again after a commit or maxAge. */
  judged?: { generation: number; at: number };
  /** Why the query's shape allows no rollup: the raw query answers for good. */
  refused?: string;
  building?: Promise<void>;
  /** When the last build ended and how long it took: rebuilds keep to a fifth of the time. */
  lastBuild?: { end: number; ms: number };
  timer?: ReturnType<typeof setTimeout>;
  /** The message last logged, so that each state is said once. */
  said?: string;
}

/**
 * The rollups of one view. `current(widget)` gives the widget's query rewritten onto its rollup when that is current
 * (built after the last commit the view heard, and within maxAge), else undefined — the raw query answers — and starts
 * a build. `commit()` marks every rollup stale and rebuilds those built before; a widget's builds take at most a fifth
 * of the time (a build of t ms waits 4t after the previous one), so frequent commits cost bounded work.
 */
export class Rollups {
  private generation = 0;
  private readonly states = new Map<string, State>();
  private closed = false;

  constructor(private readonly options: RollupOptions) {}

  /** The table a widget's rollup lives in. */
  tableName(widget: string): string {
    return `${quoteIdent(ROLLUPS)}.main.${quoteIdent(`${this.options.view}__${widget}`)}`;
  }

  /** The widget's query over its rollup when that is current; else undefined, and a build is started. */
  current(widget: Widget, filters: Record<string, FilterConfig>): string | undefined {
    const query = widget.config.query;
    if (!query || (widget.config.rollup ?? 'auto') === 'off' || this.closed) return undefined;
    let state = this.states.get(widget.config.id);
    if (!state || state.query !== query) {
      state = { query };
      this.states.set(widget.config.id, state);
    }
    if (state.refused) return undefined;
    const built = state.built;
    if (built && built.generation === this.generation && performance.now() - built.at < this.options.maxAgeMs)
      return built.template;
    const judged = state.judged;
    if (!judged || judged.generation !== this.generation || performance.now() - judged.at >= this.options.maxAgeMs)
      this.schedule(widget, state, filters);
    return undefined;
  }

  /** A step behind the view committed: no rollup answers until rebuilt; those built before are rebuilt now. */
  commit(widgets: Widget[], filters: Record<string, FilterConfig>): void {
    this.generation++;
    for (const widget of widgets) {
      const state = this.states.get(widget.config.id);
      if (state?.built) this.schedule(widget, state, filters);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const state of this.states.values()) clearTimeout(state.timer);
    await Promise.all([...this.states.values()].map((s) => s.building));
    const built = [...this.states].filter(([, state]) => state.built).map(([id]) => id);
    const client = built.length ? await this.options.client().catch(() => undefined) : undefined;
    for (const id of built) await client?.exec(`DROP TABLE IF EXISTS ${this.tableName(id)}`).catch(() => undefined);
  }

  /** Resolves once no build is under way or waiting (tests wait for a rollup this way). */
  async settled(): Promise<void> {
    for (;;) {
      const pending = [...this.states.values()].filter((s) => s.building || s.timer);
      if (!pending.length) return;
      await Promise.all(pending.map((s) => s.building ?? new Promise((resolve) => setTimeout(resolve, 5))));
    }
  }

  private schedule(widget: Widget, state: State, filters: Record<string, FilterConfig>): void {
    if (state.building || state.timer || this.closed) return;
    const wait = state.lastBuild ? Math.max(0, state.lastBuild.end + 4 * state.lastBuild.ms - performance.now()) : 0;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      state.building = this.build(widget, state, filters).finally(() => {
        state.building = undefined;
        // A commit heard while building: build again (after the pause).
        if (state.built && state.built.generation !== this.generation) this.schedule(widget, state, filters);
      });
    }, wait);
    state.timer.unref?.(); // a pending rebuild does not keep the process alive
  }

  private say(state: State, widget: Widget, message: string, level: 'info' | 'warn' = 'info'): void {
    if (state.said === message) return;
    state.said = message;
    this.options.logger[level](`widget "${widget.config.id}": ${message}`);
  }

  private async build(widget: Widget, state: State, filters: Record<string, FilterConfig>): Promise<void> {
    const generation = this.generation;
    const started = performance.now();
    const stopped = (message: string) => {
      state.built = undefined;
      state.judged = { generation, at: started };
      this.say(state, widget, message);
    };
    try {
      const client = await this.options.client();
      if (!client || client.dialect !== 'duckdb') return stopped("no rollup: the view's connection is not DuckDB");
      // The plan holds while the query does; a failure that is not a NoRollup (no table yet) is tried again.
      state.plan ??= this.plan(client, widget, filters).catch((error) => {
        state.plan = undefined;
        if (error instanceof NoRollup) return error;
        throw error;
      });
      const plan = await state.plan;
      if (plan instanceof NoRollup) {
        state.refused = plan.message;
        return stopped(`no rollup, the raw query answers: ${plan.message}`);
      }
      const name = this.tableName(widget.config.id);
      const mode = widget.config.rollup ?? 'auto';
      const [{ n: total }] = await client.query(`SELECT count(*) AS n FROM ${plan.from}`);
      if (mode === 'auto' && Number(total) < ROLLUP_MIN_ROWS)
        return stopped(`no rollup while ${plan.source} has fewer than ${ROLLUP_MIN_ROWS} rows (${total})`);
      await client.exec(`ATTACH IF NOT EXISTS ':memory:' AS ${ROLLUPS}`);
      await client.exec(buildSql(plan, name, await sessionIsUtc(client)));
      const [{ n: rows }] = await client.query(`SELECT count(*) AS n FROM ${name}`);
      const by = plan.dimensions.map((d) => d.name).join(', ') || 'nothing';
      if (mode === 'auto' && Number(rows) > ROLLUP_MAX_SHARE * Number(total)) {
        await client.exec(`DROP TABLE IF EXISTS ${name}`);
        // Kept for as long as the query is: its groups grow with the table, so building it again after every commit
        // (an aggregate over the whole table, dropped at once) would only cost.
        state.refused = `grouped by ${by} it would keep ${rows} of ${total} rows, which does not pay`;
        return stopped(`no rollup: ${state.refused}`);
      }
      state.built = { generation, at: started, template: plan.template };
      this.say(state, widget, `answered from a rollup of ${plan.source} by ${by} (${rows} of ${total} rows)`);
    } catch (error) {
      state.built = undefined;
      this.say(state, widget, `rollup failed, the raw query answers: ${(error as Error).message}`, 'warn');
    } finally {
      state.lastBuild = { end: performance.now(), ms: performance.now() - started };
    }
  }

  private plan(client: SqlClient, widget: Widget, defs: Record<string, FilterConfig>): Promise<RollupPlan> {
    const filters = widget.applies.flatMap((id) => {
      const def = defs[id];
      const column = widget.config.filterColumns?.[id] ?? def?.column;
      return column ? [{ column, type: def.type }] : [];
    });
    return planRollup(client, widget.config.query!, filters, this.tableName(widget.config.id));
  }
}
