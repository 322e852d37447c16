import {
  configSchema,
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type ConfigOf,
  type JSONSchema,
  type Row,
  type Rows,
  type StepInfo,
  type Transform,
  type TransformContext,
} from '../../../core/sdk/index.ts';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { createAjv, describeAjvError } from '../../../core/sdk/config.ts';
import { DuckDbRows, materializedRows, residentRows } from '../../../connections/duckdb/index.ts';
import { certainlyValid } from './in-duckdb.ts';

type ValidateConfig = ConfigOf<typeof CONFIG>;

/**
 * JSON Schema per record. A record that fails goes to dead-letter with every reason (`amount: must be > 0`,
 * `missing required property "id"`); the others pass on unchanged. Timestamps (Date values) are validated as ISO
 * strings, so `format: date-time` applies to them, and stay Dates in the output.
 * With `coerce`, values are converted to the declared types ("12" → 12) and defaults applied in the output.
 * Uses the platform's ajv setup (core/manifest/config.ts: the standard formats plus iso3166-alpha2 and iso4217).
 * A batch held in DuckDB is checked there first (see in-duckdb.ts): only the rows DuckDB cannot vouch for are read
 * into JS and judged by ajv, and the batch stays in DuckDB (rejected rows removed).
 */
@injectable()
export class Validate implements Transform {
  private readonly validate: ValidateFunction;
  /** With coerce, the same schema without coercion: a record it accepts is one coercion would not change. */
  private readonly unchanged?: ValidateFunction;
  /** Top-level fields the schema can look at (null: any field); Dates elsewhere need no conversion. */
  private readonly inspected: Set<string> | null;
  /** certainlyValid() by the batch table's columns (the same columns come batch after batch). */
  private readonly conditions = new Map<string, string | undefined>();

  constructor(
    @inject(TOKENS.Config) private readonly config: ValidateConfig,
    @inject(TOKENS.Step) step: StepInfo,
  ) {
    try {
      // An ajv of its own per step: schemas with the same $id in two steps do not clash.
      this.validate = createAjv({ coerce: config.coerce, defaults: config.coerce }).compile(config.schema);
      if (config.coerce && !hasDefault(config.schema))
        this.unchanged = createAjv({ coerce: false, defaults: false }).compile(config.schema);
    } catch (error) {
      throw new Error(`${step.id}: invalid schema: ${(error as Error).message}`);
    }
    this.inspected = inspectedFields(config.schema);
  }

  process(records: Row[], ctx: TransformContext): Row[] {
    const out: Row[] = [];
    for (const record of records) {
      try {
        const passed = this.check(record);
        if (passed) out.push(passed);
        else ctx.reject(record, reasons(this.validate.errors ?? []));
      } catch (error) {
        // A record ajv cannot walk (nested deeper than the stack) is that record's problem, not the batch's.
        ctx.reject(record, [
          `cannot be validated: ${error instanceof RangeError ? 'nested too deeply' : (error as Error).message}`,
        ]);
      }
    }
    return out;
  }

  /** The record as it passes on (itself, or coerced), or undefined when the schema rejects it. */
  private check(record: Row): Row | undefined {
    // ajv sees Dates as ISO strings; a copy is made only when the schema looks at a Date (or a nested value).
    const value = this.seesDates(record) ? jsonLike(record) : record;
    if (!this.config.coerce) return this.validate(value) ? record : undefined;
    if (this.unchanged?.(value)) return record;
    // ajv coerces and applies defaults in place: never on the record itself.
    const copy = value === record ? jsonLike(record) : value;
    return this.validate(copy) ? withDates(copy, record) : undefined;
  }

  async processInDuckDb(rows: Rows, ctx: TransformContext): Promise<Rows | undefined> {
    if (!(rows instanceof DuckDbRows)) return undefined;
    return rows.db.session(async (connection) => {
      const columns = await rows.columns(connection);
      // A table whose exact records differ (JSON lines: NULL for a key a line lacks) cannot vouch for `required` by NULLs.
      const absentAsNull = !!rows.exact;
      const signature = JSON.stringify([columns, absentAsNull]);
      if (!this.conditions.has(signature))
        this.conditions.set(signature, certainlyValid(this.config.schema, columns, { absentAsNull }));
      const condition = this.conditions.get(signature);
      if (condition === undefined) return undefined;
      const certain = `coalesce((${condition}), false)`;
      let doubtful: Row[];
      const rowids = new Map<Row, number>();
      if (rows.exact) {
        const found = materializedRows(
          await connection.run(`SELECT rowid AS _validate_row FROM ${rows.table} WHERE NOT ${certain} ORDER BY rowid`),
        ).map((r) => r._validate_row as number);
        doubtful = await rows.exact(found);
        doubtful.forEach((record, i) => rowids.set(record, found[i]));
      } else {
        doubtful = materializedRows(
          await connection.run(
            `SELECT rowid AS _validate_row, * FROM ${rows.table} WHERE NOT ${certain} ORDER BY rowid`,
          ),
        );
        for (const record of doubtful) {
          rowids.set(record, record._validate_row as number);
          delete record._validate_row;
        }
      }
      if (!doubtful.length) return rows;
      const rejects: [Row, string[]][] = [];
      const passed = this.process(doubtful, {
        input: ctx.input,
        reject: (record, reasons) => void rejects.push([record as Row, ([] as string[]).concat(reasons)]),
      });
      // A record coerced into another value cannot stay in the table: the batch goes the JS way instead.
      if (passed.some((record) => !rowids.has(record))) return undefined;
      for (const [record, reasons] of rejects) ctx.reject(record, reasons, rows.origin?.(rowids.get(record)!));
      if (!rejects.length) return rows;
      // A batch no other step reads loses its rejected rows where it is (no copy of the batch): the doubtful rows
      // but those ajv passed. Nothing may fail after this statement (a retry would find the rows gone).
      if (ctx.exclusive && passed.length <= KEPT_BY_ROWID) {
        const kept = passed.length
          ? ` AND rowid NOT IN (${passed.map((record) => rowids.get(record)!).join(', ')})`
          : '';
        const [deleted] = materializedRows(
          await connection.run(`DELETE FROM ${rows.table} WHERE NOT ${certain}${kept}`),
        );
        return rows.afterDeleting(Number(deleted.Count));
      }
      // The rows kept, in their order: those DuckDB vouches for and the doubtful ones ajv passed (a filter keeps the
      // table's order; a join would not).
      if (passed.length <= KEPT_BY_ROWID) {
        const alsoKept = passed.length
          ? ` OR rowid IN (${passed.map((record) => rowids.get(record)!).join(', ')})`
          : '';
        return residentRows(rows.db, connection, `SELECT * FROM ${rows.table} WHERE ${certain}${alsoKept}`);
      }
      // Many doubtful rows passed: the rejected ones are left out by an anti-join on a table of their rowids.
      await connection.run('CREATE OR REPLACE TEMP TABLE _validate_rejected (r BIGINT)');
      try {
        const appender = await connection.createAppender('_validate_rejected', 'main', 'temp');
        for (const [record] of rejects) {
          appender.appendBigInt(BigInt(rowids.get(record)!));
          appender.endRow();
        }
        appender.closeSync();
        return await residentRows(
          rows.db,
          connection,
          `SELECT * FROM ${rows.table} WHERE rowid NOT IN (SELECT r FROM temp._validate_rejected) ORDER BY rowid`,
        );
      } finally {
        await connection.run('DROP TABLE IF EXISTS temp._validate_rejected');
      }
    });
  }

