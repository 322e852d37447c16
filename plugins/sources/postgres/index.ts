import {
  configSchema,
  asWholeResult,
  duration,
  inject,
  injectable,
  pluginModule,
  TOKENS,
  type ConfigOf,
  type Batch,
  type Connections,
  type Row,
  type Source,
  type SourceRun,
  type StepInfo,
} from '../../../core/sdk/index.ts';
import { quoteIdent, type PostgresClient } from '../../../connections/postgres/index.ts';
import { parseDuration } from '../../../core/sdk/duration.ts';

type PostgresSourceConfig = ConfigOf<typeof CONFIG>;

interface Position {
  cursor: unknown;
  tie: unknown;
}

/**
 * Reads a table or query in keyset pages (bounded memory). Incremental mode remembers the last
 * (cursor, tieBreaker) pair, so rows sharing a timestamp are neither skipped nor read twice; `lookback`
 * re-reads a window before the checkpoint so rows that arrive late with an older timestamp are caught
 * (downstream upserts make the re-read harmless). `--date` reads one day by `dateColumn` (backfill).
 */
@injectable()
export class PostgresSource implements Source {
  constructor(
    @inject(TOKENS.Config) private readonly config: PostgresSourceConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
  ) {
    if (!config.table === !config.query) throw new Error(`${step.id}: give exactly one of table and query`);
    if (config.mode === 'incremental' && !config.cursor)
      throw new Error(`${step.id}: incremental mode needs cursor.column`);
  }

  read(run: SourceRun): AsyncIterable<Batch> {
    // A snapshot run is the whole table or query: marked as such, replace-mode sinks take all its pages (or empty
    // their target when it is empty). A backfill reads one day only, which is not the whole.
    const whole = this.config.mode === 'snapshot' && !(run.date && this.config.dateColumn);
    return whole ? asWholeResult(this.pages(run), run.signal) : this.pages(run);
  }

  private async *pages(run: SourceRun): AsyncIterable<Batch> {
    const db = await this.connections.get<PostgresClient>(this.step.connection!, 'postgres');
    const base = this.config.table ? `SELECT * FROM ${quoteIdent(this.config.table)}` : this.config.query!;
    const conditions: string[] = [];
    const params = [...this.config.params];
    if (this.config.where) conditions.push(`(${this.config.where})`);
    const backfill = run.date && this.config.dateColumn;
    if (backfill) {
      params.push(run.date);
      conditions.push(
        `${quoteIdent(this.config.dateColumn!)} >= $${params.length}::date AND ${quoteIdent(this.config.dateColumn!)} < $${params.length}::date + 1`,
      );
    }
    const cursor = this.config.cursor;
    if (!cursor) {
      yield* this.offsetPages(db, base, conditions, params, run);
      return;
    }
    const c = quoteIdent(cursor.column);
    const t = cursor.tieBreaker ? quoteIdent(cursor.tieBreaker) : null;
    const committed =
      this.config.mode === 'incremental' && !backfill ? (run.checkpoint as Position | undefined) : undefined;
    let position: Position | undefined = committed;
    let inclusiveFrom: unknown;
    if (committed && this.config.lookback) {
      inclusiveFrom = { lookback: parseDuration(this.config.lookback) };
      position = undefined;
    }
    while (!run.signal.aborted) {
      const where = [...conditions];
      const pageParams = [...params];
      if (position) {
        pageParams.push(position.cursor);
        if (t) {
          pageParams.push(position.tie);
          where.push(`(${c}, ${t}) > ($${pageParams.length - 1}, $${pageParams.length})`);
        } else where.push(`${c} > $${pageParams.length}`);
      } else if (inclusiveFrom && committed) {
        pageParams.push(committed.cursor, `${(inclusiveFrom as { lookback: number }).lookback} milliseconds`);
        where.push(`${c} >= $${pageParams.length - 1}::timestamptz - $${pageParams.length}::interval`);
      }
      const sql = `SELECT * FROM (${base}) AS source${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY ${c}${t ? ', ' + t : ''} LIMIT ${this.config.pageSize}`;
      const records = await this.query(db, sql, pageParams);
      if (records.length === 0) break;
      const last = records[records.length - 1];
      position = { cursor: serialise(last[cursor.column]), tie: t ? serialise(last[cursor.tieBreaker!]) : null };
      const checkpoint = this.config.mode === 'incremental' && !backfill ? newest(position, committed) : undefined;
      yield {
        records,
        checkpoint,
        watermark: last[cursor.column] instanceof Date ? (last[cursor.column] as Date) : undefined,
        origin: (index) => this.origin(records[index], [cursor.column, cursor.tieBreaker]),
      };
      if (records.length < this.config.pageSize) break;
    }
  }

