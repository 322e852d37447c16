// The lock file is whole: `npm ci` (what CI systems run) accepts it, and `npm install` leaves it as committed.
// Both run in a copy of the package manifests, so the checkout's own node_modules is not touched. Every dependency's
// install script is reviewed in package.json's `allowScripts` (npm 11.16+ warns at each install about the others;
// npm 12 skips them).
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './cli.ts';

const run = promisify(execFile);
const npmFlags = ['--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'];

/** package.json, the lock file and every workspace's package.json, in a fresh folder. */
function manifestsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lockfile-'));
  const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { workspaces: string[] };
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { link?: boolean; resolved?: string }>;
  };
  // The workspaces as the lock file lists them (globs like examples/* resolved).
  const workspaces = Object.values(lock.packages)
    .filter((p) => p.link && p.resolved)
    .map((p) => p.resolved!);
  expect(workspaces.length).toBeGreaterThanOrEqual(root.workspaces.length);
  for (const file of ['package.json', 'package-lock.json', ...workspaces.map((w) => join(w, 'package.json'))]) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(repoRoot, file), join(dir, file));
  }
  return dir;
}

describe('package-lock.json', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('is in sync with package.json: npm ci accepts it (every platform package of the DuckDB bindings is in it)', async () => {
    const dir = manifestsCopy();
    dirs.push(dir);
    const result = await run('npm', ['ci', '--dry-run', ...npmFlags], { cwd: dir }).then(
      () => ({ ok: true, stderr: '' }),
      (error: { stderr: string }) => ({ ok: false, stderr: error.stderr }),
    );
    expect(result.stderr).toBe('');
    expect(result.ok).toBe(true);
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, unknown>;
    };
    const bindings = Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/@duckdb/node-bindings-'));
    expect(bindings.length).toBeGreaterThanOrEqual(8); // linux x64/arm64 (glibc, musl), darwin x64/arm64, win32 x64/arm64
  }, 120_000);

  it("lists no install script that package.json's allowScripts has not reviewed", () => {
    const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      allowScripts?: Record<string, boolean>;
    };
    const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string; hasInstallScript?: boolean }>;
    };
    const reviewed = Object.keys(root.allowScripts ?? {});
    const withScripts = Object.entries(lock.packages)
      .filter(([path, p]) => path && p.hasInstallScript)
      .map(([path, p]) => ({ name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), ...p }));
    expect(withScripts.length).toBeGreaterThan(0); // esbuild's postinstall, today
    const unreviewed = withScripts.filter(
      (p) => !reviewed.includes(p.name) && !reviewed.includes(`${p.name}@${p.version}`),
    );
    expect(unreviewed.map((p) => `${p.name}@${p.version}`)).toEqual([]);
  });

  it('is left as it is by npm install (a checkout stays clean)', async () => {
    const dir = manifestsCopy();
    dirs.push(dir);
    const before = readFileSync(join(dir, 'package-lock.json'), 'utf8');
    await run('npm', ['install', '--package-lock-only', ...npmFlags], { cwd: dir });
    expect(readFileSync(join(dir, 'package-lock.json'), 'utf8')).toBe(before);
  }, 120_000);
});
