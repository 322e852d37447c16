// The postgres source's two error classes, against the real server: a record a later step refuses goes to
// dead-letter naming its table and cursor values; a query that fails on the data is a data error naming the table
// (a query cannot be split: fix it or the row); a server that does not answer is infrastructure.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestStep, expectErrorClass, freePort, readAll } from '../../../core/testing.ts';
import { service, uniqueName } from '../../../tests/services.ts';
import { runManifest } from '../../../tests/manifest.ts';
import source, { type PostgresSource } from './index.ts';

async function withTable(work: (table: string) => Promise<void>) {
  const table = uniqueName('pg_errors');
  const client = new pg.Client({ connectionString: service('PG_URL') });
  await client.connect();
  try {
    await client.query(`CREATE TABLE ${table} (id int PRIMARY KEY, amount numeric, divisor int)`);
    await client.query(`INSERT INTO ${table} VALUES (1, 10, 1), (2, -2, 1), (3, 30, 0), (4, 40, 2)`);
    await work(table);
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.end();
  }
}

describe('postgres source errors', () => {
  it('data: a record validate refuses names its table and cursor value; the others land', async () => {
    await withTable(async (table) => {
      const run = await runManifest(`name: pg-errors
connections:
  shop: { type: postgres, url: "${service('PG_URL')}" }
sources:
  rows: { use: postgres, connection: shop, with: { table: ${table}, cursor: { column: id } } }
transforms:
  checked: { use: validate, from: rows, with: { schema: { properties: { amount: { type: number, minimum: 0 } } } } }
sinks:
  out: { use: console, from: checked }
`);
      expect(run.ok).toBe(true);
      expect(run.dead.map((e) => [e.step, e.origin, e.reasons[0]])).toEqual([
        ['checked', `${table} (id=2)`, 'amount: must be >= 0'],
      ]);
      expect(run.pipeline.stats().find((s) => s.id === 'out')!.recordsOut).toBe(3);
      await run.pipeline.stop();
    });
  });

  it("data: a query that fails on a row's data is a data error naming the table", async () => {
    await withTable(async (table) => {
      const step = await createTestStep<PostgresSource>(
        source,
        'source',
        { query: `SELECT id, amount / divisor AS ratio FROM ${table}`, mode: 'snapshot' },
        { connections: { shop: { type: 'postgres', url: service('PG_URL') } }, connection: 'shop' },
      );
      const error = await expectErrorClass(readAll(step.plugin), 'data');
      expect(error.message).toMatch(/^postgres \(query\): division by zero$/);
      await step.close();
    });
  });

  it('infrastructure: a server that does not answer', async () => {
    const step = await createTestStep<PostgresSource>(
      source,
      'source',
      { table: 't', mode: 'snapshot' },
      {
        connections: { shop: { type: 'postgres', url: `postgres://u:p@127.0.0.1:${await freePort()}/db` } },
        connection: 'shop',
      },
    );
    await expectErrorClass(readAll(step.plugin), 'infrastructure');
    await step.close();
  }, 30_000);
});
