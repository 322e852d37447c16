// The Node/V8 options the `platform` command runs with, in one place. Every way of starting it gets them without a
// second process: the shebang of cli/bin.mjs (`env -S node <flags>`; a test holds it equal to PLATFORM_NODE_FLAGS),
// the npm scripts (they run cli/bin.mjs through its shebang), and everything that spawns it with process.execPath
// (tests/cli.ts, the benchmarks) through platformNodeArgs(). An operator overrides them with PLATFORM_NODE_OPTIONS
// (replaces them; empty: V8's own sizing) or by naming the same flag in NODE_OPTIONS.
import { readFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';

/**
 * A smaller young generation: under load Node 24 lets a semi-space grow to 64 MB (a 128 MB new space), most
 * of the gap to the memory targets; capped, the young collections run more often on less memory (BENCHMARKS.md,
 * "What limits", section 6, for the figures and the trade).
 */
export const PLATFORM_NODE_FLAGS = Object.freeze(['--max-semi-space-size=8']);

/** `--max-semi-space-size=16` → `max-semi-space-size` (V8 takes `_` for `-`). */
const flagName = (flag) => flag.replace(/^--?/, '').split('=')[0].replaceAll('_', '-');
const words = (text) => (text ?? '').split(/\s+/).filter(Boolean);

/**
 * The Node options a `platform` process should run with: PLATFORM_NODE_OPTIONS when it is set, else the defaults
 * except a flag NODE_OPTIONS sets itself (options on the command line win over NODE_OPTIONS).
 */
export function platformNodeArgs(env = process.env) {
  if (env.PLATFORM_NODE_OPTIONS !== undefined) return words(env.PLATFORM_NODE_OPTIONS);
  const operator = new Set(words(env.NODE_OPTIONS).map(flagName));
  return PLATFORM_NODE_FLAGS.filter((flag) => !operator.has(flagName(flag)));
}

/**
 * The options this process should change to honour an override, or null when it runs as asked. Only an override
 * (PLATFORM_NODE_OPTIONS, or NODE_OPTIONS naming a default the shebang put on the command line) asks for a change:
 * a plain `node cli/bin.mjs` runs on V8's defaults rather than paying for a second process.
 */
export function relaunchArgs(execArgv = process.execArgv, env = process.env) {
  if (env.PLATFORM_NODE_RELAUNCHED) return null; // once at most
  const wanted = platformNodeArgs(env);
  const unwanted = PLATFORM_NODE_FLAGS.filter((flag) => execArgv.includes(flag) && !wanted.includes(flag));
  const missing = env.PLATFORM_NODE_OPTIONS === undefined ? [] : wanted.filter((flag) => !execArgv.includes(flag));
  if (!unwanted.length && !missing.length) return null;
  return [...execArgv.filter((arg) => !unwanted.includes(arg)), ...missing];
}

/** What `platform --version` prints: the versions, the options in effect and V8's heap limit that they set. */
export function describeRuntime() {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const options = [...process.execArgv, ...words(process.env.NODE_OPTIONS)].filter((arg) => /^--[a-z_-]+=?/.test(arg));
  return [
    `platform ${version}`,
    `node ${process.version}, v8 ${process.versions.v8}`,
    `node options: ${options.join(' ') || '(none)'}`,
    // The heap limit is the old generation's plus three semi-spaces: it shows the young generation's cap in effect.
    `heap limit: ${(getHeapStatistics().heap_size_limit / 2 ** 20).toFixed(0)} MB`,
  ].join('\n');
}
