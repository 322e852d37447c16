// Auto mode: a sensible dashboard generated from table schemas when the config lists `tables` but no `widgets`.
import type { SqlClient } from '../../../core/sdk/index.ts';
import { quoteIdent } from '../shared/sql.ts';
import type { FilterConfig, WidgetConfig } from './config.ts';

export interface ColumnSchema {
  name: string;
  /** The database's type name (DuckDB or Postgres spelling). */
  type: string;
  /** Distinct values (text columns), when known. */
  distinct?: number;
}

export interface TableSchema {
  name: string;
  columns: ColumnSchema[];
  rows?: number;
  /** Milliseconds between the oldest and newest value of the first time column. */
  span?: number;
}

export type ColumnRole = 'measure' | 'time' | 'category' | 'other';

const NUMERIC =
  /^(tinyint|smallint|integer|int|bigint|hugeint|utinyint|usmallint|uinteger|ubigint|float|real|double|decimal|numeric)/i;
const TIME = /^(timestamp|date$|datetime)/i;
const TEXT = /^(varchar|text|character|char|string|enum|boolean|bool)/i;
const NOT_A_MEASURE =
  /(^id$|_id$|^id_|_key$|^year$|^month$|^week$|^day$|^hour$|zip|postal|phone|lat(itude)?$|lon(gitude)?$)/i;

export function roleOf(column: ColumnSchema): ColumnRole {
  if (TIME.test(column.type)) return 'time';
  if (NUMERIC.test(column.type)) return NOT_A_MEASURE.test(column.name) ? 'other' : 'measure';
  if (TEXT.test(column.type))
    return column.distinct === undefined || (column.distinct >= 2 && column.distinct <= 12) ? 'category' : 'other';
  return 'other';
}

