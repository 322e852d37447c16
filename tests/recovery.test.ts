// A server that goes away mid-run: the runtime logs one line per failed attempt naming the step and the
// manifest line, retries, resumes from the last commit when the server is back, and loses nothing.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { MongoClient } from 'mongodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startPlatform } from './cli.ts';
import { service } from './services.ts';

const BIN = '/usr/lib/postgresql/15/bin';

/** A throwaway PostgreSQL cluster of this test's own, so stopping it disturbs no other test. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function cluster(PORT: number) {
  const dir = mkdtempSync(join(tmpdir(), 'pg-recovery-'));
  chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), 0);
  const asPostgres = (...args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: 'pipe' });
  asPostgres(`${BIN}/initdb`, '-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync');
  const start = () =>
    asPostgres(
      `${BIN}/pg_ctl`,
      '-D',
      join(dir, 'data'),
      '-l',
      join(dir, 'log'),
      '-w',
      '-o',
      `-p ${PORT} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      'start',
    );
  const stop = () => asPostgres(`${BIN}/pg_ctl`, '-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop');
  return { dir, start, stop };
}

/** A throwaway server process of this test's own (a binary scripts/services built), so stopping it disturbs nobody. */
function childServer(command: string, args: string[], env: NodeJS.ProcessEnv, ready: () => Promise<unknown>) {
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(command, args, { stdio: 'ignore', env: { ...process.env, ...env } });
    for (let i = 0; i < 150; i++) {
      if (
        await ready().then(
          () => true,
          () => false,
        )
      )
        return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${command} did not start`);
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { start, stop };
}

async function withMongo<T>(url: string, work: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 500 });
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

type Count = { n: number; ids: number };

/**
 * The scenario every server gets: a streaming run writes 20-record batches; the server stops for 3 s after the
 * first records landed and comes back; every record must land exactly once, each failed attempt logged on one line
 * naming the sink and its manifest line, a failed run naming where it gave up.
 */
async function goesAwayAndComesBack(options: {
  dir: string;
  connection: string;
  sink: string;
  total: number;
  rate: number;
  server: { start(): unknown; stop(): unknown };
  count(): Promise<Count>;
}) {
  const manifest = join(options.dir, 'recovery.yaml');
  writeFileSync(
    manifest,
    `name: recovery
defaults: { retries: 2, backoff: 100ms }
connections:
  ${options.connection}
sources:
  numbers: { use: generator, with: { seed: 3, count: ${options.total}, rate: ${options.rate}, batchSize: 20, fields: { id: { sequence: {} }, v: { int: [1, 9] } } } }
sinks:
  ${options.sink}
`,
  );
  const platform = await startPlatform(['run', manifest, '--port', '0', '--state-dir', join(options.dir, 'state')]);
  const count = () => options.count().catch(() => ({ n: -1, ids: -1 }));
  const until = async (ok: (c: Count) => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    let last = await count();
    while (!ok(last) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      last = await count();
    }
    return last;
  };
  try {
    expect((await until((c) => c.n >= 60, 30_000)).n).toBeGreaterThanOrEqual(60);
    await options.server.stop();
    await new Promise((r) => setTimeout(r, 3000));
    await options.server.start();
    expect(await until((c) => c.n >= options.total, 60_000)).toEqual({ n: options.total, ids: options.total });
    const output = platform.output();
    const retries = output.split('\n').filter((line) => line.includes('recovery.yaml:') && line.includes('retry'));
    expect(retries.length).toBeGreaterThan(0);
    expect(retries[0]).toMatch(/WARN\s+out \(.*recovery\.yaml:\d+\): .+ — retry 1\/2 in \d+ ms$/);
    // Whether retries outlast the outage depends on the client's own timeouts; a run that gave up says where.
    for (const line of output.split('\n').filter((l) => l.includes('run failed'))) {
      expect(line).toMatch(
        /ERROR numbers: run failed at out \(.*recovery\.yaml:\d+\), nothing after the last committed batch was committed: /,
      );
    }
  } finally {
    const code = await platform.stop();
    await options.server.stop();
    expect(code, platform.output().slice(-2000)).toBe(0);
  }
}

describe('recovery when a real server goes away and comes back', () => {
  it('PostgreSQL: retries, resumes from the last commit and writes every record exactly once', async () => {
    const port = await freePort();
    const db = cluster(port);
    db.start();
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await goesAwayAndComesBack({
      dir: db.dir,
      total: 400,
      rate: 80,
      server: db,
      connection: `db: { type: postgres, url: "${url}" }`,
      sink: 'out: { use: postgres, from: numbers, connection: db, with: { table: numbers, mode: upsert, key: [id], createTable: true, columns: { id: integer, v: integer } } }',
      count: async () => {
        const client = new pg.Client({ connectionString: url });
        try {
          await client.connect();
          return (await client.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM numbers'))
            .rows[0] as Count;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
    });
  }, 150_000);

  it('MongoDB wire protocol (FerretDB): retries, resumes from the last commit, every document upserted once', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'ferretdb-recovery-'));
    const url = `mongodb://127.0.0.1:${port}/`;
    const server = childServer(
      service('FERRETDB_BIN'),
      [
        '--handler=sqlite',
        `--state-dir=${dir}`,
        `--sqlite-url=file:${dir}/`,
        `--listen-addr=127.0.0.1:${port}`,
        '--telemetry=disable',
        '--debug-addr=-',
        '--log-level=warn',
      ],
      {},
      () => withMongo(url, (client) => client.db('admin').command({ ping: 1 })),
    );
    await server.start();
    await goesAwayAndComesBack({
      dir,
      total: 200,
      rate: 40,
      server,
      connection: `hot: { type: mongodb, url: "${url}", database: recovery }`,
      sink: 'out: { use: mongodb, from: numbers, connection: hot, with: { collection: numbers, mode: upsert, key: [id] } }',
      count: () =>
        withMongo(url, async (client) => {
          const numbers = client.db('recovery').collection('numbers');
          return { n: await numbers.countDocuments(), ids: (await numbers.distinct('id')).length };
        }),
    });
  }, 150_000);

  it('S3 API (MinIO): retries, resumes from the last commit, every record in exactly one object', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'minio-recovery-'));
    const endpoint = `http://127.0.0.1:${port}`;
    const credentials = { accessKeyId: 'recovery', secretAccessKey: 'recovery-secret' };
    const server = childServer(
      service('MINIO_BIN'),
      [
        'server',
        join(dir, 'data'),
        '--address',
        `127.0.0.1:${port}`,
        '--console-address',
        `127.0.0.1:${await freePort()}`,
      ],
      {
        MINIO_ROOT_USER: credentials.accessKeyId,
        MINIO_ROOT_PASSWORD: credentials.secretAccessKey,
        MINIO_BROWSER: 'off',
      },
      async () => {
        if (!(await fetch(`${endpoint}/minio/health/live`)).ok) throw new Error('not live');
      },
    );
    await server.start();
    const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
    await goesAwayAndComesBack({
      dir,
      total: 300,
      rate: 60,
      server,
      connection: `lake: { type: s3, endpoint: "${endpoint}", accessKeyId: ${credentials.accessKeyId}, secretAccessKey: ${credentials.secretAccessKey} }`,
      sink: 'out: { use: s3, from: numbers, connection: lake, with: { bucket: recovery, key: "numbers/{YYYY}/{MM}/{DD}/part-{uuid}.csv" } }',
      count: async () => {
        // Every record of every object: a batch written twice would show as n > ids.
        const ids: number[] = [];
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'recovery', Prefix: 'numbers/' }));
        for (const object of listed.Contents ?? []) {
          const text = await (
            await s3.send(new GetObjectCommand({ Bucket: 'recovery', Key: object.Key! }))
          ).Body!.transformToString();
          const [header, ...lines] = text.trim().split('\n');
          const column = header.split(',').indexOf('id');
          ids.push(...lines.map((line) => Number(line.split(',')[column])));
        }
        return { n: ids.length, ids: new Set(ids).size };
      },
    });
    s3.destroy();
  }, 150_000);
});
