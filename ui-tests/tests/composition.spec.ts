/**
 * A notebook that runs other notebooks (Kale 2.x `notebook:` cells), in real JupyterLab: the graph draws
 * each notebook step as a box around the steps of the notebook it runs; the sidebar shows a notebook
 * cell's role, its notebook and what is wrong with it by the field; a run runs the sub-pipelines and
 * their steps show their states, logs and metrics like any other. Screenshots in test-results/.
 */
import { expect, test } from '@jupyterlab/galata';
import { readdirSync } from 'fs';
import { join } from 'path';
import { openSidebar, runCommand, shot } from './jupyterlab';

const COMPOSITION = join(__dirname, '..', '..', 'examples', 'composition');

test.use({ autoGoto: true });

test('the graph shows a sub-pipeline per notebook step, and the run runs them', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(300_000);
  for (const file of readdirSync(COMPOSITION).filter(f => f.endsWith('.ipynb'))) {
    await page.contents.uploadFile(join(COMPOSITION, file), `${tmpPath}/${file}`);
  }
  await page.notebook.openByPath(`${tmpPath}/forecast.ipynb`);
  await page.notebook.activate('forecast.ipynb');
  const sidebar = await openSidebar(page, 3);
  await expect(sidebar.locator('[data-section="diagnostics"]')).not.toContainText('error');

  // The notebook cell's role in the sidebar: the notebook it runs, and a problem by the field.
  await page.notebook.selectCells(3);
  const cell = sidebar.locator('[data-section="cell"]');
  await expect(cell.locator('summary')).toHaveText('Cell 4');
  await expect(cell.locator('[data-field="role"] select')).toHaveValue('notebook');
  const path = cell.locator('[data-field="notebook-path"] input');
  await expect(path).toHaveValue('./make_series.ipynb');
  await path.fill('./no_such.ipynb');
  await path.press('Enter');
  await expect(cell.locator('[data-field="notebook-path"] .jp-cellpipe-Field-error')).toContainText(
    'no_such.ipynb, which cannot be read'
  );
  await expect(
    sidebar.locator('[data-section="diagnostics"] [data-code="notebook-unreadable"]')
  ).toContainText('cell 4');
  await shot(page, testInfo, 'composition-01-missing-notebook');
  await path.fill('./make_series.ipynb');
  await path.press('Enter');
  await expect(cell.locator('.jp-cellpipe-Field-error')).toHaveCount(0);

  await runCommand(page, 'cellpipe:open-panel');
  const graph = page.locator('.jp-cellpipe-GraphView');
  const data = graph.locator('.jp-cellpipe-Graph-group[data-step="data"]');
  const model = graph.locator('.jp-cellpipe-Graph-group[data-step="model"]');
  await expect(data).toContainText('data · make_series.ipynb');
  await expect(model).toContainText('model · fit_trend.ipynb');
  await expect(graph.locator('.jp-cellpipe-Graph-node')).toHaveCount(5);
  // Each box holds the steps of its notebook, and the boxes do not overlap.
  const box = async (selector: string) => (await graph.locator(selector).first().boundingBox())!;
  const within = (inner: { x: number; y: number; width: number; height: number }, outer: typeof inner) =>
    inner.x >= outer.x - 1 &&
    inner.y >= outer.y - 1 &&
    inner.x + inner.width <= outer.x + outer.width + 1 &&
    inner.y + inner.height <= outer.y + outer.height + 1;
  const dataBox = await box('.jp-cellpipe-Graph-group[data-step="data"] .jp-cellpipe-Graph-groupBox');
  const modelBox = await box('.jp-cellpipe-Graph-group[data-step="model"] .jp-cellpipe-Graph-groupBox');
  for (const step of ['data.generate', 'data.split']) {
    expect(within(await box(`.jp-cellpipe-Graph-node[data-step="${step}"]`), dataBox)).toBe(true);
  }
  for (const step of ['model.fit', 'model.predict']) {
    expect(within(await box(`.jp-cellpipe-Graph-node[data-step="${step}"]`), modelBox)).toBe(true);
  }
  expect(within(await box('.jp-cellpipe-Graph-node[data-step="summary"]'), modelBox)).toBe(false);
  expect(dataBox.y + dataBox.height).toBeLessThanOrEqual(modelBox.y + 1);
  // The variables that cross from one notebook to the other are on the edge between their steps.
  await expect(graph.locator('[data-from="data.split"][data-to="model.fit"]')).toContainText('train');
  await shot(page, testInfo, 'composition-02-graph');

  // Run: the sub-pipelines' steps run, the boxes take their steps' state.
  await sidebar.locator('[data-action="run"]').click();
  const state = (step: string) => sidebar.locator(`.jp-cellpipe-StepStates li[data-step="${step}"]`);
  await expect(state('summary')).toHaveAttribute('data-state', 'succeeded', { timeout: 180_000 });
  for (const step of ['data.generate', 'data.split', 'model.fit', 'model.predict']) {
    await expect(state(step)).toHaveAttribute('data-state', 'succeeded');
  }
  await expect(data).toHaveAttribute('data-state', 'succeeded');
  await graph.locator('.jp-cellpipe-Graph-node[data-step="model.predict"]').click();
  const detail = page.locator('.jp-cellpipe-StepDetailPanel');
  await expect(detail.locator('.jp-cellpipe-StepDetail')).toHaveAttribute('data-step', 'model.predict');
  await expect(detail.locator('.jp-cellpipe-Log-text')).toContainText('mean absolute error');
  // The child notebooks' metrics are the run's, beside the notebook's own.
  const row = sidebar.locator('.jp-cellpipe-RunsTable tbody tr').first();
  await expect(row.locator('[data-metric="mae"]')).not.toBeEmpty();
  await expect(row.locator('[data-metric="forecast_total"]')).not.toBeEmpty();
  await shot(page, testInfo, 'composition-03-run');
});
