#!/usr/bin/env node
// Screenshots of every shipped dashboard and the pipeline page, at 1440 px and 390 px, light and dark, as users see
// them: each pipeline runs on its embedded defaults in a folder of its own (batch days backfilled with --once --date,
// the stock workbook uploaded through its page), then Chromium opens its pages.
// Usage: node scripts/dev/screenshots.mjs [out-dir] [pipeline...]     (default out-dir: test-artifacts/screens)
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const [outArg, ...only] = process.argv.slice(2);
const OUT = outArg ?? join(ROOT, 'test-artifacts/screens');
const CLI = join(ROOT, 'cli/bin.mjs');
const day = (offset) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

const PIPELINES = [
  { name: 'globemart', port: 18180, settle: 45_000, pages: ['/views/dashboard', '/pipeline'] },
  { name: 'revenue-monitor', port: 18181, settle: 40_000, pages: ['/views/monitor'] },
  { name: 'sales-etl', port: 18182, settle: 15_000, backfill: [-4, -3, -2, -1], pages: ['/views/dashboard'] },
  {
    name: 'batch-analytics',
    port: 18183,
    settle: 10_000,
    backfill: [-8, -7, -6, -5, -4, -3, -2, -1],
    pages: ['/views/dashboard'],
  },
  {
    name: 'economic-analytics',
    port: 18184,
    settle: 5_000,
    upload: { path: '/api/views/upload/upload/workbook', file: 'pipelines/data/stock_data.xlsx' },
    after: 20_000,
    pages: ['/views/upload', '/views/admin'],
  },
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(url, ms = 60_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      /* not up yet */
    }
    await sleep(500);
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

mkdirSync(OUT, { recursive: true });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const problems = [];
for (const pipeline of PIPELINES.filter((p) => !only.length || only.includes(p.name))) {
  const cwd = mkdtempSync(join(tmpdir(), `screens-${pipeline.name}-`));
  const manifest = join(ROOT, 'pipelines', `${pipeline.name}.yaml`);
  for (const offset of pipeline.backfill ?? []) {
    const run = spawnSync('node', [CLI, 'run', manifest, '--once', '--date', day(offset)], { cwd, encoding: 'utf8' });
    if (run.status !== 0)
      problems.push(`${pipeline.name} --once --date ${day(offset)}: exit ${run.status}\n${run.stderr.slice(-2000)}`);
  }
  const child = spawn('node', [CLI, 'run', manifest, '--port', String(pipeline.port)], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (chunk) => (log += chunk));
  const base = `http://127.0.0.1:${pipeline.port}`;
  try {
    await waitFor(`${base}/healthz`);
    await sleep(pipeline.settle);
    if (pipeline.upload) {
      const form = new FormData();
      form.append(
        'file',
        new Blob([readFileSync(join(ROOT, pipeline.upload.file))]),
        pipeline.upload.file.split('/').pop(),
      );
      const response = await fetch(`${base}${pipeline.upload.path}`, { method: 'POST', body: form });
      console.log(`${pipeline.name}: upload ${response.status} ${await response.text()}`);
      await sleep(pipeline.after ?? 10_000);
    }
    for (const path of pipeline.pages) {
      for (const [width, height] of [
        [1440, 1000],
        [390, 844],
      ]) {
        for (const scheme of ['light', 'dark']) {
          const context = await browser.newContext({ viewport: { width, height }, colorScheme: scheme });
          const page = await context.newPage();
          page.on('pageerror', (e) => problems.push(`${pipeline.name}${path} ${width} ${scheme}: ${e.message}`));
          page.on('console', (m) =>
            m.type() === 'error' ? problems.push(`${pipeline.name}${path} ${width} ${scheme}: ${m.text()}`) : undefined,
          );
          await page.goto(`${base}${path}`);
          await page.waitForLoadState('networkidle').catch(() => undefined);
          await sleep(1500);
          const overflow = await page.evaluate(
            () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
          );
          if (overflow > 0)
            problems.push(
              `${pipeline.name}${path} ${width} ${scheme}: the page is ${overflow} px wider than the screen`,
            );
          const file = join(OUT, `${pipeline.name}${path.replaceAll('/', '_')}-${width}-${scheme}.png`);
          await page.screenshot({ path: file, fullPage: true });
          console.log(file);
          // Phone pages are long: also in screen-sized parts, readable one at a time.
          if (width < 640 && process.env.SCREEN_PARTS) {
            const total = await page.evaluate(() => document.documentElement.scrollHeight);
            for (let y = 0, part = 1; y < total; y += height, part++) {
              await page.screenshot({
                path: file.replace(/\.png$/, `-part${part}.png`),
                fullPage: true,
                clip: { x: 0, y, width, height: Math.min(height, total - y) },
              });
            }
          }
          await context.close();
        }
      }
    }
  } catch (error) {
    problems.push(`${pipeline.name}: ${error.message}\n${log.slice(-3000)}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}
await browser.close();
console.log(problems.length ? `problems:\n${problems.join('\n')}` : 'no page errors');
