// Every way of starting `platform` runs it with the command's V8 options (cli/node-flags.mjs), and an operator's
// override wins. The process itself reports what it runs with (`platform --version`): V8's heap limit, which the
// young generation's cap changes, is compared with a bare `node` given the same options.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PLATFORM_NODE_FLAGS, platformNodeArgs, relaunchArgs } from './node-flags.mjs';
import { platform, repoRoot, startPlatform } from '../tests/cli.ts';

const bin = join(repoRoot, 'cli/bin.mjs');
/** The `node` the tests run on comes first on PATH, so the shebang's `env node` finds it. */
const pathEnv = { PATH: `${dirname(process.execPath)}:${process.env.PATH}` };
const withoutOverrides = () => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...pathEnv };
  delete env.NODE_OPTIONS;
  delete env.PLATFORM_NODE_OPTIONS;
  delete env.PLATFORM_NODE_RELAUNCHED;
  return env;
};

/** V8's heap limit (MB) of a bare `node` started with `options`. */
function heapLimitOf(options: string[]): number {
  return Number(
    execFileSync(process.execPath, [...options, '-p', 'v8.getHeapStatistics().heap_size_limit / 2 ** 20'], {
      encoding: 'utf8',
      env: withoutOverrides(),
    }),
  );
}

/** The heap limit and options a `platform --version` output reports. */
function reported(output: string): { heapMb: number; options: string } {
  const heap = /^heap limit: (\d+) MB$/m.exec(output);
  const options = /^node options: (.*)$/m.exec(output);
  if (!heap || !options) throw new Error(`no heap limit or options in: ${output}`);
  return { heapMb: Number(heap[1]), options: options[1] };
}

const flagged = heapLimitOf([...PLATFORM_NODE_FLAGS]);
const bare = heapLimitOf([]);

describe('the V8 options of the platform command', () => {
  it('change the heap limit (else the checks below could not tell a process without them)', () => {
    expect(flagged).toBeLessThan(bare);
  });

  it('are on the shebang of cli/bin.mjs, the same as cli/node-flags.mjs', () => {
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${PLATFORM_NODE_FLAGS.join(' ')}`);
  });

  it('reach a process spawned by tests/cli.ts and a server started by startPlatform', async () => {
    const result = await platform(['--version'], { env: withoutOverrides() });
    expect(result.code).toBe(0);
    expect(reported(result.stdout)).toEqual({ heapMb: flagged, options: PLATFORM_NODE_FLAGS.join(' ') });

    const state = mkdtempSync(join(tmpdir(), 'node-flags-'));
    const server = await startPlatform(
      ['run', 'pipelines/economic-analytics.yaml', '--port', '0', '--state-dir', state],
      { env: withoutOverrides() },
    );
    try {
      const argv = readFileSync(`/proc/${server.child.pid}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(1, 1 + PLATFORM_NODE_FLAGS.length)).toEqual([...PLATFORM_NODE_FLAGS]);
    } finally {
      await server.stop();
      rmSync(state, { recursive: true, force: true });
    }
  }, 120_000);

  it('reach the command run as an executable and through the npm scripts', () => {
    const direct = execFileSync(bin, ['--version'], { encoding: 'utf8', env: withoutOverrides() });
    expect(reported(direct).heapMb).toBe(flagged);
    const npm = execFileSync('npm', ['run', '-s', 'platform', '--', '--version'], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: withoutOverrides(),
    });
    expect(reported(npm).heapMb).toBe(flagged);
  });

  it('give way to PLATFORM_NODE_OPTIONS and to the same flag in NODE_OPTIONS', async () => {
    const run = (env: NodeJS.ProcessEnv) =>
      reported(execFileSync(bin, ['--version'], { encoding: 'utf8', env: { ...withoutOverrides(), ...env } }));
    expect(run({ PLATFORM_NODE_OPTIONS: '--max-semi-space-size=4' })).toEqual({
      heapMb: heapLimitOf(['--max-semi-space-size=4']),
      options: '--max-semi-space-size=4',
    });
    expect(run({ PLATFORM_NODE_OPTIONS: '' }).heapMb).toBe(bare);
    expect(run({ NODE_OPTIONS: '--max-semi-space-size=32' })).toEqual({
      heapMb: heapLimitOf(['--max-semi-space-size=32']),
      options: '--max-semi-space-size=32',
    });
    // Spawned with the override already applied: the same result, without a relaunch.
    const spawned = await platform(['--version'], { env: { ...withoutOverrides(), PLATFORM_NODE_OPTIONS: '' } });
    expect(reported(spawned.stdout)).toEqual({ heapMb: bare, options: '(none)' });
  });

  it('relaunch the process only for an override', () => {
    const defaults = [...PLATFORM_NODE_FLAGS];
    expect(relaunchArgs(defaults, {})).toBeNull(); // the shebang, no override
    expect(relaunchArgs([], {})).toBeNull(); // a plain `node cli/bin.mjs`: V8's defaults, no second process
    expect(
      relaunchArgs(['--enable-source-maps', ...defaults], { PLATFORM_NODE_OPTIONS: '--max-semi-space-size=4' }),
    ).toEqual(['--enable-source-maps', '--max-semi-space-size=4']);
    expect(relaunchArgs(defaults, { NODE_OPTIONS: '--max-semi-space-size=32' })).toEqual([]);
    expect(relaunchArgs(defaults, { PLATFORM_NODE_OPTIONS: '', PLATFORM_NODE_RELAUNCHED: '1' })).toBeNull();
    expect(platformNodeArgs({ NODE_OPTIONS: '--max_semi_space_size=32 --enable-source-maps' })).toEqual([]);
    expect(platformNodeArgs({})).toEqual(defaults);
  });
});
