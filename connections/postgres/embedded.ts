// The embedded store (PGlite): opening a data folder, with a fresh one made from a template instead of initdb.
//
// A fresh PGlite folder runs initdb in WebAssembly (a second PGlite instance plus initdb.wasm): ~4 s on a quiet
// machine, 15–25 s under load, ~1.1 GB peak RSS. Its result depends only on the PGlite version, so it is made once
// per version into the user's cache (never the repository) and copied into each new folder: the folder then holds
// the same files initdb would have written, opened once and shut down cleanly.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { Logger } from '../../core/sdk/types.ts';

/**
 * PostgreSQL's buffer pool, taken from WebAssembly memory and touched at start: PGlite's default (initdb's 128 MB)
 * is most of an idle instance's memory. The embedded store holds a development machine's data; the operating
 * system's page cache still caches the files under a smaller pool.
 */
export const EMBEDDED_SHARED_BUFFERS = '16MB';

/** The installed PGlite's version: a template is only used by the version that made it. */
export function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === '@electric-sql/pglite' && pkg.version) return pkg.version;
  }
  throw new Error('cannot find the version of @electric-sql/pglite');
}

/** Where templates are kept: PLATFORM_PGLITE_CACHE, or ~/.cache/platform-pglite (one folder per PGlite version). */
export function templateCache(): string {
  return process.env.PLATFORM_PGLITE_CACHE || join(homedir(), '.cache', 'platform-pglite');
}

const isDataFolder = (dir: string) => existsSync(join(dir, 'PG_VERSION'));

/** Templates being made by this process, by path: two stores opening at once make one. */
const building = new Map<string, Promise<string>>();

/**
 * The initdb'd data folder of this PGlite version, made on first use: initdb in a private folder next to the
 * cache's, shut down, then renamed into place (a process that loses the race uses the winner's).
 */
export function pgliteTemplate(logger?: Logger): Promise<string> {
  const template = join(templateCache(), pgliteVersion());
  if (isDataFolder(template)) return Promise.resolve(template);
  let making = building.get(template);
  if (!making) {
    making = makeTemplate(template, logger).finally(() => building.delete(template));
    building.set(template, making);
  }
  return making;
}

async function makeTemplate(template: string, logger?: Logger): Promise<string> {
  mkdirSync(dirname(template), { recursive: true });
  const scratch = mkdtempSync(`${template}.building-`);
  try {
    logger?.info(`making the embedded PostgreSQL template (initdb, once per PGlite version) in ${template}`);
    const { PGlite } = await import('@electric-sql/pglite');
    await (await PGlite.create(scratch)).close();
    rmSync(join(scratch, 'postmaster.pid'), { force: true });
    try {
      renameSync(scratch, template);
    } catch (error) {
      if (!isDataFolder(template)) throw error; // another process put its (equal) template there first
    }
    return template;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Opens (making it from the template when it holds no database yet) the PGlite data folder `dir`. */
export async function openPglite(dir: string, logger?: Logger): Promise<PGlite> {
  mkdirSync(dir, { recursive: true });
  if (!isDataFolder(dir)) {
    let template: string | undefined;
    try {
      template = await pgliteTemplate(logger);
    } catch (error) {
      // No cache to write (a read-only home…): PGlite runs initdb in the folder itself, as it would without us.
      logger?.warn(`no embedded PostgreSQL template (${(error as Error).message}): initdb in ${dir}`);
    }
    if (template) {
      // PG_VERSION last: PGlite takes a folder with it for a database, so a copy cut short is redone, never opened.
      cpSync(template, dir, { recursive: true, filter: (from) => from !== join(template, 'PG_VERSION') });
      cpSync(join(template, 'PG_VERSION'), join(dir, 'PG_VERSION'));
    }
  }
  const { PGlite } = await import('@electric-sql/pglite'); // loaded only when embedded
  return PGlite.create(dir, {
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`],
  });
}
