// POST /api/views/<id>/upload/<widget> (after the role check): size and extension checks, save under <StateDir>/uploads,
// fire the target source(s) in order and answer with what they loaded.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { link, mkdir, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
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

type Received =
  | { ok: true; name: string; size: number }
  | { ok: false; status: 400 | 413 | 415; error: string; rest?: ReadableStreamDefaultReader<Uint8Array> };

export async function handleUpload(c: Context, upload: UploadTarget, ctx: UploadContext) {
  if (isCrossSite(c.req.raw)) return c.json({ error: 'cross-site upload refused' }, 403);
  const tooLarge = `the file is larger than ${upload.maxBytes} bytes`;
  const declared = Number(c.req.header('content-length') ?? 0);
  // Refused before reading: the connection ends with the answer.
  if (declared > upload.maxBytes + FORM_OVERHEAD)
    return refuseAndClose(c, { error: tooLarge }, c.req.raw.body?.getReader());
  const dir = join(ctx.stateDir, 'uploads');
  await mkdir(dir, { recursive: true });
  const partial = join(dir, `.receiving-${randomUUID()}`);
  const received = await receiveFile(c, upload, partial).catch(async (error: unknown) => {
    await rm(partial, { force: true });
    throw error;
  });
  if (!received.ok) {
    await rm(partial, { force: true });
    if (received.status === 413) return refuseAndClose(c, { error: received.error }, received.rest);
    return c.json({ error: received.error }, received.status);
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

/** How long, and how many bytes, a refused upload's connection is read on after the answer (see refuseAndClose). */
const LINGER = { ms: 10_000, bytes: 64 * 1024 * 1024 };

/**
 * Answers 413 to an upload whose body is still coming, and closes the connection gracefully (HTTP's "lingering
 * close"): the answer, then the end of the server's side, then what the client still sends is read and dropped (one
 * chunk in memory) until the client closes its side, LINGER's time or bytes at most. Closing the socket at once with
 * the client's data unread resets the connection, and a client still writing then sees its write fail (or the reset)
 * before it has read the answer: the refusal looked like a dropped connection. Node's HTTP server closes a response
 * with `connection: close` that way, so the answer is written on the connection here and the response is not ended.
 */
function refuseAndClose(c: Context, answer: { error: string }, rest?: ReadableStreamDefaultReader<Uint8Array>) {
  const { outgoing } = (c.env ?? {}) as Partial<HttpBindings>;
  const socket = outgoing?.socket;
  if (!outgoing || !socket || outgoing.headersSent || !('writeHead' in outgoing)) {
    void rest?.cancel().catch(() => undefined);
    return c.json(answer, 413, { connection: 'close' }); // not over Node's HTTP server (e.g. app.request in tests)
  }
  const body = JSON.stringify(answer);
  outgoing.writeHead(413, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  outgoing.write(body);
  socket.end(); // after the answer: the client reads it, then the end of the connection
  // Once the answer and the end are written (destroying the socket before would drop them).
  const close = () => (socket.writableFinished ? socket.destroy() : socket.once('finish', () => socket.destroy()));
  const timer = setTimeout(close, LINGER.ms);
  timer.unref();
  void (async () => {
    let read = 0;
    try {
      if (rest)
        for (let chunk = await rest.read(); !chunk.done && read <= LINGER.bytes; chunk = await rest.read())
          read += chunk.value.byteLength;
    } catch {
      /* the client closed its side: nothing left to drop */
    } finally {
      clearTimeout(timer);
      void rest?.cancel().catch(() => undefined);
      close();
    }
  })();
  return RESPONSE_ALREADY_SENT;
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
      parser.destroy();
      // The rest of the body is not parsed: a refusal for size drops it while the connection closes, others cancel it.
      if (outcome && !outcome.ok && outcome.status === 413) outcome.rest = reader;
      else await reader.cancel().catch(() => undefined);
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
