import type { Row, Rows } from '../sdk/types.ts';

/**
 * Where the records of one source batch came from, asked only when a step rejects one: the source says the origin
 * of the record at each index (`Batch.origin`), and a record that passed through transforms unchanged (the same
 * object) is found again by identity. Nothing is computed for batches without rejects.
 */
export class BatchOrigins {
  private readonly arrays: { records: readonly Row[]; origin: (index: number) => string | undefined }[] = [];
  private index?: Map<object, [number, number]>;
  private converted?: Promise<Row[]>;

  constructor(
    private readonly root: Rows,
    private readonly origin?: (index: number) => string | undefined,
  ) {
    if (origin && Array.isArray(root)) this.arrays.push({ records: root, origin });
    // A source's DuckDB table: its rowid is the index (steps rejecting rows by rowid ask the table).
    if (origin && !Array.isArray(root)) root.origin ??= origin;
  }

  /**
   * A batch's rows as records: the source batch's DuckDB table is converted once, and its records (rowid order is
   * the batch's order) remembered for origins; other rows as `recordsOf` gives them.
   */
  async recordsOf(rows: Rows): Promise<Row[]> {
    if (Array.isArray(rows)) return rows;
    if (rows !== this.root) return rows.toRecords();
    this.converted ??= rows.toRecords().then((records) => {
      if (this.origin) this.arrays.push({ records, origin: this.origin });
      this.index = undefined;
      return records;
    });
    return this.converted;
  }

  originOf(record: unknown): string | undefined {
    if (!this.arrays.length || typeof record !== 'object' || record === null) return undefined;
    if (!this.index) {
      this.index = new Map();
      this.arrays.forEach(({ records }, a) => records.forEach((r, i) => this.index!.set(r, [a, i])));
    }
    const at = this.index.get(record);
    return at ? this.arrays[at[0]].origin(at[1]) : undefined;
  }
}
