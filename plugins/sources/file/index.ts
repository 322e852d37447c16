import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import {
  configSchema,
  DataError,
  inject,
  injectable,
  pluginModule,
  rowCount,
  TOKENS,
  type Batch,
  type ConfigOf,
  type Connections,
  type Logger,
  type Row,
  type Source,
  type SourceRun,
  type StepInfo,
} from '../../../core/sdk/index.ts';
import { DuckDbClient } from '../../../connections/duckdb/index.ts';
import {
  firstLine,
  formatOf,
  readRecords,
  type FileBatch,
  type FileFormat,
  type ReadOptions,
} from '../../../formats/index.ts';

type FileSourceConfig = ConfigOf<typeof CONFIG>;

/** Files already read, by absolute path: a file is read again only when its size or modification time changes. */
type Done = Record<string, { size: number; mtimeMs: number }>;

export interface FileCheckpoint {
  files: Done;
  /**
   * The file a crash may have cut short: its first `batches` batches (of `batchSize` records) are committed. A restart
   * reads it again and skips them when it is unchanged and cut the same way (else it reads the whole file again).
   */
  partial?: { file: string; size: number; mtimeMs: number; batches: number; batchSize: number; batchBytes?: number };
}

/**
 * Default batch sizes. Records cost JS memory; rows kept in DuckDB cost DuckDB's, and every batch costs a commit in
 * each DuckDB step after (~15–40 ms: a sync of the database file). CSV and JSON lines held in DuckDB are cut into
 * batches of about BATCH_BYTES of the file (memory stays flat whatever the file's size); Parquet by rows.
 */
const BATCH_OF_RECORDS = 50_000;
const BATCH_IN_DUCKDB = 1_000_000;
const BATCH_BYTES = 16 << 20;

const PLACEHOLDERS = { '{YYYY}': '[0-9][0-9][0-9][0-9]', '{MM}': '[0-9][0-9]', '{DD}': '[0-9][0-9]' };

/**
 * Reads CSV, JSON lines, JSON, Parquet or XLSX files matching globs, with `{YYYY}/{MM}/{DD}` placeholders that
 * `--date` fills (a backfill of one day) and that otherwise match every partition. Files already read (same size
 * and modification time) are remembered in the checkpoint and skipped. Every batch moves the checkpoint: the last
 * batch of a file adds the file to `files`, the others say how many of its batches are done (`partial`), so a
 * restart after a crash mid-file goes on after the last committed batch. Each batch has a position (file, size,
 * modification time, batch number): a batch read again after a crash is recognised by the sinks (exactly-once
 * appends). On an upload trigger it reads exactly the uploaded file (the checkpoint is left alone). Unparseable
 * lines go to dead-letter with `file:line`.
 */
@injectable()
export class FileSource implements Source {
  private scratch?: Promise<DuckDbClient>;

