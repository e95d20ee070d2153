/**
 * A run's lineage in the sidebar: run a notebook, change a parameter, run again; the run view folds out
 * what changed since the run before it and what each step ran with. Screenshot in test-results/.
 */
import { expect, test } from '@jupyterlab/galata';
import { codeNotebook, openNotebook, openSidebar, shot } from './jupyterlab';

test('the run view shows the lineage and what changed since the last run', async ({
  page,
  tmpPath
}, testInfo) => {
  await openNotebook(
    page,
    `${tmpPath}/lineage.ipynb`,
    codeNotebook([
      [['pipeline-parameters'], 'n = 3'],
      [['step:make'], 'xs = list(range(n))'],
      [['step:total', 'prev:make'], 'total = sum(xs)'],
      [['pipeline-metrics'], 'total']
    ])
  );
  const sidebar = await openSidebar(page, 2);
  const run = sidebar.locator('.jp-cellpipe-Run');
  await sidebar.locator('[data-action="run"]').click();
  await expect(run).toHaveAttribute('data-status', 'succeeded', { timeout: 90_000 });
  await expect(sidebar.locator('.jp-cellpipe-Lineage summary')).toHaveText('Lineage');

  const field = sidebar.locator('[data-list="parameters"] input').first();
  await field.fill('5');
  await field.press('Enter');
  await sidebar.locator('[data-action="run"]').click();
  await expect(sidebar.locator('.jp-cellpipe-Lineage summary')).toHaveText(/^Lineage: 2 changes since run /, {
    timeout: 90_000
  });
  await expect(run).toHaveAttribute('data-status', 'succeeded');
  await sidebar.locator('.jp-cellpipe-Lineage summary').click();
  const changes = sidebar.locator('.jp-cellpipe-Lineage-changes li');
  await expect(changes.first()).toHaveText('parameters make: parameter n 3 → 5');
  await expect(changes.nth(1)).toContainText('data total: input xs (from make) changed:');
  await expect(sidebar.locator('.jp-cellpipe-Lineage-lines')).toContainText('  parameter n = 5');
  await sidebar.locator('.jp-cellpipe-Lineage').scrollIntoViewIfNeeded();
  await shot(page, testInfo, 'lineage');
});
