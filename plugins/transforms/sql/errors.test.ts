// sql's two error classes: a batch whose shape the query does not expect (DuckDB Binder Error) goes to dead-letter
// as a whole with the error, a record DuckDB cannot take (nested too deep) alone; a file the query cannot read
// (DuckDB IO Error) is infrastructure.
import { describe, expect, it } from 'vitest';
import { createTestStep, expectErrorClass, processLikeRuntime } from '../../../core/testing.ts';
import plugin, { type SqlTransform } from './index.ts';

const duckdb = {
  connections: { warehouse: { type: 'duckdb', path: ':memory:' } },
  connection: 'warehouse',
  id: 'priced',
};

describe('sql errors', () => {
  it("data: a batch without the column the query reads goes to dead-letter whole, naming the step and DuckDB's error", async () => {
    const step = await createTestStep<SqlTransform>(
      plugin,
      'transform',
      { query: 'SELECT id, amount * 100 AS cents FROM input' },
      duckdb,
    );
    const records = [
      { id: 1, total: 5 },
      { id: 2, total: 6 },
    ];
    const { output, rejects } = await processLikeRuntime(step.plugin, records);
    expect(output).toEqual([]);
    expect(rejects).toEqual(
      records.map((record) => ({
        record,
        reasons: [expect.stringMatching(/^priced: Binder Error: Referenced column "amount" not found/)],
      })),
    );
    expect((await processLikeRuntime(step.plugin, [{ id: 3, amount: 1.5 }])).output).toEqual([{ id: 3, cents: 150 }]);
    await step.close();
  });

  it('data: a record with a value DuckDB cannot hold (nested 10,000 deep) is rejected alone; the batch is queried', async () => {
    const step = await createTestStep<SqlTransform>(
      plugin,
      'transform',
      { query: 'SELECT id FROM input ORDER BY id' },
      duckdb,
    );
    const deep = { id: 2, note: JSON.parse(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`) };
    const { output, rejects } = await processLikeRuntime(step.plugin, [
      { id: 1, note: null },
      deep,
      { id: 3, note: { a: 1 } },
    ]);
    expect(output).toEqual([{ id: 1 }, { id: 3 }]);
    expect(rejects).toEqual([
      { record: deep, reasons: ['note: the value cannot be stored (nested too deeply to store)'] },
    ]);
    await step.close();
  });

  it('infrastructure: a file the query reads that cannot be opened (DuckDB IO Error)', async () => {
    const step = await createTestStep<SqlTransform>(
      plugin,
      'transform',
      { query: "SELECT i.*, r.rate FROM input i, read_parquet('/nonexistent/rates.parquet') r" },
      duckdb,
    );
    await expectErrorClass(processLikeRuntime(step.plugin, [{ id: 1 }]), 'infrastructure');
    await step.close();
  });
});
