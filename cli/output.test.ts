import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../tests/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-output-'));
const bin = join(repoRoot, 'cli/bin.mjs');
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Runs a command twice, as a shell user does: once with both outputs redirected to files, once with both piped into
 * readers that start late (so the pipe's 64 KiB buffer fills and the command must wait for it to drain).
 */
function bothWays(args: string[] | ((way: 'file' | 'pipe') => string[]), name: string) {
  const command = (way: 'file' | 'pipe') =>
    `${quote(process.execPath)} ${quote(bin)} ${(typeof args === 'function' ? args(way) : args).map(quote).join(' ')}`;
  const files = {
    out: join(dir, `${name}.out`),
    err: join(dir, `${name}.err`),
    pipedOut: join(dir, `${name}.pipe.out`),
    pipedErr: join(dir, `${name}.pipe.err`),
  };
  const run = (script: string) => {
    try {
      execFileSync('sh', ['-c', script], { cwd: repoRoot, stdio: 'ignore', timeout: 120_000 });
    } catch {
      /* the exit code is compared below through the files */
    }
  };
  run(`${command('file')} > ${quote(files.out)} 2> ${quote(files.err)}`);
  run(
    `{ ${command('pipe')} 2>&3 | (sleep 0.5; cat > ${quote(files.pipedOut)}); } 3>&1 1>&2 | (sleep 0.5; cat > ${quote(files.pipedErr)})`,
  );
  const read = (file: string) => readFileSync(file, 'utf8');
  return {
    toFile: { stdout: read(files.out), stderr: read(files.err) },
    piped: { stdout: read(files.pipedOut), stderr: read(files.pipedErr) },
  };
}

describe('every command writes its whole output to a pipe', () => {
  it('plugins --json (113 kB) is the same piped as written to a file, and is whole JSON', () => {
    const { toFile, piped } = bothWays(['plugins', '--json'], 'plugins-json');
    expect(toFile.stdout.length).toBeGreaterThan(65_536);
    expect(piped.stdout).toBe(toFile.stdout);
    expect(() => JSON.parse(piped.stdout)).not.toThrow();
  });

  it('plugins, --help and docs', () => {
    for (const [args, name] of [
      [['plugins'], 'plugins'],
      [['--help'], 'help'],
      [['docs', '--out', join(dir, 'plugins.md')], 'docs'],
    ] as const) {
      const { toFile, piped } = bothWays([...args], name);
      expect(toFile.stdout.length).toBeGreaterThan(0);
      expect(piped).toEqual(toFile);
    }
  });

  it('validate: a long list of errors on stderr arrives whole', () => {
    const steps = Array.from({ length: 1500 }, (_, i) => `  s${i}: { use: generator, with: { colour${i}: red } }`).join(
      '\n',
    );
    const file = join(dir, 'many-errors.yaml');
    writeFileSync(file, `name: many\nsources:\n${steps}\n`);
    const { toFile, piped } = bothWays(['validate', file, 'pipelines/globemart.yaml'], 'validate');
    expect(toFile.stderr.length).toBeGreaterThan(65_536);
    expect(toFile.stderr.trim().split('\n').length).toBeGreaterThanOrEqual(1500);
    expect(piped).toEqual(toFile);
  });

  it('run --once: the summary on stdout and the log on stderr', () => {
    const file = join(dir, 'once.yaml');
    writeFileSync(
      file,
      `name: once\nsources:\n  numbers: { use: generator, with: { count: 3, seed: 1, fields: { n: { sequence: {} } } } }\nsinks:\n  out: { use: console, from: numbers }\n`,
    );
    // Each way runs in its own state folder (the second run would otherwise find the records made).
    const { toFile, piped } = bothWays(
      (way) => ['run', file, '--once', '--log-format', 'json', '--state-dir', join(dir, `state-${way}`)],
      'run',
    );
    expect(toFile.stdout).toContain('{"n":3}\nstep');
    const same = (text: string) => text.replace(/\d+ ms|\d+\.\d s|state-\w+|"time":"[^"]+"/g, '');
    expect(same(piped.stdout)).toBe(same(toFile.stdout));
    expect(same(piped.stderr)).toBe(same(toFile.stderr));
  });
});
