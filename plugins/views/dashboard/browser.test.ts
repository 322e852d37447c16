// The dashboard in a real browser (Debian Chromium through playwright-core): charts and cards show the numbers of
// the data API, filters (also while live refreshes race them), automatic filter binding, number formatting,
// live updates, uploads, escaping, the dark theme and the phone menu. Screenshots go to test-artifacts/.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient, TriggerEvent, View } from '../../../core/sdk/index.ts';
import { createTestStep, type TestStep } from '../../../core/testing.ts';
import { CHROMIUM } from '../../../tests/chromium.ts';
import { fakeStatus, mountView, stepStats, tokenAccess } from '../shared/testing.ts';
import { globeMartConfig, seedGlobeMart } from './fixtures.ts';
import dashboard from './index.ts';

const ARTIFACTS = join(import.meta.dirname, '../../../test-artifacts');
const EVIL = '<script>window.__pwned=1</script>';

interface Drawn {
  series: { name: string; raw: (number | null)[] }[];
  x: number[];
  indexed: boolean;
}

declare global {
  interface Window {
    platformCharts: { data(element: Element): Drawn | null };
    __pwned?: number;
    __marker?: string;
  }
}

type Row = Record<string, unknown>;
type Api = { data: Row[]; meta: { total?: number; columns: { name: string }[] }; status?: string };

/** Widgets that show automatic binding and formatting, next to the GlobeMart fixture's. */
const EXTRA = [
  // Uses :region in its SQL but lists only `period`: bound to region all the same (and refreshed when it changes).
  {
    id: 'region_orders',
    type: 'kpi',
    title: 'Orders in the region',
    format: 'integer',
    filters: ['period'],
    filterColumns: { period: 's.ts' },
    query:
      'SELECT count(*) AS value FROM sales s JOIN regions r USING (country, city) WHERE (:region IS NULL OR r.region = :region) {{and}}',
  },
  {
    id: 'amounts',
    type: 'table',
    title: 'Amounts as sold',
    pageSize: 5,
    filters: ['country'],
    columns: { amount: { currencyColumn: 'currency' }, rate: { decimals: 4 }, big: { label: 'Big order' } },
    query:
      "SELECT ts AS TRANSACTION_TIME, country, currency, amount, amount / 157.3 AS rate, amount > 150 AS big, DATE '2026-11-20' AS day FROM sales {{where}} ORDER BY ts DESC, country",
  },
];

