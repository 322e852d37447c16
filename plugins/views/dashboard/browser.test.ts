// The dashboard in a real browser (Debian Chromium through playwright-core): charts, filters, cascading options,
// live updates, uploads, escaping, theme. Screenshots go to test-artifacts/.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient, TriggerEvent, View } from '../../../core/sdk/index.ts';
import { createTestStep, type TestStep } from '../../../core/testing.ts';
import { fakeStatus, mountView, stepStats, tokenAccess } from '../shared/testing.ts';
import { globeMartConfig, seedGlobeMart } from './fixtures.ts';
import dashboard from './index.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '../../../test-artifacts');
const EVIL = '<script>window.__pwned=1</script>';

interface ChartData { categories?: string[]; series: { name?: string; data: unknown[] }[] }

declare global {
  interface Window {
    platformCharts: { instance(element: Element): { getOption(): Record<string, any> } | undefined };
    __pwned?: number;
    __marker?: string;
  }
}

describe('dashboard in a browser', () => {
  let step: TestStep<View>;
  let client: SqlClient;
  let server: ServerType;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  const fired: { step: string; event: TriggerEvent }[] = [];
  const problems: string[] = [];
  const status = fakeStatus([
    stepStats('orders', { kind: 'source', recordsOut: 4000, lastCommitAt: new Date().toISOString() }),
    stepStats('warehouse', { from: ['orders'], recordsIn: 4000, recordsOut: 4000, lastCommitAt: new Date().toISOString() }),
  ], 'globemart');

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    step = await createTestStep<View>(dashboard, 'view', globeMartConfig(), {
      id: 'revenue', from: ['warehouse'], connection: 'warehouse', connections: { warehouse: { type: 'duckdb', path: ':memory:' } },
      services: {
        status,
        // A public dashboard (as GlobeMart's) whose uploads need the uploader's token.
        access: tokenAccess({ uploader: 'up-secret' }, ['revenue']),
        triggers: { fire: async (target, event) => (fired.push({ step: target, event }), { records: 42, rejected: 2 }), targets: () => ['orders_file'] },
      },
    });
    client = await step.services.connections.get<SqlClient>('warehouse');
    await seedGlobeMart(client);
    await client.query(`INSERT INTO sales VALUES (now() - INTERVAL 2 MINUTE, 'FR', 'Paris', 'EUR', 12.5, 'sku-x', 'cat-0', $1)`, [EVIL]);
    const app = await mountView(step.plugin, 'revenue');
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'views-chromium-')), {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1440, height: 1000 },
      colorScheme: 'light',
    });
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => message.type() === 'error' || message.type() === 'warning' ? problems.push(`${message.type()}: ${message.text()}`) : undefined);
  });

  afterAll(async () => {
    await context?.close();
    await new Promise((resolve) => server?.close(resolve));
    await step?.close();
  });

  const chart = (id: string) => page.evaluate((widget) => {
    const element = document.querySelector(`[data-chart="${widget}"]`);
    const option = element && window.platformCharts.instance(element)?.getOption();
    if (!option) return null;
    return { categories: option.xAxis?.[0]?.data, series: option.series.map((s: { name?: string; data: unknown[] }) => ({ name: s.name, data: s.data })) };
  }, id) as Promise<ChartData | null>;

  const kpi = async (id: string) => Number(await page.getAttribute(`[data-widget="${id}"] .kpi-value`, 'data-value'));
  const api = async (path: string) => (await (await fetch(`${base}/api/views/revenue/${path}`)).json()) as { data: Record<string, unknown>[] };

  it('renders charts with the numbers of the data API', async () => {
    await page.goto(`${base}/views/revenue`);
    await page.waitForFunction(() => document.querySelectorAll('[data-chart] canvas').length >= 4);
    await page.waitForTimeout(500);
    const bars = await chart('by_country');
    const expected = (await api('by_country?period=7d')).data;
    expect(bars!.categories).toEqual(expected.map((r) => r.country));
    expect(bars!.series[0].data).toEqual(expected.map((r) => r.revenue));
    const fx = await chart('fx');
    expect(fx!.series.map((s) => s.name).sort()).toEqual(['EUR', 'GBP', 'USD']);
    expect(await kpi('orders')).toBe((await api('orders?period=7d')).data[0].value);
    expect(await page.getAttribute('[data-widget="health"] [data-status]', 'data-status')).toBe('WARN');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-light.png'), fullPage: true });
    expect(problems).toEqual([]); // hydration and charts without errors or warnings
  });

  it('renders injected markup in records as text: table cells and chart tooltips', async () => {
    await page.fill('[data-widget="recent"] input[type="search"]', 'pwned');
    const cell = page.locator('[data-widget="recent"] td', { hasText: 'window.__pwned' });
    await cell.waitFor();
    expect(await cell.textContent()).toBe(EVIL);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();

    const name = '<img src=x onerror="window.__pwned=2">';
    await client.query(`INSERT INTO sales VALUES (now() - INTERVAL 3 MINUTE, $1, 'x', 'EUR', 5000, 'sku-x', 'cat-0', '')`, [name]);
    // As a sink would: the commit tells the view (and its query cache) that the data changed.
    step.services.events.emit({ type: 'commit', step: 'warehouse', records: 1, at: new Date() });
    await page.goto(`${base}/views/revenue`);
    await page.waitForFunction(() => document.querySelectorAll('[data-chart] canvas').length >= 4);
    const shown = await page.evaluate((country) => {
      const element = document.querySelector('[data-chart="by_country"]')!;
      const chart = window.platformCharts.instance(element) as unknown as { dispatchAction(a: object): void; getOption(): Record<string, any> };
      chart.dispatchAction({ type: 'showTip', seriesIndex: 0, dataIndex: chart.getOption().xAxis[0].data.indexOf(country) });
      return (element.querySelector('div[style*="z-index"]') ?? element.lastElementChild)?.textContent ?? '';
    }, name);
    expect(shown).toContain(name);
    await page.waitForTimeout(100);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    await client.query('DELETE FROM sales WHERE country = $1', [name]);
    step.services.events.emit({ type: 'commit', step: 'warehouse', records: 1, at: new Date() });
  });

  it('changes the charts when a filter changes, and narrows cascading options', async () => {
    await page.goto(`${base}/views/revenue`);
    await page.waitForFunction(() => document.querySelectorAll('[data-chart] canvas').length >= 4);
    await page.evaluate(() => (window.__marker = 'no reload'));
    await page.selectOption('select[data-filter="country"]', 'DE');
    await page.waitForFunction(() => {
      const element = document.querySelector('[data-chart="by_country"]');
      return JSON.stringify(element && window.platformCharts.instance(element)?.getOption().xAxis[0].data) === '["DE"]';
    });
    const germany = (await api('orders?period=7d&country=DE')).data[0].value;
    await page.waitForFunction((n) => document.querySelector('[data-widget="orders"] .kpi-value')?.getAttribute('data-value') === String(n), germany);
    expect(page.url()).toContain('country=DE');

    await page.click('[data-filter="period"] button[data-value="12h"]');
    await page.waitForFunction(() => document.querySelector('[data-widget="orders"] .kpi-value')?.getAttribute('data-value') === '12');
    await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
    await page.waitForTimeout(600); // let the charts' transition finish before the screenshot
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-filtered.png'), fullPage: true });

    const countries = () => page.$$eval('select[data-filter="country"] option', (options) => options.map((o) => (o as HTMLOptionElement).value));
    expect(await countries()).toEqual(['', 'DE', 'FR', 'GB', 'JP', 'US']);
    await page.selectOption('select[data-filter="region"]', 'Asia');
    await page.waitForFunction(() => document.querySelectorAll('select[data-filter="country"] option').length === 2);
    expect(await countries()).toEqual(['', 'JP']);
    expect(await page.inputValue('select[data-filter="country"]')).toBe(''); // DE is not in Asia: cleared
    await page.waitForFunction(() => {
      const element = document.querySelector('[data-chart="by_country"]');
      return (element && window.platformCharts.instance(element)?.getOption().xAxis[0].data.length) === 5;
    });
    expect(await page.evaluate(() => window.__marker)).toBe('no reload');
  });

  it('shows a live update after a commit without reloading', async () => {
    await page.goto(`${base}/views/revenue?period=24h`);
    await page.waitForSelector('[data-live="live"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-chart] canvas').length >= 4);
    await page.evaluate(() => (window.__marker = 'same page'));
    const before = await kpi('orders');
    const beforeBars = await chart('by_country');
    await client.exec(`INSERT INTO sales SELECT now() - INTERVAL 1 MINUTE, 'US', 'Boston', 'USD', 1000, 'sku-live', 'cat-1', 'live' FROM range(3)`);
    step.services.events.emit({ type: 'commit', step: 'warehouse', records: 3, at: new Date() });
    await page.waitForFunction((n) => Number(document.querySelector('[data-widget="orders"] .kpi-value')?.getAttribute('data-value')) === n, before + 3, { timeout: 5000 });
    const us = (c: ChartData | null) => c!.series[0].data[c!.categories!.indexOf('US')] as number;
    const target = us(beforeBars) + 3000;
    await page.waitForFunction((value) => {
      const element = document.querySelector('[data-chart="by_country"]');
      const option = element && window.platformCharts.instance(element)?.getOption();
      return option && Math.abs(option.series[0].data[option.xAxis[0].data.indexOf('US')] - value) < 0.01;
    }, target, { timeout: 5000 });
    expect(await page.evaluate(() => window.__marker)).toBe('same page');
  });

  it('refuses an upload without the uploader token and accepts it with the token', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'views-upload-')), 'orders.csv');
    writeFileSync(file, 'country,amount\nDE,10\n');
    const widget = page.locator('[data-widget="orders_upload"]');
    await widget.locator('input[type="file"]').setInputFiles(file);
    await widget.locator('[data-upload="failed"]').waitFor();
    expect(await widget.locator('[data-upload="failed"]').textContent()).toMatch(/needs the uploader role/);
    expect(fired).toHaveLength(0);
    await widget.locator('input[type="password"]').fill('up-secret');
    const chooser = page.waitForEvent('filechooser');
    await widget.locator('button[type="submit"]').click();
    await (await chooser).setFiles(file);
    await widget.locator('[data-upload="done"]').waitFor();
    expect(await widget.locator('[data-upload="done"]').textContent()).toMatch(/orders\.csv: 42 records loaded, 2 rejected/);
    expect(await widget.locator('[data-upload="done"] a').getAttribute('href')).toBe('/dead-letter?steps=orders_file');
    expect(fired).toHaveLength(1);
    expect(fired[0].event).toMatchObject({ type: 'upload', filename: 'orders.csv', view: 'revenue' });
    await widget.screenshot({ path: join(ARTIFACTS, 'upload-done.png') });
  });

  it('toggles and remembers the dark theme, and fits a phone', async () => {
    await page.click('[data-theme-toggle]');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('[data-chart] canvas').length >= 4);
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    expect(await page.evaluate(() => localStorage.getItem('platform-theme'))).toBe('dark');
    await page.evaluate(() => scrollTo(0, 0));
    await page.waitForTimeout(450); // chart entry animation
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-dark.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => scrollTo(0, 0));
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
    await page.click('[data-theme-toggle]');
    await page.setViewportSize({ width: 1440, height: 1000 });
  });
});
