// POST /api/views/<id>/upload/<widget> (after the role check): size and extension checks, save under <StateDir>/uploads,
// fire the target source(s) in order and answer with what they loaded.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { link, mkdir, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy, { type Busboy } from 'busboy';
import type { Context } from 'hono';
import { errorMessage, isCrossSite, type Logger, type Triggers } from '../../../core/sdk/index.ts';
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
  triggers: Triggers;
  stateDir: string;
  logger: Logger;
}

/** Room for the multipart envelope (boundaries, part headers, small fields) around the file itself. */
const FORM_OVERHEAD = 64 * 1024;

type Received = { ok: true; name: string; size: number } | { ok: false; status: 400 | 413 | 415; error: string };

export async function handleUpload(c: Context, upload: UploadTarget, ctx: UploadContext) {
  if (isCrossSite(c.req.raw)) return c.json({ error: 'cross-site upload refused' }, 403);
  const tooLarge = `the file is larger than ${upload.maxBytes} bytes`;
  const declared = Number(c.req.header('content-length') ?? 0);
  // Refused before reading (`connection: close`: the connection ends with the answer).
  if (declared > upload.maxBytes + FORM_OVERHEAD) {
    dropWhatFollows(c.req.raw.body);
    return c.json({ error: tooLarge }, 413, { connection: 'close' });
  }
  const dir = join(ctx.stateDir, 'uploads');
  await mkdir(dir, { recursive: true });
  const partial = join(dir, `.receiving-${randomUUID()}`);
  const received = await receiveFile(c, upload, partial).catch(async (error: unknown) => {
    await rm(partial, { force: true });
    throw error;
  });
  if (!received.ok) {
    await rm(partial, { force: true });
    return c.json({ error: received.error }, received.status, received.status === 413 ? { connection: 'close' } : {});
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const stored = `${stamp}-${safeFileName(received.name)}`;
  const path = join(dir, stored);
  await link(partial, path).finally(() => rm(partial, { force: true })); // never over another upload of the same instant
  const file = { name: received.name, size: received.size };
  ctx.logger.info(`upload ${stored} (${file.size} bytes) → ${upload.targets.join(', ')}`, { widget: upload.widget });
  const loaded = { records: 0, rejected: 0 };
  for (const target of upload.targets) {
    try {
      const result = await ctx.triggers.fire(target, {
        type: 'upload',
        file: path,
        filename: file.name,
        view: ctx.viewId,
      });
      loaded.records += result.records;
      loaded.rejected += result.rejected;
    } catch (error) {
      // The targets before this one have loaded the file; say so, so a retry is understood as a re-load.
      const done = upload.targets.slice(0, upload.targets.indexOf(target));
      ctx.logger.error(`upload ${stored}: ${target} failed`, { error: errorMessage(error) });
      const before = done.length ? ` (${done.join(', ')} loaded it)` : '';
      return c.json(
        {
          error: `the file was saved as ${stored} but ${target} failed${before}: ${errorMessage(error)}`,
          file: stored,
        },
        502,
      );
    }
  }
  return c.json({
    ...loaded,
    file: stored,
    deadLetter: `/dead-letter?steps=${upload.targets.map(encodeURIComponent).join(',')}`,
  });
}

/**
 * After a refusal, reads and drops what the client is still sending, for a few seconds and a few MB at most: a
 * socket closed with unread data is reset, and the reset can reach the client before it has read the answer (web
 * servers' "lingering close"). Memory stays at one chunk.
 */
function dropWhatFollows(
  body: ReadableStream<Uint8Array> | null,
  limits = { bytes: 16 * 1024 * 1024, ms: 3000 },
): void {
  if (!body || body.locked) return;
  const reader = body.getReader();
  const stop = () => void reader.cancel().catch(() => undefined);
  const timer = setTimeout(stop, limits.ms);
  void (async () => {
    let read = 0;
    try {
      for (let chunk = await reader.read(); !chunk.done && read <= limits.bytes; chunk = await reader.read())
        read += chunk.value.byteLength;
    } catch {
      /* the client went away: nothing left to drop */
    } finally {
      clearTimeout(timer);
      stop();
    }
  })();
}

/**
 * Streams the request's multipart body to `into`, the file part only, counting bytes as they arrive: past the limit
 * (the file's, or the whole body's for a chunked request without Content-Length) the request stops being read at
 * once. Memory stays at a few chunks whatever the size sent.
 */
async function receiveFile(c: Context, upload: UploadTarget, into: string): Promise<Received> {
  const contentType = c.req.header('content-type') ?? '';
  const body = c.req.raw.body;
  const malformed: Received = {
    ok: false,
    status: 400,
    error: 'send the file as multipart/form-data in a field named "file"',
  };
  if (!body || !/^multipart\/form-data/i.test(contentType)) return malformed;
  let parser: Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      preservePath: true,
      limits: { files: 1, fileSize: upload.maxBytes, fields: 20, fieldSize: 4096, parts: 30, headerPairs: 100 },
    });
  } catch {
    return malformed;
  }
  let outcome: Received | undefined;
  let saving: Promise<void> | undefined;
  let file: { name: string; size: number } | undefined;
  const stop = new AbortController();
  const fail = (result: Received) => {
    outcome ??= result;
    stop.abort();
  };
  parser.on('file', (field, stream, info) => {
    stream.on('error', () => undefined); // a part cut short by a refusal: the refusal is the answer
    const extension = extname(info.filename ?? '').toLowerCase();
    if (field !== 'file' || file) return void stream.resume();
    if (!upload.accept.includes(extension)) {
      stream.resume();
      return fail({
        ok: false,
        status: 415,
        error: `only ${upload.accept.join(', ')} files are accepted (got ${JSON.stringify(info.filename ?? '')})`,
      });
    }
    const current = (file = { name: info.filename ?? '', size: 0 });
    stream.on('data', (chunk: Buffer) => (current.size += chunk.length));
    stream.on('limit', () =>
      fail({ ok: false, status: 413, error: `${info.filename} is larger than ${upload.maxBytes} bytes` }),
    );
    saving = pipeline(stream, createWriteStream(into, { flags: 'wx' }), { signal: stop.signal }).catch(
      (error: unknown) => {
        if (!stop.signal.aborted) throw error;
      },
    );
  });
  const parsed = new Promise<void>((resolve) => {
    parser.once('close', resolve);
    // A body that is no multipart form; or the end of one cut short by a refusal (then the refusal is the answer).
    parser.on('error', () => {
      fail(malformed);
      resolve();
    });
  });
  const reader = body.getReader();
  let total = 0;
  try {
    while (!stop.signal.aborted) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > upload.maxBytes + FORM_OVERHEAD) {
        fail({ ok: false, status: 413, error: `the file is larger than ${upload.maxBytes} bytes` });
        break;
      }
      if (!parser.write(value))
        await Promise.race([
          once(parser, 'drain'),
          new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true })),
        ]);
    }
  } finally {
    if (stop.signal.aborted) {
      await reader.cancel().catch(() => undefined); // the rest of the body is never read
      parser.destroy();
    } else {
      parser.end();
      await parsed;
    }
  }
  await saving;
  if (outcome) return outcome;
  if (!file) return malformed;
  if (file.size === 0) return { ok: false, status: 400, error: `${file.name} is empty` };
  return { ok: true, ...file };
}
