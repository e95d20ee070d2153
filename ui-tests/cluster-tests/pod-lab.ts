/**
 * galata options for the notebook pod's JupyterLab. It restores the user's own layout (its workspace is on
 * the PVC), with or without a Launcher, so the app is ready when the splash screen is gone (galata's
 * default waits for a Launcher tab); and the tests make their own folders, not a galata temporary one.
 */
import type { Page } from '@playwright/test';

type WaitForApplication = (page: Page) => Promise<void>;

export const podLabOptions = {
  autoGoto: false,
  // Playwright reads a fixture's dependencies from its destructured first argument; this one has none.
  // eslint-disable-next-line no-empty-pattern
  waitForApplication: async ({}, use: (wait: WaitForApplication) => Promise<void>) => {
    await use(async page => {
      await page.locator('#jupyterlab-splash').waitFor({ state: 'detached' });
    });
  }
};
