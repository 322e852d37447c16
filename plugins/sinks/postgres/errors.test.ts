// The postgres sink's two error classes, against the real server: a record the table refuses (a text too long for
// its column, a CHECK it fails) goes to dead-letter alone with PostgreSQL's message while the others are written;
// a server that does not answer is infrastructure.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestStep, expectErrorClass, freePort, writeLikeRuntime } from '../../../core/testing.ts';
import { service, uniqueName } from '../../../tests/services.ts';
import plugin, { type PostgresSink } from './index.ts';

describe('postgres sink errors', () => {
  it('data: rejects what the table refuses, one record at a time; upserts the rest', async () => {
    const table = uniqueName('sink_errors');
    const client = new pg.Client({ connectionString: service('PG_URL') });
    await client.connect();
    await client.query(
      `CREATE TABLE ${table} (id int PRIMARY KEY, code varchar(3), amount numeric CHECK (amount >= 0))`,
    );
    const step = await createTestStep<PostgresSink>(
      plugin,
      'sink',
      { table, mode: 'upsert', key: ['id'] },
      { connections: { dw: { type: 'postgres', url: service('PG_URL') } }, connection: 'dw', id: 'facts' },
    );
    try {
      const rejects = await writeLikeRuntime(step.plugin, [
        { id: 1, code: 'ab', amount: 1 },
        { id: 2, code: 'toolong', amount: 2 },
        { id: 3, code: 'c', amount: -3 },
        { id: 4, code: 'd', amount: 4 },
      ]);
      expect(rejects.map((r) => [(r.record as { id: number }).id, r.reasons[0]])).toEqual([
        [
          2,
          expect.stringMatching(
            /^facts: writing 1 record\(s\) to .* failed: value too long for type character varying\(3\)/,
          ),
        ],
        [3, expect.stringMatching(/violates check constraint/)],
      ]);
      expect((await client.query(`SELECT id FROM ${table} ORDER BY id`)).rows).toEqual([{ id: 1 }, { id: 4 }]);
    } finally {
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      await client.end();
      await step.close();
    }
  });

  it('infrastructure: a server that does not answer', async () => {
    const step = await createTestStep<PostgresSink>(
      plugin,
      'sink',
      { table: 't' },
      {
        connections: { dw: { type: 'postgres', url: `postgres://u:p@127.0.0.1:${await freePort()}/db` } },
        connection: 'dw',
      },
    );
    await expectErrorClass(writeLikeRuntime(step.plugin, [{ id: 1 }]), 'infrastructure');
    await step.close();
  }, 30_000);
});
