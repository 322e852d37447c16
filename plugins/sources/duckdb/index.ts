import {
  configSchema,
  asWholeResult,
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type ConfigOf,
  type Batch,
  type Connections,
  type Source,
  type SourceRun,
  type StepInfo,
} from '../../../core/sdk/index.ts';
import type { DuckDbClient } from '../../../connections/duckdb/index.ts';

type DuckDbSourceConfig = ConfigOf<typeof CONFIG>;

/**
 * Reads the result of a SQL query over a DuckDB warehouse. Typically triggered after other steps commit,
 * to derive tables from tables (an as-of currency conversion, an hourly roll-up) with all the work in DuckDB.
 * `$date` in the query is bound to the run date (`--date`, or today in UTC).
 */
@injectable()
export class DuckDbSource implements Source {
  constructor(
    @inject(TOKENS.Config) private readonly config: DuckDbSourceConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
  ) {}

  async *read(run: SourceRun): AsyncIterable<Batch> {
    const db = await this.connections.get<DuckDbClient>(this.step.connection!, 'duckdb');
    const date = run.date ?? new Date().toISOString().slice(0, 10);
    const usesDate = /\$date\b/.test(this.config.query);
    const query = usesDate
      ? this.config.query.replace(/\$date\b/g, `$${this.config.params.length + 1}`)
      : this.config.query;
    const params = usesDate ? [...this.config.params, date] : this.config.params;
    // Each run emits the query's whole result: sinks that replace their target take all its pages, or empty the
    // target when the result is empty, instead of keeping the rows of an earlier run.
    yield* asWholeResult(this.pages(db, query, params, run.signal), run.signal);
  }

  private async *pages(db: DuckDbClient, query: string, params: unknown[], signal: AbortSignal): AsyncIterable<Batch> {
    for await (const records of db.stream(query, params, this.config.pageSize)) {
      if (signal.aborted) return;
      yield { records };
    }
  }
}

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['query'],
  properties: {
    query: {
      type: 'string',
      description: 'SELECT to run. Parameters are $1, $2… from params; $date is the run date (YYYY-MM-DD).',
      examples: ['SELECT * FROM revenue WHERE usd_amount IS NULL'],
    },
    params: { type: 'array', default: [], description: 'Values bound to $1, $2… (never pasted into the SQL).' },
    pageSize: {
      type: 'integer',
      minimum: 1,
      default: 10000,
      description:
        'Rows per batch. The batches of a run are marked as one whole result, so a sink in replace mode swaps in all of them (or empties its target when the result is empty).',
    },
  },
});

export default pluginModule(
  {
    kind: 'source',
    name: 'duckdb',
    summary: 'Rows of a SQL query over a DuckDB connection (derive tables from tables, usually with trigger: after).',
    stability: 'stable',
    connectionTypes: ['duckdb'],
    connectionRequired: true,
    config: CONFIG,
    examples: [
      {
        title: 'Re-derive an hourly roll-up whenever the revenue table changes',
        yaml: "hourly:\n  use: duckdb\n  connection: warehouse\n  trigger: { after: [revenue] }\n  with:\n    query: SELECT date_trunc('hour', ts) AS hour, sum(usd) AS usd FROM revenue GROUP BY 1\n",
      },
    ],
  },
  DuckDbSource,
);
