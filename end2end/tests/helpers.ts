import path from 'node:path';
import { APIRequestContext, Page, expect } from '@playwright/test';

export const artifacts = path.join(__dirname, '..', 'artifacts');

export function operatorToken(): string {
  const token = process.env.STEADFAST_OPERATOR_TOKEN;
  if (!token) throw new Error('STEADFAST_OPERATOR_TOKEN is not set: global-setup.ts did not run');
  return token;
}

export async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

export async function hydrated(page: Page) {
  await expect(page.locator('#hydrated[data-hydrated=true]')).toBeAttached();
}

/** Logs in through the start-up URL (`/login?token=...`). */
export async function login(page: Page) {
  await page.goto(`/login?token=${encodeURIComponent(operatorToken())}`);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();
}

/** Sets a simulated service's faults through the operator API. */
export async function setFaults(
  request: APIRequestContext,
  service: string,
  faults: { error_rate?: number; latency_ms?: number; outage?: boolean },
) {
  const res = await request.put(`/api/services/${service}/faults`, {
    headers: { Authorization: `Bearer ${operatorToken()}` },
    data: faults,
  });
  expect(res.ok(), await res.text()).toBeTruthy();
}

export async function setDecline(request: APIRequestContext, user: string, decline: boolean) {
  const res = await request.put(`/api/services/payment/declines/${encodeURIComponent(user)}`, {
    headers: { Authorization: `Bearer ${operatorToken()}` },
    data: { decline },
  });
  expect(res.ok(), await res.text()).toBeTruthy();
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
}

/** Places an order through the New order page; lands on its workflow page. */
export async function placeOrder(
  page: Page,
  order: { requestId: string; user?: string; address?: string; item?: string },
) {
  await page.goto('/orders/new');
  await hydrated(page);
  await page.getByLabel('Customer').fill(order.user ?? 'e2e');
  await page.getByLabel('Request id (idempotency key)').fill(order.requestId);
  if (order.item) await page.getByLabel('Item').fill(order.item);
  if (order.address) await page.getByLabel('Address').fill(order.address);
  await page.getByRole('button', { name: 'Place order' }).click();
  const placed = page.getByRole('status').filter({ hasText: 'Order placed' });
  await expect(placed).toBeVisible();
  await placed.getByRole('link', { name: order.requestId }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(order.requestId);
  await hydrated(page);
}

/** Opens a confirmation (`<details>`) and confirms it. */
export async function confirmAction(page: Page, summary: string, confirm: string, scope = page.locator('main')) {
  await scope.locator('summary', { hasText: summary }).first().click();
  await scope.getByRole('button', { name: confirm }).first().click();
}

export function statusOf(page: Page) {
  return page.locator('.summary .kv dd').first();
}
