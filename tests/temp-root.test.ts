import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('the test run’s temporary folder', () => {
  it('holds the scratch folders of test workers and of the processes they start, so the run removes them all', () => {
    expect(basename(tmpdir())).toMatch(/^platform-vitest-/);
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("node:os").tmpdir())'], {
      encoding: 'utf8',
    });
    expect(child.stdout).toBe(tmpdir());
  });
});
