#!/usr/bin/env node
// The `platform` command. It runs the compiled command (dist/cli/platform.mjs, rebuilt here when a source is newer:
// a fresh checkout or an edit just works); PLATFORM_FROM_SOURCE=1 runs the TypeScript sources through tsx instead.
// Plugin packages written in TypeScript load either way (see importPluginPackage).
import { fileURLToPath, pathToFileURL } from 'node:url';

const { main } = process.env.PLATFORM_FROM_SOURCE ? await fromSource() : await compiled();
const code = await main(process.argv.slice(2));
// The command is done (its pipeline stopped, within bounded waits): do not linger on a client's reconnect timers.
process.exit(code);

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
