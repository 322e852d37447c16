import {
  BATCH_LEDGER_TABLE,
  batchLedgerSql,
  claimParams,
  configSchema,
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type ConfigOf,
  type Connections,
  type Logger,
  type Row,
  type Sink,
  type SinkContext,
  type StepInfo,
} from '../../../core/sdk/index.ts';
import { quoteIdent, type PostgresClient } from '../../../connections/postgres/index.ts';

type PostgresSinkConfig = ConfigOf<typeof CONFIG>;

/**
 * Writes to PostgreSQL. append = COPY. upsert = in one transaction: COPY into a temp staging table, keep the
 * last row of each key, then INSERT … ON CONFLICT (key) DO UPDATE … WHERE the row IS DISTINCT FROM the new
 * one (unchanged rows are not rewritten); onConflict: ignore keeps the first row of a key and the stored one. Lookups replace natural keys by dimension surrogate keys, set-based.
 * Records whose values do not fit the declared column types go to dead-letter with the column named.
 * In append mode, a batch with an identity (`SinkContext.batch`) is noted in `_platform_batches` (in the table's
 * schema) in the same transaction as its rows; a batch noted already (delivered again after a crash) is skipped.
 * `afterWrite` statements run in the same transaction once the rows are in, with the rows the write inserted or
 * changed in the temporary table `written` (see the spec below).
 */
@injectable()
export class PostgresSink implements Sink {
  private columns?: { name: string; type: string }[];
  /** One check per column, made with the columns (see valueCheck). */
  private checks?: ((record: Row) => string | undefined)[];
  /** The batch ledger's statements once its table exists, and the batches noted since the last prune. */
  private ledger?: { sql: ReturnType<typeof batchLedgerSql>; claims: number };

