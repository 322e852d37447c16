import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('the test run’s temporary folder', () => {
  it('holds the scratch folders of test workers and of the processes they start, so the run removes them all', () => {
    expect(basename(tmpdir())).toMatch(/^platform-vitest-/);
    expect(statSync(tmpdir()).mode & 0o1777).toBe(0o1777); // as /tmp: other users (postgres) reach their folders
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("node:os").tmpdir())'], {
      encoding: 'utf8',
    });
    expect(child.stdout).toBe(tmpdir());
  });
});
