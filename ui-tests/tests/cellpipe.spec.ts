import { expect, test } from '@jupyterlab/galata';
import { runCommand } from './jupyterlab';

test('cellpipe is active, its sidebar follows the notebook, and its server answers through the proxy', async ({
  page,
  request
}, testInfo) => {
  const plugin = await page.evaluate(() => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- galata exposes the app on window, untyped
    const app = (window as any).jupyterapp;
    return { has: app.hasPlugin('cellpipe:plugin'), active: app.isPluginActivated('cellpipe:plugin') };
  });
  expect(plugin).toEqual({ has: true, active: true });

  const name = await page.notebook.createNew();
  expect(name).toBeTruthy();
  await runCommand(page, 'cellpipe:open-sidebar');

  const sidebar = page.locator('#cellpipe-sidebar');
  await expect(sidebar).toBeVisible();
  await expect(sidebar.locator('.jp-cellpipe-Sidebar-notebook')).toContainText(name!);
  await expect(sidebar.locator('.jp-cellpipe-Sidebar-server')).toHaveText(/Server: ok \(\d+\.\d+\.\d+\)/);

  // The same route, straight through jupyter-server-proxy (which started the server on a unix socket).
  const response = await request.get('/cellpipe/api/health');
  expect(response.status()).toBe(200);
  expect(await response.json()).toMatchObject({ status: 'ok' });

  const file = testInfo.outputPath('sidebar.png');
  await page.screenshot({ path: file });
  await testInfo.attach('sidebar', { path: file, contentType: 'image/png' });
});
