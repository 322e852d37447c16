import {
  configSchema,
  inject,
  injectable,
  pluginModule,
  rowCount,
  TOKENS,
  type ConfigOf,
  type Connections,
  type Row,
  type Rows,
  type StepInfo,
  type Transform,
  type TransformContext,
} from '../../../core/sdk/index.ts';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import {
  DuckDbRows,
  inferColumns,
  loadTempTable,
  materializedRows,
  quoteIdent,
  residentRows,
  sqlString,
  toDuckValue,
  type DuckDbClient,
} from '../../../connections/duckdb/index.ts';
import type { PostgresClient } from '../../../connections/postgres/index.ts';
import { JsonTexts } from '../../../formats/jsonl.ts';
import { runInPostgres } from './postgres.ts';

export type SqlConfig = ConfigOf<typeof CONFIG>;

/**
 * On a `postgres` connection the same runs in PostgreSQL (see ./postgres.ts): the batch is a temporary table of one
 * transaction and the query may read the database's tables, the state every process writing them shares.
 *
 * DuckDB SQL over each batch (a temp table, `input` by default) and the warehouse tables of the connection, on one
 * session: the batch is loaded with the DuckDB appender (a batch already in this DuckDB is used where it is), then
 * the query runs; its rows are the output, kept in DuckDB as a batch table for the steps after (records for JS steps).
 * With `rejectWhere`, rows for which that SQL condition is true go to dead-letter with `rejectReason` (a SQL
 * expression, so the reason can quote the bad value) and the query sees only the others; `rejectReason` alone rejects
 * the rows whose reason is not null or empty (one expression states both the rule and the reason). Columns of
 * `optionalColumns` that a batch lacks are added as NULL (records of another shape, e.g. an older sheet layout).
 * An empty batch gives no rows.
 */
@injectable()
export class SqlTransform implements Transform {
  constructor(
    @inject(TOKENS.Config) private readonly config: SqlConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
  ) {
    if (!step.connection)
      throw new Error(`${step.id}: the sql transform needs connection: (a duckdb or postgres connection)`);
  }

  async process(records: Row[], ctx: TransformContext): Promise<Row[]> {
    if (records.length === 0) return [];
    if (this.onPostgres()) return this.runInPostgres(records, ctx);
    return (await this.run(await this.duckdb(), records, ctx, false)) as Row[];
  }

  /** The same over rows already in this DuckDB, or records; the output stays in DuckDB as a batch table. */
  async processInDuckDb(rows: Rows, ctx: TransformContext): Promise<Rows | undefined> {
    if (this.onPostgres()) return undefined;
    const db = await this.duckdb();
    if (rows instanceof JsonTexts) {
      // JSON texts (a Kafka batch) are read by DuckDB into a batch table, unless it would read them otherwise than JS.
      if (rows.count === 0) return [];
      const table = await db.session((connection) => rows.inDuckDb(db, connection));
      return table && this.run(db, table, ctx, true);
    }
    if (!Array.isArray(rows) && (!(rows instanceof DuckDbRows) || rows.db !== db)) return undefined;
    if (rowCount(rows) === 0) return [];
    return this.run(db, rows, ctx, true);
  }

  private duckdb(): Promise<DuckDbClient> {
    return this.connections.get<DuckDbClient>(this.step.connection!, 'duckdb');
  }

  private onPostgres(): boolean {
    return this.connections.list().find((c) => c.name === this.step.connection)?.type === 'postgres';
  }

