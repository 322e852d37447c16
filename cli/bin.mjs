#!/usr/bin/env -S node --max-semi-space-size=8
// The `platform` command. It runs the compiled command (dist/cli/platform.mjs, rebuilt here when a source is newer:
// a fresh checkout or an edit just works); PLATFORM_FROM_SOURCE=1 runs the TypeScript sources through tsx instead.
// Plugin packages written in TypeScript load either way (see importPluginPackage). The shebang's Node options are
// cli/node-flags.mjs's (one place; an operator's override is honoured there).
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeRuntime, relaunchArgs } from './node-flags.mjs';

// A reader that went away (`platform plugins --json | head`) is not an error of the command.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });

// Start-up options cannot change in a running process: an operator's override (PLATFORM_NODE_OPTIONS, NODE_OPTIONS)
// costs one relaunch; the defaults never do.
const relaunch = relaunchArgs();
if (relaunch) await relaunched(relaunch);
if (process.argv[2] === '--version') {
  process.stdout.write(describeRuntime() + '\n');
  await flushed(process.stdout);
  process.exit(0);
}

const { main } = process.env.PLATFORM_FROM_SOURCE ? await fromSource() : await compiled();
const code = await main(process.argv.slice(2));
// Output to a pipe is written asynchronously: exiting before it drains cuts it (at 64 KiB, the pipe's buffer).
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
// The command is done (its pipeline stopped, within bounded waits): do not linger on a client's reconnect timers.
process.exit(code);

/** Runs this command again in a child with `execArgv`, passes signals on, and exits as it does. Never resolves. */
function relaunched(execArgv) {
  const child = spawn(process.execPath, [...execArgv, process.argv[1], ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, PLATFORM_NODE_RELAUNCHED: '1' },
  });
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  // Ctrl-C reaches the child itself (the terminal signals the whole process group): passed on too, it would be a
  // second SIGINT, which stops the command without draining.
  process.on('SIGINT', () => {});
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
  return new Promise(() => {});
}

/** Resolves once everything written to the stream so far has been handed to the operating system. */
function flushed(stream) {
  return new Promise((resolve) => (stream.destroyed ? resolve() : stream.write('', () => resolve())));
}

async function compiled() {
  const { ensureCli } = await import('../scripts/build-cli.mjs');
  process.setSourceMapsEnabled(true); // stack traces name the TypeScript sources
  return import(pathToFileURL(await ensureCli()).href);
}

async function fromSource() {
  const { register } = await import('tsx/esm/api');
  // Our tsconfig (legacy decorators for inversify) applies wherever the command runs from, plugins included.
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  globalThis[Symbol.for('platform.typescript-loader')] = true; // plugin packages need no second one
  return import('./main.ts');
}
