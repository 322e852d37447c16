// `node --import ./tests/module-log.mjs …`: appends the URL of every module the process imports to the file named by
// PLATFORM_MODULE_LOG, one a line (cli/startup.test.ts checks what a start loads).
import { register } from 'node:module';

register('./module-log-hooks.mjs', import.meta.url);
