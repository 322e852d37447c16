// 7. Dashboard payload: the bytes one GlobeMart tab moves over the network, as Chromium counts them (compressed, with
// headers) — the first load (page, styles, scripts, chart code, data) and each minute after it while the pipeline
// commits and the page updates live. The shipped manifest runs on its embedded defaults with its simulators on.
import { join } from 'node:path';
import { chromium, type CDPSession } from 'playwright-core';
import { CHROMIUM } from '../../tests/chromium.ts';
import { repoRoot, startPlatform } from '../../tests/cli.ts';
import { median, runs, scale, type Result } from '../lib.ts';
import { workDir } from '../pipeline.ts';

const FIRST_LOAD_TARGET_KB = 150;
const STEADY_TARGET_KB = 300;

/** Counts the bytes received per request (headers and body as sent, i.e. compressed), also of streams still open. */
function meter(cdp: CDPSession) {
  const received = new Map<string, number>();
  const finished = new Map<string, number>();
  cdp.on('Network.responseReceived', (e) =>
    received.set(e.requestId, (received.get(e.requestId) ?? 0) + (e.response.encodedDataLength ?? 0)),
  );
  cdp.on('Network.dataReceived', (e) =>
    received.set(e.requestId, (received.get(e.requestId) ?? 0) + (e.encodedDataLength || e.dataLength)),
  );
  cdp.on('Network.loadingFinished', (e) => finished.set(e.requestId, e.encodedDataLength));
  return {
    /** Bytes so far: a finished request's own total, else what arrived of it. */
    total: () =>
      [...new Set([...received.keys(), ...finished.keys()])].reduce(
        (sum, id) => sum + (finished.get(id) ?? received.get(id) ?? 0),
        0,
      ),
    requests: () => new Set([...received.keys(), ...finished.keys()]).size,
  };
}

export async function dashboardPayload(): Promise<Result[]> {
  const cwd = workDir('payload');
  const server = await startPlatform(['run', join(repoRoot, 'pipelines/globemart.yaml'), '--port', '0'], {
    cwd,
    timeoutMs: 120_000,
  });
  const browser = await chromium.launch(CHROMIUM);

  try {
    // Let the simulators fill the shop and the FX history first: the page then shows real amounts of data.
    await new Promise((r) => setTimeout(r, Math.max(5_000, 40_000 * Math.min(1, scale * 10))));
    const url = `${server.url}/views/dashboard`;
    const firstLoads: number[] = [];
    let requests = 0;
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      const bytes = meter(cdp);
      await page.goto(url, { waitUntil: 'networkidle' });
      await page.waitForTimeout(1000);
      firstLoads.push(bytes.total() / 1024);
      requests = bytes.requests();
      await context.close();
    }
    // One tab left open: the bytes of each following minute (live updates, heartbeats).
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const bytes = meter(cdp);
    await page.goto(url, { waitUntil: 'networkidle' });
    await page.waitForTimeout(2000);
    const minuteMs = Math.max(5_000, 60_000 * Math.min(1, scale));
    const minutes: number[] = [];
    for (let i = 0; i < runs; i++) {
      const before = bytes.total();
      await page.waitForTimeout(minuteMs);
      minutes.push(((bytes.total() - before) / 1024) * (60_000 / minuteMs));
    }
    await context.close();
    const first = median(firstLoads);
    const steady = median(minutes);
    return [
      {
        id: '9',
        title: 'Dashboard first load: one GlobeMart tab, compressed bytes until the network is idle',
        ours: first,
        limit: null,
        unit: 'KB',
        ratio: null,
        target: `≤ ${FIRST_LOAD_TARGET_KB} KB`,
        met: first <= FIRST_LOAD_TARGET_KB,
        note: `median of ${firstLoads.length}: ${firstLoads.map((k) => k.toFixed(1)).join(', ')} KB in ${requests} requests (HTML, CSS, scripts, chart code, data, event stream)`,
      },
      {
        id: '9a',
        title: 'Dashboard steady state: one open GlobeMart tab, compressed bytes a minute while the pipeline commits',
        ours: steady,
        limit: null,
        unit: 'KB/min',
        ratio: null,
        target: `≤ ${STEADY_TARGET_KB} KB/min`,
        met: steady <= STEADY_TARGET_KB,
        note: `median of ${minutes.length} windows of ${minuteMs / 1000} s: ${minutes.map((k) => k.toFixed(1)).join(', ')} KB/min (live refetches of the widgets whose producers committed, ETag revalidations, heartbeats)`,
      },
    ];
  } finally {
    await browser.close();
    await server.stop();
  }
}
