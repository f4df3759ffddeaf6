import path from 'node:path';
import { expect, test } from './fixtures';

const artifacts = path.join(__dirname, '..', 'artifacts');

test('overview renders, hydrates, and the nav routes in the browser', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });

  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Overview');
  await expect(page).toHaveTitle('Overview · Steadfast');
  await expect(page.locator('#hydrated[data-hydrated=true]')).toBeAttached();
  await page.screenshot({ path: path.join(artifacts, 'overview.png'), fullPage: true });

  // A client-side navigation keeps this window state; a full page load would drop it.
  await page.evaluate(() => ((window as any).__sameDocument = true));
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Workflows' }).click();
  await expect(page).toHaveURL(/\/workflows$/);
  await expect(nav.getByRole('link', { name: 'Workflows' })).toHaveAttribute('aria-current', 'page');
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  await page.screenshot({ path: path.join(artifacts, 'after-nav.png'), fullPage: true });

  expect(errors).toEqual([]);
});

test('overview is complete HTML without JavaScript', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const page = await context.newPage();
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Overview');
  await expect(page.locator('#hydrated')).toHaveAttribute('data-hydrated', 'false');
  await context.close();
});