  constructor(
    @inject(TOKENS.Config) private readonly config: FileSourceConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {
    if (config.path.length === 0) throw new Error(`${step.id}: path is empty`);
  }

  async *read(run: SourceRun): AsyncIterable<Batch> {
    const db = await this.duckdb();
    if (run.trigger?.type === 'upload') {
      const { file, filename } = run.trigger;
      const options = { ...this.options(filename), format: this.config.format ?? formatOf(filename), origin: filename };
      let records = 0;
      let index = 0;
      // The stored upload's name is unique (it starts with the time of the upload).
      for await (const batch of this.numbered(readRecords(db, file, options), options.format)) {
        records += rowCount(batch.records);
        yield { ...batch, position: `upload ${file}#${index++}` };
      }
      this.logger.info('read upload', { file: filename, records });
      return;
    }
    const checkpoint = run.checkpoint as FileCheckpoint | undefined;
    const previous = checkpoint?.files ?? {};
    const files = await this.files(run.date);
    const done: Done = {};
    // Forget files that are gone, unless only one date's partition was listed.
    for (const [file, seen] of Object.entries(previous)) if (run.date || files.includes(file)) done[file] = seen;
    for (const file of files) {
      if (run.signal.aborted) return;
      let stat;
      try {
        stat = statSync(file);
      } catch {
        continue; // removed since it was listed
      }
      const seen = done[file];
      if (
        seen &&
        seen.size === stat.size &&
        seen.mtimeMs === stat.mtimeMs &&
        !(run.date && this.config.rereadOnBackfill)
      )
        continue;
      const shown = display(file);
      const options = { ...this.options(shown), origin: shown };
      const version = {
        file,
        size: stat.size,
        mtimeMs: stat.mtimeMs,
        batchSize: options.batchSize!,
        ...(options.batchBytes ? { batchBytes: options.batchBytes } : {}),
      };
      // The batches a crash left committed are skipped when the file is unchanged and cut into batches the same way.
      const partial = checkpoint?.partial;
      const committed =
        partial &&
        partial.file === file &&
        partial.size === stat.size &&
        partial.mtimeMs === stat.mtimeMs &&
        partial.batchSize === version.batchSize &&
        partial.batchBytes === version.batchBytes
          ? partial.batches
          : 0;
      if (partial?.file === file && !committed)
        this.logger.warn(
          'reading again from its start a file a stop left half-read (it changed, or so did batchSize)',
          { file: shown },
        );
      // One batch is held back to learn which is the file's last; a batch never handed on (the run was stopped, or
      // it was committed before a crash) has its DuckDB table dropped here (those handed on, the runtime drops).
      let pending: FileBatch | undefined;
      let index = 0;
      let records = 0;
      let rejects = 0;
      // Batch `n` of this version of the file, and the checkpoint once it is committed.
      const numberedBatch = ({ last: _, ...batch }: Batch & { last?: boolean }, n: number, last: boolean): Batch => ({
        ...batch,
        position: `${file}:${stat.size}:${stat.mtimeMs}#${n}`, // the absolute path, as in the checkpoint: a restart elsewhere gives the same
        checkpoint: (last
          ? { files: { ...done } }
          : { files: { ...done }, partial: { ...version, batches: n + 1 } }) satisfies FileCheckpoint,
      });
      try {
        const batches = this.numbered(readRecords(db, file, options), formatOf(file, this.config.format));
        for await (const batch of batches) {
          const previous = pending;
          pending = batch;
          if (previous) {
            const n = index++;
            if (n >= committed) yield numberedBatch(previous, n, false);
            else if (!Array.isArray(previous.records)) await previous.records.release().catch(() => undefined);
          }
          if (run.signal.aborted) return;
          records += rowCount(batch.records);
          rejects += batch.rejects.length;
          // A batch its reader knows is not the file's last is handed on at once (a slice held in DuckDB is not kept
          // waiting while the next one loads).
          if (batch.last === false) {
            pending = undefined;
            const n = index++;
            if (n >= committed) yield numberedBatch(batch, n, false);
            else if (!Array.isArray(batch.records)) await batch.records.release().catch(() => undefined);
          }
        }
        done[file] = { size: stat.size, mtimeMs: stat.mtimeMs };
        this.logger.info('read file', {
          file: shown,
          records,
          rejects,
          ...(committed ? { resumedAfterBatch: committed } : {}),
        });
        const last = numberedBatch(pending ?? { records: [] }, index, true);
        pending = undefined;
        yield last;
      } finally {
        if (pending && !Array.isArray(pending.records)) await pending.records.release().catch(() => undefined);
      }
    }
  }

  /**
   * A line this source could not parse, parsed again (after the manifest's csv options were fixed, say): a JSON
   * line as JSON; a CSV line under its file's header, with the step's CSV options. A whole file cannot be replayed:
   * fixed, it is read again by the next run (it changed).
   */
  async replayRecord(record: unknown, origin: string | undefined): Promise<Row[]> {
    const at = /^(.*):(\d+)$/.exec(origin ?? '');
    if (typeof record !== 'string' || !at)
      throw new DataError('a whole file cannot be replayed: fix the file, and the next run reads it again');
    const format = formatOf(at[1], this.config.format);
    if (format === 'jsonl' || format === 'json') {
      let value: unknown;
      try {
        value = JSON.parse(record);
      } catch (error) {
        throw new DataError(`invalid JSON: ${(error as Error).message}`);
      }
      if (!value || typeof value !== 'object' || Array.isArray(value))
        throw new DataError('invalid JSON: not a JSON object');
      return [value as Row];
    }
    if (format !== 'csv')
      throw new DataError(`a ${format} row cannot be replayed: fix the file, and the next run reads it again`);
    const dir = mkdtempSync(join(tmpdir(), 'replay-'));
    try {
      const file = join(dir, 'line.csv');
      if (this.config.csv?.header !== false && !existsSync(resolve(at[1])))
        throw new DataError(`${at[1]} is gone: the line cannot be read without its file's header`);
      const header = this.config.csv?.header === false ? '' : `${firstLine(resolve(at[1]))}\n`;
      writeFileSync(file, `${header}${record}\n`);
      const records: Row[] = [];
      for await (const batch of readRecords(await this.duckdb(), file, {
        format: 'csv',
        csv: this.config.csv,
        origin: origin!,
      })) {
        if (batch.rejects.length) throw new DataError(batch.rejects.flatMap((r) => r.reasons).join('; '));
        records.push(...(batch.records as Row[]));
      }
      return records;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    if (this.scratch) (await this.scratch).close();
  }

  /**
   * CSV, JSON lines and Parquet files stay in DuckDB as batch tables — the step's connection, else the one of the
   * DuckDB steps after it (they use the batches in place), else an in-memory DuckDB of its own — unless records must
   * be numbered by line in JS. Without `batchSize`, CSV and JSON lines come in batches of about BATCH_BYTES of file.
   */
  private options(file: string): ReadOptions {
    const addColumns = this.config.addFileColumn ? { [this.config.addFileColumn]: file } : undefined;
    const format = this.config.format ?? (/\.parquet$/i.test(file) ? 'parquet' : undefined);
    // A workbook is parsed in JS: it goes into DuckDB only for DuckDB steps (into a private DuckDB it only costs memory).
    const xlsx = (this.config.format ?? (/\.xlsx$/i.test(file) ? 'xlsx' : undefined)) === 'xlsx';
    const inDuckDb =
      this.config.inDuckDb !== false &&
      !this.config.addLineColumn &&
      (!xlsx || !!(this.step.connection ?? this.step.batchConnection));
    const batchSize = this.config.batchSize ?? (inDuckDb && format === 'parquet' ? BATCH_IN_DUCKDB : BATCH_OF_RECORDS);
    const batchBytes = inDuckDb && this.config.batchSize === undefined ? BATCH_BYTES : undefined;
    return {
      batchSize,
      batchBytes,
      csv: this.config.csv,
      xlsx: this.config.xlsx,
      format: this.config.format,
      addColumns,
      inDuckDb,
    };
  }

  /**
   * With addLineColumn, a CSV file's records get their line: the line each batch gives as its records' origin
   * (`file:LINE`, numbered as DuckDB numbers rejected lines).
   */
  private async *numbered(batches: AsyncIterable<FileBatch>, format: FileFormat): AsyncIterable<FileBatch> {
    const column = this.config.addLineColumn;
    if (!column || format !== 'csv') return yield* batches;
    for await (const batch of batches) {
      (batch.records as Row[]).forEach((record, i) => {
        // records: addLineColumn turns off inDuckDb
        record[column] = Number(/:(\d+)$/.exec(batch.origin?.(i) ?? '')?.[1] ?? NaN);
      });
      yield batch;
    }
  }

  /** The files to read, absolute and sorted: placeholders become the run date's parts, or match any digits. */
  private async files(date?: string): Promise<string[]> {
    if (date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(date))
      throw new Error(`${this.step.id}: --date must be YYYY-MM-DD (got "${date}")`);
    const [y, m, d] = date ? date.split('-') : [PLACEHOLDERS['{YYYY}'], PLACEHOLDERS['{MM}'], PLACEHOLDERS['{DD}']];
    const patterns = ([] as string[])
      .concat(this.config.path)
      .map((p) => p.replaceAll('{YYYY}', y).replaceAll('{MM}', m).replaceAll('{DD}', d))
      .map((p) => (p.startsWith('!') ? `!${resolve(p.slice(1))}` : resolve(p)));
    // A plain path is only looked up. Globs (and any `!` exclusion) are matched from the root with absolute patterns:
    // tinyglobby walks a pattern outside its working directory from far above it (a file in /tmp from a project
    // folder cost a walk of all /tmp, ~0.4–0.7 s).
    const excludes = patterns.some((p) => p.startsWith('!'));
    const looked = excludes ? [] : patterns.filter((p) => !isDynamicPattern(p));
    const found = looked.filter((p) => statSync(p, { throwIfNoEntry: false })?.isFile());
    const globs = patterns
      .filter((p) => !looked.includes(p))
      .map((p) => (p.startsWith('!') ? `!${relative('/', p.slice(1))}` : relative('/', p)));
    if (globs.length)
      found.push(...(await glob(globs, { absolute: true, onlyFiles: true, expandDirectories: false, cwd: '/' })));
    return [...new Set(found.map((f) => resolve(f)))].sort();
  }

  /**
   * Parsing runs in DuckDB, where the batches stay: the step's duckdb connection if it has one, else the one of the
   * DuckDB steps after it, else an in-memory database of its own.
   */
  private duckdb(): Promise<DuckDbClient> {
    const connection = this.step.connection ?? this.step.batchConnection;
    if (connection) return this.connections.get<DuckDbClient>(connection, 'duckdb');
    this.scratch ??= DuckDbClient.open(':memory:');
    return this.scratch;
  }
}

/** A file as shown in origins and the file column: relative to the working directory when under it. */
function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

const csvOptions = configSchema({
  type: 'object',
  additionalProperties: false,
  description:
    'CSV options (parsed by DuckDB read_csv in a named dialect): `delimiter` (default: the most frequent of , ; tab | in the first line), `quote` and `escape` (default `"`), `header` (default true), `columns` {name: DuckDB type} every column in file order, `types` {name: DuckDB type} some columns by name, `maxLineBytes`. A line that does not parse (an unterminated quote), is too long or whose values do not fit goes to dead-letter with file:line; the other lines load.',
  examples: [{ delimiter: ';', types: { amount: 'DECIMAL(12,2)' } }],
  properties: {
    delimiter: {
      type: 'string',
      minLength: 1,
      maxLength: 1,
      description: 'Field separator (default: the most frequent of , ; tab | in the first line, outside quotes).',
      examples: [';', '\t'],
    },
    quote: {
      type: 'string',
      minLength: 1,
      maxLength: 1,
      default: '"',
      description: 'Quote character around values that hold the delimiter, quotes or line breaks.',
      examples: ["'"],
    },
    escape: {
      type: 'string',
      minLength: 1,
      maxLength: 1,
      description: 'Escape character inside quotes (default: the quote, so "" is one ").',
      examples: ['\\'],
    },
    maxLineBytes: {
      type: 'integer',
      minimum: 1024,
      default: 8388608,
      description: 'A line longer than this (bytes) goes to dead-letter alone; the other lines load.',
      examples: [33554432],
    },
    header: {
      type: 'boolean',
      default: true,
      description: 'The first line names the columns (otherwise column0, column1, …).',
    },
    columns: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description:
        'Every column in file order with its DuckDB type; a line whose value does not fit goes to dead-letter.',
      examples: [{ id: 'INTEGER', amount: 'DECIMAL(12,2)', at: 'TIMESTAMP' }],
    },
    types: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description:
        'DuckDB types of some columns by name (the others are detected); a line whose value does not fit goes to dead-letter.',
      examples: [{ amount: 'DOUBLE' }],
    },
  },
});

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: {
      anyOf: [
        { type: 'string', minLength: 1 },
        { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
      ],
      description:
        'Glob(s) of the files, relative to the working directory (`**` any folders, `*` any name, `{a,b}` alternatives); {YYYY}, {MM}, {DD} are filled by --date, or match any partition.',
      examples: ['data/raw/{YYYY}/{MM}/{DD}/*.csv', 'inbox/*.xlsx', ['exports/**/*.parquet', 'exports/**/*.csv']],
    },
    format: {
      enum: ['csv', 'jsonl', 'json', 'parquet', 'xlsx'],
      description:
        "File format (default: from each file's extension: .csv .tsv .txt, .jsonl .ndjson, .json, .parquet, .xlsx).",
    },
    batchSize: {
      type: 'integer',
      minimum: 1,
      description:
        "Records per batch. Default: CSV and JSON lines in batches of about 16 MB of the file, read one after the other (memory stays flat whatever the file's size), Parquet 1,000,000 rows, " +
        "XLSX and JSON 50,000 records. CSV, JSON lines and Parquet stay in DuckDB (no addLineColumn): the step's connection, else the one of the DuckDB steps after it, else an in-memory one. " +
        'Set it when a file must be one batch (e.g. duplicates found within a file).',
      examples: [10000, 250000],
    },
    inDuckDb: {
      type: 'boolean',
      default: true,
      description:
        "CSV, JSON lines and Parquet batches stay in DuckDB (the step's duckdb connection, else the one of the DuckDB steps after it, else an in-memory one): DuckDB-backed steps use them in place, others get records. " +
        'false reads every batch as JS records (slower; for comparing the two paths).',
    },
    csv: csvOptions,
    xlsx: {
      type: 'object',
      additionalProperties: false,
      description:
        'XLSX options (read as a stream): `sheet`, the sheet or sheets to read (default: every sheet; a workbook without it, or without any of them, goes to dead-letter whole, naming its sheets), `maxRows`, `maxColumns`, `maxTextChars`. The first non-empty row names the fields; values come as numbers, text, booleans or timestamps.',
      properties: {
        sheet: {
          type: ['string', 'array'],
          items: { type: 'string' },
          minItems: 1,
          description:
            'Sheet to read, or a list of sheets (default: every sheet). Records carry a _sheet field when a list is given, or when every sheet is read and the workbook has several. Sheets not read are not even decompressed, however large.',
          examples: ['Products', ['Products', 'Clients']],
        },
        maxRows: {
          type: 'integer',
          minimum: 1,
          default: 1048576,
          description: 'Rows read per sheet; the rows after go to dead-letter as one entry.',
        },
        maxColumns: {
          type: 'integer',
          minimum: 1,
          default: 16384,
          description: 'Cells a row may have; a wider row goes to dead-letter.',
        },
        maxTextChars: {
          type: 'integer',
          minimum: 1,
          default: 64000000,
          description:
            "Characters the workbook's shared texts (its table of distinct texts, held in memory while the sheets are read; only those the sheets read use, when `sheet` is given) may hold in all; a workbook with more goes to dead-letter whole.",
        },
      },
    },
    addFileColumn: {
      type: 'string',
      minLength: 1,
      description:
        "Add the source file (relative to the working directory, or the uploaded file's name) in this column.",
      examples: ['source_file'],
    },
    addLineColumn: {
      type: 'string',
      minLength: 1,
      description:
        "CSV files: add each record's line in its file in this column (the header is line 1; numbered like the file:LINE of rejected lines). Every dead letter already names its file:line; this puts it in the data too.",
      examples: ['source_line'],
    },
    rereadOnBackfill: {
      type: 'boolean',
      default: false,
      description:
        "With --date (a backfill), read that date's files again even when they were read already: the day is processed again, e.g. after reference data changed (idempotent when the sinks upsert). Without it, a file is read again only when its size or modification time changes.",
    },
  },
});

