/**
 * galata options for the notebook pod's JupyterLab. It restores the user's own layout (its workspace is on
 * the PVC), with or without a Launcher, so the app is ready when the splash screen is gone (galata's
 * default waits for a Launcher tab); and the tests make their own folders, not a galata temporary one.
 */
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';
import type { Locator, Page } from '@playwright/test';
import { openNotebook, openSidebar } from '../tests/jupyterlab';

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

/**
 * Opens JupyterLab, saves `content` as `nb.ipynb` (or `file`) in a new folder `e2e-ui/NAME-TIME` of the
 * workspace PVC, opens it and the sidebar once its analysis shows `steps` steps.
 */
export async function openInPodLab(
  page: IJupyterLabPageFixture,
  name: string,
  content: unknown,
  steps: number,
  file = 'nb.ipynb'
): Promise<{ path: string; sidebar: Locator }> {
  await page.goto();
  const folder = `e2e-ui/${name}-${Date.now()}`;
  await page.evaluate(async f => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- galata exposes the app on window, untyped
    const contents = (window as any).jupyterapp.serviceManager.contents;
    for (const dir of ['e2e-ui', f]) {
      await contents.get(dir, { content: false }).catch(() => contents.save(dir, { type: 'directory' }));
    }
  }, folder);
  const path = `${folder}/${file}`;
  await openNotebook(page, path, content);
  return { path, sidebar: await openSidebar(page, steps, 60_000) };
}

/** `kubectl -n NB_NS ARGS...` against the lab (run.sh puts the lab's kubectl and KUBECONFIG in the environment). */
export function kubectl(...args: string[]): string {
  return execFileSync('kubectl', ['-n', process.env.NB_NS || 'team-a', ...args], { encoding: 'utf8' });
}

/** A resource of the notebook's namespace as the API server has it, or null when there is none. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any Kubernetes object, read field by field
export function kubeObject(kind: string, name: string): any {
  const found = kubectl('get', kind, name, '--ignore-not-found', '-o', 'json');
  return found.trim() ? JSON.parse(found) : null;
}