  private async runInPostgres(records: Row[], ctx: TransformContext): Promise<Row[]> {
    const db = await this.connections.get<PostgresClient>(this.step.connection!, 'postgres');
    try {
      return await runInPostgres(db, records, ctx, this.config);
    } catch (error) {
      throw new Error(`${this.step.id}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
    }
  }

  /** Runs the query over the batch on one session; `resident`: its result becomes a batch table, else records. */
  private async run(
    db: DuckDbClient,
    rows: Row[] | DuckDbRows,
    ctx: TransformContext,
    resident: boolean,
  ): Promise<Rows> {
    const name = quoteIdent(this.config.as);
    const params = this.config.params.map(toDuckValue);
    const { rejectWhere, rejectReason } = this.config;
    return db.session(async (connection) => {
      const dropped: string[] = [];
      try {
        // The batch as a table whose rowid is the record's index in the batch: records go in with the appender (in
        // order), a batch table is used where it is.
        let batch: string;
        let added = '';
        if (Array.isArray(rows)) {
          // Records: optional columns the batch lacks become columns of its table (its rowid stays the record's index).
          const direct = !rejectWhere && !rejectReason;
          const table = direct ? this.config.as : '_sql_batch';
          // A record with a value DuckDB cannot take (nested too deep…) goes to dead-letter; the others are queried.
          const columns = await loadTempTable(connection, table, rows, inferColumns(rows), (index, reason) =>
            ctx.reject(rows[index], reason),
          );
          dropped.push(`DROP TABLE IF EXISTS temp.${quoteIdent(table)}`);
          for (const column of this.missing(columns.map((c) => c.name))) {
            await connection.run(
              `ALTER TABLE temp.${quoteIdent(table)} ADD COLUMN ${quoteIdent(column)} ${this.config.optionalColumns![column]}`,
            );
          }
          if (direct) return await this.query(db, connection, params, resident);
          batch = `temp.${quoteIdent(table)}`;
        } else {
          // A batch table is shared: optional columns it lacks are added in the view over it, as typed NULLs.
          batch = rows.table;
          const names = (await rows.columns(connection)).map((c) => c.name);
          added = this.missing(names)
            .map((column) => `, CAST(NULL AS ${this.config.optionalColumns![column]}) AS ${quoteIdent(column)}`)
            .join('');
        }
        if (rejectWhere || rejectReason) {
          // The condition and the reason are evaluated once per row (they may read warehouse tables that change meanwhile).
          const rows_ = `SELECT *${added}, rowid AS _sql_row FROM ${batch}`;
          const checked = rejectWhere
            ? `SELECT *, CASE WHEN _sql_rejected THEN CAST((${rejectReason ?? `'rejected by: ' || ${sqlString(rejectWhere)}`}) AS VARCHAR) END AS _sql_reason
               FROM (SELECT *, coalesce((${rejectWhere}), false) AS _sql_rejected FROM (${rows_}))`
            : `SELECT *, coalesce(_sql_reason <> '', false) AS _sql_rejected FROM (SELECT *, CAST((${rejectReason}) AS VARCHAR) AS _sql_reason FROM (${rows_}))`;
          await connection.run(`CREATE OR REPLACE TEMP TABLE _sql_checked AS ${checked}`);
          dropped.push('DROP TABLE IF EXISTS temp._sql_checked');
          const rejected = materializedRows(
            await connection.run(
              'SELECT _sql_row, _sql_reason FROM temp._sql_checked WHERE _sql_rejected ORDER BY _sql_row',
            ),
          );
          const records = Array.isArray(rows)
            ? rejected.map((r) => rows[r._sql_row as number])
            : materializedRows(
                await connection.run(
                  `SELECT * EXCLUDE (${HELPERS}) FROM temp._sql_checked WHERE _sql_rejected ORDER BY _sql_row`,
                ),
              );
          rejected.forEach((r, i) =>
            ctx.reject(
              records[i],
              String(r._sql_reason ?? 'rejected'),
              Array.isArray(rows) ? undefined : rows.origin?.(r._sql_row as number),
            ),
          );
          if (rejected.length === rowCount(rows)) return [];
          await connection.run(
            `CREATE OR REPLACE TEMP VIEW ${name} AS SELECT * EXCLUDE (${HELPERS}) FROM temp._sql_checked WHERE NOT _sql_rejected`,
          );
          dropped.unshift(`DROP VIEW IF EXISTS temp.${name}`);
        } else if (!Array.isArray(rows) && /\browid\b/i.test(this.config.query)) {
          // A view has no rowid: a query that orders by it (the batch's order) gets the batch as a table of its own.
          await connection.run(`CREATE OR REPLACE TEMP TABLE ${name} AS SELECT *${added} FROM ${batch} ORDER BY rowid`);
          dropped.unshift(`DROP TABLE IF EXISTS temp.${name}`);
        } else {
          await connection.run(`CREATE OR REPLACE TEMP VIEW ${name} AS SELECT *${added} FROM ${batch}`);
          dropped.unshift(`DROP VIEW IF EXISTS temp.${name}`);
        }
        return await this.query(db, connection, params, resident);
      } catch (error) {
        throw new Error(`${this.step.id}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
      } finally {
        for (const statement of dropped) await connection.run(statement).catch(() => undefined);
      }
    });
  }

  private async query(
    db: DuckDbClient,
    connection: DuckDBConnection,
    params: DuckDBValue[],
    resident: boolean,
  ): Promise<Rows> {
    if (resident) return residentRows(db, connection, this.config.query, params);
    return materializedRows(await connection.run(this.config.query, params.length ? params : undefined));
  }

  /** The optional columns not among `names`. */
  private missing(names: string[]): string[] {
    const have = new Set(names);
    return Object.keys(this.config.optionalColumns ?? {}).filter((column) => !have.has(column));
  }
}