describe('dashboard in a browser', () => {
  let step: TestStep<View>;
  let client: SqlClient;
  let server: ServerType;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  const fired: { step: string; event: TriggerEvent }[] = [];
  const problems: string[] = [];
  const status = fakeStatus(
    [
      stepStats('orders', { kind: 'source', recordsOut: 4000, lastCommitAt: new Date().toISOString() }),
      stepStats('warehouse', {
        from: ['orders'],
        recordsIn: 4000,
        recordsOut: 4000,
        lastCommitAt: new Date().toISOString(),
      }),
    ],
    'globemart',
  );

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    step = await createTestStep<View>(dashboard, 'view', globeMartConfig({ widgets: EXTRA }), {
      id: 'revenue',
      from: ['warehouse'],
      connection: 'warehouse',
      connections: { warehouse: { type: 'duckdb', path: ':memory:' } },
      services: {
        status,
        // A public dashboard (as GlobeMart's) whose uploads need the uploader's token.
        access: tokenAccess({ uploader: 'up-secret' }, ['revenue']),
        triggers: {
          fire: async (target, event) => (fired.push({ step: target, event }), { records: 42, rejected: 2 }),
          targets: () => ['orders_file'],
        },
      },
    });
    client = await step.services.connections.get<SqlClient>('warehouse');
    await seedGlobeMart(client);
    await client.query(
      `INSERT INTO sales VALUES (now() - INTERVAL 2 MINUTE, 'FR', 'Paris', 'EUR', 961.73, 'sku-x', 'cat-0', $1)`,
      [EVIL],
    );
    const app = await mountView(step.plugin, 'revenue');
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'views-chromium-')), {
      ...CHROMIUM,
      viewport: { width: 1440, height: 1000 },
      colorScheme: 'light',
    });
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) =>
      message.type() === 'error' || message.type() === 'warning'
        ? problems.push(`${message.type()}: ${message.text()}`)
        : undefined,
    );
  });

  afterAll(async () => {
    await context?.close();
    await new Promise((resolve) => server?.close(resolve));
    await step?.close();
  });

  const api = async (path: string) => (await (await fetch(`${base}/api/views/revenue/${path}`)).json()) as Api;
  const commit = (records = 1) =>
    step.services.events.emit({ type: 'commit', step: 'warehouse', records, at: new Date() });
  // Nothing loading, and every time chart on the page drawn (a card with no rows shows its empty state instead).
  const settled = () =>
    page.waitForFunction(
      () =>
        !document.querySelector('[aria-busy="true"]') &&
        [...document.querySelectorAll('.chart-canvas')].every((e) => e.querySelector('canvas')),
    );
  const open = async (query = '') => {
    await page.goto(`${base}/views/revenue${query}`);
    await page.waitForSelector('[data-live="live"]');
    await settled();
  };

  /** What a card shows, read from the page: a KPI's value, bars, slices, the drawn series, a table's rows. */
  const shown = (id: string) =>
    page.evaluate((widget) => {
      const card = document.querySelector(`[data-widget="${widget}"]`)!;
      const kpi = card.querySelector('.kpi-value');
      if (kpi) return { kpi: kpi.getAttribute('data-value') };
      const status = card.querySelector('[data-status]');
      if (status) return { status: status.getAttribute('data-status') };
      const canvas = card.querySelector('.chart-canvas');
      if (canvas) {
        const drawn = window.platformCharts.data(canvas);
        return {
          series: drawn?.series.map((s) => [
            s.name,
            s.raw.filter((v) => v !== null).length,
            Math.round(s.raw.reduce<number>((n, v) => n + (v ?? 0), 0) * 100) / 100,
          ]),
        };
      }
      const bars = [...card.querySelectorAll('.bar-table tr')];
      if (bars.length)
        return {
          bars: bars.map((tr) => [
            tr.getAttribute('data-label'),
            Number(tr.querySelector('.bar-line')!.getAttribute('data-value')),
          ]),
        };
      const slices = [...card.querySelectorAll('.pie-legend li')];
      if (slices.length)
        return { slices: slices.map((li) => [li.getAttribute('data-label'), Number(li.getAttribute('data-value'))]) };
      const table = card.querySelector('.table');
      if (table) return { table: [Number(table.getAttribute('data-total')), card.querySelectorAll('tbody tr').length] };
      const empty = card.querySelector('[data-empty]');
      return { empty: empty?.getAttribute('data-empty') ?? 'unknown' };
    }, id);

  /** The same, computed from the data API for the filters in the page's address. */
  const expected = async (id: string, query: string) => {
    const body = await api(`${id}?${query}`);
    const rows = body.data;
    if (body.status) return { status: body.status };
    switch (id) {
      case 'revenue':
      case 'orders':
      case 'avg_order':
      case 'small_orders':
      case 'region_orders':
        return rows.length ? { kpi: String(rows[0].value ?? '') } : { empty: 'none' };
      case 'by_country':
        return rows.length ? { bars: rows.map((r) => [r.country, r.revenue]) } : { empty: 'filtered' };
      case 'by_currency':
        return rows.length ? { slices: rows.map((r) => [r.currency, r.revenue]) } : { empty: 'filtered' };
      case 'hourly':
        return rows.length
          ? {
              series: [
                ['revenue', rows.length, Math.round(rows.reduce((n, r) => n + (r.revenue as number), 0) * 100) / 100],
              ],
            }
          : { empty: 'filtered' };
      case 'fx': {
        const names = [...new Set(rows.map((r) => r.currency as string))].sort();
        return {
          series: names.map((name) => {
            const mine = rows.filter((r) => r.currency === name);
            return [name, mine.length, Math.round(mine.reduce((n, r) => n + (r.rate as number), 0) * 100) / 100];
          }),
        };
      }
      default: {
        // The page shows one page of a table (recent: 8 rows, amounts: 5); the API answers as many as asked for.
        const page = await api(`${id}?${query}${query ? '&' : ''}limit=${id === 'recent' ? 8 : 5}`);
        return { table: [page.meta.total, page.data.length] };
      }
    }
  };
  const WIDGETS = [
    'revenue',
    'orders',
    'avg_order',
    'small_orders',
    'region_orders',
    'health',
    'by_country',
    'by_currency',
    'hourly',
    'fx',
    'recent',
    'amounts',
  ];

  const everyWidgetMatchesTheApi = async () => {
    const query = new URL(page.url()).search.slice(1);
    for (const id of WIDGETS) {
      const want = await expected(id, query);
      const got = await shown(id);
      if (id === 'hourly' || id === 'fx') {
        // Drawn values and API values may differ in the last cent after the chart's own rounding of sums.
        const g = (got as { series?: [string, number, number][] }).series ?? [];
        const w = (want as { series?: [string, number, number][] }).series ?? [];
        expect(
          g.map(([n, c]) => [n, c]),
          `${id} for ?${query}`,
        ).toEqual(w.map(([n, c]) => [n, c]));
        g.forEach(([, , sum], i) => expect(sum, `${id} sum for ?${query}`).toBeCloseTo(w[i][2], 1));
      } else expect(got, `${id} for ?${query}`).toEqual(want);
    }
  };

  it('renders every card with the numbers of the data API', async () => {
    await open();
    await everyWidgetMatchesTheApi();
    expect(await page.getAttribute('[data-widget="health"] [data-status]', 'data-status')).toBe('WARN');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-light.png'), fullPage: true });
    expect(problems).toEqual([]); // hydration and charts without errors or warnings
  });

  it('formats numbers by column type and declared unit, headers readable, dates in one style', async () => {
    const card = page.locator('[data-widget="amounts"]');
    await card.locator('input[type="search"]').fill('961.73');
    await page.waitForFunction(
      () => document.querySelector('[data-widget="amounts"] .table')?.getAttribute('data-total') === '1',
    );
    const headers = await card.locator('thead th').allTextContents();
    expect(headers).toEqual(['Transaction time (UTC)', 'Country', 'Currency', 'Amount', 'Rate', 'Big order', 'Day']);
    const cells = await card.locator('tbody tr').first().locator('td').allTextContents();
    expect(cells[0]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(cells.slice(1)).toEqual(['FR', 'EUR', '€961.73', '6.1140', 'Yes', '2026-11-20']);
    // KPI figures: currency with three significant digits when compact, percentages from fractions.
    expect(await page.textContent('[data-widget="revenue"] .kpi-value')).toMatch(/^€\d{1,3}(\.\d+)?K$|^€\d\.\d\dM$/);
    expect(await page.textContent('[data-widget="small_orders"] .kpi-value')).toMatch(/^\d{1,2}(\.\d)?%$/);
    // The alert's fields take the columns' formats; no raw fractions or column names.
    expect(await page.textContent('[data-widget="health"] .alert-fields')).toMatch(
      /^Orders[\d,]+Revenue€[\d,]+\.\d\d$/,
    );
    expect(await page.textContent('[data-widget="health"] .reasons')).toMatch(/^revenue €[\d,]+\.\d\d below target$/);
  });

  it('renders injected markup in records as text', async () => {
    await page.fill('[data-widget="recent"] input[type="search"]', 'pwned');
    const cell = page.locator('[data-widget="recent"] td', { hasText: 'window.__pwned' });
    await cell.waitFor();
    expect(await cell.textContent()).toBe(EVIL);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    const name = '<img src=x onerror="window.__pwned=2">';
    await client.query(
      `INSERT INTO sales VALUES (now() - INTERVAL 3 MINUTE, $1, 'x', 'EUR', 5000, 'sku-x', 'cat-0', '')`,
      [name],
    );
    commit();
    await page.goto(`${base}/views/revenue`);
    await page.waitForSelector(`[data-widget="by_country"] tr[data-label="${name.replaceAll('"', '\\"')}"]`);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    await client.query('DELETE FROM sales WHERE country = $1', [name]);
    commit();
  });

  it('binds a filter to every widget whose query uses it, and says which filters a card ignores', async () => {
    await open();
    const all = await shown('region_orders');
    await page.selectOption('select[data-filter="region"]', 'Asia');
    await page.waitForFunction(
      (before) =>
        document.querySelector('[data-widget="region_orders"] .kpi-value')?.getAttribute('data-value') !== before,
      all.kpi,
    );
    await settled();
    expect((await shown('region_orders')).kpi).toBe(String((await api('region_orders?region=Asia')).data[0].value));
    expect(Number((await shown('region_orders')).kpi)).toBeLessThan(Number(all.kpi));
    // The table ignores period, region and currency; the FX chart everything but period.
    expect(await page.getAttribute('[data-widget="amounts"] [data-ignores]', 'data-ignores')).toBe(
      'Period|Region|Currency',
    );
    expect(await page.getAttribute('[data-widget="fx"] [data-ignores]', 'data-ignores')).toBe(
      'Region|Country|Currency',
    );
    expect(await page.getAttribute('[data-widget="orders"] [data-ignores]', 'data-ignores')).toBe('Region'); // country narrows by region; region itself does not filter
    expect(await page.locator('[data-widget="orders_upload"] [data-ignores]').count()).toBe(0); // no query, nothing to filter
    await everyWidgetMatchesTheApi();
  });

  it('changes the cards when a filter changes, narrows cascading options, and closes the multi-select on Escape and outside clicks', async () => {
    await open();
    await page.evaluate(() => (window.__marker = 'no reload'));
    await page.selectOption('select[data-filter="country"]', 'DE');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-widget="by_country"] .bar-table tr').length === 1,
    );
    await settled();
    expect(page.url()).toContain('country=DE');
    await everyWidgetMatchesTheApi();

    const countries = () =>
      page.$$eval('select[data-filter="country"] option', (options) =>
        options.map((o) => (o as HTMLOptionElement).value),
      );
    await page.selectOption('select[data-filter="region"]', 'Asia');
    await page.waitForFunction(() => document.querySelectorAll('select[data-filter="country"] option').length === 2);
    expect(await countries()).toEqual(['', 'JP']);
    expect(await page.inputValue('select[data-filter="country"]')).toBe(''); // DE is not in Asia: cleared
    await settled();

    const multi = page.locator('details[data-filter="currency"]');
    await multi.locator('summary').click();
    expect(await multi.getAttribute('open')).not.toBeNull();
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('details[data-filter="currency"]')!.hasAttribute('open'));
    await multi.locator('summary').click();
    await multi.locator('input[value="EUR"]').check();
    await page.mouse.click(5, 300);
    await page.waitForFunction(() => !document.querySelector('details[data-filter="currency"]')!.hasAttribute('open'));
    await settled();
    await everyWidgetMatchesTheApi();
    expect(await page.evaluate(() => window.__marker)).toBe('no reload');
  });

  it('keeps every card on the answer for the current filters while live refreshes race filter changes', async () => {
    await open();
    let inserting = true;
    let n = 0;
    // Commits every 40 ms (new rows each time) while the filters change faster than the answers come back.
    const writer = (async () => {
      while (inserting) {
        await client.exec(
          `INSERT INTO sales SELECT now() - INTERVAL 1 MINUTE, 'US', 'Boston', 'USD', ${100 + (n++ % 50)}, 'sku-race', 'cat-1', 'race'`,
        );
        commit();
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    const steps: (() => Promise<unknown>)[] = [
      () => page.selectOption('select[data-filter="country"]', 'US'),
      () => page.click('[data-filter="period"] button[data-value="12h"]'),
      () => page.selectOption('select[data-filter="country"]', 'DE'),
      () => page.click('[data-filter="period"] button[data-value="24h"]'),
      () => page.selectOption('select[data-filter="region"]', 'Americas'),
      () => page.selectOption('select[data-filter="country"]', 'US'),
      () => page.click('[data-filter="period"] button[data-value="7d"]'),
      () => page.selectOption('select[data-filter="region"]', ''),
      () => page.selectOption('select[data-filter="country"]', 'FR'),
      () => page.click('[data-filter="period"] button[data-value="12h"]'),
    ];
    for (const change of steps) {
      await change();
      await page.waitForTimeout(15 + Math.random() * 60);
    }
    inserting = false;
    await writer;
    commit();
    await page.waitForTimeout(400);
    await settled();
    await page.waitForTimeout(300);
    await settled();
    expect(page.url()).toContain('country=FR');
    expect(page.url()).toContain('period=12h');
    await everyWidgetMatchesTheApi();
    expect(problems).toEqual([]);
  });

  it('shows a live update after a commit without reloading', async () => {
    await open('?period=24h');
    await page.evaluate(() => (window.__marker = 'same page'));
    const before = Number((await shown('orders')).kpi);
    await client.exec(
      `INSERT INTO sales SELECT now() - INTERVAL 1 MINUTE, 'US', 'Boston', 'USD', 1000, 'sku-live', 'cat-1', 'live' FROM range(3)`,
    );
    commit(3);
    await page.waitForFunction(
      (n) => Number(document.querySelector('[data-widget="orders"] .kpi-value')?.getAttribute('data-value')) === n,
      before + 3,
      { timeout: 5000 },
    );
    await settled();
    await everyWidgetMatchesTheApi();
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
    expect(await widget.locator('[data-upload="done"]').textContent()).toMatch(
      /orders\.csv: 42 records loaded, 2 rejected/,
    );
    expect(await widget.locator('[data-upload="done"] a').getAttribute('href')).toBe('/dead-letter?steps=orders_file');
    expect(fired).toHaveLength(1);
    expect(fired[0].event).toMatchObject({ type: 'upload', filename: 'orders.csv', view: 'revenue' });
  });

  it('toggles and remembers the dark theme, and fits a phone with a menu', async () => {
    await open();
    await page.click('[data-theme-toggle]');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    await page.reload();
    await settled();
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-dark.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => scrollTo(0, 0));
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await page.isVisible('.topnav a[href="/pipeline"]')).toBe(false);
    await page.click('[data-menu] summary');
    expect(await page.isVisible('.menu-panel a[href="/pipeline"]')).toBe(true);
    expect(await page.isVisible('.menu-panel a[href="/dead-letter"]')).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone-menu.png') });
    await page.keyboard.press('Escape');
    expect(await page.isVisible('.menu-panel a[href="/pipeline"]')).toBe(false);
    await page.click('[data-menu] summary');
    await page.mouse.click(200, 600);
    expect(await page.isVisible('.menu-panel a[href="/pipeline"]')).toBe(false);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
    await page.click('[data-theme-toggle]');
    await page.setViewportSize({ width: 1440, height: 1000 });
  });
});
