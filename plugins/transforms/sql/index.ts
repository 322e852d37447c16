import { inject, injectable, pluginModule, rowCount, TOKENS, type Connections, type Row, type Rows, type StepInfo, type Transform, type TransformContext } from '../../../core/sdk/index.ts';
import { inferColumns, loadTempTable, materializedRows, quoteIdent, residentRows, sqlString, toDuckValue, type DuckDbClient } from '../../../core/connections/duckdb/index.ts';

interface SqlConfig {
  query: string;
  as: string;
  params: unknown[];
  rejectWhere?: string;
  rejectReason?: string;
}

/**
 * DuckDB SQL over each batch (a temp table, `input` by default) and the warehouse tables of the connection, on one
 * session: the batch is loaded with the DuckDB appender (a batch already in this DuckDB is used where it is), then
 * the query runs; its rows are the output, kept in DuckDB as a batch table for the steps after (records for JS steps).
 * With `rejectWhere`, rows for which that SQL condition is true go to dead-letter with `rejectReason` (a SQL
 * expression, so the reason can quote the bad value) and the query sees only the others. An empty batch gives no rows.
 */
@injectable()
export class SqlTransform implements Transform {
  constructor(
    @inject(TOKENS.Config) private readonly config: SqlConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
  ) {
    if (!step.connection) throw new Error(`${step.id}: the sql transform needs connection: (a duckdb connection)`);
    if (config.rejectReason && !config.rejectWhere) throw new Error(`${step.id}: rejectReason needs rejectWhere`);
  }

  async process(records: Row[], ctx: TransformContext): Promise<Row[]> {
    if (records.length === 0) return [];
    return (await this.run(await this.duckdb(), records, ctx, false)) as Row[];
  }

  /** The same over rows already in this DuckDB, or records; the output stays in DuckDB as a batch table. */
  async processInDuckDb(rows: Rows, ctx: TransformContext): Promise<Rows | undefined> {
    const db = await this.duckdb();
    if (!Array.isArray(rows) && rows.db !== db) return undefined;
    if (rowCount(rows) === 0) return [];
    return this.run(db, rows, ctx, true);
  }

  private duckdb(): Promise<DuckDbClient> {
    return this.connections.get<DuckDbClient>(this.step.connection!, 'duckdb');
  }

  /** Runs the query over the batch on one session; `resident`: its result becomes a batch table, else records. */
  private async run(db: DuckDbClient, rows: Rows, ctx: TransformContext, resident: boolean): Promise<Rows> {
    const name = quoteIdent(this.config.as);
    const params = this.config.params.map(toDuckValue);
    return db.session(async (connection) => {
      const dropped: string[] = [];
      try {
        // The batch as a table whose rowid is the record's index in the batch: records go in with the appender (in
        // order), a batch table is used where it is.
        let batch: string;
        if (Array.isArray(rows)) {
          const table = this.config.rejectWhere ? '_sql_batch' : this.config.as;
          // A record with a value DuckDB cannot take (nested too deep…) goes to dead-letter; the others are queried.
          await loadTempTable(connection, table, rows, inferColumns(rows), (index, reason) => ctx.reject(rows[index], reason));
          dropped.push(`DROP TABLE IF EXISTS temp.${quoteIdent(table)}`);
          batch = `temp.${quoteIdent(table)}`;
        } else batch = rows.table;
        if (this.config.rejectWhere) {
          // The condition is evaluated once per row (it may read warehouse tables that change meanwhile).
          const reason = this.config.rejectReason ?? `'rejected by: ' || ${sqlString(this.config.rejectWhere)}`;
          await connection.run(`CREATE OR REPLACE TEMP TABLE _sql_checked AS
            SELECT *, CASE WHEN _sql_rejected THEN CAST((${reason}) AS VARCHAR) END AS _sql_reason
            FROM (SELECT *, rowid AS _sql_row, coalesce((${this.config.rejectWhere}), false) AS _sql_rejected FROM ${batch})`);
          dropped.push('DROP TABLE IF EXISTS temp._sql_checked');
          const rejected = materializedRows(await connection.run('SELECT _sql_row, _sql_reason FROM temp._sql_checked WHERE _sql_rejected ORDER BY _sql_row'));
          const records = Array.isArray(rows)
            ? rejected.map((r) => rows[r._sql_row as number])
            : materializedRows(await connection.run(`SELECT * EXCLUDE (${HELPERS}) FROM temp._sql_checked WHERE _sql_rejected ORDER BY _sql_row`));
          rejected.forEach((r, i) => ctx.reject(records[i], String(r._sql_reason ?? 'rejected'), Array.isArray(rows) ? undefined : rows.origin?.(r._sql_row as number)));
          if (rejected.length === rowCount(rows)) return [];
          await connection.run(`CREATE OR REPLACE TEMP VIEW ${name} AS SELECT * EXCLUDE (${HELPERS}) FROM temp._sql_checked WHERE NOT _sql_rejected`);
          dropped.unshift(`DROP VIEW IF EXISTS temp.${name}`);
        } else if (!Array.isArray(rows)) {
          await connection.run(`CREATE OR REPLACE TEMP VIEW ${name} AS SELECT * FROM ${batch}`);
          dropped.unshift(`DROP VIEW IF EXISTS temp.${name}`);
        }
        if (resident) return await residentRows(db, connection, this.config.query, params);
        return materializedRows(await connection.run(this.config.query, params.length ? params : undefined));
      } catch (error) {
        throw new Error(`${this.step.id}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
      } finally {
        for (const statement of dropped) await connection.run(statement).catch(() => undefined);
      }
    });
  }
}

/** The columns _sql_checked adds to the batch. */
const HELPERS = '_sql_row, _sql_rejected, _sql_reason';

export default pluginModule({
  kind: 'transform',
  name: 'sql',
  summary: 'DuckDB SQL over each batch (table `input`) joined with the warehouse tables; optional SQL rejects with reasons.',
  stability: 'stable',
  connectionTypes: ['duckdb'],
  connectionRequired: true,
  config: {
    type: 'object',
    additionalProperties: false,
    required: ['query'],
    properties: {
      query: { type: 'string', description: 'A SELECT over the batch table and any table of the connection; its rows are the output.', examples: ['SELECT id, upper(country) AS country FROM input'] },
      as: { type: 'string', minLength: 1, default: 'input', description: 'Name of the batch table in the query.', examples: ['events'] },
      params: { type: 'array', default: [], description: 'Values bound to $1, $2… of the query (never pasted into its text).', examples: [['EUR', 100]] },
      rejectWhere: { type: 'string', description: 'SQL condition over the batch columns; matching rows go to dead-letter instead of the query.', examples: ['amount <= 0'] },
      rejectReason: { type: 'string', description: 'SQL expression (over the batch columns) giving the reason of a reject; default: \'rejected by: <rejectWhere>\'.', examples: ["'amount must be > 0 (got ' || amount || ')'"] },
    },
  },
  examples: [{ title: 'Enrich with a dimension table', yaml: 'enriched:\n  use: sql\n  from: raw\n  connection: warehouse\n  with:\n    query: SELECT i.*, c.fee_percent FROM input i LEFT JOIN dim_channel c USING (channel)\n' }],
}, SqlTransform);
