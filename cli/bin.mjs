#!/usr/bin/env node
// The `platform` command. TypeScript sources run through tsx's loader, so plugins and manifests need no build step.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// Our tsconfig (legacy decorators for inversify) applies wherever the command runs from, plugins included.
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('./main.ts');
const code = await main(process.argv.slice(2));
// The command is done (its pipeline stopped, within bounded waits): do not linger on a client's reconnect timers.
process.exit(code);
