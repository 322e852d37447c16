// POST /api/views/<id>/upload/<widget>: role check, size and extension checks, save under <StateDir>/uploads,
// fire the target source(s) in order and answer with what they loaded.
import { mkdir, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Context } from 'hono';
import { errorMessage, isCrossSite, type Access, type Logger, type Triggers } from '../../../core/sdk/index.ts';
import { safeFileName } from '../shared/http.ts';

export interface UploadTarget {
  widget: string;
  /** Sources fired in order with the same file (e.g. one per sheet of a workbook). */
  targets: string[];
  accept: string[];
  maxBytes: number;
}

export interface UploadContext {
  viewId: string;
  role: string;
  access: Access;
  triggers: Triggers;
  stateDir: string;
  logger: Logger;
}

export async function handleUpload(c: Context, upload: UploadTarget, ctx: UploadContext) {
  const denied = ctx.access.check(c.req.raw, ctx.role);
  if (denied) return c.json({ error: denied.message }, denied.status);
  if (isCrossSite(c.req.raw)) return c.json({ error: 'cross-site upload refused' }, 403);
  const declared = Number(c.req.header('content-length') ?? 0);
  if (declared > upload.maxBytes + 65_536) return c.json({ error: `the file is larger than ${upload.maxBytes} bytes` }, 413);
  let body: Record<string, unknown>;
  try {
    body = await c.req.parseBody();
  } catch {
    return c.json({ error: 'send the file as multipart/form-data in a field named "file"' }, 400);
  }
  const file = body.file;
  if (!(file instanceof File)) return c.json({ error: 'send the file as multipart/form-data in a field named "file"' }, 400);
  const extension = extname(file.name).toLowerCase();
  if (!upload.accept.includes(extension)) {
    return c.json({ error: `only ${upload.accept.join(', ')} files are accepted (got ${JSON.stringify(file.name)})` }, 415);
  }
  if (file.size > upload.maxBytes) return c.json({ error: `${file.name} is larger than ${upload.maxBytes} bytes` }, 413);
  if (file.size === 0) return c.json({ error: `${file.name} is empty` }, 400);

  const dir = join(ctx.stateDir, 'uploads');
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const stored = `${stamp}-${safeFileName(file.name)}`;
  const path = join(dir, stored);
  await writeFile(path, new Uint8Array(await file.arrayBuffer()), { flag: 'wx' });
  ctx.logger.info(`upload ${stored} (${file.size} bytes) → ${upload.targets.join(', ')}`, { widget: upload.widget });
  const loaded = { records: 0, rejected: 0 };
  for (const target of upload.targets) {
    try {
      const result = await ctx.triggers.fire(target, { type: 'upload', file: path, filename: file.name, view: ctx.viewId });
      loaded.records += result.records;
      loaded.rejected += result.rejected;
    } catch (error) {
      // The targets before this one have loaded the file; say so, so a retry is understood as a re-load.
      const done = upload.targets.slice(0, upload.targets.indexOf(target));
      ctx.logger.error(`upload ${stored}: ${target} failed`, { error: errorMessage(error) });
      const before = done.length ? ` (${done.join(', ')} loaded it)` : '';
      return c.json({ error: `the file was saved as ${stored} but ${target} failed${before}: ${errorMessage(error)}`, file: stored }, 502);
    }
  }
  return c.json({ ...loaded, file: stored, deadLetter: `/dead-letter?steps=${upload.targets.map(encodeURIComponent).join(',')}` });
}
