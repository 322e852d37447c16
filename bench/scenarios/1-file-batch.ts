// 1. File batch: a CSV → validate → sql → DuckDB sink, next to DuckDB alone loading the same file.
import { join } from 'node:path';
import { DuckDbClient } from '../../connections/duckdb/index.ts';
import { scale, timeMedian, type Result } from '../lib.ts';
import { runManifest, workDir } from '../pipeline.ts';

export async function fileBatch(): Promise<Result> {
  const rows = Math.round(1_000_000 * scale);
  const dir = workDir('file');
  const csv = join(dir, 'orders.csv');
  const db = await DuckDbClient.open(':memory:');
  // Deterministic data, made by the benchmark itself.
  await db.exec(`COPY (SELECT i AS id, 'C' || (i % 1000) AS customer, round((i * 7919 % 100000) / 100.0, 2) AS amount,
    TIMESTAMP '2024-01-01' + to_seconds(i) AS ts FROM range(${rows}) t(i)) TO '${csv}' (HEADER)`);

  const limitSeconds = await timeMedian(async () => {
    const target = await DuckDbClient.open(join(dir, `limit-${Date.now()}.duckdb`));
    await target.exec(`CREATE TABLE orders AS SELECT * FROM read_csv('${csv}')`);
    target.close();
  });

  const oursSeconds = await timeMedian(async () => {
    const warehouse = join(dir, `ours-${Date.now()}.duckdb`);
    const pipeline = await runManifest(
      `name: bench-file
connections:
  warehouse: { type: duckdb, path: "${warehouse}", init: ["CREATE TABLE IF NOT EXISTS orders (id BIGINT, customer VARCHAR, amount DOUBLE, ts TIMESTAMP, amount_cents BIGINT)"] }
sources:
  files: { use: file, connection: warehouse, with: { path: "${csv}" } }
transforms:
  checked:
    use: validate
    from: files
    with: { schema: { type: object, required: [id, amount], properties: { id: { type: integer }, amount: { type: number, minimum: 0 } } } }
  cents: { use: sql, from: checked, connection: warehouse, with: { query: "SELECT *, CAST(round(amount * 100) AS BIGINT) AS amount_cents FROM input" } }
sinks:
  orders: { use: duckdb, from: cents, connection: warehouse, with: { table: orders } }
`,
      dir,
    );
    const landed = pipeline.stats().find((s) => s.id === 'orders')!.recordsOut;
    if (landed !== rows) throw new Error(`file batch: ${landed} of ${rows} rows landed`);
  });
  db.close();
  const ours = rows / oursSeconds;
  const limit = rows / limitSeconds;
  return {
    id: '1',
    title: `File batch: ${rows.toLocaleString('en-US')}-row CSV → validate → sql → DuckDB`,
    ours,
    limit,
    unit: 'rows/s',
    ratio: ours / limit,
    target: '≥ 0.5×',
    met: ours / limit >= 0.5,
    note: `median of 3: ${oursSeconds.toFixed(2)} s vs read_csv insert ${limitSeconds.toFixed(2)} s`,
  };
}
