// The tests run on a supported Node LTS line (22 or 24): scripts/test.sh puts the Node of scripts/lts-node.sh first
// on PATH — the machine's when it is new enough, else Node 24 installed from the npm registry (package `node`).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './cli.ts';

const run = promisify(execFile);
const major = (version: string) => Number(version.replace(/^v/, '').split('.')[0]);

describe('Node LTS for the tests', () => {
  it("scripts/lts-node.sh gives a Node of 22 or newer, from the npm registry when the machine's is older; DuckDB's native binding and the platform command work on it", async () => {
    const { stdout: folder } = await run('bash', [join(repoRoot, 'scripts/lts-node.sh')], {
      cwd: repoRoot,
      timeout: 300_000,
    });
    const node = join(folder.trim(), 'node');
    expect(existsSync(node)).toBe(true);
    const { stdout: version } = await run(node, ['--version']);
    expect(major(version)).toBeGreaterThanOrEqual(22);
    if (major(process.versions.node) < 22) expect(folder).toContain('platform-node'); // installed, not the machine's
    // The DuckDB binding (N-API) installed by npm install under the machine's Node loads and queries under this one.
    const { stdout: answer } = await run(
      node,
      [
        '-e',
        "import('@duckdb/node-api').then(async ({ DuckDBInstance }) => { const c = await (await DuckDBInstance.create(':memory:')).connect(); console.log(JSON.stringify((await c.runAndReadAll('SELECT 6 * 7 AS n')).getRowObjectsJS())); })",
      ],
      { cwd: repoRoot },
    );
    expect(JSON.parse(answer)).toEqual([{ n: 42 }]);
    const validated = await run(node, [join(repoRoot, 'cli/bin.mjs'), 'validate', 'pipelines/globemart.yaml'], {
      cwd: repoRoot,
    });
    expect(validated.stdout).toMatch(/globemart\.yaml: ok/);
  }, 300_000);

  // `npm test` (scripts/test.sh) runs vitest, and so this worker and every `platform` process the tests start, on it.
  it.runIf(process.env.PLATFORM_TEST_NODE)(
    'npm test runs the tests on the Node scripts/test.sh chose, 22 or newer',
    () => {
      expect(process.version).toBe(process.env.PLATFORM_TEST_NODE);
      expect(major(process.version)).toBeGreaterThanOrEqual(22);
    },
  );
});
