// `platform dead-letter list|show|replay`, as an operator runs it: after a run, while the pipeline runs (its index is
// held: the JSON lines are read instead), and a replay once the manifest is fixed.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { platform, startPlatform } from '../tests/cli.ts';
import { freePort } from '../core/testing.ts';

function setup(minimum: number, dir = mkdtempSync(join(tmpdir(), 'dl-cli-')), port = 0) {
  mkdirSync(join(dir, 'in'), { recursive: true });
  writeFileSync(join(dir, 'in', 'a.csv'), 'id,amount\n1,10\n2,-2\n3,"broken\n4,-4\n');
  const manifest = join(dir, 'm.yaml');
  writeFileSync(
    manifest,
    `name: dl-cli
server: { port: ${port} }
connections:
  wh: { type: duckdb, path: "${join(dir, 'wh.duckdb')}" }
sources:
  files: { use: file, with: { path: "${join(dir, 'in', '*.csv')}" } }
transforms:
  checked: { use: validate, from: files, with: { schema: { properties: { amount: { type: number, minimum: ${minimum} } } } } }
sinks:
  out: { use: duckdb, from: checked, connection: wh, with: { table: out, mode: upsert, key: [id], createTable: true } }
`,
  );
  return { dir, manifest, state: ['--state-dir', join(dir, 'state')] };
}

describe('platform dead-letter', () => {
  it('lists, filters and shows dead letters, and replays them once the manifest is fixed', async () => {
    const { dir, manifest, state } = setup(0);
    expect((await platform(['run', manifest, '--once', ...state])).code).toBe(0);

    const list = await platform(['dead-letter', 'list', manifest, ...state]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^\s*id\s+stored \(UTC\)\s+step\s+origin\s+reasons\n/);
    expect(list.stdout).toMatch(/3\s+\S+ \S+\s+checked\s+\S*a\.csv:5\s+amount: must be >= 0/);
    expect(list.stdout).toMatch(/1\s+\S+ \S+\s+files\s+\S*a\.csv:4\s+Value with unterminated quote found/);
    expect(list.stdout).toContain('3 of 3 dead letter(s) shown, newest first');
    const filtered = await platform([
      'dead-letter',
      'list',
      manifest,
      '--step',
      'checked',
      '--reason',
      'MUST BE',
      ...state,
    ]);
    expect(filtered.stdout).toContain('2 of 2 dead letter(s) shown');
    const shown = JSON.parse((await platform(['dead-letter', 'show', manifest, '1', ...state])).stdout) as {
      id: number;
      record: string;
    }[];
    expect(shown).toMatchObject([{ id: 1, step: 'files', record: '3,"broken' }]);
    const bad = await platform(['dead-letter', 'list', manifest, '--since', 'soon', ...state]);
    expect([bad.code, bad.stderr]).toEqual([
      2,
      expect.stringContaining('--since must be an ISO date or time (got "soon")'),
    ]);

    // The rule was too strict: fixed, the validation rejects land; the broken line stays (its source cannot fix it).
    setup(-10, dir);
    const replay = await platform(['dead-letter', 'replay', manifest, '--step', 'checked', ...state]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(
      /^replayed 2 dead letter\(s\) of .*: 2 landed \(left the store\), 0 rejected again \(kept with the new reason\), 0 skipped\n$/,
    );
    const left = await platform(['dead-letter', 'list', manifest, '--json', ...state]);
    expect((JSON.parse(left.stdout) as { total: number }).total).toBe(1);
  }, 120_000);

  it('lists while the pipeline runs (reading the JSON lines), and refuses to replay beside it with the way to do it', async () => {
    const { manifest, state } = setup(0, undefined, await freePort());
    const running = await startPlatform(['run', manifest, ...state]);
    try {
      const list = await platform(['dead-letter', 'list', manifest, ...state]);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toContain('3 of 3 dead letter(s) shown');
      const replay = await platform(['dead-letter', 'replay', manifest, ...state]);
      expect(replay.code).toBe(1);
      expect(replay.stderr).toContain('replay from its dead-letter page or with POST /api/dead-letter/replay');
    } finally {
      await running.stop();
    }
  }, 120_000);
});
