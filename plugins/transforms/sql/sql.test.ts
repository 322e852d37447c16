import { describe, expect, it } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import type { DuckDbClient } from '../../../core/connections/duckdb/index.ts';
import plugin, { type SqlTransform } from './index.ts';

const warehouse = { connections: { wh: { type: 'duckdb', path: ':memory:' } }, connection: 'wh' };

describe('sql transform', () => {
  it('runs SQL over the batch joined with warehouse tables', async () => {
    const step = await createTestStep<SqlTransform>(plugin, 'transform', { query: 'SELECT i.id, upper(i.c) AS c, f.fee FROM input i LEFT JOIN fees f USING (c) ORDER BY id' }, warehouse);
    await (await step.services.connections.get<DuckDbClient>('wh')).exec("CREATE TABLE fees AS SELECT 'us' AS c, 1.5 AS fee");
    expect(await step.plugin.process([{ id: 2, c: 'fr' }, { id: 1, c: 'us' }], step.context())).toEqual([{ id: 1, c: 'US', fee: 1.5 }, { id: 2, c: 'FR', fee: null }]);
    await step.close();
  });

  it('rejects rows by a SQL condition with a SQL reason, and only the rest reach the query', async () => {
    const step = await createTestStep<SqlTransform>(plugin, 'transform', {
      query: 'SELECT id FROM input', rejectWhere: 'amount <= 0 OR amount IS NULL', rejectReason: "'amount must be > 0 (got ' || coalesce(amount::VARCHAR, 'null') || ')'",
    }, warehouse);
    const out = await step.plugin.process([{ id: 1, amount: 5 }, { id: 2, amount: -1 }, { id: 3, amount: null }], step.context());
    expect(out).toEqual([{ id: 1 }]);
    expect(step.rejects).toEqual([
      { record: { id: 2, amount: -1 }, reasons: ['amount must be > 0 (got -1)'] },
      { record: { id: 3, amount: null }, reasons: ['amount must be > 0 (got null)'] },
    ]);
    await step.close();
  });

  it('names the step in SQL errors', async () => {
    const step = await createTestStep<SqlTransform>(plugin, 'transform', { query: 'SELECT nope FROM input' }, { ...warehouse, id: 'enrich' });
    await expect(step.plugin.process([{ id: 1 }], step.context())).rejects.toThrow(/^enrich: Binder Error: Referenced column "nope" not found/);
    await step.close();
  });
});
