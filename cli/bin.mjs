#!/usr/bin/env node
// The `platform` command. TypeScript sources run through tsx's loader, so plugins and manifests need no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
