// The part of a JSON Schema that DuckDB can check on a batch table: a condition true only for rows the schema
// certainly accepts, so that only the other rows are read into JS and judged by ajv (which alone writes reasons).
import { quoteIdent, sqlString } from '../../../connections/duckdb/index.ts';
import type { JSONSchema } from '../../../core/sdk/index.ts';

export interface Column {
  name: string;
  /** DuckDB type as duckdb_columns() names it, e.g. BIGINT, DECIMAL(12,2), TIMESTAMP WITH TIME ZONE. */
  type: string;
}

/** Keywords that change nothing about validity. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  '$comment',
  'examples',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$schema',
  '$id',
]);

const INTEGERS = /^(TINYINT|SMALLINT|INTEGER|UTINYINT|USMALLINT|UINTEGER)$/;
/** Integers a record may hold beyond 2^53: they become strings in JS (see materializedRows). */
const BIG_INTEGERS = /^(BIGINT|UBIGINT|HUGEINT|UHUGEINT)$/;
const FRACTIONS = /^(FLOAT|DOUBLE|DECIMAL\(\d+,\d+\))$/;
const TIMESTAMPS = /^(TIMESTAMP|TIMESTAMP WITH TIME ZONE|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS)$/;
const SAFE = 9007199254740991;

/**
 * The condition for `schema` over a table with `columns`, or undefined when the schema uses something it does not
 * translate (patterns, lengths, nested schemas, combinators…): the batch is then validated in JS as a whole.
 * Sound, not complete: a row it lets through is one ajv accepts unchanged (the JS record of a NULL is null, so a
 * non-nullable type needs IS NOT NULL; with `absentAsNull`, a NULL may also be a field the record lacks); a row it
 * holds back may still be valid, ajv decides.
 */
export function certainlyValid(
  schema: JSONSchema,
  columns: Column[],
  options: { absentAsNull?: boolean } = {},
): string | undefined {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const conditions: string[] = [];
  for (const [keyword, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(keyword)) continue;
    if (keyword === 'type') {
      if (value !== 'object') return undefined;
    } else if (keyword === 'required') {
      // A row read from a table has every column (NULL as null): only a missing column fails `required`; where a
      // NULL may be a field the record lacks (`absentAsNull`), only a row with a value there is certain.
      if (!Array.isArray(value) || value.some((name) => !byName.has(String(name)))) return 'false';
      if (options.absentAsNull) conditions.push(...value.map((name) => `${quoteIdent(String(name))} IS NOT NULL`));
    } else if (keyword === 'additionalProperties') {
      if (value === true) continue;
      if (value !== false) return undefined;
      const declared = new Set(Object.keys((schema.properties as object | undefined) ?? {}));
      if (columns.some((c) => !declared.has(c.name))) return 'false';
    } else if (keyword === 'properties') {
      if (!value || typeof value !== 'object') return undefined;
      for (const [name, property] of Object.entries(value as Record<string, JSONSchema>)) {
        const column = byName.get(name);
        if (!column) continue; // an absent field passes `properties`
        const condition = propertyCondition(property, column);
        if (condition === undefined) return undefined;
        conditions.push(condition);
      }
    } else return undefined;
  }
  return conditions.length ? conditions.map((c) => `(${c})`).join(' AND ') : 'true';
}

/** The condition for one field's schema over its column, or undefined when not translated. */
function propertyCondition(schema: JSONSchema, column: Column): string | undefined {
  if (!schema || typeof schema !== 'object' || !('type' in schema)) return undefined;
  const col = quoteIdent(column.name);
  const types = ([] as unknown[]).concat(schema.type);
  const nullable = types.includes('null');
  const checks: string[] = [];
  const typeChecks = types.filter((t) => t !== 'null').map((t) => typeCondition(String(t), column.type, col));
  if (typeChecks.some((c) => c === undefined)) return undefined;
  checks.push(typeChecks.length ? typeChecks.map((c) => `(${c})`).join(' OR ') : 'false');
  const numeric = INTEGERS.test(column.type) || BIG_INTEGERS.test(column.type) || FRACTIONS.test(column.type);
  const number = `CAST(${col} AS DOUBLE)`;
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword === 'type' || ANNOTATIONS.has(keyword)) continue;
    const bound = { minimum: '>=', maximum: '<=', exclusiveMinimum: '>', exclusiveMaximum: '<' }[keyword];
    if (bound) {
      if (!numeric || typeof value !== 'number' || !Number.isFinite(value)) return undefined;
      checks.push(`${number} ${bound} ${value}`);
    } else if (keyword === 'enum' || keyword === 'const') {
      const values = keyword === 'enum' ? value : [value];
      if (!Array.isArray(values)) return undefined;
      const present = values.filter((v) => v !== null);
      if (present.every((v) => typeof v === 'string') && column.type === 'VARCHAR')
        checks.push(present.length ? `${col} IN (${present.map(sqlString).join(', ')})` : 'false');
      else if (present.every((v) => typeof v === 'number' && Number.isFinite(v)) && numeric)
        checks.push(present.length ? `${number} IN (${present.join(', ')})` : 'false');
      else return undefined;
    } else if (keyword === 'format') {
      // Timestamps reach ajv as ISO strings, dates as YYYY-MM-DD: valid for years 1–9999.
      if (value === 'date-time' && TIMESTAMPS.test(column.type))
        checks.push(`${col} BETWEEN '0001-01-01' AND '9999-12-31'`);
      else if (value === 'date' && column.type === 'DATE') checks.push(`${col} BETWEEN '0001-01-01' AND '9999-12-31'`);
      else return undefined;
    } else return undefined;
  }
  const present = `${col} IS NOT NULL AND ${checks.join(' AND ')}`;
  return nullable ? `${col} IS NULL OR (${present})` : present;
}

/** Whether a non-null value of a column of `columnType` is a JSON value of `type` in the record ajv sees. */
function typeCondition(type: string, columnType: string, col: string): string | undefined {
  switch (type) {
    case 'integer':
      if (INTEGERS.test(columnType)) return 'true';
      if (BIG_INTEGERS.test(columnType)) return `${col} BETWEEN -${SAFE} AND ${SAFE}`;
      if (FRACTIONS.test(columnType))
        return `isfinite(CAST(${col} AS DOUBLE)) AND CAST(${col} AS DOUBLE) = trunc(CAST(${col} AS DOUBLE)) AND abs(CAST(${col} AS DOUBLE)) <= ${SAFE}`;
      return 'false';
    case 'number':
      if (INTEGERS.test(columnType)) return 'true';
      if (BIG_INTEGERS.test(columnType)) return `${col} BETWEEN -${SAFE} AND ${SAFE}`;
      if (FRACTIONS.test(columnType)) return `isfinite(CAST(${col} AS DOUBLE))`;
      return 'false';
    case 'string':
      if (columnType === 'VARCHAR') return 'true';
      return columnType === 'DATE' || TIMESTAMPS.test(columnType) ? `isfinite(${col})` : 'false';
    case 'boolean':
      return columnType === 'BOOLEAN' ? 'true' : 'false';
    case 'object':
    case 'array':
      return 'false';
    default:
      return undefined;
  }
}
