// Line numbers for the records of one CSV file, shared by the file-like sources (file, s3).
import type { Row } from '../sdk/types.ts';
import type { FileBatch } from './index.ts';

/**
 * Numbers the records of one CSV file's batches by their line in the file, in `column`: 2, 3, … (1, 2, … with
 * `header: false`), skipping the lines DuckDB rejected (their Reject origins end in `:LINE`), so a record's line is
 * the one a reject of the same file shows. DuckDB tells the rejected lines only at the end of the file, so the
 * file's batches are held until then (records: JS rows).
 */
export async function* numberedLines(batches: AsyncIterable<FileBatch>, column: string, header = true): AsyncGenerator<FileBatch> {
  const held: FileBatch[] = [];
  for await (const batch of batches) held.push(batch);
  const rejected = new Set(held.flatMap((b) => b.rejects).map((r) => Number(/:(\d+)$/.exec(r.origin ?? '')?.[1])));
  let line = header ? 1 : 0;
  for (const batch of held) {
    for (const record of batch.records as Row[]) {
      do line++;
      while (rejected.has(line));
      record[column] = line;
    }
    yield batch;
  }
}
