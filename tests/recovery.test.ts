// A server that goes away mid-run: the runtime logs one line per failed attempt naming the step and the
// manifest line, retries, resumes from the last commit when the server is back, and loses nothing.
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startPlatform } from './cli.ts';

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
  const asPostgres = (...args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: 'pipe' });
  asPostgres(`${BIN}/initdb`, '-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync');
  const start = () => asPostgres(`${BIN}/pg_ctl`, '-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', '-o', `-p ${PORT} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start');
  const stop = () => asPostgres(`${BIN}/pg_ctl`, '-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop');
  return { dir, start, stop };
}

describe('recovery when a real server goes away and comes back', () => {
  it('retries, resumes from the last commit and writes every record exactly once', async () => {
    const port = await freePort();
    const db = cluster(port);
    db.start();
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const manifest = join(db.dir, 'recovery.yaml');
    writeFileSync(manifest, `name: recovery
defaults: { retries: 2, backoff: 100ms }
connections:
  db: { type: postgres, url: "${url}" }
sources:
  numbers: { use: generator, with: { seed: 3, count: 400, rate: 80, batchSize: 20, fields: { id: { sequence: {} }, v: { int: [1, 9] } } } }
sinks:
  rows: { use: postgres, from: numbers, connection: db, with: { table: numbers, mode: upsert, key: [id], createTable: true, columns: { id: integer, v: integer } } }
`);
    const platform = await startPlatform(['run', manifest, '--port', '0', '--state-dir', join(db.dir, 'state')]);
    const count = async () => {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        return (await client.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM numbers')).rows[0] as { n: number; ids: number };
      } catch {
        return { n: -1, ids: -1 };
      } finally {
        await client.end().catch(() => undefined);
      }
    };
    try {
      const until = async (ok: (c: { n: number; ids: number }) => boolean, ms: number) => {
        const deadline = Date.now() + ms;
        let last = await count();
        while (!ok(last) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 200));
          last = await count();
        }
        return last;
      };
      expect((await until((c) => c.n >= 60, 30_000)).n).toBeGreaterThanOrEqual(60);
      db.stop();
      await new Promise((r) => setTimeout(r, 3000));
      db.start();
      const done = await until((c) => c.n === 400, 60_000);
      expect(done).toEqual({ n: 400, ids: 400 });
      const output = platform.output();
      const retries = output.split('\n').filter((line) => line.includes('recovery.yaml:') && line.includes('retry'));
      expect(retries.length).toBeGreaterThan(0);
      expect(retries[0]).toMatch(/WARN\s+rows \(.*recovery\.yaml:\d+\): .+ — retry 1\/2 in \d+ ms$/);
      expect(output).toMatch(/ERROR numbers: run failed at rows \(.*recovery\.yaml:\d+\), nothing after the last committed batch was committed: /);
    } finally {
      const code = await platform.stop();
      db.stop();
      expect(code, platform.output().slice(-2000)).toBe(0);
    }
  }, 150_000);
});
