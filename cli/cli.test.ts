import { mkdtempSync, writeFileSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { platform, repoRoot } from '../tests/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-'));

describe('platform CLI', () => {
  it('validate names the exact line and column and exits 2', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'name: broken\nsources:\n  a:\n    use: duckdb\n    with: { query: 1, pageSize: -1 }\n');
    const result = await platform(['validate', file]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(2);
    expect(result.stderr).toContain(`${file}:5:33 sources.a.with.pageSize: must be >= 1`);
    expect(result.stderr).toContain(`${file}:3:3 sources.a: plugin duckdb needs a connection: (of type duckdb)`);
  });

  it('validate also reports what a plugin checks when it is built (a dashboard widget with a reserved id)', async () => {
    const file = join(dir, 'view.yaml');
    writeFileSync(
      file,
      'name: v\nconnections:\n  wh: { type: duckdb, path: ":memory:" }\nviews:\n  board:\n    use: dashboard\n    connection: wh\n    with: { widgets: [{ id: events, type: kpi, query: "SELECT 1 AS value" }] }\n',
    );
    const result = await platform(['validate', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}:5`);
    expect(result.stderr).toContain('widget "events": the id is reserved');
  });

  it('validate names the variable behind a malformed value and its line, and exits 2 (not a crash)', async () => {
    const result = await platform(['validate', 'pipelines/batch-analytics.yaml'], { env: { BATCH_PORT: '[' } });
    expect(result.code).toBe(2);
    const portLine =
      readFileSync(join(repoRoot, 'pipelines/batch-analytics.yaml'), 'utf8')
        .split('\n')
        .findIndex((line) => line.startsWith('  port: ${BATCH_PORT')) + 1;
    expect(result.stderr.trim()).toBe(
      `pipelines/batch-analytics.yaml:${portLine}:9 server.port: must be integer (from BATCH_PORT="[")`,
    );
    const zone = await platform(['validate', 'pipelines/batch-analytics.yaml'], {
      env: { BATCH_TIMEZONE: 'Asia/Kolkatta' },
    });
    expect(zone.code).toBe(2);
    expect(zone.stderr).toContain('sources.');
    expect(zone.stderr).toContain(
      '.schedule.timezone: "Asia/Kolkatta" is not an IANA time zone, e.g. UTC, Europe/Paris, Asia/Kolkata (from BATCH_TIMEZONE="Asia/Kolkatta")',
    );
    const never = join(dir, 'never.yaml');
    writeFileSync(
      never,
      'name: never\nsources:\n  n: { use: generator, schedule: { every: "0s" }, with: { fields: { n: { sequence: {} } } } }\nsinks:\n  out: { use: console, from: n }\n',
    );
    const zero = await platform(['validate', never]);
    expect(zero.code).toBe(2);
    expect(zero.stderr.trim()).toBe(
      `${never}:3:43 sources.n.schedule.every: "0s" is not a duration above 0, e.g. 500ms, 15s, 5m, 1h, 1d`,
    );
  });

  it('validate accepts every shipped pipeline', async () => {
    const result = await platform([
      'validate',
      'pipelines/globemart.yaml',
      'pipelines/revenue-monitor.yaml',
      'pipelines/economic-analytics.yaml',
      'pipelines/sales-etl.yaml',
      'pipelines/batch-analytics.yaml',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('exits 2 on bad usage and unknown commands, 0 on --help', async () => {
    expect((await platform(['frobnicate'])).code).toBe(2);
    expect((await platform(['run'])).code).toBe(2);
    expect((await platform(['run', 'x.yaml', '--date', '2024-13'])).stderr).toContain('--date must be YYYY-MM-DD');
    const help = await platform(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('platform <command>');
  });

  it('plugins --json lists every built-in plugin with its config schema', async () => {
    const result = await platform(['plugins', '--json']);
    expect(result.code).toBe(0);
    const { plugins, connectionTypes } = JSON.parse(result.stdout) as {
      plugins: { kind: string; name: string; config: { type: string } }[];
      connectionTypes: { type: string }[];
    };
    expect(plugins.length).toBeGreaterThan(0);
    for (const plugin of plugins) expect(plugin.config.type).toBe('object');
    expect(plugins.some((p) => p.kind === 'source' && p.name === 'duckdb')).toBe(true);
    expect(connectionTypes.map((c) => c.type)).toContain('duckdb');
  });

  it('docs writes a Markdown reference generated from the specs', async () => {
    const out = join(dir, 'plugins.md');
    const result = await platform(['docs', '--out', out]);
    expect(result.code).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('### `duckdb`');
    expect(text).toContain('| `query` (required) | string |');
  });

  it('runs the compiled command, rebuilt first when a source is newer than it', async () => {
    const bundle = join(repoRoot, 'dist/cli/platform.mjs');
    expect((await platform(['--help'])).code).toBe(0);
    // As if every source had been edited after the build.
    const past = new Date(Date.now() - 3_600_000);
    utimesSync(bundle, past, past);
    const result = await platform(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: platform <command>');
    expect(statSync(bundle).mtimeMs).toBeGreaterThan(past.getTime() + 60_000);
  });
});