export default pluginModule(
  {
    kind: 'source',
    name: 'file',
    summary:
      'Reads CSV, JSON lines, JSON, Parquet or XLSX files (globs, {YYYY}/{MM}/{DD} partitions, uploads); remembers the files it has read.',
    checkpoint: {
      type: 'object',
      required: ['files'],
      properties: { files: { type: 'object', description: 'The files read, by path.' } },
    },
    description:
      'A batch source: each run reads the matching files that are new or changed since the last run (by size and modification time, kept in the checkpoint). ' +
      'With --date YYYY-MM-DD the {YYYY}/{MM}/{DD} placeholders of path take that date (a backfill); without it they match every partition. ' +
      "Started by an upload (a view's upload form), it reads exactly the uploaded file. CSV lines DuckDB cannot parse, and JSON lines that are not objects, go to dead-letter with file:line and the reason. " +
      "CSV, JSON lines and Parquet files are loaded into DuckDB (the step's duckdb connection, else the one of the DuckDB steps after it, else an in-memory one) and their batches stay there: validate, sql, the duckdb sink and the csv and parquet sinks work on them in place (the fast path for large files); other steps get records.",
    stability: 'stable',
    connectionTypes: ['duckdb'],
    config: CONFIG,
    examples: [
      {
        title: 'Daily partitions, backfill with --date',
        yaml: 'daily:\n  use: file\n  schedule: { cron: "0 2 * * *", timezone: UTC }\n  with:\n    path: "data/raw/{YYYY}/{MM}/{DD}/transactions.csv"\n    csv: { types: { amount: DOUBLE } }\n    addFileColumn: source_file\n',
      },
      {
        title: 'Uploaded workbooks',
        yaml: 'stock:\n  use: file\n  trigger: { upload: true }\n  with: { path: "inbox/*.xlsx", xlsx: { sheet: Products } }\n',
      },
    ],
  },
  FileSource,
);
