import { test as base } from '@playwright/test';

// Every test runs against the server that global-setup.ts started.
export const test = base.extend({
  baseURL: async ({}, use) => {
    const url = process.env.STEADFAST_URL;
    if (!url) throw new Error('STEADFAST_URL is not set: global-setup.ts did not run');
    await use(url);
  },
});

export { expect } from '@playwright/test';
