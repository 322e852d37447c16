import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's root folder (where package.json is), found from this module's location: core/ when run from the
 * sources, dist/cli/ when run from the compiled command (scripts/build-cli.mjs).
 */
export const repoRoot = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(dir: string): string {
  if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'core'))) return dir;
  const parent = dirname(dir);
  if (parent === dir) throw new Error('platform: cannot find the project folder (package.json next to core/)');
  return findRoot(parent);
}
