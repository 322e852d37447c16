import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { connectionModule } from '../../core/sdk/index.ts';
import { DuckDbClient } from './client.ts';

export { DuckDbRows, residentRows } from './rows.ts';
export {
  DuckDbClient,
  DuckDbSession,
  loadTempTable,
  inferColumns,
  materializedRows,
  quoteIdent,
  sqlString,
  toDuckValue,
} from './client.ts';

function databaseFile(config: Record<string, unknown>, env: { stateDir: string }): string | undefined {
  return config.path === ':memory:'
    ? undefined
    : resolve((config.path as string | undefined) ?? `${env.stateDir}/warehouse.duckdb`);
}

/** DuckDB is always in-process; `path` is a file (default in the pipeline's state folder) or ":memory:". */
export default connectionModule({
  type: 'duckdb',
  summary: 'An in-process DuckDB database file: the analytics warehouse of a pipeline.',
  config: {
    type: 'object',
    additionalProperties: false,
    properties: {
      type: { const: 'duckdb' },
      path: {
        type: 'string',
        description:
          'Database file, relative to the working directory, or ":memory:". Default: warehouse.duckdb in the state folder.',
        examples: ['data/analytics.duckdb'],
      },
      threads: { type: 'integer', minimum: 1, description: 'DuckDB worker threads (default: all cores).' },
      init: {
        type: 'array',
        items: { type: 'string' },
        default: [],
        description:
          'SQL run in order every time the database opens: the schema of the warehouse (write CREATE TABLE IF NOT EXISTS …, so re-running is harmless).',
        examples: [
          [
            'CREATE TABLE IF NOT EXISTS fx_rates (currency VARCHAR, rate DOUBLE, rate_time TIMESTAMPTZ, PRIMARY KEY (currency, rate_time))',
          ],
        ],
      },
    },
  },
  embedded: () => true,
  storePath: databaseFile,
  async open(config, env) {
    const path = databaseFile(config, env) ?? ':memory:';
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const client = await DuckDbClient.open(path, config.threads ? { threads: String(config.threads) } : {});
    for (const [index, statement] of ((config.init as string[] | undefined) ?? []).entries()) {
      try {
        await client.exec(statement);
      } catch (error) {
        client.close();
        throw new Error(`init[${index}] failed: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    return {
      client,
      embedded: true,
      description: `DuckDB ${path}`,
      check: async () => void (await client.query('SELECT 1')),
      close: async () => client.close(),
    };
  },
});
