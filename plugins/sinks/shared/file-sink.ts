// The csv and parquet sinks: one implementation, each sink folder gives it its format and spec.
import {
  configSchema,
  inject,
  injectable,
  SnapshotBuffer,
  TOKENS,
  type Clock,
  type ConfigOf,
  type Connections,
  type Logger,
  type ResidentRows,
  type Row,
  type Sink,
  type SinkContext,
  type StepInfo,
} from '../../../core/sdk/index.ts';
import { DuckDbClient, DuckDbRows } from '../../../connections/duckdb/index.ts';
import { emptyFile, writeRows, writeTable } from '../../../formats/write.ts';

type FileSinkConfig = ConfigOf<ReturnType<typeof fileSinkConfig>>;

/**
 * The csv and parquet sinks: each batch is written as files with DuckDB COPY, one per date partition
 * (`{YYYY}/{MM}/{DD}` in the path, from `partitionBy` or the clock's date). Files appear whole (written under a
 * temporary name, then renamed). `new` never overwrites earlier batches (a unique suffix or `{uuid}`),
 * `append` (CSV) adds to the partition's file, `overwrite` replaces the file with each batch (an export) — with a
 * source's whole result (a query source's run) on its last batch, all its pages together; an empty result leaves
 * the file with its columns and no rows. A batch with an identity (`SinkContext.batch`) written again after a crash
 * does not double: in mode `new` its files get the same names (and are replaced), in mode `append` the file's ledger
 * (`.<file>.batches`) knows it was added.
 */
export function fileSinkClass(format: 'csv' | 'parquet') {
  @injectable()
  class FileSink implements Sink {
    private scratch?: Promise<DuckDbClient>;
    /** Column types of earlier batches, so a column null throughout a batch keeps its type. */
    private readonly types = new Map<string, string>();
    private readonly wholeResult = new SnapshotBuffer();

    constructor(
      @inject(TOKENS.Config) private readonly config: FileSinkConfig,
      @inject(TOKENS.Step) private readonly step: StepInfo,
      @inject(TOKENS.Connections) private readonly connections: Connections,
      @inject(TOKENS.Clock) private readonly clock: Clock,
      @inject(TOKENS.Logger) private readonly logger: Logger,
    ) {
      if (config.mode === 'append' && format !== 'csv')
        throw new Error(`${step.id}: mode append is for CSV files only`);
    }

    async write(batch: Row[], ctx?: SinkContext): Promise<void> {
      const overwrite = this.config.mode === 'overwrite';
      const records = overwrite ? this.wholeResult.collect(batch, ctx?.snapshot) : batch;
      if (!records || (!records.length && !(overwrite && ctx?.snapshot))) return;
      const db = this.step.connection
        ? await this.connections.get<DuckDbClient>(this.step.connection, 'duckdb')
        : await (this.scratch ??= DuckDbClient.open(':memory:'));
      try {
        if (!records.length) {
          const file = await emptyFile(db, {
            format,
            path: this.config.path,
            partitionBy: this.config.partitionBy,
            now: this.clock.now(),
          });
          if (file) this.logger.info('the result is empty: file left with its columns and no rows', { file });
          return this.wholeResult.done();
        }
        const existing: string[] = [];
        const files = await writeRows(db, records, {
          format,
          path: this.config.path,
          partitionBy: this.config.partitionBy,
          mode: this.config.mode,
          now: this.clock.now(),
          types: this.types,
          columnTypes: this.config.types,
          existing,
          batch: ctx?.batch,
        });
        for (const file of existing)
          this.logger.info('the file is there already: left as it is (mode create)', { file });
        this.logger.debug('wrote files', { files: files.join(', '), records: records.length });
        if (overwrite) this.wholeResult.done();
      } catch (error) {
        throw new Error(
          `${this.step.id}: writing ${records.length} record(s) to ${this.config.path} failed: ${(error as Error).message.split('\n')[0]}`,
          { cause: error },
        );
      }
    }

    /**
     * A batch held in DuckDB is written by COPY straight from its table (in the DuckDB holding it), the same files
     * as `write` makes of its records; a whole result gathered from several pages, a `{field}` path or a
     * partitionBy column that is not a date or timestamp are left to `write`.
     */
    async writeFromDuckDb(rows: ResidentRows, ctx: SinkContext): Promise<boolean> {
      const part = ctx.snapshot;
      if (
        !(rows instanceof DuckDbRows) ||
        !rows.count ||
        (this.config.mode === 'overwrite' && part && !(part.first && part.last))
      )
        return false;
      try {
        const existing: string[] = [];
        const files = await writeTable(rows, {
          format,
          path: this.config.path,
          partitionBy: this.config.partitionBy,
          mode: this.config.mode,
          now: this.clock.now(),
          types: this.types,
          columnTypes: this.config.types,
          existing,
          batch: ctx.batch,
        });
        if (!files) return false;
        for (const file of existing)
          this.logger.info('the file is there already: left as it is (mode create)', { file });
        this.logger.debug('wrote files', { files: files.join(', '), records: rows.count });
        if (this.config.mode === 'overwrite') this.wholeResult.done();
        return true;
      } catch (error) {
        throw new Error(
          `${this.step.id}: writing ${rows.count} record(s) to ${this.config.path} failed: ${(error as Error).message.split('\n')[0]}`,
          { cause: error },
        );
      }
    }

    async close(): Promise<void> {
      if (this.scratch) (await this.scratch).close();
    }
  }
  return FileSink;
}

