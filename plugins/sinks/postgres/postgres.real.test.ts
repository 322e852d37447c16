import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStep, readAll } from '../../../core/testing.ts';
import { Scratch, service } from '../../../tests/services.ts';
import { postgresSuite } from './suite.ts';
import sink, { type PostgresSink } from './index.ts';
import source, { type PostgresSource } from '../../sources/postgres/index.ts';

// A database of this file's own on the shared server, dropped at the end with every table the tests made.
const scratch = new Scratch();
let url = '';
beforeAll(async () => void (url = await scratch.database('pg_suite')));
afterAll(() => scratch.drop());

postgresSuite('real PostgreSQL', () => ({ type: 'postgres', url }));

describe('postgres connection errors (real server)', () => {
  it('names the connection and says the server refused when it is down', async () => {
    const step = await createTestStep<PostgresSource>(
      source,
      'source',
      { table: 't', mode: 'snapshot' },
      {
        connections: { shop: { type: 'postgres', url: 'postgres://platform:platform@127.0.0.1:1/platform' } },
        connection: 'shop',
      },
    );
    await expect(readAll(step.plugin)).rejects.toThrow(
      /^connection "shop" \(postgres, manifest:\?\): PostgreSQL 127\.0\.0\.1:1\/platform as platform: connection refused at 127\.0\.0\.1:1/,
    );
  });

  it('says so when the password is wrong, never showing it', async () => {
    const url = new URL(service('PG_URL'));
    url.password = 'wrong-password';
    const step = await createTestStep<PostgresSink>(
      sink,
      'sink',
      { table: 't' },
      { connections: { dw: { type: 'postgres', url: url.toString() } }, connection: 'dw' },
    );
    const error = await step.plugin.write([{ a: 1 }], step.context()).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/password authentication failed for user "platform"/);
    expect((error as Error).message).not.toContain('wrong-password');
  });
});
