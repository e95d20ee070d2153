/**
 * What a user does with cellpipe, in real JupyterLab with the real server behind jupyter-server-proxy
 * and a real Python: tag an example's cells as steps in the sidebar, see badges and the graph, fix a
 * suggested edge, run locally, watch the states, read a log, see a step's plot, change a parameter,
 * run again and compare metrics; then the same screens in the dark theme. Screenshots of each stage
 * are attached to the report (test-results/).
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { Locator } from '@playwright/test';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { codeNotebook, openNotebook, openSidebar, runCommand, shot } from './jupyterlab';

const EXAMPLE = join(__dirname, '..', '..', 'examples', 'pandas-sales.ipynb');

/** The example with its step tags removed: the user tags the steps in the test. */
function untaggedExample(dir: string): string {
  const nb = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
  for (const cell of nb.cells) {
    const tags: string[] = cell.metadata?.tags ?? [];
    const kept = tags.filter(t => !t.startsWith('step:') && !t.startsWith('prev:'));
    if (kept.length > 0) {
      cell.metadata.tags = kept;
    } else if (cell.metadata) {
      delete cell.metadata.tags;
    }
  }
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'sales.ipynb');
  writeFileSync(path, JSON.stringify(nb, null, 1));
  return path;
}

/** Makes cell `index` the active cell and gives it a step role through the sidebar. */
async function tagStep(
  page: IJupyterLabPageFixture,
  sidebar: Locator,
  index: number,
  name: string,
  prev: string[]
) {
  await page.notebook.selectCells(index);
  const cellSection = sidebar.locator('[data-section="cell"]');
  await expect(cellSection.locator('summary')).toHaveText(`Cell ${index + 1}`);
  await cellSection.locator('[data-field="role"] select').selectOption('step');
  const nameInput = cellSection.locator('[data-field="step-name"] input');
  await nameInput.fill(name);
  await nameInput.press('Enter');
  await expect(
    page.locator(`.jp-Notebook .jp-Cell >> nth=${index}`).locator('.jp-cellpipe-Badge')
  ).toContainText(name);
  for (const p of prev) {
    await cellSection.locator('[data-field="upstream"] select').selectOption(p);
  }
}

const cellTags = (page: IJupyterLabPageFixture, index: number) =>
  page.evaluate(i => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- galata exposes the app on window, untyped
    const panel = (window as any).jupyterapp.shell.currentWidget;
    return panel.content.model.sharedModel.cells[i].getMetadata('tags');
  }, index);