export type FileSink = InstanceType<ReturnType<typeof fileSinkClass>>;

export function fileSinkConfig(format: 'csv' | 'parquet') {
  return configSchema({
    type: 'object',
    additionalProperties: false,
    required: ['path'],
    properties: {
      path: {
        type: 'string',
        minLength: 1,
        description: `File path, relative to the working directory; {YYYY}, {MM}, {DD} come from partitionBy (or the current date, UTC); {uuid} makes each file's name unique; {<field>} is a record's value of that field (records go to the file of their path, e.g. one processed file per raw file).${format === 'csv' ? '' : ' Without {uuid}, mode new adds a unique suffix.'}`,
        examples:
          format === 'csv'
            ? ['exports/kpis.csv', 'out/{YYYY}/{MM}/{DD}/orders.csv']
            : [
                'lake/sales/{YYYY}/{MM}/{DD}/part-{uuid}.parquet',
                'processed/{YYYY}/{MM}/{DD}/cleaned_{raw_name}.parquet',
              ],
      },
      partitionBy: {
        type: 'string',
        description:
          'Timestamp, date or YYYYMMDD date-key field that picks the partition of each record (UTC day); records without a valid one go under "unknown".',
        examples: ['event_ts', 'date_key'],
      },
      // Each branch is a configSchema of its own: the literal types are not kept through a conditional.
      mode:
        format === 'csv'
          ? configSchema({
              enum: ['new', 'append', 'overwrite', 'create'],
              default: 'new',
              description:
                "new: one new file per batch and partition (never overwrites earlier data); append: rows added to the partition's file (header once, later batches follow its columns); overwrite: the file is replaced atomically with each batch, or with the whole result of a query source's run (all its pages; the header alone when it is empty) — an export; create: the file is written only when there is none yet (a simulator that must never replace a file a person put there).",
            })
          : configSchema({
              enum: ['new', 'overwrite', 'create'],
              default: 'new',
              description:
                "new: one new file per batch and partition (never overwrites earlier data); overwrite: the file is replaced atomically with each batch, or with the whole result of a query source's run (all its pages; no rows when it is empty); create: the file is written only when there is none yet.",
            }),
      types: {
        type: 'object',
        additionalProperties: { type: 'string' },
        description:
          'DuckDB types of some columns in the file, cast when written (e.g. exact DECIMAL money instead of DOUBLE); a declared column a batch lacks is written as NULL of its type. Default: from the values (integers BIGINT, other numbers DOUBLE, text VARCHAR, Dates TIMESTAMPTZ).',
        examples: [{ amount: 'DECIMAL(10,2)', revenue: 'DECIMAL(10,2)', date_key: 'INTEGER' }],
      },
    },
  });
}
