// Whether a build output must be made again: shared by the on-demand builds of the client bundle
// (scripts/build-client.mjs) and of the compiled command (scripts/build-cli.mjs).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newestSource(dir, pattern) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path, pattern));
    else if (pattern.test(entry.name) && !/\.test\.tsx?$/.test(entry.name))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * True when an output is missing or older than a source under `dirs` whose name matches `pattern` (tests do not
 * count). False when the sources are absent: an installed package ships its builds only.
 */
export function isStale(outputs, dirs, pattern) {
  if (!outputs.every((output) => existsSync(output))) return true;
  if (!dirs.every((dir) => existsSync(dir))) return false;
  const built = Math.min(...outputs.map((output) => statSync(output).mtimeMs));
  return dirs.some((dir) => newestSource(dir, pattern) > built);
}
