import type { DuckDBConnection } from '@duckdb/node-api';
import {
  configSchema,
  BATCH_LEDGER_TABLE,
  batchLedgerSql,
  claimParams,
  DataError,
  inject,
  injectable,
  pluginModule,
  SnapshotBuffer,
  TOKENS,
  type ConfigOf,
  type BatchIdentity,
  type Connections,
  type Logger,
  type ResidentRows,
  type Row,
  type Sink,
  type SinkContext,
  type StepInfo,
} from '../../../core/sdk/index.ts';
import {
  DuckDbRows,
  inferColumns,
  loadTempTable,
  materializedRows,
  quoteIdent,
  type DuckDbClient,
} from '../../../connections/duckdb/index.ts';
import { JsonTexts } from '../../../formats/jsonl.ts';

type DuckDbSinkConfig = ConfigOf<typeof CONFIG>;

interface TableColumn {
  name: string;
  type: string;
  nullable: boolean;
}

const BATCH = 'temp._sink_batch';

/** The batch to move: a table whose rowid order is the batch order, its columns, and how to get rejected rows as records. */
interface BatchTable {
  table: string;
  count: number;
  columns: { name: string; kind: string }[];
  records(rowids: number[]): Promise<Row[]>;
  /** The origin of a row by rowid, when the batch table knows it (a source's table). */
  origin?: (rowid: number) => string | undefined;
}

/**
 * Writes batches into a DuckDB table. The batch goes into a temp table with the DuckDB appender (or, already in
 * this DuckDB as a batch table, stays where it is), then moves with one set-based statement in one transaction:
 * - append: INSERT … SELECT by column name;
 * - upsert: INSERT OR REPLACE when the table has a primary key (or unique constraint) on `key`, else DELETE the
 *   batch's keys + INSERT; the last record of a key in a batch wins. With `onConflict: ignore` a key already in
 *   the table keeps its row and the first record of a key in a batch wins (INSERT … ON CONFLICT DO NOTHING);
 * - replace: the table's whole content becomes the batch, atomically (readers see the old or the new content);
 *   when the batch is part of a source's whole result, the table becomes that whole result on its last batch
 *   (all its pages; empty when the result is empty).
 * Values are cast to the table's column types by DuckDB. Fields the table has no column for are left out (logged
 * once). In append mode, a batch with an identity (`SinkContext.batch`) is noted in the `_platform_batches` table in
 * the same transaction as its rows, and a batch already noted there (delivered again after a crash) is skipped:
 * exactly-once appends. When some records cannot be written (a value that does not convert, a null in a NOT NULL column or the
 * key), they go to dead-letter with the column and the reason, and the rest of the batch is written.
 */
@injectable()
export class DuckDbSink implements Sink {
  /**
   * The target table as last seen: its columns and whether its key is a constraint. Read once, not per batch (a
   * catalog query costs milliseconds); forgotten when a write fails, so a changed table is read again on the retry.
   */
  private target?: { columns: TableColumn[]; keyConstraint: boolean };
  private readonly warned = new Set<string>();
  private readonly schema?: string;
  private readonly name: string;
  private readonly wholeResult = new SnapshotBuffer();
  /** The batch ledger table exists (made once per sink), and how many batches were noted in it since the last prune. */
  private ledger?: { sql: ReturnType<typeof batchLedgerSql>; claims: number };