  constructor(
    @inject(TOKENS.Config) private readonly config: PostgresSinkConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {
    if (config.mode === 'upsert' && !config.key?.length) throw new Error(`${step.id}: mode upsert needs key`);
  }

  async write(records: Row[], ctx: SinkContext): Promise<void> {
    if (!records.length) return;
    const db = await this.connections.get<PostgresClient>(this.step.connection!, 'postgres');
    const columns = await this.tableColumns(db);
    const checks = (this.checks ??= columns.flatMap((c) => valueCheck(c) ?? []));
    let good: Row[] = [];
    for (const record of records) {
      let problems: string[] | undefined;
      for (const check of checks) {
        const problem = check(record);
        if (problem) (problems ??= []).push(problem);
      }
      if (problems) ctx.reject(record, problems);
      else good.push(record);
    }
    if (!good.length) return;
    const table = this.config.table;
    const claim = this.config.mode === 'append' ? ctx.batch : undefined;
    try {
      if (claim && !this.ledger) {
        const schema = table.includes('.') ? table.split('.')[0] : undefined;
        this.ledger = {
          sql: batchLedgerSql(quoteIdent(schema ? `${schema}.${BATCH_LEDGER_TABLE}` : BATCH_LEDGER_TABLE)),
          claims: 0,
        };
        await db.exec(this.ledger.sql.create);
      }
      const skipped = await db.transaction(async (tx) => {
        // The batch's ledger row first: none comes back when the batch was written already, and nothing is written.
        if (claim && !(await tx.query(this.ledger!.sql.claim, claimParams(claim, table, good.length))).length)
          return true;
        if (this.config.lookups.length) await this.resolveLookups(tx, good);
        // Records whose dimension row is missing (onMissing: reject) go to dead-letter; the rest is written.
        const missing = good.filter((r) => this.missing(r).length);
        if (missing.length) {
          for (const record of missing) ctx.reject(record, this.missing(record));
          good = good.filter((r) => !missing.includes(r));
          if (!good.length) return;
        }
        const names = columns.map((c) => c.name).filter((name) => good.some((r) => r[name] !== undefined));
        const after = this.config.afterWrite;
        if (this.config.mode === 'append' && !after.length) return void (await tx.copyInto(table, names, good));
        // Per step and table: a session's temp table must not be one made for another table's columns.
        const staging = `staging_${`${this.step.id}_${table}`.replace(/\W/g, '_')}`.slice(0, 63);
        const list = names.map(quoteIdent).join(', ');
        // The target's column types without its constraints: a NOT NULL column the records leave out (an identity
        // or serial surrogate key of a dimension) must not fail the staging COPY; the target applies its default.
        await tx.exec(
          `CREATE TEMP TABLE IF NOT EXISTS ${quoteIdent(staging)} ON COMMIT DELETE ROWS AS SELECT * FROM ${quoteIdent(table)} WITH NO DATA; ALTER TABLE ${quoteIdent(staging)} ADD COLUMN IF NOT EXISTS _seq bigserial`,
        );
        await tx.copyInto(staging, names, good);
        const target = quoteIdent(table);
        // With afterWrite, the rows the statement inserts or changes are kept in `written` (RETURNING) for it.
        const keep = (insert: string) =>
          after.length ? `WITH changed AS (${insert} RETURNING *) INSERT INTO written SELECT * FROM changed` : insert;
        if (after.length)
          await tx.exec(`CREATE TEMP TABLE written ON COMMIT DROP AS SELECT * FROM ${target} WITH NO DATA`);
        if (this.config.mode === 'append') {
          await tx.exec(
            keep(`INSERT INTO ${target} (${list}) SELECT ${list} FROM ${quoteIdent(staging)} ORDER BY _seq`),
          );
          return this.afterWrite(tx);
        }
        const key = this.config.key!.map(quoteIdent).join(', ');
        const updates = names.filter((n) => !this.config.key!.includes(n));
        const action =
          updates.length && this.config.onConflict === 'update'
            ? `DO UPDATE SET ${updates.map((n) => `${quoteIdent(n)} = EXCLUDED.${quoteIdent(n)}`).join(', ')} WHERE (${updates.map((n) => `${target}.${quoteIdent(n)}`).join(', ')}) IS DISTINCT FROM (${updates.map((n) => `EXCLUDED.${quoteIdent(n)}`).join(', ')})`
            : 'DO NOTHING';
        const insert = (rows: string) => keep(`INSERT INTO ${target} (${list}) ${rows} ON CONFLICT (${key}) ${action}`);
        // The last record of a key wins (the first with onConflict: ignore): DISTINCT ON, a sort of the batch in
        // PostgreSQL. A batch whose keys are all different (as JS sees them) skips it; should PostgreSQL still find two
        // equal keys (1 and '1.0' in a numeric key), the statement fails with cardinality_violation and runs again with
        // the dedupe. Rows go in in key order, so two writers of overlapping keys lock them in the same order.
        const deduped = insert(
          `SELECT DISTINCT ON (${key}) ${list} FROM ${quoteIdent(staging)} ORDER BY ${key}, _seq ${this.config.onConflict === 'ignore' ? 'ASC' : 'DESC'}`,
        );
        if (!distinctKeys(good, this.config.key!)) {
          await tx.exec(deduped);
          return this.afterWrite(tx);
        }
        await tx.exec('SAVEPOINT distinct_keys');
        try {
          await tx.exec(insert(`SELECT ${list} FROM ${quoteIdent(staging)} ORDER BY ${key}`));
        } catch (error) {
          if ((error as { code?: string }).code !== '21000') throw error;
          await tx.exec('ROLLBACK TO SAVEPOINT distinct_keys');
          await tx.exec(deduped);
        }
        return this.afterWrite(tx);
      });
      if (skipped)
        this.logger.info('batch already written (delivered again after a stop): skipped', { batch: claim!.origin });
      else if (claim && ++this.ledger!.claims >= 100) {
        this.ledger!.claims = 0;
        await db.query(this.ledger!.sql.prune, [claim.writer]);
      }
    } catch (error) {
      throw new Error(
        `${this.step.id}: writing ${good.length} record(s) to ${table} failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /**
   * The afterWrite statements, in order, in the write's transaction, when the write inserted or changed a row (the
   * rows are in `written`). Returns nothing (the write happened).
   */
  private async afterWrite(tx: PostgresClient): Promise<void> {
    if (!this.config.afterWrite.length) return;
    const [{ any }] = await tx.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM written) AS any');
    if (!any) return;
    for (const [index, statement] of this.config.afterWrite.entries()) {
      try {
        await tx.exec(statement);
      } catch (error) {
        throw new Error(`afterWrite[${index}]: ${(error as Error).message}`, { cause: error });
      }
    }
  }

  /** Reasons why a record has no surrogate key from a lookup with onMissing: reject (empty when it has all). */
  private missing(record: Row): string[] {
    return this.config.lookups
      .filter((l) => l.onMissing === 'reject' && record[l.column] == null)
      .map(
        (l) =>
          `${l.column}: no ${l.table} row with ${Object.entries(l.naturalKey)
            .map(([c, f]) => `${c} = ${JSON.stringify(record[f] ?? null)}`)
            .join(' and ')}`,
      );
  }

  /** The target's columns: declared ones (creating the table when asked), else read from the catalog. */
  private async tableColumns(db: PostgresClient): Promise<{ name: string; type: string }[]> {
    if (this.columns) return this.columns;
    const [schema, name] = this.config.table.includes('.') ? this.config.table.split('.') : [null, this.config.table];
    const existing = await db.query<{ name: string; type: string }>(
      `SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_name = $1 AND ($2::text IS NULL OR table_schema = $2) AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY ordinal_position`,
      [name, schema],
    );
    if (existing.length) return (this.columns = existing);
    if (!this.config.createTable || !this.config.columns)
      throw new Error(
        `${this.step.id}: relation "${this.config.table}" does not exist (declare columns and set createTable: true to create it)`,
      );
    const key = this.config.mode === 'upsert' ? `, PRIMARY KEY (${this.config.key!.map(quoteIdent).join(', ')})` : '';
    await db.exec(
      `CREATE TABLE IF NOT EXISTS ${quoteIdent(this.config.table)} (${Object.entries(this.config.columns)
        .map(([n, t]) => `${quoteIdent(n)} ${t}`)
        .join(', ')}${key})`,
    );
    return (this.columns = Object.entries(this.config.columns).map(([n, t]) => ({ name: n, type: t })));
  }

  private async resolveLookups(tx: PostgresClient, records: Row[]): Promise<void> {
    for (const lookup of this.config.lookups) {
      const dimColumns = Object.keys(lookup.naturalKey);
      const fields = dimColumns.map((c) => lookup.naturalKey[c]);
      const keyOf = (values: unknown[]) => JSON.stringify(values.map((v) => (v == null ? null : String(v))));
      const distinct = new Map<string, unknown[]>();
      for (const record of records) {
        const values = fields.map((f) => record[f] ?? null);
        distinct.set(keyOf(values), values);
      }
      const tuples = [...distinct.values()];
      const params = tuples.flat();
      const rows = tuples
        .map((_, i) => `(${dimColumns.map((__, j) => `$${i * dimColumns.length + j + 1}`).join(', ')})`)
        .join(', ');
      const dim = quoteIdent(lookup.table);
      const cols = dimColumns.map(quoteIdent).join(', ');
      if (lookup.create) {
        const typed = dimColumns.map((c, j) => `v.c${j}::text = d.${quoteIdent(c)}::text`).join(' AND ');
        await tx.query(
          `INSERT INTO ${dim} (${cols}) SELECT ${dimColumns.map((_, j) => `v.c${j}`).join(', ')} FROM (VALUES ${rows}) AS v(${dimColumns.map((_, j) => `c${j}`).join(', ')}) WHERE NOT EXISTS (SELECT 1 FROM ${dim} d WHERE ${typed})`,
          params,
        );
      }
      // Natural keys come back as text, as they are compared: a date column matches its 'YYYY-MM-DD' value.
      const found = await tx.query(
        `SELECT ${quoteIdent(lookup.surrogateKey)} AS _key, ${dimColumns.map((c) => `${quoteIdent(c)}::text AS ${quoteIdent(c)}`).join(', ')} FROM ${dim} WHERE (${dimColumns.map((c) => `${quoteIdent(c)}::text`).join(', ')}) IN (${tuples.map((_, i) => `(${dimColumns.map((__, j) => `$${i * dimColumns.length + j + 1}::text`).join(', ')})`).join(', ')})`,
        params.map((p) => (p == null ? null : String(p))),
      );
      const keys = new Map(found.map((row) => [keyOf(dimColumns.map((c) => row[c])), row._key]));
      for (const record of records)
        record[lookup.column] = keys.get(keyOf(fields.map((f) => record[f] ?? null))) ?? null;
    }
  }
}

/** Reasons why `value` cannot go into a column of `type`; empty when it fits. */
/**
 * The check of one column's values by its SQL type (undefined: a type not checked here), made once per table: the
 * reason when a record's value cannot go in (the others still can), else undefined. Nulls pass.
 */
function valueCheck(column: { name: string; type: string }): ((record: Row) => string | undefined) | undefined {
  const type = column.type.toLowerCase();
  const { name } = column;
  const bad = (value: unknown, what: string) => `${name}: ${JSON.stringify(value)} is not ${what}`;
  const asNumber = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value);
  if (/^(integer|int|int4|int8|bigint|smallint|int2|serial|bigserial)/.test(type)) {
    return (record) => {
      const value = record[name];
      return value === null || value === undefined || Number.isInteger(asNumber(value))
        ? undefined
        : bad(value, 'an integer');
    };
  }
  if (/^(numeric|decimal|real|double|float)/.test(type)) {
    return (record) => {
      const value = record[name];
      if (value === null || value === undefined) return undefined;
      const n = asNumber(value);
      return typeof n === 'number' && Number.isFinite(n) ? undefined : bad(value, 'a number');
    };
  }
  if (/^(timestamp|date)/.test(type)) {
    return (record) => {
      const value = record[name];
      if (value === null || value === undefined) return undefined;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? bad(value, 'a valid time') : undefined;
      return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? undefined : bad(value, 'a date/time');
    };
  }
  if (type === 'boolean') {
    return (record) => {
      const value = record[name];
      return value === null || value === undefined || typeof value === 'boolean' ? undefined : bad(value, 'a boolean');
    };
  }
  return undefined;
}

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['table'],
  properties: {
    table: { type: 'string', description: 'Target table (schema.table allowed).', examples: ['fact_transactions'] },
    mode: {
      enum: ['append', 'upsert'],
      default: 'append',
      description: 'append copies rows in; upsert inserts or updates by key.',
    },
    key: {
      type: 'array',
      items: { type: 'string' },
      minItems: 1,
      description: 'Conflict key for upsert (a primary key or unique constraint).',
    },
    columns: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description: 'Declared schema {column: SQL type}, used by createTable.',
      examples: [{ id: 'text', amount: 'numeric(12,2)', at: 'timestamptz' }],
    },
    createTable: {
      type: 'boolean',
      default: false,
      description: 'Create the table from columns when it is missing (with the key as primary key in upsert mode).',
    },
    onConflict: {
      enum: ['update', 'ignore'],
      default: 'update',
      description:
        'upsert: a key the table holds already is updated with the new values (update; the last record of a key in a batch wins), or keeps its stored row (ignore; the first delivery of a key wins, e.g. an event delivered twice).',
    },
    afterWrite: {
      type: 'array',
      items: { type: 'string' },
      default: [],
      description:
        "SQL statements run in order in the same transaction, once the batch is written, when it inserted or changed at least one row; the temporary table `written` holds those rows (the table's columns; unchanged and ignored rows are not in it). For aggregates kept next to the rows: merge what the batch added, or recompute the groups it touched — atomic with the rows, and idempotent under at-least-once delivery since a row delivered again is not in `written`. Statements see what other transactions committed before each statement starts: take a lock first (SELECT pg_advisory_xact_lock(hashtext('…'))) where several processes update the same aggregate rows from what they read.",
      examples: [
        [
          "INSERT INTO daily AS d SELECT date_trunc('day', at), count(*) FROM written GROUP BY 1 ON CONFLICT (day) DO UPDATE SET n = d.n + EXCLUDED.n",
        ],
      ],
    },
    lookups: {
      type: 'array',
      default: [],
      description: 'Dimension lookups: replace natural keys by surrogate keys (star schemas), set-based per batch.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['column', 'table', 'naturalKey', 'surrogateKey'],
        properties: {
          column: { type: 'string', description: 'Column of the target that receives the surrogate key.' },
          table: { type: 'string', description: 'Dimension table.' },
          naturalKey: {
            type: 'object',
            additionalProperties: { type: 'string' },
            description: '{dimension column: record field}.',
          },
          surrogateKey: { type: 'string', description: 'Surrogate key column of the dimension (e.g. a serial).' },
          create: { type: 'boolean', default: false, description: 'Insert missing dimension rows first.' },
          onMissing: {
            enum: ['null', 'reject'],
            default: 'null',
            description:
              'A natural key the dimension does not have (without create): null leaves the surrogate key null; reject sends the record to dead-letter naming the lookup and its values (the others are written).',
          },
        },
      },
      examples: [
        [
          {
            column: 'customer_key',
            table: 'dim_customer',
            naturalKey: { customer_name: 'customer' },
            surrogateKey: 'customer_key',
            create: true,
          },
        ],
      ],
    },
  },
});

export default pluginModule(
  {
    kind: 'sink',
    name: 'postgres',
    summary:
      'Writes to PostgreSQL: append with COPY, or upsert through a staging table and INSERT … ON CONFLICT … WHERE IS DISTINCT FROM; optional SQL after each write, in its transaction.',
    stability: 'stable',
    connectionTypes: ['postgres'],
    connectionRequired: true,
    config: CONFIG,
    examples: [
      {
        title: 'Upsert facts',
        yaml: 'facts:\n  use: postgres\n  from: clean\n  connection: dw\n  with: { table: fact_transactions, mode: upsert, key: [transaction_id] }\n',
      },
    ],
  },
  PostgresSink,
);

/** Whether no two records share a key (compared as text; a null key counts as shared, as DISTINCT ON sees it). */
function distinctKeys(records: Row[], key: string[]): boolean {
  const seen = new Set<string>();
  for (const record of records) {
    let text = '';
    for (const column of key) {
      const value = record[column];
      if (value === null || value === undefined) return false;
      text += `${value instanceof Date ? value.toISOString() : String(value)}\u0000`;
    }
    if (seen.has(text)) return false;
    seen.add(text);
  }
  return true;
}