  private seesDates(record: Row): boolean {
    const inspected = this.inspected;
    for (const key in record) {
      const value = record[key];
      if (value !== null && typeof value === 'object' && (!inspected || inspected.has(key))) return true;
    }
    return false;
  }
}

/** Doubtful rows ajv passed that are kept by naming their rowids; more are kept by an anti-join on the rejected ones. */
const KEPT_BY_ROWID = 100;

/** Root keywords that look only at the fields named in `properties` (or at none): other fields are never read. */
const FIELD_LOCAL = new Set([
  'type',
  'properties',
  'required',
  'title',
  'description',
  '$comment',
  'examples',
  '$schema',
  '$id',
  '$defs',
  'definitions',
  'deprecated',
]);

/** The top-level fields a record schema can read, or null when it may read any (additionalProperties, allOf, …). */
function inspectedFields(schema: JSONSchema): Set<string> | null {
  if (!schema || typeof schema !== 'object') return null;
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword === 'additionalProperties' && value === true) continue;
    if (!FIELD_LOCAL.has(keyword)) return null;
  }
  const properties = (schema as { properties?: Record<string, unknown> }).properties;
  return new Set(properties && typeof properties === 'object' ? Object.keys(properties) : []);
}

/** Whether a `default` keyword appears anywhere in the schema (a field literally named so also counts: harmless). */
function hasDefault(schema: unknown): boolean {
  if (!schema || typeof schema !== 'object') return false;
  if (!Array.isArray(schema) && 'default' in schema) return true;
  return Object.values(schema).some(hasDefault);
}

/** Every error as `path: message`, without ajv's summaries of `if`/`then` (the errors inside are listed). */
export function reasons(errors: ErrorObject[]): string[] {
  const out = new Set<string>();
  for (const error of errors) {
    if (error.keyword === 'if') continue;
    const { path, message } = describeAjvError(error);
    const field = path.join('.');
    out.add(field ? `${field}: ${message}` : message);
  }
  return [...out];
}

/** Dates become ISO strings (at any depth); undefined fields disappear; the record itself is never changed. */
function jsonLike(value: Row): Row {
  const copy: Row = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) copy[key] = plain(v);
  return copy;
}

function plain(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') return jsonLike(value as Row);
  return value;
}

/** The coerced record with the original Date objects back where the value was not changed. */
function withDates(coerced: Row, original: Row): Row {
  for (const [key, value] of Object.entries(original)) {
    if (value instanceof Date && coerced[key] === plain(value)) coerced[key] = value;
  }
  return coerced;
}

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['schema'],
  properties: {
    schema: {
      type: 'object',
      description:
        'JSON Schema (2020-12) of one record. Formats include date-time, email, uuid, iso3166-alpha2 and iso4217.',
      examples: [
        {
          type: 'object',
          required: ['id', 'amount'],
          properties: { id: { type: 'string' }, amount: { type: 'number', exclusiveMinimum: 0 } },
        },
      ],
    },
    coerce: {
      type: 'boolean',
      default: false,
      description: 'Convert values to the declared types ("12" → 12) and apply defaults instead of rejecting them.',
    },
  },
});

export default pluginModule(
  {
    kind: 'transform',
    name: 'validate',
    summary: 'Validates each record against a JSON Schema; failures go to dead-letter with every reason.',
    stability: 'stable',
    config: CONFIG,
    examples: [
      {
        title: 'Reject bad amounts and unknown currencies',
        yaml: 'checked:\n  use: validate\n  from: raw\n  with:\n    schema:\n      type: object\n      required: [amount, currency]\n      properties:\n        amount: { type: number, exclusiveMinimum: 0 }\n        currency: { type: string, format: iso4217 }\n',
      },
    ],
  },
  Validate,
);
