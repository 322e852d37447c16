// Module hooks of tests/module-log.mjs: every resolved import, as a line of PLATFORM_MODULE_LOG.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (process.env.PLATFORM_MODULE_LOG) appendFileSync(process.env.PLATFORM_MODULE_LOG, `${resolved.url}\n`);
  return resolved;
}
