// One owner per state folder, every embedded store inside it, and a start-up log that says where each store lives
// and whether it holds data from an earlier run or mode.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest } from '../core/manifest/index.ts';
import { MemoryLogger } from '../core/sdk/logger.ts';
import { Pipeline } from '../core/runtime/pipeline.ts';
import { stateDirOf } from '../core/runtime/state-folder.ts';
import { createCatalog } from '../cli/catalog.ts';
import { platform, repoRoot, startPlatform } from './cli.ts';
import { service } from './services.ts';

const MANIFESTS = ['globemart', 'revenue-monitor', 'economic-analytics', 'sales-etl', 'batch-analytics'];

function temp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

/** Every string in a value, for finding paths in step settings. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

describe('--state-dir holds every embedded store', () => {
  it.each(MANIFESTS)('%s: each embedded store and default data path is inside the state folder', async (name) => {
    const stateDir = temp(`state-${name}`);
    const catalog = createCatalog();
    const manifest = await loadManifest(join(repoRoot, 'pipelines', `${name}.yaml`), catalog, {});
    const pipeline = new Pipeline(manifest, catalog, { stateDir, logger: new MemoryLogger() });
    const stores = pipeline.connections.stores().filter((s) => s.path);
    expect(stores.length).toBeGreaterThan(0);
    for (const store of stores)
      expect(relative(stateDir, store.path!).startsWith('..'), `${store.name}: ${store.path}`).toBe(false);
    // No default path of the manifest points at .platform/<name> whatever --state-dir says.
    const texts = strings(manifest.connections.map((c) => c.config)).concat(
      strings(manifest.steps.map((s) => s.config)),
    );
    expect(texts.filter((t) => t.includes('.platform/'))).toEqual([]);
    // Without --state-dir (and PLATFORM_STATE_DIR) the folder is .platform/<name> in the working directory.
    const saved = process.env.PLATFORM_STATE_DIR;
    delete process.env.PLATFORM_STATE_DIR;
    try {
      expect(stateDirOf(name)).toBe(join(process.cwd(), '.platform', name));
    } finally {
      if (saved !== undefined) process.env.PLATFORM_STATE_DIR = saved;
    }
  });

  it('a path given explicitly stays where it is given', async () => {
    const stateDir = temp('state-explicit');
    const elsewhere = join(temp('warehouse'), 'w.duckdb');
    const catalog = createCatalog();
    const manifest = await loadManifest(join(repoRoot, 'pipelines/globemart.yaml'), catalog, {
      GLOBEMART_DUCKDB_PATH: elsewhere,
    });
    const pipeline = new Pipeline(manifest, catalog, { stateDir, logger: new MemoryLogger() });
    expect(pipeline.connections.stores().find((s) => s.name === 'warehouse')?.path).toBe(elsewhere);
  });
});

const SMALL = (dir: string, extra = '') => `name: owned
server: { port: 0 }
connections:
  wh: { type: duckdb, path: "\${OWNED_DUCKDB:-\${STATE_DIR}/wh.duckdb}" }
  bus: { type: kafka, brokers: "\${OWNED_BROKERS:-embedded}" }
sources:
  numbers: { use: generator, with: { count: 5, seed: 1, fields: { n: { sequence: {} } } } }
sinks:
  out: { use: duckdb, from: numbers, connection: wh, with: { table: numbers, mode: upsert, key: [n], createTable: true } }
${extra}`;

describe('one process per state folder', () => {
  it('a backfill (--once) or a second server next to a running server fails at once, naming its pid and command; after it stops the backfill runs', async () => {
    const dir = temp('owned');
    const manifest = join(dir, 'owned.yaml');
    writeFileSync(manifest, SMALL(dir));
    const state = join(dir, 'state');
    const server = await startPlatform(['run', manifest, '--state-dir', state]);
    try {
      const started = Date.now();
      const backfill = await platform(['run', manifest, '--once', '--state-dir', state]);
      expect(backfill.code).toBe(1);
      expect(backfill.stderr).toContain(
        `the state folder ${state} is in use by pid ${server.child.pid} (platform run ${manifest} --state-dir ${state}, since `,
      );
      expect(backfill.stderr).toContain('stop that process first, or give this one another --state-dir');
      expect(backfill.stdout).toBe(''); // nothing ran: no summary
      const second = await platform(['run', manifest, '--state-dir', state]);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`is in use by pid ${server.child.pid}`);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(existsSync(join(state, 'platform.lock'))).toBe(false);
    const after = await platform(['run', manifest, '--once', '--state-dir', state]);
    expect(after.stderr).not.toContain('in use');
    expect(after.code).toBe(0);
  });

  it('a lock left by a process killed with -9 is taken over', async () => {
    const dir = temp('owned-kill');
    const manifest = join(dir, 'owned.yaml');
    writeFileSync(manifest, SMALL(dir));
    const state = join(dir, 'state');
    const server = await startPlatform(['run', manifest, '--state-dir', state]);
    await server.stop('SIGKILL');
    expect(JSON.parse(readFileSync(join(state, 'platform.lock'), 'utf8')).pid).toBe(server.child.pid);
    const next = await platform(['run', manifest, '--once', '--state-dir', state]);
    expect(next.stderr).not.toContain('in use');
    expect(next.code).toBe(0);
  });

  it('a second server on the same DuckDB file from another state folder stops at start instead of running half-broken', async () => {
    const dir = temp('owned-duck');
    const manifest = join(dir, 'owned.yaml');
    writeFileSync(manifest, SMALL(dir));
    const env = { OWNED_DUCKDB: join(dir, 'shared.duckdb') };
    const server = await startPlatform(['run', manifest, '--state-dir', join(dir, 'a')], { env });
    try {
      const second = await platform(['run', manifest, '--state-dir', join(dir, 'b')], { env });
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(
        `the embedded store ${env.OWNED_DUCKDB} (connection wh) is in use by pid ${server.child.pid}`,
      );
      expect(second.stderr).not.toContain('serving http');
    } finally {
      await server.stop();
    }
  });
});

describe('the start-up log', () => {
  it('says where each embedded store lives, whether it holds data from earlier runs, and when the mode changed since', async () => {
    const dir = temp('modes');
    const manifest = join(dir, 'owned.yaml');
    writeFileSync(manifest, SMALL(dir));
    const state = join(dir, 'state');
    const first = await platform(['run', manifest, '--once', '--state-dir', state]);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`connection wh (duckdb): embedded — DuckDB ${join(state, 'wh.duckdb')} (new)`);
    expect(first.stderr).toContain(
      `connection bus (kafka): embedded — embedded topic log in ${join(state, 'topics')} (new)`,
    );
    const second = await platform(['run', manifest, '--once', '--state-dir', state]);
    expect(second.stderr).toContain(`DuckDB ${join(state, 'wh.duckdb')} (holds data from earlier runs)`);
    expect(second.stderr).not.toContain('WARN');
    // The bus moves to a real Kafka: the warehouse keeps rows made while it was embedded, and says so.
    const real = await platform(['run', manifest, '--once', '--state-dir', state], {
      env: { OWNED_BROKERS: service('KAFKA_BROKERS') },
    });
    expect(real.code).toBe(0);
    expect(real.stderr).toContain(`connection bus (kafka): real — Kafka ${service('KAFKA_BROKERS')}`);
    expect(real.stderr).toContain(
      `WARN  wh (duckdb) in ${join(state, 'wh.duckdb')} holds data of earlier runs, and since the last run bus went from embedded to Kafka ${service('KAFKA_BROKERS')}: that data is used as it is — move it away, or give another --state-dir, to start clean`,
    );
    expect(real.stderr).toContain(
      `bus: the embedded data of earlier runs stays in ${join(state, 'topics')}, unused while it is real`,
    );
    expect(JSON.parse(readFileSync(join(state, 'connections.json'), 'utf8')).bus).toMatchObject({
      type: 'kafka',
      embedded: false,
    });
  });
});

describe('state files with the wrong shape', () => {
  it.each([
    ['[]', 'expected an object of steps, found an array'],
    ['null', 'expected an object of steps, found null'],
    ['{"numbers": 3}', 'step "numbers": expected an object, found a number'],
    ['{"numbers": {"checkpoint": "five"}}', 'the checkpoint of step "numbers" is not a generator source\'s'],
    ['{"numbers": {"checkpoint": "2"}}', 'the checkpoint of step "numbers" is not a generator source\'s'],
    ['{"numbers": {"checkpoint": 2}, "out": {"lastCommitAt": 12}}', 'step "out": lastCommitAt is not a time'],
    ['{"numbers": ', 'not JSON'],
  ])('state.json holding %s stops the run with the file named', async (text, message) => {
    const dir = temp('shapes');
    const manifest = join(dir, 'owned.yaml');
    writeFileSync(manifest, SMALL(dir));
    const state = join(dir, 'state');
    expect((await platform(['run', manifest, '--once', '--state-dir', state])).code).toBe(0);
    writeFileSync(join(state, 'state.json'), text);
    const result = await platform(['run', manifest, '--once', '--state-dir', state]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(join(state, 'state.json'));
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // a sentence, not a stack
  });
});
