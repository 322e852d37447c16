import { inject, injectable, pluginModule, TOKENS, type Connections, type Row, type Sink, type StepInfo } from '../../../core/sdk/index.ts';
import { loadTempTable, quoteIdent, type DuckDbClient } from '../../../core/connections/duckdb/index.ts';

interface DuckDbSinkConfig {
  table: string;
  mode: 'append' | 'upsert' | 'replace';
  key?: string[];
  createTable: boolean;
  columns?: Record<string, string>;
}

/**
 * Writes batches into a DuckDB table. The batch is appended to a temp table (the DuckDB appender) and moved
 * with one set-based statement, in one transaction: append = INSERT BY NAME; upsert = INSERT OR REPLACE keyed
 * by the table's primary key (the last record of a key in a batch wins); replace = the table's whole content
 * becomes the batch, atomically. Values are cast to the table's column types by DuckDB.
 */
@injectable()
export class DuckDbSink implements Sink {
  private ready = false;

  constructor(
    @inject(TOKENS.Config) private readonly config: DuckDbSinkConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
  ) {
    if (config.mode === 'upsert' && !config.key?.length) throw new Error(`${step.id}: mode upsert needs key`);
  }

  async write(records: Row[]): Promise<void> {
    if (records.length === 0 && this.config.mode !== 'replace') return;
    const db = await this.connections.get<DuckDbClient>(this.step.connection!, 'duckdb');
    const table = quoteIdent(this.config.table);
    await db.session(async (connection) => {
      const columns = await loadTempTable(connection, 'sink_batch', records);
      if (!this.ready) {
        await this.ensureTable(connection, columns);
        this.ready = true;
      }
      const names = columns.map((c) => quoteIdent(c.name)).join(', ');
      await connection.run('BEGIN TRANSACTION');
      try {
        if (this.config.mode === 'replace') await connection.run(`DELETE FROM ${table}`);
        if (records.length) {
          if (this.config.mode === 'upsert') {
            // Last record of a key wins inside the batch; INSERT OR REPLACE needs one row per key.
            const key = this.config.key!.map(quoteIdent).join(', ');
            await connection.run(`INSERT OR REPLACE INTO ${table} (${names}) SELECT ${names} FROM (SELECT *, row_number() OVER (PARTITION BY ${key} ORDER BY rowid DESC) AS _rank FROM temp.sink_batch) WHERE _rank = 1`);
          } else {
            await connection.run(`INSERT INTO ${table} (${names}) SELECT ${names} FROM temp.sink_batch`);
          }
        }
        await connection.run('COMMIT');
      } catch (error) {
        await connection.run('ROLLBACK').catch(() => undefined);
        throw new Error(`${this.step.id}: writing ${records.length} record(s) to ${this.config.table} failed: ${(error as Error).message.split('\n')[0]}`);
      } finally {
        await connection.run('DROP TABLE IF EXISTS temp.sink_batch');
      }
    });
  }

  private async ensureTable(connection: Parameters<Parameters<DuckDbClient['session']>[0]>[0], columns: { name: string; kind: string }[]) {
    const exists = await connection.runAndReadAll('SELECT 1 FROM information_schema.tables WHERE table_name = $1', [this.config.table]);
    if (exists.currentRowCount > 0) return;
    if (!this.config.createTable) throw new Error(`${this.step.id}: table ${this.config.table} does not exist (create it in the connection's init, or set createTable: true)`);
    const declared = this.config.columns ?? Object.fromEntries(columns.map((c) => [c.name, c.kind]));
    const key = this.config.mode === 'upsert' ? `, PRIMARY KEY (${this.config.key!.map(quoteIdent).join(', ')})` : '';
    await connection.run(`CREATE TABLE IF NOT EXISTS ${quoteIdent(this.config.table)} (${Object.entries(declared).map(([n, t]) => `${quoteIdent(n)} ${t}`).join(', ')}${key})`);
  }
}

export default pluginModule({
  kind: 'sink',
  name: 'duckdb',
  summary: 'Writes records into a DuckDB table: append, upsert by key, or replace the whole table atomically.',
  stability: 'stable',
  connectionTypes: ['duckdb'],
  connectionRequired: true,
  config: {
    type: 'object',
    additionalProperties: false,
    required: ['table'],
    properties: {
      table: { type: 'string', description: 'Target table.', examples: ['revenue'] },
      mode: { enum: ['append', 'upsert', 'replace'], default: 'append', description: 'append adds rows; upsert inserts or replaces by key (the table needs that primary key); replace swaps the table content for each batch.' },
      key: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Key columns for upsert (the table\'s primary key).', examples: [['transaction_id']] },
      createTable: { type: 'boolean', default: false, description: 'Create the table when missing, from `columns` or else from the first batch\'s inferred types (with the key as primary key).' },
      columns: { type: 'object', additionalProperties: { type: 'string' }, description: 'Declared column types for createTable.', examples: [{ id: 'VARCHAR', amount: 'DECIMAL(14,2)', ts: 'TIMESTAMPTZ' }] },
    },
  },
  examples: [{ title: 'Upsert revenue by transaction id', yaml: 'revenue:\n  use: duckdb\n  from: converted\n  connection: warehouse\n  with: { table: revenue, mode: upsert, key: [transaction_id] }\n' }],
}, DuckDbSink);
