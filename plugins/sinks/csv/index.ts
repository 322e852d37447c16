import { inject, injectable, pluginModule, TOKENS, type Connections, type Row, type Sink, type StepInfo } from '../../../core/sdk/index.ts';
import { DuckDbClient } from '../../../core/connections/duckdb/index.ts';
import { writeRows, type WriteOptions } from '../../../core/formats/write.ts';

/** Writes batches as files (CSV or Parquet) through DuckDB; shared by the csv and parquet sinks. */
@injectable()
export class FileSink implements Sink {
  private scratch?: Promise<DuckDbClient>;
  constructor(
    @inject(TOKENS.Config) private readonly config: Omit<WriteOptions, 'format'> & { format: WriteOptions['format'] },
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
  ) {}

  async write(records: Row[]): Promise<void> {
    if (!records.length && this.config.mode !== 'overwrite') return;
    const db = this.step.connection ? await this.connections.get<DuckDbClient>(this.step.connection, 'duckdb') : await (this.scratch ??= DuckDbClient.open(':memory:'));
    await writeRows(db, records, { ...this.config, format: this.step.use === 'parquet' ? 'parquet' : 'csv' });
  }

  async close(): Promise<void> {
    if (this.scratch) (await this.scratch).close();
  }
}

export function fileSinkConfig(format: 'csv' | 'parquet') {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['path'],
    properties: {
      path: { type: 'string', description: 'File path; {YYYY}/{MM}/{DD} come from partitionBy (or today); {uuid} makes names unique.', examples: [format === 'csv' ? 'exports/kpis.csv' : 'lake/sales/{YYYY}/{MM}/{DD}/part-{uuid}.parquet'] },
      partitionBy: { type: 'string', description: 'Timestamp or date field that picks the partition of each record.' },
      mode: { enum: ['new', 'overwrite'], default: 'new', description: 'new: one file per batch (never overwrites earlier data); overwrite: the file is replaced atomically with each batch (an export).' },
    },
  };
}

export default pluginModule({
  kind: 'sink', name: 'csv', stability: 'stable', connectionTypes: ['duckdb'],
  summary: 'Writes CSV files (header, ISO timestamps), partitioned by date, one file per batch or an atomically replaced export.',
  config: fileSinkConfig('csv'),
  examples: [{ title: 'A Tableau-friendly export rewritten on every commit', yaml: 'export:\n  use: csv\n  from: kpis\n  with: { path: exports/kpis.csv, mode: overwrite }\n' }],
}, FileSink);
