// Vitest global setup: one temporary folder per test run. Tests make their scratch folders with
// mkdtemp(join(tmpdir(), …)) and the processes they start do the same; pointing TMPDIR at a folder of the run's own
// (test workers and the platform processes they spawn inherit it) lets the run remove all of them at its end, also
// those of a test that failed half-way. Before this, every run left ~1,000 folders in the machine's /tmp.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'platform-vitest-'));
  // As /tmp: other users reach what is made for them inside (the PostgreSQL cluster tests/recovery.test.ts starts).
  chmodSync(root, 0o1777);
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true, maxRetries: 3 });
}
