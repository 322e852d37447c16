import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { ResidentRows, Row } from '../../core/sdk/types.ts';
import { quoteIdent, type DuckDbClient } from './client.ts';

/**
 * A batch's rows held in a DuckDB table instead of JS objects, so that DuckDB-backed steps (a file read by DuckDB,
 * `validate`, `sql`, the `duckdb` sink) hand it on without converting every value to JS and back. The table lives
 * in `_batches`, an in-memory database attached to the step's DuckDB (one per instance, visible to all its
 * connections, spilled to disk by DuckDB when memory is short); its rowid order is the batch's order.
 * A JS step gets the same rows as records (`toRecords`, read once). The runtime drops the table once the batch is
 * committed (`release`).
 */
export class DuckDbRows implements ResidentRows {
  private records?: Promise<Row[]>;
  private described?: { name: string; type: string }[];
  /** Whether rows were deleted from the table (its rowids are not 0…count-1 then). */
  private sparse = false;
  /**
   * Where the row with this rowid came from (`file.csv:17`), when the table is a source's batch: a step that rejects
   * rows by rowid passes it on (`ctx.reject(record, reasons, rows.origin?.(rowid))`). Set by the runtime.
   */
  origin?: (rowid: number) => string | undefined;
  /**
   * The rows with these rowids exactly as the records path would give them, when the table is not that (JSON lines
   * read by DuckDB: a key a line lacks is NULL in the table, absent in the record). Set by the source; `toRecords`
   * and a step judging rows one by one in JS (`validate`) use it.
   */
  exact?: (rowids: number[]) => Row[] | Promise<Row[]>;

  constructor(
    readonly db: DuckDbClient,
    readonly name: string,
    readonly count: number,
  ) {}

  /** The table's qualified name, for SQL. */
  get table(): string {
    return `${quoteIdent(BATCHES)}.main.${quoteIdent(this.name)}`;
  }

  /** The rows as JS records, exactly as a query of the table would give them; read once, then shared. */
  toRecords(): Promise<Row[]> {
    const exact = this.exact;
    if (exact) return (this.records ??= this.rowids().then((rowids) => exact(rowids)));
    return (this.records ??= this.db.query(`SELECT * FROM ${this.table} ORDER BY rowid`));
  }

  /**
   * The same table after `deleted` of its rows were deleted in place by a step that had it alone: rowids, origins
   * and exact records stay those of the rows left (DuckDB keeps a row's rowid when others are deleted).
   */
  afterDeleting(deleted: number): DuckDbRows {
    const rows = new DuckDbRows(this.db, this.name, this.count - deleted);
    rows.origin = this.origin;
    rows.exact = this.exact;
    rows.described = this.described;
    rows.sparse = true;
    return rows;
  }

  private async rowids(): Promise<number[]> {
    if (!this.sparse) return Array.from({ length: this.count }, (_, i) => i);
    return (await this.db.query(`SELECT rowid AS r FROM ${this.table} ORDER BY rowid`)).map((row) => Number(row.r));
  }

  /** The last `limit` rows as records (a step's page shows them), without reading the others. */
  async tail(limit: number): Promise<Row[]> {
    return (
      await this.db.query(`SELECT * FROM ${this.table} ORDER BY rowid DESC LIMIT ${Math.max(0, Math.floor(limit))}`)
    ).reverse();
  }

  /** Names and DuckDB types of the columns, in order (types as SQL spells them, e.g. DECIMAL(12,2)). */
  async columns(connection: DuckDBConnection): Promise<{ name: string; type: string }[]> {
    if (!this.described) {
      const result = await connection.run(`SELECT * FROM ${this.table} LIMIT 0`);
      const types = result.columnTypes();
      this.described = result.columnNames().map((name, i) => ({ name, type: types[i].toString() }));
    }
    return this.described;
  }

  async release(): Promise<void> {
    await this.db.exec(`DROP TABLE IF EXISTS ${this.table}`);
  }
}

/** The attached in-memory database holding batch tables. */
export const BATCHES = '_batches';

const attached = new WeakMap<DuckDbClient, Promise<void>>();
let sequence = 0;

/**
 * Creates a batch table on `connection` from `select` (a query with `params` bound to $1, $2…; its row order is
 * kept) and returns it as rows of a batch. `connection` must belong to `db`. A failed statement leaves no table.
 */
export async function residentRows(
  db: DuckDbClient,
  connection: DuckDBConnection,
  select: string,
  params: DuckDBValue[] = [],
): Promise<DuckDbRows> {
  await attachBatches(db, connection);
  const name = `b${++sequence}`;
  // CREATE TABLE … AS answers with the number of rows it wrote.
  const created = await connection.runAndReadAll(
    `CREATE TABLE ${quoteIdent(BATCHES)}.main.${quoteIdent(name)} AS ${select}`,
    params.length ? params : undefined,
  );
  return new DuckDbRows(db, name, Number(created.getRows()[0]?.[0] ?? 0));
}

function attachBatches(db: DuckDbClient, connection: DuckDBConnection): Promise<void> {
  let done = attached.get(db);
  if (!done) {
    done = connection.run(`ATTACH IF NOT EXISTS ':memory:' AS ${BATCHES}`).then(
      () => undefined,
      (error: unknown) => {
        attached.delete(db); // the next batch tries again
        throw error;
      },
    );
    attached.set(db, done);
  }
  return done;
}