test.describe('a notebook becomes a pipeline', () => {
  test.use({ autoGoto: true });

  test('tag, see, fix, run, inspect, rerun with a parameter, compare; dark theme', async ({
    page,
    tmpPath
  }, testInfo) => {
    test.setTimeout(300_000);
    await page.contents.uploadFile(untaggedExample(testInfo.outputDir), `${tmpPath}/sales.ipynb`);
    await page.notebook.openByPath(`${tmpPath}/sales.ipynb`);
    await page.notebook.activate('sales.ipynb');
    const sidebar = await openSidebar(page, 0);
    await expect(sidebar.locator('.jp-cellpipe-Sidebar-server')).toHaveText(/Server: ok/);

    // Tag the four steps; summarise is left without its upstream step on purpose.
    await tagStep(page, sidebar, 3, 'generate', []);
    await tagStep(page, sidebar, 4, 'clean', ['generate']);
    await tagStep(page, sidebar, 6, 'summarise', []);
    await tagStep(page, sidebar, 8, 'report', ['summarise']);
    expect(await cellTags(page, 4)).toEqual(['step:clean', 'prev:generate']);
    await expect(sidebar.locator('.jp-cellpipe-Summary')).toContainText('4 steps');

    // The badges show each cell's step, its upstream steps, and the continuation cell.
    const badge = (i: number) =>
      page.locator(`.jp-Notebook .jp-Cell >> nth=${i}`).locator('.jp-cellpipe-Badge');
    await expect(badge(4)).toHaveText(/clean · ← generate/);
    await expect(badge(7)).toHaveText(/↳ summarise/);
    await expect(badge(1)).toHaveText(/imports/);
    await shot(page, testInfo, '01-tagged');

    // Data flow says summarise reads `sales` from clean: an error, and a one-click fix.
    const problems = sidebar.locator('[data-section="diagnostics"]');
    // (report, below it, reads `sales` too, so it has the same problem until summarise is fixed.)
    await expect(problems.locator('[data-code="missing-upstream"]')).toHaveCount(2);
    await expect(problems.locator('[data-code="missing-upstream"]').first()).toContainText('cell 7, line 1');
    await shot(page, testInfo, '02-suggested-edge');
    // A problem jumps to its cell; a badge selects its step in the sidebar.
    await problems.locator('[data-code="missing-upstream"] button').first().click();
    expect(
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- galata exposes the app on window, untyped
      await page.evaluate(() => (window as any).jupyterapp.shell.currentWidget.content.activeCellIndex)
    ).toBe(6);
    await badge(3).click();
    await expect(sidebar.locator('[data-section="flow"] summary')).toHaveText('Step generate: data');
    const suggestion = problems.locator('.jp-cellpipe-Suggestion', { hasText: 'Step summarise reads' });
    await suggestion.getByRole('button', { name: 'Add prev:clean', exact: true }).click();
    await expect(problems.locator('[data-code="missing-upstream"]')).toHaveCount(0);
    expect(await cellTags(page, 6)).toEqual(['step:summarise', 'prev:clean']);

    // The graph beside the notebook: the steps and the variables on the edges.
    await runCommand(page, 'cellpipe:open-panel');
    const graph = page.locator('.jp-cellpipe-GraphView');
    await expect(graph.locator('[data-step]')).toHaveCount(4);
    await expect(graph.locator('[data-from="clean"][data-to="summarise"]')).toContainText('sales');
    await expect(graph.locator('[data-from="summarise"][data-to="report"]')).toContainText('by_region');
    await shot(page, testInfo, '03-graph');
    // Zoom and fit.
    const view = graph.locator('svg g[transform^="translate"]').first();
    const fitted = (await view.getAttribute('transform'))!;
    await graph.getByRole('button', { name: 'Zoom in' }).click();
    await expect(view).not.toHaveAttribute('transform', fitted);
    await graph.getByRole('button', { name: 'Fit' }).click();
    await expect(view).toHaveAttribute('transform', fitted);

    // Run locally and watch the states change.
    await sidebar.locator('[data-action="run"]').click();
    const state = (step: string) => sidebar.locator(`.jp-cellpipe-StepStates li[data-step="${step}"]`);
    await expect(state('generate')).toHaveAttribute('data-state', /queued|running|succeeded/);
    await shot(page, testInfo, '04-running');
    await expect(state('report')).toHaveAttribute('data-state', 'succeeded', { timeout: 120_000 });
    await expect(graph.locator('[data-step="report"]')).toHaveAttribute('data-state', 'succeeded');
    await expect(badge(8)).toHaveText(/succeeded/);

    // A step's log and its plot, rendered by JupyterLab beside the notebook.
    await graph.locator('[data-step="summarise"]').click();
    const detail = page.locator('.jp-cellpipe-StepDetailPanel');
    await expect(detail.locator('.jp-cellpipe-StepDetail')).toHaveAttribute('data-step', 'summarise');
    await expect(detail.locator('.jp-cellpipe-StepOutputs img')).toBeVisible();
    // The plot under the cell that drew it, in the notebook.
    await detail.locator('[data-action="show-in-cells"]').click();
    await expect(
      page.locator('.jp-Notebook .jp-Cell >> nth=7').locator('.jp-cellpipe-CellRunOutputs img')
    ).toBeVisible();
    await graph.locator('[data-step="report"]').click();
    await expect(detail.locator('.jp-cellpipe-Log-text')).toContainText('rows, total');
    await shot(page, testInfo, '05-log-and-plot');

    // A step setting is checked as typed, with the error by the field.
    const settings = sidebar.locator('[data-section="settings"]');
    await settings.locator('summary').click();
    const memory = settings.locator('[data-field="memory.request"] input');
    await memory.fill('2Gx');
    await memory.press('Enter');
    await expect(settings.locator('[data-field="memory.request"] .jp-cellpipe-Field-error')).toContainText(
      '2Gx'
    );
    await shot(page, testInfo, '05b-invalid-setting');
    await memory.fill('');
    await memory.press('Enter');
    await expect(settings.locator('.jp-cellpipe-Field-error')).toHaveCount(0);

    // Change a parameter, run again, compare the metrics of both runs.
    const param = sidebar.locator('[data-field="param-n_rows"] input');
    await param.fill('200');
    await param.press('Enter');
    await sidebar.locator('[data-action="run"]').click();
    const rows = sidebar.locator('.jp-cellpipe-RunItem');
    await expect(rows).toHaveCount(2, { timeout: 30_000 });
    const kept = (i: number) =>
      rows.nth(i).locator('[data-metric="rows_kept"] .jp-cellpipe-RunItem-metricValue');
    await expect(kept(0)).toHaveText('196', { timeout: 120_000 });
    await expect(kept(1)).toHaveText('980');
    await expect(sidebar.locator('.jp-cellpipe-MetricChart[data-metric="rows_kept"] rect')).toHaveCount(2);
    await sidebar.locator('[data-section="runs"]').scrollIntoViewIfNeeded();
    await shot(page, testInfo, '06-runs-compared');

    // Opening the earlier run shows its results again.
    await rows.nth(1).locator('button').click();
    await expect(rows.nth(1).locator('button')).toHaveAttribute('aria-pressed', 'true');
    await expect(detail.locator('.jp-cellpipe-Metrics')).toContainText('980');

    // The same screens in the dark theme.
    await page.theme.setDarkTheme();
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'false');
    await shot(page, testInfo, '07-dark');
  });
});