  private async *offsetPages(
    db: PostgresClient,
    base: string,
    conditions: string[],
    params: unknown[],
    run: SourceRun,
  ): AsyncIterable<Batch> {
    for (let offset = 0; !run.signal.aborted; offset += this.config.pageSize) {
      const sql = `SELECT * FROM (${base}) AS source${conditions.length ? ' WHERE ' + conditions.join(' AND ') : ''} LIMIT ${this.config.pageSize} OFFSET ${offset}`;
      const records = await this.query(db, sql, params);
      if (records.length)
        yield { records, origin: (index) => `${this.config.table ?? 'query'} row ${offset + index + 1}` };
      if (records.length < this.config.pageSize) return;
    }
  }

  /** A row's origin for dead letters: the table (or query) and its cursor values, e.g. `transactions (id=17)`. */
  private origin(record: Row | undefined, columns: (string | undefined)[]): string | undefined {
    if (!record) return undefined;
    const key = columns
      .filter((c): c is string => !!c)
      .map((c) => `${c}=${serialise(record[c])}`)
      .join(', ');
    return `${this.config.table ?? 'query'} (${key})`;
  }

  private async query(db: PostgresClient, sql: string, params: unknown[]): Promise<Row[]> {
    try {
      return await db.query(sql, params);
    } catch (error) {
      throw new Error(`${this.step.id} (${this.config.table ?? 'query'}): ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}

function serialise(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value;
}

/** The checkpoint never moves back, even while a lookback re-reads older rows. */
function newest(position: Position, committed: Position | undefined): Position {
  if (!committed) return position;
  const a = comparable(position.cursor);
  const b = comparable(committed.cursor);
  if (a > b || (a === b && String(position.tie ?? '') >= String(committed.tie ?? ''))) return position;
  return committed;
}

function comparable(value: unknown): number | string {
  if (typeof value === 'number') return value;
  const time = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  return Number.isNaN(time) ? String(value) : time;
}

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  properties: {
    table: {
      type: 'string',
      description: 'Table to read (or give query).',
      examples: ['transactions', 'sales.orders'],
    },
    query: { type: 'string', description: 'SELECT to read instead of a table.' },
    mode: {
      enum: ['incremental', 'snapshot'],
      default: 'incremental',
      description: 'incremental reads rows after the checkpoint; snapshot reads everything each run.',
    },
    cursor: {
      type: 'object',
      additionalProperties: false,
      required: ['column'],
      description: 'Ordering of rows: column (e.g. a timestamp) and a unique tieBreaker for rows with the same value.',
      properties: { column: { type: 'string' }, tieBreaker: { type: 'string' } },
      examples: [{ column: 'transaction_time', tieBreaker: 'transaction_id' }],
    },
    lookback: duration(
      {
        description: 'Re-read rows this far before the checkpoint (timestamp cursors) to catch late rows.',
        examples: ['1h'],
      },
      { zero: true },
    ),
    where: { type: 'string', description: 'Extra SQL condition; use $1… with params.' },
    params: { type: 'array', default: [], description: 'Values for $1… in where.' },
    pageSize: { type: 'integer', minimum: 1, default: 10000, description: 'Rows per page (and batch).' },
    dateColumn: {
      type: 'string',
      description:
        'With --date YYYY-MM-DD, read only that day by this column (backfill; the checkpoint does not move).',
    },
  },
});

export default pluginModule(
  {
    kind: 'source',
    name: 'postgres',
    summary:
      'Reads a PostgreSQL table or query in pages: incremental by a cursor column (with ties and late rows), or a snapshot.',
    checkpoint: {
      type: 'object',
      required: ['cursor'],
      properties: {
        cursor: { description: 'The last row read: its cursor value.' },
        tie: { description: 'The last row read: its tie-breaker.' },
      },
    },
    stability: 'stable',
    connectionTypes: ['postgres'],
    connectionRequired: true,
    config: CONFIG,
    examples: [
      {
        title: 'New transactions every hour',
        yaml: 'transactions:\n  use: postgres\n  connection: shop\n  schedule: { every: 1h }\n  with:\n    table: transactions\n    cursor: { column: transaction_time, tieBreaker: transaction_id }\n    lookback: 1h\n',
      },
    ],
  },
  PostgresSource,
);
