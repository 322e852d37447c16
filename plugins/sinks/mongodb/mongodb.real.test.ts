import { afterAll, describe, expect, it } from 'vitest';
import { createTestStep } from '../../../core/testing.ts';
import { Scratch, service, uniqueName } from '../../../tests/services.ts';
import { mongoSuite } from './suite.ts';
import sink, { type MongoSink } from './index.ts';

// FerretDB v1 on SQLite runs each upsert of a bulk write on its own: 500 documents keep the test short.
// A database of this file's own on the shared server, dropped at the end with every collection the tests made.
const scratch = new Scratch();
const database = scratch.mongoDatabase('mongo_suite');
afterAll(() => scratch.drop());
mongoSuite(
  'FerretDB',
  () => ({ type: 'mongodb', url: service('MONGO_URL'), database }),
  () => uniqueName('c'),
  500,
);

describe('mongodb connection errors (real server)', () => {
  it('names the connection when the server is down, in one line', async () => {
    const step = await createTestStep<MongoSink>(
      sink,
      'sink',
      { collection: 'c', key: ['id'] },
      { connections: { docs: { type: 'mongodb', url: 'mongodb://127.0.0.1:1/' } }, connection: 'docs' },
    );
    const error = (await step.plugin.write([{ id: 1 }]).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(
      /^connection "docs" \(mongodb, manifest:\?\): MongoDB mongodb:\/\/127\.0\.0\.1:1\/: /,
    );
  }, 20_000);
});
