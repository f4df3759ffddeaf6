import { expect, test } from './fixtures';
import {
  confirmAction,
  hydrated,
  login,
  placeOrder,
  setDecline,
  setFaults,
  shot,
  statusOf,
  uniqueId,
} from './helpers';

// These tests share one server; each uses its own request ids and customers.
test.describe.configure({ mode: 'serial' });

test('actions need the operator login; mutations need the session and its CSRF token', async ({ page, request }) => {
  await page.goto('/orders/new');
  await expect(page.getByRole('link', { name: 'Log in' }).first()).toBeVisible();
  await expect(page.getByRole('button', { name: 'Place order' })).toHaveCount(0);

  // A server-function post without a session is refused.
  const anonymous = await request.post('/ui/cancel', {
    form: { csrf: 'x', id: 'anything', reason: 'r' },
  });
  expect(anonymous.status()).toBe(401);

  // A wrong token does not log in.
  await page.goto('/login');
  await page.getByLabel('Operator token').fill('not-the-token');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toContainText('not the operator token');
  await shot(page, 'login');

  await login(page);
  // With the session cookie but a forged CSRF token: refused.
  const forged = await page.request.post('/ui/cancel', {
    form: { csrf: 'forged', id: 'anything', reason: 'r' },
  });
  expect(forged.status()).toBe(403);
  await page.goto('/orders/new');
  await expect(page.getByRole('button', { name: 'Place order' })).toBeVisible();
});

test('the list loads, filters, and shows new workflows live', async ({ page }) => {
  await login(page);
  const a = uniqueId('list-a');
  const b = uniqueId('list-b');
  await placeOrder(page, { requestId: a });

  await page.goto('/workflows');
  await hydrated(page);
  await expect(page.getByRole('link', { name: a })).toBeVisible();
  const row = page.locator('tr', { has: page.getByRole('link', { name: a }) });
  await expect(row).toContainText('process_order');
  await expect(row).toContainText('running');

  // Live: an order placed elsewhere appears without a reload.
  const other = await page.context().newPage();
  await placeOrder(other, { requestId: b });
  await other.close();
  await expect(page.getByRole('link', { name: b })).toBeVisible({ timeout: 15_000 });
  await shot(page, 'workflows');

  // Filters: id prefix, status, waiting on a timer.
  await page.getByLabel('Id starts with').fill(a);
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/id=list-a/);
  await expect(page.getByRole('link', { name: a })).toBeVisible();
  await expect(page.getByRole('link', { name: b })).toHaveCount(0);

  await page.goto(`/workflows?status=completed&id=${a}`);
  await expect(page.getByText('No workflows match.')).toBeVisible();
  await page.goto(`/workflows?timer=1&id=${a}`);
  await expect(page.getByRole('link', { name: a })).toBeVisible();

  // Keyset paging: one row per page; the next page holds the older one.
  await page.goto('/workflows?id=list-&limit=1');
  await expect(page.getByRole('link', { name: b })).toBeVisible();
  await expect(page.locator('table.workflows tbody tr')).toHaveCount(1);
  await page.getByRole('link', { name: 'Next page' }).click();
  await expect(page.getByRole('link', { name: a })).toBeVisible();
  await expect(page.getByRole('link', { name: 'First page' })).toBeVisible();
});

test('a retrying order shows attempts and a ticking next retry; retry now completes it', async ({ page, request }) => {
  await login(page);
  const id = uniqueId('retrying');
  await setFaults(request, 'payment', { error_rate: 1 });
  try {
    await placeOrder(page, { requestId: id });
    // Skip the hour's hold: fire the timer now.
    await expect(page.locator('.pending-timer')).toBeVisible();
    await confirmAction(page, 'Fire now…', 'Confirm fire now');
    await expect(page.getByRole('status').filter({ hasText: 'fired' })).toBeVisible();

    const activity = page.locator('.pending-activity', { hasText: 'charge_payment' });
    await expect(activity).toContainText('backing off', { timeout: 20_000 });
    await expect(activity.locator('.attempt')).toHaveText(/^\d+ of \d+$/);
    await expect(activity).toContainText('Last error');
    // The countdown ticks.
    const countdown = activity.locator('.countdown');
    const first = await countdown.textContent();
    await expect(countdown).not.toHaveText(first ?? '', { timeout: 5_000 });
    await expect(page.locator('.lane-activity', { hasText: 'charge_payment' })).toContainText('failed');
    await shot(page, 'workflow-retrying');

    // Also listed across workflows, and under the "retrying" filter.
    await page.goto('/retries');
    await expect(page.getByRole('link', { name: id })).toBeVisible();
    await shot(page, 'retries');
    await page.goto(`/workflows?retrying=1&id=${id}`);
    await expect(page.getByRole('link', { name: id })).toBeVisible();
  } finally {
    await setFaults(request, 'payment', { error_rate: 0 });
  }

  await page.goto(`/workflows/${id}`);
  await hydrated(page);
  await confirmAction(page, 'Retry now…', 'Confirm retry now');
  await expect(statusOf(page)).toContainText('completed', { timeout: 20_000 });
  await expect(page.locator('.lane-activity', { hasText: 'ship_package' })).toContainText('completed');
  await shot(page, 'workflow-completed');
});

