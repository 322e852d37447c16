import { resolve } from 'node:path';
import { connectionModule, isEmbeddedTarget } from '../../core/sdk/index.ts';
import { PgliteClient, type PostgresClient } from './client.ts';

export { PgliteClient, quoteIdent, toCsv, type PostgresClient } from './client.ts';
// A real server's client (pool.ts, node-pg) is imported by `open` only when a connection names a server.

/** Where a URL points, without its password. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `PostgreSQL ${u.hostname}:${u.port || 5432}${u.pathname}${u.username ? ` as ${decodeURIComponent(u.username)}` : ''}`;
  } catch {
    return 'PostgreSQL (unparseable URL)';
  }
}

/** Turns driver errors into one line a user can act on. */
export function explainPgError(error: unknown): string {
  const e = error as {
    code?: string;
    message?: string;
    address?: string;
    port?: number;
    errors?: { message: string }[];
  };
  if (e.code === 'ECONNREFUSED')
    return `connection refused at ${e.address ?? '?'}:${e.port ?? '?'} (is PostgreSQL running?)`;
  if (e.code === 'ENOTFOUND') return `host not found (${e.message})`;
  if (e.code === '28P01') return e.message ?? 'password authentication failed';
  if (e.code === '3D000') return e.message ?? 'database does not exist';
  if (!e.message && e.errors?.length) return explainPgError(e.errors[0]);
  return e.message ?? String(error);
}

function dataFolder(config: Record<string, unknown>, env: { stateDir: string }): string | undefined {
  return embedded(config) ? resolve((config.dataDir as string | undefined) ?? `${env.stateDir}/pglite`) : undefined;
}

/** No `url`, an empty one or "embedded": the embedded store. */
function embedded(config: Record<string, unknown>): boolean {
  return isEmbeddedTarget(config.url);
}

export default connectionModule({
  type: 'postgres',
  summary: 'PostgreSQL through a connection pool or, with url "embedded", PGlite in-process with a data folder.',
  config: {
    type: 'object',
    additionalProperties: false,
    properties: {
      type: { const: 'postgres' },
      url: {
        type: 'string',
        format: 'server-url',
        default: 'embedded',
        description: 'postgres://user:password@host:port/db, or "embedded" for PGlite.',
        examples: ['postgres://app:secret@127.0.0.1:5432/shop', 'embedded'],
      },
      dataDir: { type: 'string', description: 'PGlite data folder (default: pglite/ in the state folder).' },
      poolSize: { type: 'integer', minimum: 1, default: 4, description: 'Connections in the pool (real server).' },
      init: {
        type: 'array',
        items: { type: 'string' },
        default: [],
        description: 'SQL run at open (CREATE TABLE IF NOT EXISTS …).',
      },
    },
  },
  embedded,
  storePath: dataFolder,
  async open(config, env) {
    let client: PostgresClient & { close(): Promise<void> };
    let description: string;
    const inProcess = embedded(config);
    if (inProcess) {
      const dir = dataFolder(config, env)!;
      const { openPglite } = await import('./embedded.ts'); // PGlite loaded only when embedded
      client = new PgliteClient(await openPglite(dir, env.logger));
      description = `embedded PGlite in ${dir}`;
    } else {
      const { PgPoolClient } = await import('./pool.ts');
      client = PgPoolClient.create(String(config.url), config.poolSize as number);
      description = describeUrl(String(config.url));
    }
    try {
      await client.query('SELECT 1');
      const init = (config.init as string[] | undefined) ?? [];
      // On a shared server, processes starting together (workers of one manifest) would race on CREATE … IF NOT
      // EXISTS and CREATE OR REPLACE (duplicate key, "tuple concurrently updated"): init runs in one transaction,
      // one process at a time.
      if (init.length && !inProcess) {
        await client.transaction(async (tx) => {
          await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['platform connection init']);
          for (const statement of init) await tx.exec(statement);
        });
      } else for (const statement of init) await client.exec(statement);
    } catch (error) {
      await client.close().catch(() => undefined);
      throw new Error(`${description}: ${explainPgError(error)}`);
    }
    return {
      client,
      embedded: inProcess,
      description,
      check: async () => {
        try {
          await client.query('SELECT 1');
        } catch (error) {
          throw new Error(explainPgError(error));
        }
      },
      close: () => client.close(),
    };
  },
});