/** "order_amount" → "Order amount". */
export function humanize(name: string): string {
  const words = name
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/[_\-.]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function slug(text: string): string {
  const s = text.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[A-Za-z]/.test(s) ? s : `c_${s}`;
}

function bucketOf(span: number | undefined): string {
  if (span === undefined) return 'day';
  if (span > 3 * 86_400_000) return 'day';
  if (span > 3 * 3_600_000) return 'hour';
  return 'minute';
}

/** KPI cards (row count and sums), a time series, bars/pies of low-cardinality columns, and a table, per table. */
export function generateDashboard(tables: TableSchema[]): {
  filters: Record<string, FilterConfig>;
  widgets: WidgetConfig[];
} {
  const filters: Record<string, FilterConfig> = {};
  const widgets: WidgetConfig[] = [];
  const several = tables.length > 1;
  for (const table of tables) {
    if (table.columns.length === 0) continue;
    const prefix = several ? `${slug(table.name)}_` : '';
    const titled = (title: string) => (several ? `${humanize(table.name)}: ${title}` : title);
    const from = quoteIdent(table.name);
    const measures = table.columns.filter((c) => roleOf(c) === 'measure').slice(0, 3);
    const time = table.columns.find((c) => roleOf(c) === 'time');
    const categories = table.columns.filter((c) => roleOf(c) === 'category').slice(0, 3);
    const tableFilters: string[] = [];

    if (time) {
      const id = `${prefix}period`;
      filters[id] = {
        type: 'timeRange',
        label: several ? `${humanize(table.name)} period` : 'Period',
        column: quoteIdent(time.name),
        table: from,
        anchor: 'latest',
        options: ['24h', '7d', '30d', 'all'],
        default: 'all',
      };
      tableFilters.push(id);
    }
    for (const category of categories.slice(0, 2)) {
      const id = `${prefix}${slug(category.name)}`;
      filters[id] = {
        type: 'select',
        label: humanize(category.name),
        column: quoteIdent(category.name),
        table: from,
        dependsOn: [],
      };
      tableFilters.push(id);
    }

    const bucket = bucketOf(table.span);
    const timeExpr = time ? `date_trunc('${bucket}', ${quoteIdent(time.name)})` : '';
    widgets.push({
      id: `${prefix}rows`,
      type: 'kpi',
      title: titled('Rows'),
      format: 'integer',
      query: `SELECT count(*) AS value FROM ${from} {{where}}`,
      filters: tableFilters,
    });
    for (const measure of measures) {
      const col = quoteIdent(measure.name);
      widgets.push({
        id: `${prefix}total_${slug(measure.name)}`,
        type: 'kpi',
        title: titled(`Total ${humanize(measure.name).toLowerCase()}`),
        format: 'number',
        query: `SELECT sum(${col}) AS value FROM ${from} {{where}}`,
        filters: tableFilters,
        sparkline: time
          ? `SELECT ${timeExpr} AS t, sum(${col}) AS v FROM ${from} {{where}} GROUP BY 1 ORDER BY 1`
          : false,
      });
    }
    const value = measures[0] ? `sum(${quoteIdent(measures[0].name)})` : 'count(*)';
    const valueName = measures[0] ? slug(measures[0].name) : 'rows';
    const valueLabel = measures[0] ? humanize(measures[0].name) : 'Rows';
    if (time) {
      widgets.push({
        id: `${prefix}over_time`,
        type: measures[0] ? 'area' : 'line',
        title: titled(`${valueLabel} over time`),
        x: 'time',
        y: valueName,
        query: `SELECT ${timeExpr} AS "time", ${value} AS ${quoteIdent(valueName)} FROM ${from} {{where}} GROUP BY 1 ORDER BY 1`,
        columns: { [valueName]: { label: valueLabel } },
        filters: tableFilters,
        width: categories.length ? 2 : 4,
      });
    }
    for (const category of categories) {
      const col = quoteIdent(category.name);
      const pie = category.distinct !== undefined && category.distinct <= 6;
      widgets.push({
        id: `${prefix}by_${slug(category.name)}`,
        type: pie ? 'pie' : 'bar',
        title: titled(`${valueLabel} by ${humanize(category.name).toLowerCase()}`),
        x: slug(category.name),
        y: valueName,
        top: 10,
        query: `SELECT ${col} AS ${quoteIdent(slug(category.name))}, ${value} AS ${quoteIdent(valueName)} FROM ${from} {{where}} GROUP BY 1 ORDER BY 2 DESC`,
        columns: { [valueName]: { label: valueLabel }, [slug(category.name)]: { label: humanize(category.name) } },
        filters: tableFilters,
      });
    }
    const columns = Object.fromEntries(table.columns.map((c) => [c.name, { label: humanize(c.name) }]));
    widgets.push({
      id: `${prefix}records`,
      type: 'table',
      title: titled('Records'),
      width: 4,
      pageSize: 10,
      columns,
      filters: tableFilters,
      query: `SELECT * FROM ${from} {{where}}${time ? ` ORDER BY ${quoteIdent(time.name)} DESC` : ''}`,
    });
  }
  return { filters, widgets };
}

/** Reads the columns of each table and, for text columns, the number of distinct values. */
export async function introspect(client: SqlClient, tables: string[]): Promise<TableSchema[]> {
  const out: TableSchema[] = [];
  for (const name of tables) {
    const parts = name.split('.');
    const table = parts.at(-1)!;
    const schema = parts.length > 1 ? parts.at(-2) : undefined;
    const rows = await client.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1${schema ? ' AND table_schema = $2' : ''} ORDER BY ordinal_position`,
      schema ? [table, schema] : [table],
    );
    const columns: ColumnSchema[] = rows.map((r) => ({ name: r.column_name, type: r.data_type }));
    const result: TableSchema = { name, columns };
    if (columns.length) {
      const texts = columns.filter((c) => TEXT.test(c.type));
      const time = columns.find((c) => TIME.test(c.type));
      const select = [
        'count(*) AS "__rows"',
        ...texts.map((c, i) => `count(DISTINCT ${quoteIdent(c.name)}) AS "__d${i}"`),
      ];
      if (time) select.push(`min(${quoteIdent(time.name)}) AS "__min"`, `max(${quoteIdent(time.name)}) AS "__max"`);
      const [stats] = await client.query(`SELECT ${select.join(', ')} FROM ${quoteIdent(name)}`);
      result.rows = Number(stats.__rows);
      texts.forEach((c, i) => (c.distinct = Number(stats[`__d${i}`])));
      if (time && stats.__min && stats.__max)
        result.span = new Date(stats.__max as string).getTime() - new Date(stats.__min as string).getTime();
    }
    out.push(result);
  }
  return out;
}
