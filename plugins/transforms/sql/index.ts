import { inject, injectable, pluginModule, TOKENS, type Connections, type Row, type StepInfo, type Transform, type TransformContext } from '../../../core/sdk/index.ts';
import { inferColumns, loadTempTable, materializedRows, quoteIdent, toDuckValue, type DuckDbClient } from '../../../core/connections/duckdb/index.ts';

interface SqlConfig {
  query: string;
  as: string;
  params: unknown[];
  rejectWhere?: string;
  rejectReason?: string;
}

/**
 * DuckDB SQL over each batch (a temp table, `input` by default) and the warehouse tables of the connection, on one
 * session: the batch is loaded with the DuckDB appender, then the query runs; its rows are the output.
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
    const db = await this.connections.get<DuckDbClient>(this.step.connection!, 'duckdb');
    const name = quoteIdent(this.config.as);
    const params = this.config.params.map(toDuckValue);
    return db.session(async (connection) => {
      const dropped: string[] = [];
      try {
        const columns = inferColumns(records);
        if (this.config.rejectWhere) {
          // The condition is evaluated once per row (it may read warehouse tables that change meanwhile).
          // The appender fills the fresh temp table in order: its rowid is the record's index in the batch.
          await loadTempTable(connection, '_sql_batch', records, columns);
          dropped.push('DROP TABLE IF EXISTS temp._sql_batch');
          const reason = this.config.rejectReason ?? `'rejected by: ' || ${sqlString(this.config.rejectWhere)}`;
          await connection.run(`CREATE OR REPLACE TEMP TABLE _sql_checked AS
            SELECT *, CASE WHEN _sql_rejected THEN CAST((${reason}) AS VARCHAR) END AS _sql_reason
            FROM (SELECT *, rowid AS _sql_row, coalesce((${this.config.rejectWhere}), false) AS _sql_rejected FROM temp._sql_batch)`);
          dropped.push('DROP TABLE IF EXISTS temp._sql_checked');
          const rejected = materializedRows(await connection.run('SELECT _sql_row, _sql_reason FROM temp._sql_checked WHERE _sql_rejected ORDER BY _sql_row'));
          for (const r of rejected) ctx.reject(records[r._sql_row as number], String(r._sql_reason ?? 'rejected'));
          if (rejected.length === records.length) return [];
          await connection.run(`CREATE OR REPLACE TEMP VIEW ${name} AS SELECT * EXCLUDE (_sql_row, _sql_rejected, _sql_reason) FROM temp._sql_checked WHERE NOT _sql_rejected`);
          dropped.unshift(`DROP VIEW IF EXISTS temp.${name}`);
        } else {
          await loadTempTable(connection, this.config.as, records, columns);
          dropped.push(`DROP TABLE IF EXISTS temp.${name}`);
        }
        return materializedRows(await connection.run(this.config.query, params.length ? params : undefined));
      } catch (error) {
        throw new Error(`${this.step.id}: ${(error as Error).message.split('\n')[0]}`);
      } finally {
        for (const statement of dropped) await connection.run(statement).catch(() => undefined);
      }
    });
  }
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

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
