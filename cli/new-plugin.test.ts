// `platform new plugin` as a newcomer uses it, outside the repository: the generated package installs (its SDK
// linked from this repository), builds and passes its own test standalone; a pipeline's folder installs it with
// `npm install <path>`, and a manifest loads it by package name and by relative path. What is missing says what to run.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { platform, repoRoot } from '../tests/cli.ts';
import { defaultPluginDir } from './commands/new-plugin.ts';

const dir = mkdtempSync(join(tmpdir(), 'new-plugin-'));
const pkg = join(dir, 'platform-plugin-shout');
const project = join(dir, 'pipeline');
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd,
    encoding: 'utf8',
    stdio: 'pipe',
  });

const manifest = (plugin: string) => `name: shout
plugins: [${plugin}]
connections:
  wh: { type: duckdb, path: ":memory:" }
sources:
  one: { use: duckdb, connection: wh, with: { query: "SELECT 1 AS id" } }
transforms:
  loud: { use: shout, from: one, with: { greeting: hey } }
tests:
  - name: greets
    step: loud
    input: [{ id: 1 }]
    expect: [{ id: 1, greeting: hey }]
`;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('platform new plugin', () => {
  it('puts the package next to the repository when run inside it, else in the current folder', () => {
    expect(defaultPluginDir(repoRoot, repoRoot)).toBe(dirname(repoRoot));
    expect(defaultPluginDir(join(repoRoot, 'plugins/sinks'), repoRoot)).toBe(dirname(repoRoot));
    expect(defaultPluginDir(dir, repoRoot)).toBe(dir);
  });

  it('makes a package that builds and tests standalone, loaded by name after npm install <path> and by path', async () => {
    const created = await platform(['new', 'plugin', 'transform', 'shout', '--dir', dir]);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`cd ${pkg} && npm install && npm test`);
    // Standalone: its own dependencies (the SDK linked from this repository), its build (prepare) and its test.
    npm(['install'], pkg);
    expect(existsSync(join(pkg, 'dist/index.js'))).toBe(true);
    expect(stripVTControlCharacters(npm(['test'], pkg))).toMatch(/Tests\s+1 passed/);

    // A pipeline's folder installs it like any npm package; the manifest there names it.
    mkdirSync(project);
    npm(['install', pkg], project);
    expect(JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).dependencies['platform-plugin-shout']).toBe(
      'file:../platform-plugin-shout',
    );
    writeFileSync(join(project, 'by-name.yaml'), manifest('platform-plugin-shout'));
    writeFileSync(join(project, 'by-path.yaml'), manifest('../platform-plugin-shout'));
    for (const file of ['by-name.yaml', 'by-path.yaml']) {
      const tested = await platform(['test', file], { cwd: project });
      expect(tested.stdout, `${file}: ${tested.stderr}`).toContain('1 passed, 0 failed');
      expect(tested.code).toBe(0);
    }

    // Not built, not installed: the error says what to run.
    renameSync(join(pkg, 'dist'), join(pkg, 'dist-moved'));
    const unbuilt = await platform(['validate', 'by-path.yaml'], { cwd: project });
    expect(unbuilt.code).toBe(2);
    expect(unbuilt.stderr).toContain(
      `by-path.yaml:2:11 plugins.0: cannot load plugin package "../platform-plugin-shout": ${pkg}/dist/index.js (its main) does not exist: build the package with \`cd ${pkg} && npm run build\``,
    );
    renameSync(join(pkg, 'dist-moved'), join(pkg, 'dist'));
    writeFileSync(join(project, 'other.yaml'), manifest('platform-plugin-other'));
    const absent = await platform(['validate', 'other.yaml'], { cwd: project });
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain(
      `cannot load plugin package "platform-plugin-other": it is not installed in ${project}: run \`npm install <its folder or npm name>\` in ${project}, or list it by path relative to the manifest (./…)`,
    );
  }, 240_000);
});