test('a new notebook is enabled as a pipeline and explains it has no steps yet', async ({ page }) => {
  await page.notebook.createNew('empty.ipynb');
  const sidebar = await openSidebar(page, 0);
  await expect(sidebar.locator('[data-section="run"]')).toHaveCount(0);
  await sidebar.locator('[data-action="enable"]').click();
  await sidebar.locator('[data-action="run"]').click();
  await expect(sidebar.locator('.jp-cellpipe-Error')).toContainText('No cell is tagged as a step in');
});

test('HTML from a step is rendered as untrusted output: no script runs', async ({ page, tmpPath }) => {
  const html = '<b class="cp-html">bold from a step</b><script>window.cellpipeScriptRan = true</script>';
  await openNotebook(
    page,
    `${tmpPath}/html.ipynb`,
    codeNotebook([[['step:show'], `from IPython.display import HTML, display\ndisplay(HTML('${html}'))`]])
  );
  const sidebar = await openSidebar(page, 1);
  await sidebar.locator('[data-action="run"]').click();
  await expect(sidebar.locator('.jp-cellpipe-StepStates li[data-step="show"]')).toHaveAttribute(
    'data-state',
    'succeeded',
    {
      timeout: 60_000
    }
  );
  await runCommand(page, 'cellpipe:open-panel');
  await page.locator('.jp-cellpipe-GraphView [data-step="show"]').click();
  await expect(page.locator('.jp-cellpipe-StepOutputs b.cp-html')).toHaveText('bold from a step');
  // The step's HTML would set this global if its script ran.
  expect(
    await page.evaluate(() => (window as unknown as Record<string, unknown>).cellpipeScriptRan)
  ).toBeUndefined();
});

test('a failing step shows its traceback and skips what follows; a long run can be cancelled', async ({
  page,
  tmpPath
}) => {
  await openNotebook(
    page,
    `${tmpPath}/fails.ipynb`,
    codeNotebook([
      [['step:boom'], 'x = 1\nratio = x / 0'],
      [['step:after', 'prev:boom'], 'print(ratio)'],
      [['step:slow'], 'import time\ntime.sleep(60)\ndone = True']
    ])
  );
  const sidebar = await openSidebar(page, 3);

  // Run boom and what follows it: boom fails, after is skipped; the traceback renders as an error.
  await page.notebook.selectCells(0);
  await sidebar.locator('[data-action="run-from"]').click();
  const state = (step: string) => sidebar.locator(`.jp-cellpipe-StepStates li[data-step="${step}"]`);
  await expect(state('boom')).toHaveAttribute('data-state', 'failed', { timeout: 60_000 });
  await expect(state('after')).toHaveAttribute('data-state', 'skipped');
  await expect(state('boom')).toContainText('cell 1, line 2 raised ZeroDivisionError');
  await runCommand(page, 'cellpipe:open-panel');
  await page.locator('.jp-cellpipe-GraphView [data-step="boom"]').click();
  await expect(page.locator('.jp-cellpipe-StepOutputs')).toContainText('ZeroDivisionError');
  await expect(page.locator('.jp-cellpipe-GraphView [data-step="after"]')).toHaveAttribute(
    'data-state',
    'skipped'
  );

  // Run only the slow step, then cancel it.
  await page.locator('.jp-Notebook .jp-Cell >> nth=2').locator('.jp-InputPrompt').click();
  await expect(sidebar.locator('[data-section="cell"] summary')).toHaveText('Cell 3');
  await sidebar.locator('[data-action="run-step"]').click();
  await expect(state('slow')).toHaveAttribute('data-state', 'running', { timeout: 60_000 });
  await sidebar.locator('[data-action="cancel"]').click();
  await expect(sidebar.locator('.jp-cellpipe-Run')).toHaveAttribute('data-status', 'cancelled', {
    timeout: 30_000
  });
  await expect(state('slow')).toHaveAttribute('data-state', 'cancelled');
});