/** The columns _sql_checked adds to the batch. */
const HELPERS = '_sql_row, _sql_rejected, _sql_reason';

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['query'],
  properties: {
    query: {
      type: 'string',
      description:
        "A SELECT over the batch table and any table of the connection, in the connection's SQL dialect; its rows are the output.",
      examples: ['SELECT id, upper(country) AS country FROM input'],
    },
    as: {
      type: 'string',
      minLength: 1,
      default: 'input',
      description: 'Name of the batch table in the query.',
      examples: ['events'],
    },
    params: {
      type: 'array',
      default: [],
      description: 'Values bound to $1, $2… of the query (never pasted into its text).',
      examples: [['EUR', 100]],
    },
    rejectWhere: {
      type: 'string',
      description: 'SQL condition over the batch columns; matching rows go to dead-letter instead of the query.',
      examples: ['amount <= 0'],
    },
    rejectReason: {
      type: 'string',
      description:
        "SQL expression (over the batch columns) giving the reason of a reject; default: 'rejected by: <rejectWhere>'. Without rejectWhere, a row is rejected when this reason is not null or empty (e.g. a concat_ws of one CASE per rule).",
      examples: [
        "'amount must be > 0 (got ' || amount || ')'",
        "concat_ws('; ', CASE WHEN amount <= 0 THEN 'amount: must be > 0' END, CASE WHEN id IS NULL THEN 'id: missing' END)",
      ],
    },
    optionalColumns: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description:
        "Columns the query (and rejectWhere/rejectReason) may read that a batch can lack, {name: type in the connection's dialect}: a missing one is added as NULL of that type, so records of another shape (an older sheet layout, a producer that leaves a field out) do not fail the query. On PostgreSQL a declared column has that type in every batch (one whose values are all null is text otherwise).",
      examples: [{ facture_id: 'BIGINT', received_date: 'VARCHAR' }],
    },
  },
});

export default pluginModule(
  {
    kind: 'transform',
    name: 'sql',
    summary:
      "SQL over each batch (table `input`) joined with the database's tables, in DuckDB or PostgreSQL; optional SQL rejects with reasons.",
    description:
      "On a duckdb connection the batch is a DuckDB table and stays in DuckDB for the steps after. On a postgres connection it is a temporary table of one transaction (loaded with COPY; columns typed from the values: numeric, text, boolean, timestamptz, jsonb) and the query reads the database's tables — state shared by every process that writes them (e.g. judging each event against what any worker stored); its rows come back as records.",
    stability: 'stable',
    connectionTypes: ['duckdb', 'postgres'],
    connectionRequired: true,
    config: CONFIG,
    examples: [
      {
        title: 'Enrich with a dimension table',
        yaml: 'enriched:\n  use: sql\n  from: raw\n  connection: warehouse\n  with:\n    query: SELECT i.*, c.fee_percent FROM input i LEFT JOIN dim_channel c USING (channel)\n',
      },
    ],
  },
  SqlTransform,
);
