// What a start loads (issue 18 target 1, bench 13): a command imports the client library of a connection type, and the
// HTTP server, only when the manifest uses them. The command runs as users run it (cli/bin.mjs, the compiled
// command) with a module hook that logs every import.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../tests/cli.ts';
import { service } from '../tests/services.ts';

const dir = mkdtempSync(join(tmpdir(), 'startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Client libraries of the connection types, and the parts of the command only a server or a format needs. */
const LAZY = {
  kafkajs: /\/node_modules\/kafkajs\//,
  mongodb: /\/node_modules\/mongodb\//,
  'AWS SDK': /\/node_modules\/@aws-sdk\//,
  pg: /\/node_modules\/pg(-copy-streams)?\//,
  PGlite: /\/node_modules\/@electric-sql\/pglite\//,
  exceljs: /\/node_modules\/exceljs\//,
  'HTTP server': /\/dist\/cli\/chunks\/server-[^/]+\.mjs$/,
};

writeFileSync(join(dir, 'rows.csv'), 'id,amount,category\n1,10.5,a\n2,-1,b\n3,7,c\n');
const fileManifest = (extra = '') => `name: startup-file
connections:
  warehouse: { type: duckdb, path: ":memory:" }${extra}
sources:
  rows: { use: file, with: { path: "${join(dir, 'rows.csv')}" } }
transforms:
  valid:
    use: validate
    from: rows
    with: { schema: { type: object, required: [id, amount], properties: { amount: { type: number, exclusiveMinimum: 0 } } } }
  upper:
    use: sql
    from: valid
    connection: warehouse
    with: { query: "SELECT id, amount, upper(category) AS category FROM input" }
sinks:
  out: { use: csv, from: upper, with: { path: "${join(dir, 'out', 'rows.csv')}" } }
`;

/** Runs `platform <args>` with the module hook; its exit code, output and the modules it imported. */
function platformLogged(
  args: string[],
  name: string,
): Promise<{ code: number | null; output: string; modules: string[] }> {
  const log = join(dir, `${name}.modules`);
  writeFileSync(log, '');
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', join(repoRoot, 'tests/module-log.mjs'), join(repoRoot, 'cli/bin.mjs'), ...args],
      { cwd: repoRoot, env: { ...process.env, PLATFORM_MODULE_LOG: log } },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean) });
    });
  });
}

const loaded = (modules: string[]) =>
  Object.entries(LAZY)
    .filter(([, pattern]) => modules.some((url) => pattern.test(url)))
    .map(([name]) => name);

describe('start-up loads what the manifest uses', () => {
  it('run --once of a file manifest (file → validate → sql → csv) loads DuckDB and no other client, nor the server', async () => {
    const manifest = join(dir, 'file.yaml');
    writeFileSync(manifest, fileManifest());
    const run = await platformLogged(['run', manifest, '--once', '--state-dir', join(dir, 'state-file')], 'file');
    expect(run.code, run.output).toBe(0);
    const written = readdirSync(join(dir, 'out')).map((name) => readFileSync(join(dir, 'out', name), 'utf8'));
    expect(written.join('')).toMatch(/\bC\b/);
    // The hook sees the packages the run does use.
    expect(run.modules.some((url) => url.includes('/node_modules/@duckdb/node-api/'))).toBe(true);
    expect(loaded(run.modules)).toEqual([]);
  });

  it('validate loads no connection client and no server either', async () => {
    const manifest = join(dir, 'file.yaml');
    writeFileSync(manifest, fileManifest());
    const result = await platformLogged(['validate', manifest], 'validate');
    expect(result.code, result.output).toBe(0);
    expect(loaded(result.modules)).toEqual([]);
  });

  it('a connection to a real PostgreSQL loads pg, and only pg, when it opens', async () => {
    const manifest = join(dir, 'postgres.yaml');
    writeFileSync(manifest, fileManifest(`\n  shop: { type: postgres, url: "${service('PG_URL')}" }`));
    const run = await platformLogged(['run', manifest, '--once', '--state-dir', join(dir, 'state-pg')], 'postgres');
    expect(run.code, run.output).toBe(0);
    expect(loaded(run.modules)).toEqual(['pg']);
  });
});