test('cancel during the hold ends Cancelled with the compensation on the timeline', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  await login(page);
  const id = uniqueId('cancel');
  await placeOrder(page, { requestId: id });
  await expect(page.locator('.pending-timer')).toBeVisible();
  await page.locator('summary', { hasText: 'Cancel…' }).click();
  await page.getByLabel('Reason').first().fill('customer changed their mind');
  await page.getByRole('button', { name: 'Confirm cancel' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Cancel requested' })).toBeVisible();
  await expect(statusOf(page)).toContainText('cancelled', { timeout: 20_000 });
  const timeline = page.locator('.timeline');
  await expect(timeline.locator('.lane-activity', { hasText: 'unreserve_inventory' })).toContainText('completed');
  await expect(timeline).toContainText('cancel requested');
  await expect(timeline).toContainText('customer changed their mind');
  await shot(page, 'workflow-cancelled');
  expect(errors).toEqual([]);
});

test('terminate from the workflow page asks for confirmation and ends Terminated', async ({ page }) => {
  await login(page);
  const id = uniqueId('terminate');
  await placeOrder(page, { requestId: id });
  await expect(page.locator('.pending-timer')).toBeVisible();

  // The action sits behind a confirmation: nothing to press until it is opened.
  const confirm = page.getByRole('button', { name: 'Confirm terminate' });
  await expect(confirm).toBeHidden();
  await page.locator('summary', { hasText: 'Terminate…' }).click();
  await expect(confirm).toBeVisible();
  await expect(statusOf(page)).toContainText('running');
  await page.locator('details[open]').getByLabel('Reason').fill('stopped by the e2e test');
  await confirm.click();

  await expect(page.getByRole('status').filter({ hasText: `Terminated ${id}` })).toBeVisible();
  // The page reflects it without a reload: the status, the timeline's end
  // marker with the reason, no pending timer, and the actions that now fit.
  await expect(statusOf(page)).toContainText('terminated', { timeout: 20_000 });
  await expect(page.locator('.timeline')).toContainText('stopped by the e2e test');
  await expect(page.locator('.pending-timer')).toHaveCount(0);
  await expect(page.locator('summary', { hasText: 'Terminate…' })).toHaveCount(0);
  await expect(page.locator('summary', { hasText: 'Retry…' })).toBeVisible();
  await shot(page, 'workflow-terminated');
});

test('retrying a failed order starts run 2, which completes', async ({ page, request }) => {
  await login(page);
  const user = uniqueId('declined');
  const id = uniqueId('failed');
  await setDecline(request, user, true);
  try {
    await placeOrder(page, { requestId: id, user });
    await confirmAction(page, 'Fire now…', 'Confirm fire now');
    await expect(statusOf(page)).toContainText('failed', { timeout: 20_000 });
    await expect(page.locator('.workflow-error')).toBeVisible();
    // Failures only.
    await page.getByRole('link', { name: 'Failures only' }).click();
    await expect(page.locator('.events li').first()).toHaveClass(/failure/);
  } finally {
    await setDecline(request, user, false);
  }
  await page.goto(`/workflows/${id}`);
  await hydrated(page);
  await confirmAction(page, 'Retry…', 'Confirm retry');
  await expect(page.getByRole('status').filter({ hasText: 'Started run 2' })).toBeVisible();
  await expect(page.locator('.runs')).toContainText('Run 2');
  // Run 2 waits in its own hold (resume reuses only the reservation); skip it.
  const timer = page.locator('.pending-timer');
  if (await timer.count()) await confirmAction(page, 'Fire now…', 'Confirm fire now');
  await expect(statusOf(page)).toContainText('completed', { timeout: 20_000 });
  await page.getByRole('link', { name: 'Run 1' }).click();
  await expect(statusOf(page)).toContainText('failed');
  await shot(page, 'workflow-run1');
});

test('a services knob changes behaviour', async ({ page }) => {
  // Two waits of up to 20 s each (backoff, then the hold timer): more than the default.
  test.setTimeout(90_000);
  await login(page);
  await page.goto('/services');
  await hydrated(page);
  const inventory = page.locator('section.service', { has: page.getByRole('heading', { name: 'inventory' }) });
  await inventory.getByLabel('Outage').check();
  await inventory.getByRole('button', { name: 'Apply to inventory' }).click();
  await expect(page.getByRole('status').filter({ hasText: "Updated inventory's faults" })).toBeVisible();
  await expect(inventory.locator('.faults')).toContainText('OUTAGE');
  await shot(page, 'services');

  const id = uniqueId('outage');
  try {
    await placeOrder(page, { requestId: id });
    const activity = page.locator('.pending-activity', { hasText: 'reserve_inventory' });
    await expect(activity).toContainText('backing off', { timeout: 20_000 });
  } finally {
    await page.goto('/services');
    await hydrated(page);
    await inventory.getByLabel('Outage').uncheck();
    await inventory.getByRole('button', { name: 'Apply to inventory' }).click();
    await expect(inventory.locator('.faults')).toContainText('up');
  }
  // With the outage lifted, the next retry (at most 2 s away) goes through and
  // the order moves on to its hold. (Retry now is covered by its own test.)
  await page.goto(`/workflows/${id}`);
  await hydrated(page);
  await expect(page.locator('.pending-timer')).toBeVisible({ timeout: 20_000 });
});

test('without JavaScript: log in, place an order, cancel it with plain form posts', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('Operator token').fill(process.env.STEADFAST_OPERATOR_TOKEN!);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();

  const id = uniqueId('nojs');
  await page.goto('/orders/new');
  await page.getByLabel('Request id (idempotency key)').fill(id);
  await page.getByRole('button', { name: 'Place order' }).click();
  // The plain post is answered with a redirect to the new workflow.
  await expect(page).toHaveURL(new RegExp(`/workflows/${id}$`));
  await expect(statusOf(page)).toContainText('running');
  await page.locator('summary', { hasText: 'Cancel…' }).click();
  await page.getByRole('button', { name: 'Confirm cancel' }).click();
  // Redirected back to the page it was posted from, with the outcome.
  await expect(page).toHaveURL(new RegExp(`/workflows/${id}\\??$`));
  await expect(page.locator('.flash')).toContainText(`Cancel requested for ${id}`);
  await expect(async () => {
    await page.reload();
    await expect(statusOf(page)).toContainText('cancelled', { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await shot(page, 'nojs-cancelled');

  // A reused request id: back on the form, with the 409 answer.
  await page.goto('/orders/new');
  await page.getByLabel('Request id (idempotency key)').fill(id);
  await page.getByLabel('Quantity').fill('3');
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page).toHaveURL(/\/orders\/new(\?.*)?$/);
  await expect(page.locator('.flash')).toContainText('409 Conflict');
  await context.close();
});

test('a reused request id gets the 409 answer', async ({ page }) => {
  await login(page);
  const id = uniqueId('dup');
  await placeOrder(page, { requestId: id });
  await page.goto('/orders/new');
  await hydrated(page);
  await page.getByLabel('Request id (idempotency key)').fill(id);
  await page.getByLabel('Quantity').fill('2');
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByRole('status')).toContainText('409 Conflict');
  await shot(page, 'new-order-409');
});

test('markup in workflow data renders as text', async ({ page }) => {
  await login(page);
  let dialogs = 0;
  page.on('dialog', async (d) => {
    dialogs += 1;
    await d.dismiss();
  });
  const id = uniqueId('xss');
  const address = '<script>alert(1)</script><img src=x onerror=alert(2)>';
  await placeOrder(page, { requestId: id, address });
  await expect(page.locator('pre.json').first()).toContainText(address);
  await page.locator('summary', { hasText: 'Signal…' }).click();
  await page.getByLabel('Name').fill('note');
  await page.getByLabel('Payload (JSON or text)').fill('<b onmouseover=alert(3)>hi</b>');
  await page.getByRole('button', { name: 'Confirm signal' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Signal' })).toBeVisible();
  await expect(page.locator('.timeline')).toContainText('<b onmouseover=alert(3)>hi</b>', { timeout: 10_000 });
  expect(await page.locator('main img').count()).toBe(0);
  expect(await page.locator('main b').count()).toBe(0);
  expect(dialogs).toBe(0);
  await shot(page, 'workflow-escaped');
});

test('overview shows counts, the chart and waiting work', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  await expect(page.getByRole('list', { name: 'Workflows per status' })).toContainText('running');
  await expect(page.locator('svg.chart')).toBeVisible();
  await expect(page.getByRole('img', { name: /In the last hour: \d+ started/ })).toBeVisible();
  await expect(page.getByRole('link', { name: /timers pending/ })).toBeVisible();
  await shot(page, 'overview-full');
  await page.goto('/timers');
  await expect(page.locator('table .countdown').first()).toBeVisible();
  await shot(page, 'timers');
});

test('readable on a phone', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ baseURL, viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await context.newPage();
  await login(page);
  const id = uniqueId('phone');
  await placeOrder(page, { requestId: id });
  await shot(page, 'phone-workflow');
  await page.goto('/workflows');
  await expect(page.getByRole('link', { name: id })).toBeVisible();
  await shot(page, 'phone-workflows');
  // Nothing wider than the screen except inside scrollable tables.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(1);
  await context.close();
});
