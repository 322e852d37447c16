import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { inject, injectable, pluginModule, TOKENS, type Batch, type Connections, type Source, type SourceRun, type StepInfo } from '../../../core/sdk/index.ts';
import { DuckDbClient } from '../../../core/connections/duckdb/index.ts';
import { readRecords, type FileFormat } from '../../../core/formats/index.ts';

interface FileSourceConfig {
  path: string;
  format?: FileFormat;
  batchSize: number;
  csv?: { delimiter?: string; header?: boolean; columns?: Record<string, string> };
  xlsx?: { sheet?: string };
  fileColumn?: string;
}

type Done = Record<string, { size: number; mtimeMs: number }>;

/**
 * Reads CSV, JSON lines, Parquet or XLSX files matching a glob, with `{YYYY}/{MM}/{DD}` placeholders that
 * `--date` fills (backfill) and that otherwise match every partition. Files already read (same size and
 * modification time) are remembered in the checkpoint and skipped. On an upload trigger, reads that file.
 */
@injectable()
export class FileSource implements Source {
  private scratch?: Promise<DuckDbClient>;

  constructor(
    @inject(TOKENS.Config) private readonly config: FileSourceConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
  ) {}

  async *read(run: SourceRun): AsyncIterable<Batch> {
    const db = await this.duckdb();
    if (run.trigger?.type === 'upload') {
      for await (const { records, rejects } of readRecords(db, run.trigger.file, { ...this.options(), format: this.config.format, origin: run.trigger.filename })) {
        yield { records: this.tag(records, run.trigger.filename), rejects };
      }
      return;
    }
    const done: Done = { ...((run.checkpoint as { files?: Done } | undefined)?.files ?? {}) };
    for (const file of await this.files(db, run.date)) {
      if (run.signal.aborted) return;
      const stat = statSync(file);
      const seen = done[file];
      if (seen && seen.size === stat.size && seen.mtimeMs === stat.mtimeMs) continue;
      let pending: Batch | undefined;
      for await (const { records, rejects } of readRecords(db, file, this.options())) {
        if (pending) yield pending;
        pending = { records: this.tag(records, file), rejects };
      }
      done[file] = { size: stat.size, mtimeMs: stat.mtimeMs };
      // Only the file's last batch moves the checkpoint: a crash mid-file re-reads the whole file.
      yield { ...(pending ?? { records: [] }), checkpoint: { files: { ...done } } };
    }
  }

  async close(): Promise<void> {
    if (this.scratch) (await this.scratch).close();
  }

  private options() {
    return { batchSize: this.config.batchSize, csv: this.config.csv, xlsx: this.config.xlsx, format: this.config.format };
  }

  private tag(records: Record<string, unknown>[], file: string) {
    if (!this.config.fileColumn) return records;
    for (const record of records) record[this.config.fileColumn] = file;
    return records;
  }

  /** The files to read, sorted: placeholders become the run date's parts, or wildcards. */
  private async files(db: DuckDbClient, date?: string): Promise<string[]> {
    const [y, m, d] = date ? date.split('-') : ['*', '*', '*'];
    const pattern = resolve(this.config.path.replaceAll('{YYYY}', y).replaceAll('{MM}', m).replaceAll('{DD}', d));
    const rows = await db.query<{ file: string }>('SELECT file FROM glob($1) ORDER BY file', [pattern]);
    return rows.map((r) => r.file);
  }

  /** Parsing runs in DuckDB: the step's duckdb connection if it has one, else an in-memory database of its own. */
  private duckdb(): Promise<DuckDbClient> {
    if (this.step.connection) return this.connections.get<DuckDbClient>(this.step.connection, 'duckdb');
    this.scratch ??= DuckDbClient.open(':memory:');
    return this.scratch;
  }
}

export default pluginModule({
  kind: 'source',
  name: 'file',
  summary: 'Reads CSV, JSON lines, Parquet or XLSX files (globs, {YYYY}/{MM}/{DD} partitions, uploads); remembers the files it has read.',
  stability: 'stable',
  connectionTypes: ['duckdb'],
  config: {
    type: 'object',
    additionalProperties: false,
    required: ['path'],
    properties: {
      path: { type: 'string', description: 'Glob of the files; {YYYY}, {MM}, {DD} are filled by --date, or match any partition.', examples: ['data/raw/{YYYY}/{MM}/{DD}/*.csv', 'inbox/*.xlsx'] },
      format: { enum: ['csv', 'jsonl', 'parquet', 'xlsx'], description: 'File format (default: from the extension).' },
      batchSize: { type: 'integer', minimum: 1, default: 10000, description: 'Records per batch.' },
      csv: {
        type: 'object', additionalProperties: false, description: 'CSV options.',
        properties: {
          delimiter: { type: 'string', description: 'Field separator (default: detected).' },
          header: { type: 'boolean', default: true, description: 'The first line names the columns.' },
          columns: { type: 'object', additionalProperties: { type: 'string' }, description: 'Declared column types {name: DuckDB type}; a line that does not fit is rejected.' },
        },
      },
      xlsx: { type: 'object', additionalProperties: false, properties: { sheet: { type: 'string', description: 'Sheet to read (default: every sheet, with a _sheet column).' } } },
      fileColumn: { type: 'string', description: 'Add the source file path in this column.', examples: ['source_file'] },
    },
  },
  examples: [{ title: 'Daily partitions, backfill with --date', yaml: 'daily:\n  use: file\n  schedule: { cron: "0 2 * * *", timezone: UTC }\n  with: { path: "data/raw/{YYYY}/{MM}/{DD}/transactions.csv" }\n' }],
}, FileSource);
