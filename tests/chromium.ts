// Debian's Chromium as the browser tests and benchmarks launch it (headless, no sandbox, nothing fetched in the
// background: no network beyond the page under test).
export const CHROMIUM = {
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
};
