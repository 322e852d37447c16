// Uploads against a running server (economic-analytics, as users run it): a body past the limit is refused while it
// streams, chunked or not, and the server's memory does not grow with what the client sends.
import { request } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startPlatform } from '../../../tests/cli.ts';

const MB = 1024 * 1024;
const TOKEN = 'accountant-upload-secret';

/** Peak and current resident memory of a process, in MB (Linux /proc). */
function memory(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]);
  return { peak: kb('VmHWM') / 1024, now: kb('VmRSS') / 1024 };
}

/**
 * Sends a multipart upload of `size` bytes in 1 MB chunks, chunked (no Content-Length) unless `declare`; stops
 * sending once the server answers. Resolves with the answer and how much had been sent by then.
 */
function upload(url: string, size: number, declare: boolean): Promise<{ status: number; body: string; sentMb: number }> {
  const boundary = '----platform-upload-limit';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const chunk = Buffer.alloc(MB, 7);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const headers: Record<string, string | number> = { 'content-type': `multipart/form-data; boundary=${boundary}`, authorization: `Bearer ${TOKEN}` };
    if (declare) headers['content-length'] = head.length + size + tail.length;
    const req = request(`${url}/api/views/upload/upload/workbook`, { method: 'POST', headers }, (res) => {
      answered = true;
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, sentMb: sent / MB }));
    });
    req.on('error', (error) => {
      // The server closes the connection after its answer; a write racing that is expected.
      if (!answered) reject(error);
    });
    const pump = () => {
      if (answered) return;
      if (sent === 0) req.write(head);
      while (!answered && sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end(tail);
    };
    pump();
  });
}

describe('uploads stream with a hard byte limit (economic-analytics server)', () => {
  let server: Awaited<ReturnType<typeof startPlatform>>;
  let baseline: number;

  beforeAll(async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'upload-limit-'));
    server = await startPlatform(['run', 'pipelines/economic-analytics.yaml', '--state-dir', stateDir], {
      env: { ECON_PORT: '0', ECON_ACCOUNTANT_TOKEN: TOKEN, ECON_ADMIN_TOKEN: 'admin-upload-secret' }, timeoutMs: 120_000,
    });
    baseline = memory(server.child.pid!).now;
  }, 130_000);
  afterAll(() => server?.stop());

  it('refuses a 300 MB chunked upload (no Content-Length) with 413 while it streams; peak RSS stays under 300 MB', async () => {
    const answer = await upload(server.url, 300 * MB, false);
    const { peak, now } = memory(server.child.pid!);
    console.log(`upload-limit: baseline RSS ${baseline.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, after ${now.toFixed(0)} MB; 413 after ${answer.sentMb} MB sent of 300`);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ error: 'big.xlsx is larger than 26214400 bytes' });
    expect(peak).toBeLessThan(300);
    expect(answer.sentMb).toBeLessThan(300); // answered before the body ended: it was not read to the end
  }, 120_000);

  it('refuses a declared 300 MB upload before reading it, and then still serves', async () => {
    const answer = await upload(server.url, 300 * MB, true);
    expect(answer.status).toBe(413);
    expect(answer.sentMb).toBeLessThan(300);
    expect(memory(server.child.pid!).peak).toBeLessThan(300);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }, 120_000);

  it('still takes a workbook within the limit (the sample stock workbook), whole', async () => {
    const form = new FormData();
    form.append('file', new File([readFileSync(join(repoRoot, 'pipelines/data/stock_data.xlsx'))], 'stock_data.xlsx'));
    const response = await fetch(`${server.url}/api/views/upload/upload/workbook`, { method: 'POST', body: form, headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await response.json()) as { records: number; file: string };
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.records).toBeGreaterThan(0);
    expect(body.file).toMatch(/-stock_data\.xlsx$/);
  }, 120_000);
});
