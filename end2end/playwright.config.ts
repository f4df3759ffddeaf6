import { defineConfig } from '@playwright/test';

// Browser tests of the dashboard. `global-setup.ts` starts the steadfast binary
// on a free port and hands its URL to the tests (see `tests/fixtures.ts`).
// Debian's Chromium is used; Playwright downloads no browser
// (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 in scripts/setup.sh).
export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  globalSetup: './global-setup.ts',
  // Several tests wait for retries and timers in turn: give each test room.
  timeout: 90_000,
  expect: { timeout: 10_000 },
  // One server, two cores: run the tests one after another.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  // CI shares two cores with nothing else, but a browser test may still meet
  // a slow moment: one retry there, none locally (flakes must be seen).
  retries: process.env.CI ? 1 : 0,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
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
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
