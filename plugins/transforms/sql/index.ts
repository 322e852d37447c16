import { inject, injectable, pluginModule, TOKENS, type Connections, type Row, type StepInfo, type Transform, type TransformContext } from '../../../core/sdk/index.ts';
import { loadTempTable, quoteIdent, readRows, type DuckDbClient } from '../../../core/connections/duckdb/index.ts';

interface SqlConfig {
  query: string;
  as: string;
  params: unknown[];
  rejectWhere?: string;
  rejectReason?: string;
}

/**
 * DuckDB SQL over each batch (a temp table, `input` by default) and the warehouse tables of the connection.
 * With `rejectWhere`, rows for which that SQL condition holds go to dead-letter with `rejectReason` (a SQL
 * expression, so the reason can quote the bad value) before `query` sees the rest.
 */
@injectable()
export class SqlTransform implements Transform {
  constructor(
    @inject(TOKENS.Config) private readonly config: SqlConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
  ) {}

  async process(records: Row[], ctx: TransformContext): Promise<Row[]> {
    if (records.length === 0) return [];
    const db = await this.connections.get<DuckDbClient>(this.step.connection!, 'duckdb');
    const name = quoteIdent(this.config.as);
    return db.session(async (connection) => {
      try {
        await loadTempTable(connection, '_batch', records.map((r, i) => ({ ...r, _row: i })));
        if (this.config.rejectWhere) {
          const reason = this.config.rejectReason ?? `'rejected by: ' || ${sqlString(this.config.rejectWhere)}`;
          const rejected = readRows(await connection.runAndReadAll(`SELECT _row, CAST(${reason} AS VARCHAR) AS _reason FROM temp._batch WHERE coalesce((${this.config.rejectWhere}), false)`));
          for (const r of rejected) ctx.reject(records[r._row as number], String(r._reason ?? 'rejected'));
          await connection.run(`CREATE OR REPLACE TEMP TABLE ${name} AS SELECT * EXCLUDE (_row) FROM temp._batch WHERE NOT coalesce((${this.config.rejectWhere}), false)`);
        } else {
          await connection.run(`CREATE OR REPLACE TEMP TABLE ${name} AS SELECT * EXCLUDE (_row) FROM temp._batch`);
        }
        const reader = await connection.runAndReadAll(this.config.query, this.config.params.length ? (this.config.params as never) : undefined);
        return readRows(reader);
      } catch (error) {
        throw new Error(`${this.step.id}: ${(error as Error).message.split('\n')[0]}`);
      } finally {
        await connection.run(`DROP TABLE IF EXISTS temp._batch; DROP TABLE IF EXISTS temp.${name}`);
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
      as: { type: 'string', default: 'input', description: 'Name of the batch table in the query.' },
      params: { type: 'array', default: [], description: 'Values bound to $1, $2… of the query.' },
      rejectWhere: { type: 'string', description: 'SQL condition over the batch columns; matching rows go to dead-letter instead of the query.', examples: ['amount <= 0'] },
      rejectReason: { type: 'string', description: 'SQL expression giving the reason of a reject.', examples: ["'amount must be > 0 (got ' || amount || ')'"] },
    },
  },
  examples: [{ title: 'Enrich with a dimension table', yaml: 'enriched:\n  use: sql\n  from: raw\n  connection: warehouse\n  with:\n    query: SELECT i.*, c.fee_percent FROM input i LEFT JOIN dim_channel c USING (channel)\n' }],
}, SqlTransform);
