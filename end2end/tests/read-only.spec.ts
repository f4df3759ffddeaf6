import { expect, test } from '@playwright/test';
import { RunningServer, startServer } from '../server';
import { shot, uniqueId } from './helpers';

// A second server, started with --read-only, beside the suite's one: its
// dashboard shows no actions and every mutation is refused, through the
// API (403 `read_only`) as through the dashboard's server functions.
let server: RunningServer;

test.beforeAll(async () => {
  server = await startServer({
    logName: 'server-read-only',
    extraArgs: ['--read-only', '--hold-seconds', '3600'],
  });
});

test.afterAll(async () => {
  await server?.stop();
});

test('read-only: no action is shown and every mutation is refused', async ({ page, request }) => {
  const url = server.url;
  const operator = { Authorization: `Bearer ${server.operatorToken}` };

  // Customers may still order: that gives the dashboard a running workflow
  // (waiting in its hour-long hold) to refuse actions on.
  const id = uniqueId('read-only');
  const placed = await request.post(`${url}/api/orders`, {
    headers: { Authorization: `Bearer ${server.customerToken('reader')}` },
    data: { request_id: id, item_id: 'sku-widget', quantity: 1, address: '1 Main St, Springfield' },
  });
  expect(placed.ok(), await placed.text()).toBeTruthy();

  // The API refuses the operator's actions with the `read_only` error.
  for (const [method, path, data] of [
    ['post', `/api/workflows/${id}/cancel`, {}],
    ['post', `/api/workflows/${id}/terminate`, {}],
    ['post', `/api/workflows/${id}/timers/1/fire-now`, undefined],
    ['put', '/api/services/payment/faults', { error_rate: 1 }],
  ] as const) {
    const res = await request.fetch(`${url}${path}`, { method, headers: operator, data });
    expect(res.status(), `${method} ${path}`).toBe(403);
    expect((await res.json()).error.code, `${method} ${path}`).toBe('read_only');
  }

  // Logging in still works (to read), but the pages offer no action.
  await page.goto(`${url}/login?token=${encodeURIComponent(server.operatorToken)}`);
  await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();
  await page.goto(`${url}/workflows/${id}`);
  await expect(page.locator('#hydrated[data-hydrated=true]')).toBeAttached();
  await expect(page.locator('.summary .kv dd').first()).toContainText('running');
  await expect(page.locator('.pending-timer')).toBeVisible();
  await expect(page.getByText('Read-only dashboard: actions are disabled.')).toBeVisible();
  const main = page.locator('main');
  await expect(main.locator('summary')).toHaveText(['Raw history (JSON)']);
  await expect(main.getByRole('button')).toHaveCount(0);
  await shot(page, 'read-only-workflow');
  for (const path of ['/timers', '/orders/new', '/services']) {
    await page.goto(`${url}${path}`);
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    await expect(main.getByRole('button'), path).toHaveCount(0);
  }

  // The server functions refuse too, even with the session and its CSRF token.
  const session = await page.request.post(`${url}/ui/session`);
  expect(session.ok(), await session.text()).toBeTruthy();
  const { csrf, logged_in, read_only } = await session.json();
  expect(logged_in).toBe(true);
  expect(read_only).toBe(true);
  const terminate = await page.request.post(`${url}/ui/terminate`, { form: { csrf, id, reason: 'r' } });
  expect(terminate.status()).toBe(403);
  expect(await terminate.text()).toContain('read-only');
  const faults = await page.request.post(`${url}/ui/faults`, {
    form: { csrf, service: 'payment', error_rate: '100', latency_ms: '0' },
  });
  expect(faults.status()).toBe(403);

  // Nothing changed.
  const described = await request.get(`${url}/api/workflows/${id}`, { headers: operator });
  expect((await described.json()).workflow.status).toBe('running');
  const payment = await request.get(`${url}/api/services/payment/faults`, { headers: operator });
  expect((await payment.json()).error_rate).toBe(0);
});
