// Signing in as a user does, in Chromium against a running economic-analytics server: a protected page sends the
// browser to the sign-in page, a token of another role is told so, the right one lands on the page asked for.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './chromium.ts';
import { startPlatform } from './cli.ts';

describe('sign-in in a browser (economic-analytics)', () => {
  let server: Awaited<ReturnType<typeof startPlatform>>;
  let browser: Browser;

  beforeAll(async () => {
    server = await startPlatform(
      ['run', 'pipelines/economic-analytics.yaml', '--state-dir', mkdtempSync(join(tmpdir(), 'sign-in-'))],
      {
        env: { ECON_PORT: '0', ECON_ACCOUNTANT_TOKEN: 'acc-secret', ECON_ADMIN_TOKEN: 'adm-secret' },
        timeoutMs: 120_000,
      },
    );
    browser = await chromium.launch(CHROMIUM);
  }, 130_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('sends a protected page to sign-in, refuses a role that does not open it, and comes back with the right token', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${server.url}/dead-letter?steps=products-valid`);
    expect(response?.status()).toBe(200);
    expect(page.url()).toBe(`${server.url}/sign-in?next=%2Fdead-letter%3Fsteps%3Dproducts-valid`);
    await page.fill('input[name=token]', 'acc-secret');
    await Promise.all([page.waitForURL(/sign-in/), page.click('button[type=submit]')]);
    expect(await page.locator('.sign-in-error').textContent()).toBe(
      'You are signed in as accountant, which does not open that page: sign in with another token.',
    );
    await page.fill('input[name=token]', 'adm-secret');
    await Promise.all([page.waitForURL(/\/dead-letter\?steps=products-valid$/), page.click('button[type=submit]')]);
    expect(await page.title()).toBe('Dead letters · economic-analytics');
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: 'platform_token', httpOnly: true, sameSite: 'Lax', path: '/' });
    // The page's scripts cannot read it.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await page.close();
  }, 60_000);
});