  constructor(
    @inject(TOKENS.Config) private readonly config: DuckDbSinkConfig,
    @inject(TOKENS.Step) private readonly step: StepInfo,
    @inject(TOKENS.Connections) private readonly connections: Connections,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {
    if (!step.connection) throw new Error(`${step.id}: the duckdb sink needs connection: (a duckdb connection)`);
    if (config.mode === 'upsert' && !config.key?.length)
      throw new Error(`${step.id}: mode upsert needs key (the columns that identify a row)`);
    if (config.onConflict === 'ignore' && config.mode !== 'upsert')
      throw new Error(`${step.id}: onConflict: ignore is for mode upsert (mode is ${config.mode})`);
    if (config.columns && config.key) {
      const missing = config.key.filter((k) => !(k in config.columns!));
      if (missing.length) throw new Error(`${step.id}: key ${missing.join(', ')} not among columns`);
    }
    const dot = config.table.indexOf('.');
    [this.schema, this.name] =
      dot > 0 ? [config.table.slice(0, dot), config.table.slice(dot + 1)] : [undefined, config.table];
  }

  private get table(): string {
    return this.schema ? `${quoteIdent(this.schema)}.${quoteIdent(this.name)}` : quoteIdent(this.name);
  }

  async write(batch: Row[], ctx?: SinkContext): Promise<void> {
    const records = this.config.mode === 'replace' ? this.wholeResult.collect(batch, ctx?.snapshot) : batch;
    if (!records) return; // more pages of the result to come
    const db = await this.connections.get<DuckDbClient>(this.step.connection!, 'duckdb');
    if (records.length === 0) {
      if (this.config.mode === 'replace' && ctx?.snapshot) await this.empty(db);
      return;
    }
    await this.writeBatch(db, records.length, ctx, async (connection) => {
      const columns = inferColumns(records);
      // The appender fills the fresh temp table in order: its rowid is the record's index in the batch.
      await loadTempTable(
        connection,
        '_sink_batch',
        records,
        columns,
        ctx ? (index, reason) => ctx.reject(records[index], reason) : undefined,
      );
      return { table: BATCH, count: records.length, columns, records: async (rowids) => rowids.map((r) => records[r]) };
    });
  }

  /**
   * A batch already held in this sink's DuckDB moves from its table with the same statements as `write`, without
   * a round trip through JS. A replaced table fed in several pages is left to `write` (it gathers the pages).
   */
  async writeFromDuckDb(held: ResidentRows, ctx: SinkContext): Promise<boolean> {
    const db = await this.connections.get<DuckDbClient>(this.step.connection!, 'duckdb');
    const part = ctx.snapshot;
    // JSON texts (a Kafka batch) are read by DuckDB into a batch table, unless it would read them otherwise than JS.
    const rows = held instanceof JsonTexts && held.count ? await db.session((c) => held.inDuckDb(db, c)) : held;
    if (!rows) return false;
    if (
      !(rows instanceof DuckDbRows) ||
      rows.db !== db ||
      (this.config.mode === 'replace' && part && !(part.first && part.last))
    )
      return false;
    if (rows.count === 0) {
      if (this.config.mode === 'replace' && part) await this.empty(db);
      return true;
    }
    await this.writeBatch(db, rows.count, ctx, async (connection) => {
      const columns = (await rows.columns(connection)).map((c) => ({
        name: c.name,
        kind: c.type === 'TIMESTAMP WITH TIME ZONE' ? 'TIMESTAMPTZ' : c.type,
      }));
      const records = async (rowids: number[]) =>
        materializedRows(
          await connection.run(
            `SELECT * EXCLUDE (_sink_row) FROM (SELECT rowid AS _sink_row, * FROM ${rows.table}) WHERE _sink_row IN (${rowids.join(', ')}) ORDER BY _sink_row`,
          ),
        );
      return { table: rows.table, count: rows.count, columns, records, origin: rows.origin };
    });
    return true;
  }

  /** On one session: the batch table `open` makes ready moves into the target; the temp table of records is dropped after. */
  private async writeBatch(
    db: DuckDbClient,
    count: number,
    ctx: SinkContext | undefined,
    open: (connection: DuckDBConnection) => Promise<BatchTable>,
  ): Promise<void> {
    await db.session(async (connection) => {
      let batch: BatchTable | undefined;
      try {
        const claim = this.claimOf(ctx);
        if (claim && (await this.alreadyWritten(connection, claim))) return;
        batch = await open(connection);
        await this.moveBatch(connection, batch, ctx);
      } catch (error) {
        this.target = undefined; // a changed table is read again on the retry
        throw new Error(
          `${this.step.id}: writing ${count} record(s) to ${this.config.table} failed: ${(error as Error).message.split('\n')[0]}`,
          { cause: error },
        );
      } finally {
        if (!batch || batch.table === BATCH)
          await connection.run(`DROP TABLE IF EXISTS ${BATCH}`).catch(() => undefined);
      }
    });
    if (this.config.mode === 'replace') this.wholeResult.done();
  }

  /** Moves a batch table into the target; records that cannot go in are rejected and the others written. */
  private async moveBatch(
    connection: DuckDBConnection,
    batch: BatchTable,
    ctx: SinkContext | undefined,
  ): Promise<void> {
    const batchColumns = batch.columns;
    const claim = this.claimOf(ctx);
    if (!this.target) {
      await this.ensureTable(connection, batchColumns);
      this.target = {
        columns: await this.tableColumns(connection),
        keyConstraint: this.config.mode === 'upsert' && (await this.hasKeyConstraint(connection)),
      };
    }
    const { columns } = this.target;
    const known = new Set(columns.map((c) => c.name));
    const unknown = batchColumns.map((c) => c.name).filter((n) => !known.has(n) && !this.warned.has(n));
    if (unknown.length) {
      unknown.forEach((n) => this.warned.add(n));
      this.logger.warn(`fields not written: table ${this.config.table} has no column for them`, {
        fields: unknown.join(', '),
      });
    }
    const kinds = new Map(batchColumns.map((c) => [c.name, c.kind]));
    const target = columns.filter((c) => kinds.has(c.name));
    if (target.length === 0)
      throw new DataError(
        `none of the fields (${batchColumns.map((c) => c.name).join(', ')}) is a column of ${this.config.table}`,
        { wholeBatch: true },
      );
    try {
      await this.move(connection, batch.table, target, kinds, 'true', claim && { batch: claim, records: batch.count });
    } catch (error) {
      // Find the records that cannot go in, send them to dead-letter, and write the others.
      const bad = await this.badRecords(connection, batch.table, columns, kinds);
      if (!bad.length || !ctx) throw error;
      const records = await batch.records(bad.map((b) => b.row));
      bad.forEach(({ row, reasons }, i) => ctx.reject(records[i], reasons, batch.origin?.(row)));
      if (bad.length < batch.count)
        await this.move(
          connection,
          batch.table,
          target,
          kinds,
          `rowid NOT IN (${bad.map((b) => b.row).join(', ')})`,
          claim && { batch: claim, records: batch.count - bad.length },
        );
    }
  }

  /** A replaced table whose source result is empty becomes empty (a missing table stays missing: no columns to create it with). */
  private async empty(db: DuckDbClient): Promise<void> {
    await db.session(async (connection) => {
      try {
        if ((await this.tableColumns(connection)).length) await connection.run(`DELETE FROM ${this.table}`);
      } catch (error) {
        throw new Error(
          `${this.step.id}: emptying ${this.config.table} failed: ${(error as Error).message.split('\n')[0]}`,
          { cause: error },
        );
      }
    });
    this.wholeResult.done();
  }

  /** The batch identity an append notes in the ledger (other modes write the same content again harmlessly). */
  private claimOf(ctx: SinkContext | undefined): BatchIdentity | undefined {
    return this.config.mode === 'append' ? ctx?.batch : undefined;
  }

  /** Whether the ledger holds the batch (made the first time: the ledger table is created then). */
  private async alreadyWritten(connection: DuckDBConnection, batch: BatchIdentity): Promise<boolean> {
    if (!this.ledger) {
      const sql = batchLedgerSql(this.ledgerTable());
      if (this.schema) await connection.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)}`);
      await connection.run(sql.create);
      this.ledger = { sql, claims: 0 };
    }
    const found = materializedRows(
      await connection.run(`SELECT 1 FROM ${this.ledgerTable()} WHERE writer = $1 AND batch = $2`, [
        batch.writer,
        batch.id,
      ]),
    );
    if (found.length)
      this.logger.info('batch already written (delivered again after a stop): skipped', { batch: batch.origin });
    return found.length > 0;
  }

  private ledgerTable(): string {
    return this.schema
      ? `${quoteIdent(this.schema)}.${quoteIdent(BATCH_LEDGER_TABLE)}`
      : quoteIdent(BATCH_LEDGER_TABLE);
  }

  /**
   * One transaction: the batch rows (those matching the SQL condition `filter`) into the table, by the mode; with
   * `claim`, the batch is noted in the ledger in the same transaction (nothing is written when it is there already).
   */
  private async move(
    connection: DuckDBConnection,
    batch: string,
    target: TableColumn[],
    kinds: Map<string, string>,
    filter: string,
    claim?: { batch: BatchIdentity; records: number },
  ): Promise<void> {
    const names = target.map((c) => quoteIdent(c.name)).join(', ');
    // A Date goes into a TIMESTAMP (no zone) column as its UTC time, whatever the session's time zone.
    const values = target
      .map((c) =>
        kinds.get(c.name) === 'TIMESTAMPTZ' && /^TIMESTAMP(\(\d\))?$|^TIMESTAMP_(S|MS|NS)$|^DATETIME$/i.test(c.type)
          ? `timezone('UTC', ${quoteIdent(c.name)}) AS ${quoteIdent(c.name)}`
          : quoteIdent(c.name),
      )
      .join(', ');
    const key = (this.config.key ?? []).map(quoteIdent).join(', ');
    const ignore = this.config.onConflict === 'ignore';
    // The last record of a key wins inside the batch (the first one when existing keys are kept).
    const latest = `SELECT ${values} FROM (SELECT *, rowid AS _sink_row, row_number() OVER (PARTITION BY ${key} ORDER BY rowid ${ignore ? 'ASC' : 'DESC'}) AS _sink_rank FROM ${batch} WHERE ${filter}) WHERE _sink_rank = 1 ORDER BY _sink_row`;
    await connection.run('BEGIN TRANSACTION');
    try {
      if (
        claim &&
        !materializedRows(
          await connection.run(this.ledger!.sql.claim, claimParams(claim.batch, this.config.table, claim.records)),
        ).length
      ) {
        await connection.run('ROLLBACK');
        return;
      }
      if (this.config.mode === 'replace') await connection.run(`DELETE FROM ${this.table}`);
      if (this.config.mode === 'upsert' && ignore) {
        const same = (this.config.key ?? [])
          .map((k) => `_t.${quoteIdent(k)} IS NOT DISTINCT FROM _n.${quoteIdent(k)}`)
          .join(' AND ');
        await connection.run(
          this.target!.keyConstraint
            ? `INSERT OR IGNORE INTO ${this.table} (${names}) ${latest}`
            : `INSERT INTO ${this.table} (${names}) SELECT * FROM (${latest}) _n WHERE NOT EXISTS (SELECT 1 FROM ${this.table} _t WHERE ${same})`,
        );
      } else if (this.config.mode === 'upsert') {
        if (this.target!.keyConstraint) {
          await connection.run(`INSERT OR REPLACE INTO ${this.table} (${names}) ${latest}`);
        } else {
          const same = (this.config.key ?? [])
            .map((k) => `_b.${quoteIdent(k)} IS NOT DISTINCT FROM ${this.table}.${quoteIdent(k)}`)
            .join(' AND ');
          await connection.run(
            `DELETE FROM ${this.table} WHERE EXISTS (SELECT 1 FROM ${batch} _b WHERE ${same} AND (${filter.replaceAll('rowid', '_b.rowid')}))`,
          );
          await connection.run(`INSERT INTO ${this.table} (${names}) ${latest}`);
        }
      } else {
        // A plain scan keeps the batch's order (DuckDB preserves insertion order): no sort needed.
        await connection.run(`INSERT INTO ${this.table} (${names}) SELECT ${values} FROM ${batch} WHERE ${filter}`);
      }
      await connection.run('COMMIT');
    } catch (error) {
      await connection.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
    if (claim && ++this.ledger!.claims >= 100) {
      this.ledger!.claims = 0;
      await connection.run(this.ledger!.sql.prune, [claim.batch.writer]);
    }
  }

  /** Batch rows that cannot go in, with every reason: values that do not convert, nulls in NOT NULL or key columns. */
  private async badRecords(
    connection: DuckDBConnection,
    batch: string,
    columns: TableColumn[],
    kinds: Map<string, string>,
  ): Promise<{ row: number; reasons: string[] }[]> {
    const key = new Set(this.config.key ?? []);
    const checks: string[] = [];
    for (const c of columns) {
      const col = quoteIdent(c.name);
      const label = c.name.replaceAll("'", "''");
      const mustHave = !c.nullable || (this.config.mode === 'upsert' && key.has(c.name));
      if (!kinds.has(c.name)) {
        if (mustHave) checks.push(`'${label}: missing (the column is NOT NULL)'`);
        continue;
      }
      checks.push(
        `CASE WHEN ${col} IS NOT NULL AND TRY_CAST(${col} AS ${c.type}) IS NULL THEN '${label}: cannot convert ' || left(CAST(${col} AS VARCHAR), 200) || ' to ${c.type.replaceAll("'", "''")}' END`,
      );
      if (mustHave) checks.push(`CASE WHEN ${col} IS NULL THEN '${label}: must not be null' END`);
    }
    if (!checks.length) return [];
    const rows = materializedRows(
      await connection.run(
        `SELECT _sink_row, reasons FROM (SELECT rowid AS _sink_row, list_filter([${checks.join(', ')}], x -> x IS NOT NULL) AS reasons FROM ${batch}) WHERE len(reasons) > 0 ORDER BY _sink_row`,
      ),
    );
    return rows.map((r) => ({ row: r._sink_row as number, reasons: r.reasons as string[] }));
  }

  private async tableColumns(connection: DuckDBConnection): Promise<TableColumn[]> {
    const rows = materializedRows(
      await connection.run(
        `SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM duckdb_columns()
       WHERE table_name = $1 AND schema_name = coalesce($2, current_schema()) AND database_name = current_database() ORDER BY column_index`,
        [this.name, this.schema ?? null],
      ),
    );
    return rows as unknown as TableColumn[];
  }

  /** Whether the table has a primary key or unique constraint on exactly the key columns (INSERT OR REPLACE needs one). */
  private async hasKeyConstraint(connection: DuckDBConnection): Promise<boolean> {
    const rows = materializedRows(
      await connection.run(
        `SELECT constraint_column_names AS names FROM duckdb_constraints()
       WHERE table_name = $1 AND schema_name = coalesce($2, current_schema()) AND database_name = current_database() AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')`,
        [this.name, this.schema ?? null],
      ),
    );
    const key = [...(this.config.key ?? [])].sort().join('\u0000');
    return rows.some((r) => [...(r.names as string[])].sort().join('\u0000') === key);
  }

  private async ensureTable(connection: DuckDBConnection, columns: { name: string; kind: string }[]) {
    if ((await this.tableColumns(connection)).length) return;
    if (!this.config.createTable)
      throw new Error(
        `table ${this.config.table} does not exist (create it in the connection's init, or set createTable: true)`,
      );
    const declared = this.config.columns ?? Object.fromEntries(columns.map((c) => [c.name, c.kind]));
    const key = this.config.mode === 'upsert' ? `, PRIMARY KEY (${this.config.key!.map(quoteIdent).join(', ')})` : '';
    if (this.schema) await connection.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)}`);
    await connection.run(
      `CREATE TABLE IF NOT EXISTS ${this.table} (${Object.entries(declared)
        .map(([n, t]) => `${quoteIdent(n)} ${t}`)
        .join(', ')}${key})`,
    );
    this.logger.info(`created table ${this.config.table}`, {
      columns: Object.entries(declared)
        .map(([n, t]) => `${n} ${t}`)
        .join(', '),
    });
  }
}

const CONFIG = configSchema({
  type: 'object',
  additionalProperties: false,
  required: ['table'],
  properties: {
    table: {
      type: 'string',
      minLength: 1,
      description: 'Target table, optionally schema-qualified (schema.table).',
      examples: ['revenue', 'analytics.kpis'],
    },
    mode: {
      enum: ['append', 'upsert', 'replace'],
      default: 'append',
      description:
        "append adds rows; upsert inserts or replaces by key (the last record of a key in a batch wins); replace makes the table's whole content the source's whole result, atomically: all the pages of a run of a query source (duckdb, postgres snapshot), an empty table when the result is empty; each batch of other sources.",
    },
    key: {
      type: 'array',
      items: { type: 'string' },
      minItems: 1,
      description: "Key columns for upsert (best the table's primary key; createTable makes it one).",
      examples: [['transaction_id'], ['window_start', 'country']],
    },
    onConflict: {
      enum: ['replace', 'ignore'],
      default: 'replace',
      description:
        'upsert: what a record whose key is already in the table does. replace: it replaces the row (the last record of a key in a batch wins); ignore: the row stays as first written (the first record of a key in a batch wins), like INSERT … ON CONFLICT DO NOTHING — e.g. events whose first delivery counts.',
    },
    createTable: {
      type: 'boolean',
      default: false,
      description:
        "Create the table when missing, from `columns` or else from the first batch's inferred types (BIGINT, DOUBLE, BOOLEAN, TIMESTAMPTZ, VARCHAR), with the key as primary key in upsert mode.",
    },
    columns: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description: 'Declared column types {name: SQL type} for createTable.',
      examples: [{ id: 'VARCHAR', amount: 'DECIMAL(14,2)', ts: 'TIMESTAMPTZ' }],
    },
  },
});

export default pluginModule(
  {
    kind: 'sink',
    name: 'duckdb',
    summary: 'Writes records into a DuckDB table: append, upsert by key, or replace the whole table atomically.',
    description:
      'Each batch is loaded with the DuckDB appender and moved with one statement in one transaction. Values are cast to the column types; ' +
      'records that cannot be written (a value that does not convert, a null in a NOT NULL or key column) go to dead-letter with the column named while the rest is written. ' +
      'Fields the table has no column for are left out (with a warning).',
    stability: 'stable',
    connectionTypes: ['duckdb'],
    connectionRequired: true,
    config: CONFIG,
    examples: [
      {
        title: 'Upsert revenue by transaction id',
        yaml: 'revenue:\n  use: duckdb\n  from: converted\n  connection: warehouse\n  with: { table: revenue, mode: upsert, key: [transaction_id] }\n',
      },
      {
        title: 'A table created from the first batch',
        yaml: 'raw:\n  use: duckdb\n  from: files\n  connection: warehouse\n  with: { table: raw_orders, createTable: true }\n',
      },
    ],
  },
  DuckDbSink,
);
