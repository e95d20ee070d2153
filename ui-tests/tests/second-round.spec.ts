/**
 * What a new user stumbled on (issue 12), each shown in real JupyterLab at the sidebar's default width,
 * at the screen size it was seen at (1680×1050), with screenshots in the light and the dark theme: a
 * classification notebook (scikit-learn's digits, an SVC) run locally, its graph, its runs.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { Locator, TestInfo } from '@playwright/test';
import { rmSync } from 'fs';
import { AddressInfo, createServer } from 'net';
import { join } from 'path';
import { openNotebook, openSidebar, runCommand } from './jupyterlab';

/** The kubeconfig playwright.config.js points the server at; these tests want none there. */
const KUBECONFIG = join(__dirname, '..', 'test-results', 'cluster', 'kubeconfig.yaml');

test.use({ viewport: { width: 1680, height: 1050 } });

type Cell = ['markdown', string] | [string[], string];

/** An nbformat notebook of markdown cells and tagged code cells. */
function notebook(cells: Cell[]): unknown {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    cells: cells.map(([kind, source], i) =>
      kind === 'markdown'
        ? { cell_type: 'markdown', id: `cell-${i}`, metadata: {}, source }
        : {
            cell_type: 'code',
            id: `cell-${i}`,
            metadata: { tags: kind },
            execution_count: null,
            outputs: [],
            source
          }
    )
  };
}

/**
 * Cells: 0 markdown, 1 imports, 2 parameters, 3 load_data, 4 split, 5 train, 6 (train), 7 evaluate,
 * 8 rebuild_report_summary (its upstream step missing), 9 metrics.
 */
function digits(report: string[] = ['step:rebuild_report_summary']): unknown {
  return notebook([
    ['markdown', '# Digits: an SVC and its classification report'],
    [
      ['imports'],
      'from sklearn.datasets import load_digits\nfrom sklearn.model_selection import train_test_split\n' +
        'from sklearn.svm import SVC\nfrom sklearn.metrics import classification_report, accuracy_score'
    ],
    [['pipeline-parameters'], 'gamma = 0.001\ntest_size = 0.25\nseed = 0\nC = 1.0'],
    [['step:load_data'], 'X, y = load_digits(return_X_y=True)'],
    [
      ['step:split', 'prev:load_data'],
      'X_train, X_test, y_train, y_test = train_test_split(\n    X, y, test_size=test_size, random_state=seed\n)'
    ],
    [['step:train', 'prev:split'], 'model = SVC(gamma=gamma, C=C, random_state=seed)'],
    [[], 'model.fit(X_train, y_train)'],
    [
      ['step:evaluate', 'prev:train'],
      'pred = model.predict(X_test)\naccuracy = accuracy_score(y_test, pred)\nprint(classification_report(y_test, pred))'
    ],
    [
      report,
      'summary = f"accuracy {accuracy:.3f} with gamma {gamma}, C {C}, test_size {test_size}"\nprint(summary)'
    ],
    [['pipeline-metrics'], 'accuracy']
  ]);
}

const FIXED_REPORT = ['step:rebuild_report_summary', 'prev:evaluate'];

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise(resolve => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** A screenshot in the light theme, then one in the dark theme (the page goes back to light). */
async function shots(page: IJupyterLabPageFixture, testInfo: TestInfo, name: string): Promise<void> {
  for (const theme of ['light', 'dark'] as const) {
    if (theme === 'dark') {
      await page.theme.setDarkTheme();
    }
    const path = testInfo.outputPath(`${name}-${theme}.png`);
    await page.screenshot({ path });
    await testInfo.attach(`${name}-${theme}`, { path, contentType: 'image/png' });
  }
  await page.theme.setLightTheme();
}

async function open(page: IJupyterLabPageFixture, tmpPath: string, content: unknown): Promise<Locator> {
  await openNotebook(page, `${tmpPath}/digits.ipynb`, content);
  return openSidebar(page, 5);
}

/** The digits notebook's active cell, its mode, and the cursor's selection in its editor. */
const activeCell = (page: IJupyterLabPageFixture) =>
  page.evaluate(() => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- galata exposes the app, untyped
    const app = (window as any).jupyterapp;
    for (const widget of app.shell.widgets('main')) {
      if (widget.context?.path?.endsWith('digits.ipynb')) {
        const notebook = widget.content;
        const editor = notebook.activeCell.editor;
        const { start, end } = editor.getSelection();
        return {
          cell: notebook.activeCellIndex as number,
          mode: notebook.mode as string,
          line: start.line + 1,
          selected: (editor.getLine(start.line) as string).slice(start.column, end.column)
        };
      }
    }
    return null;
  });

/** Makes a cell active by clicking its prompt, as a user does (whatever widget has the focus). */
const selectCell = (page: IJupyterLabPageFixture, index: number) =>
  page.locator(`.jp-Notebook .jp-Cell >> nth=${index}`).locator('.jp-InputPrompt').click();

const cellTags = (page: IJupyterLabPageFixture, index: number) =>
  page.evaluate(i => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- galata exposes the app, untyped
    const panel = (window as any).jupyterapp.shell.currentWidget;
    return panel.content.model.sharedModel.cells[i].getMetadata('tags');
  }, index);

const badge = (page: IJupyterLabPageFixture, i: number) =>
  page.locator(`.jp-Notebook .jp-Cell >> nth=${i}`).locator('.jp-cellpipe-Badge');

async function runAndWait(sidebar: Locator, last = 'evaluate'): Promise<void> {
  await sidebar.locator('[data-action="run"]').click();
  await expect(sidebar.locator(`.jp-cellpipe-StepStates li[data-step="${last}"]`)).toHaveAttribute(
    'data-state',
    /succeeded|cached/,
    { timeout: 120_000 }
  );
  await expect(sidebar.locator('.jp-cellpipe-Run')).not.toHaveAttribute('data-status', 'running', {
    timeout: 60_000
  });
}

test('1. a bad step name is refused as it is typed and nothing is written', async ({
  page,
  tmpPath
}, testInfo) => {
  const sidebar = await open(page, tmpPath, digits(FIXED_REPORT));
  await page.notebook.selectCells(8);
  const name = sidebar.locator('[data-section="cell"] [data-field="step-name"]');
  await name.locator('input').fill('Rebuild Report');
  await expect(name.locator('.jp-cellpipe-Field-error')).toContainText('e.g. rebuild_report');
  await name.locator('input').press('Enter');
  await name.locator('input').blur();
  // Nothing written: the step, its upstream link and its place in the pipeline are as they were.
  expect(await cellTags(page, 8)).toEqual(FIXED_REPORT);
  await expect(badge(page, 8)).toContainText('rebuild_report_summary');
  await expect(sidebar.locator('.jp-cellpipe-Summary')).toContainText('5 steps');
  await shots(page, testInfo, '01-bad-step-name');
  await name.locator('input').fill('rebuild_report');
  await name.locator('input').press('Enter');
  await expect.poll(() => cellTags(page, 8)).toEqual(['step:rebuild_report', 'prev:evaluate']);
  await expect(name.locator('.jp-cellpipe-Field-error')).toHaveCount(0);
});

test('2. a cell that is no step shows no step, and Run this step has nothing to run', async ({
  page,
  tmpPath
}, testInfo) => {
  const sidebar = await open(page, tmpPath, digits(FIXED_REPORT));
  await page.notebook.selectCells(5);
  await expect(sidebar.locator('[data-section="flow"] summary')).toHaveText('Step train: data');
  await expect(sidebar.locator('[data-action="run-step"]')).toBeEnabled();
  for (const [cell, label] of [
    [1, 'imports'],
    [2, 'parameters'],
    [9, 'metrics'],
    [0, 'markdown']
  ] as const) {
    await page.notebook.selectCells(cell);
    await expect(sidebar.locator('[data-section="cell"] summary'), label).toHaveText(`Cell ${cell + 1}`);
    await expect(sidebar.locator('[data-section="flow"]'), label).toHaveCount(0);
    await expect(sidebar.locator('[data-section="settings"]'), label).toHaveCount(0);
    await expect(sidebar.locator('[data-action="run-step"]'), label).toBeDisabled();
    await expect(sidebar.locator('[data-action="run-from"]'), label).toBeDisabled();
  }
  await page.notebook.selectCells(2);
  await shots(page, testInfo, '02-parameters-cell');
});

test('3. cluster errors say what is wrong and what to do; each target shows its own fields', async ({
  page,
  tmpPath
}, testInfo) => {
  rmSync(KUBECONFIG, { force: true });
  const sidebar = await open(page, tmpPath, digits(FIXED_REPORT));
  const settings = sidebar.locator('[data-section="pipeline"]');
  await settings.locator('summary').click();
  // Argo needs Kubernetes access, not an endpoint; the kubeconfig KUBECONFIG names does not exist.
  await settings.locator('[data-field="target"] select').selectOption('argo');
  await expect(settings.locator('[data-field="endpoint"]')).toHaveCount(0);
  await settings.locator('[data-field="namespace"] input').fill('team');
  await settings.locator('[data-field="namespace"] input').press('Enter');
  await sidebar.locator('[data-action="run"]').click();
  const error = sidebar.locator('.jp-cellpipe-Error[role="alert"]');
  await expect(error).toContainText('(KUBECONFIG) does not exist', { timeout: 60_000 });
  await expect(error).toContainText('Point KUBECONFIG at the kubeconfig kubectl uses');
  await expect(error).not.toContainText('HTTP protocol');
  await shots(page, testInfo, '03-argo-no-kubeconfig');

  // KFP without an endpoint, outside a cluster: no guessed address, the field says it is required.
  await settings.locator('[data-field="target"] select').selectOption('kfp');
  const endpoint = settings.locator('[data-field="endpoint"] input');
  await expect(endpoint).toHaveAttribute('placeholder', 'required, e.g. https://HOST/pipeline');
  await sidebar.locator('[data-action="run"]').click();
  await expect(error).toContainText(
    'No Kubeflow Pipelines endpoint: set the KFP endpoint in the pipeline settings',
    {
      timeout: 60_000
    }
  );
  // An endpoint that refuses: the reason, not "fetch failed".
  const closed = await closedPort();
  await endpoint.fill(`http://127.0.0.1:${closed}`);
  await endpoint.press('Enter');
  await sidebar.locator('[data-action="run"]').click();
  await expect(error).toContainText(
    `cannot reach Kubeflow Pipelines at http://127.0.0.1:${closed} (the connection was refused`,
    { timeout: 60_000 }
  );
  await expect(error).not.toContainText('fetch failed');
  await settings.locator('[data-field="namespace"]').scrollIntoViewIfNeeded();
  await shots(page, testInfo, '03-kfp-refused');
});

test('4. outputs under the cells and the graph legend follow the run shown; an override says it differs', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(300_000);
  const sidebar = await open(page, tmpPath, digits(FIXED_REPORT));
  await runAndWait(sidebar, 'rebuild_report_summary');
  await runCommand(page, 'cellpipe:open-panel');
  const graph = page.locator('.jp-cellpipe-GraphView');
  const detail = page.locator('.jp-cellpipe-StepDetailPanel');
  await graph.locator('[data-step="rebuild_report_summary"]').click();
  await detail.locator('[data-action="show-in-cells"]').click();
  const under = page.locator('.jp-Notebook .jp-Cell >> nth=8').locator('.jp-cellpipe-CellRunOutputs');
  await expect(under).toContainText('with gamma 0.001');
  const firstRun = (await sidebar.locator('.jp-cellpipe-RunItem').first().getAttribute('data-run'))!;

  // An override: the field says the notebook's value and offers to go back to it.
  const gamma = sidebar.locator('[data-field="param-gamma"]');
  await gamma.locator('input').fill('0.002');
  await gamma.locator('input').press('Enter');
  await expect(gamma.locator('.jp-cellpipe-Field-hint')).toHaveText('notebook: 0.001');
  await expect(gamma.locator('.jp-cellpipe-Field-reset')).toBeVisible();
  await runAndWait(sidebar, 'rebuild_report_summary');
  // The outputs under the cells and the legend are the new run's.
  await expect(under).toContainText('with gamma 0.002', { timeout: 30_000 });
  await expect(under).not.toContainText(firstRun);
  const legend = graph.locator('[data-legend="parameters"]');
  await expect(legend.locator('[data-parameter="gamma"]')).toHaveAttribute('data-differs', 'true');
  await expect(legend.locator('[data-parameter="gamma"]')).toContainText('gamma = 0.002 (notebook 0.001)');
  await expect(legend.locator('[data-parameter="C"]')).not.toHaveAttribute('data-differs', 'true');
  await shots(page, testInfo, '04-second-run');
  // Opening the first run again shows its outputs and its values.
  await sidebar.locator(`.jp-cellpipe-RunItem[data-run="${firstRun}"] button`).click();
  await expect(under).toContainText('with gamma 0.001', { timeout: 30_000 });
  await expect(legend.locator('[data-parameter="gamma"]')).not.toHaveAttribute('data-differs', 'true');
  await gamma.locator('.jp-cellpipe-Field-reset').click();
  await expect(gamma.locator('input')).toHaveValue('0.001');
  await expect(gamma.locator('.jp-cellpipe-Field-hint')).toHaveCount(0);
});

test('5. an error goes once what it was about is fixed', async ({ page, tmpPath }, testInfo) => {
  rmSync(KUBECONFIG, { force: true });
  const sidebar = await open(page, tmpPath, digits());
  await sidebar.locator('[data-action="run"]').click();
  const error = sidebar.locator('.jp-cellpipe-Error[role="alert"]');
  await expect(error).toContainText('fix it first');
  await shots(page, testInfo, '05-refused');
  await sidebar
    .locator('.jp-cellpipe-Suggestion')
    .getByRole('button', { name: 'Add prev:evaluate', exact: true })
    .click();
  await expect(error).toHaveCount(0);
  // A cluster's error goes when the target changes.
  const settings = sidebar.locator('[data-section="pipeline"]');
  await settings.locator('summary').click();
  await settings.locator('[data-field="target"] select').selectOption('argo');
  await sidebar.locator('[data-action="run"]').click();
  await expect(error).toContainText('kubeconfig', { timeout: 60_000 });
  await settings.locator('[data-field="target"] select').selectOption('local');
  await expect(error).toHaveCount(0);
  await shots(page, testInfo, '05-fixed');
});

test('6. text outputs keep their columns; a cached step shows its log like a step that ran', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(300_000);
  const sidebar = await open(page, tmpPath, digits(FIXED_REPORT));
  await runAndWait(sidebar, 'rebuild_report_summary');
  await runCommand(page, 'cellpipe:open-panel');
  const graph = page.locator('.jp-cellpipe-GraphView');
  const detail = page.locator('.jp-cellpipe-StepDetailPanel');
  await graph.locator('[data-step="evaluate"]').click();
  const report = detail.locator('.jp-cellpipe-StepOutputs pre').first();
  await expect(report).toContainText('precision');
  // Not wrapped: the header line of the report is one line, and the block scrolls sideways instead.
  const layout = await report.evaluate(pre => {
    const style = getComputedStyle(pre);
    const lines = pre.textContent!.split('\n').length;
    return {
      whiteSpace: style.whiteSpace,
      overflowX: style.overflowX,
      heightPerLine: pre.scrollHeight / lines,
      lineHeight: parseFloat(style.lineHeight)
    };
  });
  expect(layout.whiteSpace).toBe('pre');
  expect(layout.overflowX).toBe('auto');
  expect(layout.heightPerLine).toBeLessThan(layout.lineHeight * 1.2);
  await expect(detail.locator('.jp-cellpipe-Log-text')).toContainText('precision');
  await shots(page, testInfo, '06-report');

  // Again, nothing changed: every step comes from the cache, with its log.
  await runAndWait(sidebar, 'rebuild_report_summary');
  await expect(sidebar.locator('.jp-cellpipe-StepStates li[data-step="evaluate"]')).toHaveAttribute(
    'data-state',
    'cached'
  );
  await graph.locator('[data-step="train"]').click();
  await graph.locator('[data-step="evaluate"]').click();
  await expect(detail.locator('.jp-cellpipe-StepDetail')).toHaveAttribute('data-state', 'cached');
  await expect(detail.locator('.jp-cellpipe-Log-text')).toContainText('precision');
  await expect(detail.locator('.jp-cellpipe-Log-text')).not.toHaveText('(empty)');
  await expect(detail.locator('[data-cached-from]')).toContainText('are those of run');
  await shots(page, testInfo, '06-cached');
});

/** Whether an element's text is cut (wider than the box) or wraps over more than `lines` lines. */
function fits(element: Locator, lines = 1) {
  return element.evaluate((node, lines) => {
    const style = getComputedStyle(node);
    const lineHeight = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.3;
    return {
      text: node.textContent,
      notCut: node.scrollWidth <= node.clientWidth + 1,
      notWrapped: node.getBoundingClientRect().height <= lineHeight * lines + 8
    };
  }, lines);
}

test('7. at the default sidebar width nothing is cut or wrapped to pieces', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(300_000);
  const sidebar = await open(page, tmpPath, digits());
  const width = (await sidebar.boundingBox())!.width;
  // The sidebar is as JupyterLab opens it.
  expect(width).toBeLessThan(320);
  await page.notebook.selectCells(6);
  const role = sidebar.locator('[data-section="cell"] [data-field="role"] select');
  // The role of a continuation cell, in words that fit the menu.
  const roleText = await role.evaluate((select: HTMLSelectElement) => {
    const canvas = document.createElement('canvas').getContext('2d')!;
    canvas.font = getComputedStyle(select).font;
    return {
      text: select.selectedOptions[0].text,
      width: canvas.measureText(select.selectedOptions[0].text).width,
      room: select.clientWidth - 32
    };
  });
  expect(roleText.text).toBe('Not tagged');
  expect(roleText.width).toBeLessThan(roleText.room);
  const fix = sidebar.locator('.jp-cellpipe-Suggestion button');
  expect(await fits(fix)).toMatchObject({ text: 'Add prev:evaluate', notCut: true, notWrapped: true });
  await sidebar
    .locator('.jp-cellpipe-Suggestion')
    .getByRole('button', { name: 'Add prev:evaluate', exact: true })
    .click();
  await runAndWait(sidebar, 'rebuild_report_summary');
  // Each state is whole on one line, each name whole (a long one puts its state on the line below).
  for (const label of await sidebar.locator('.jp-cellpipe-StepState-label').all()) {
    expect(await fits(label)).toMatchObject({ notCut: true, notWrapped: true });
  }
  for (const name of await sidebar.locator('.jp-cellpipe-StepState-name').all()) {
    expect(await fits(name)).toMatchObject({ notCut: true, notWrapped: true });
  }
  const runs = sidebar.locator('[data-section="runs"]');
  const item = runs.locator('.jp-cellpipe-RunItem').first();
  expect(await fits(item.locator('.jp-cellpipe-RunItem-head'))).toMatchObject({
    notCut: true,
    notWrapped: true
  });
  await expect(item.locator('.jp-cellpipe-RunItem-params')).toContainText('gamma=0.001');
  await expect(item.locator('[data-metric="accuracy"]')).toBeVisible();
  const sidebarBox = (await sidebar.boundingBox())!;
  for (const part of [
    item.locator('.jp-cellpipe-RunItem-params'),
    item.locator('[data-metric="accuracy"]')
  ]) {
    const box = (await part.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(sidebarBox.x + sidebarBox.width);
  }

  // The graph: what a step uses is on lines of its own, whole; the error count leaves the name alone.
  await runCommand(page, 'cellpipe:open-panel');
  const graph = page.locator('.jp-cellpipe-GraphView');
  await selectCell(page, 7);
  const node = graph.locator('[data-step="rebuild_report_summary"]');
  await expect(node).toBeVisible();
  const texts = await node.locator('text.jp-cellpipe-Graph-nodeVars').allTextContents();
  expect(texts.join(' ')).toMatch(/uses C, gamma, test_size/);
  expect(texts.some(t => t.includes('…'))).toBe(false);
  await shots(page, testInfo, '07-narrow');

  // A step with an error: its badge does not cover its name.
  await selectCell(page, 8);
  const name = sidebar.locator('[data-section="cell"] [data-field="step-name"] input');
  await name.fill('rebuild_the_final_accuracy_report');
  await name.press('Enter');
  await sidebar.locator('[data-section="cell"] [data-field="upstream"] .jp-cellpipe-Chip-remove').click();
  const broken = graph.locator('[data-step="rebuild_the_final_accuracy_report"]');
  await expect(broken.locator('.jp-cellpipe-Graph-badge')).toBeVisible();
  const nameBox = (await broken.locator('text.jp-cellpipe-Graph-nodeName').boundingBox())!;
  const badgeBox = (await broken.locator('.jp-cellpipe-Graph-badge circle').boundingBox())!;
  expect(nameBox.x + nameBox.width).toBeLessThanOrEqual(badgeBox.x);
  await shots(page, testInfo, '07-graph-error');
});

test('8. a step’s inputs include the parameters it reads, its outputs the metrics and who reads them', async ({
  page,
  tmpPath
}, testInfo) => {
  const sidebar = await open(page, tmpPath, digits(FIXED_REPORT));
  const flow = sidebar.locator('[data-section="flow"]');
  await page.notebook.selectCells(5);
  const ins = flow.locator('[data-list="ins"]');
  await expect(ins.locator('[data-kind="parameter"]')).toHaveText([
    'C parameter = 1.0',
    /^gamma parameter = 0\.001$/,
    /^seed parameter = 0$/
  ]);
  await expect(ins.locator('[data-kind="variable"]')).toHaveText(['X_train ← split', 'y_train ← split']);
  await page.notebook.selectCells(4);
  await expect(flow.locator('[data-list="outs"] li', { hasText: 'X_test' })).toHaveText('X_test → evaluate');
  await expect(flow.locator('[data-list="outs"] li', { hasText: 'X_train' })).toHaveText('X_train → train');
  await page.notebook.selectCells(7);
  await expect(flow.locator('[data-list="outs"] [data-kind="metric"]')).toHaveText(
    'accuracy metric of the run'
  );
  await expect(flow.locator('[data-list="outs"] li', { hasText: 'accuracy →' })).toHaveText(
    'accuracy → rebuild_report_summary'
  );
  await shots(page, testInfo, '08-outputs');
});

test('9. a problem takes the cursor to its line and marks what it is about', async ({
  page,
  tmpPath
}, testInfo) => {
  const sidebar = await open(page, tmpPath, digits());
  await sidebar.locator('[data-code="missing-upstream"] button').first().click();
  const where = await activeCell(page);
  expect(where).toEqual({ cell: 8, mode: 'edit', line: 1, selected: 'accuracy' });
  await shots(page, testInfo, '09-go-to-line');
});

test('10. clicking a step of several cells in the graph selects its first cell', async ({
  page,
  tmpPath
}, testInfo) => {
  const sidebar = await open(page, tmpPath, digits(FIXED_REPORT));
  await runCommand(page, 'cellpipe:open-panel');
  await page.locator('.jp-cellpipe-GraphView [data-step="train"]').click();
  await expect.poll(async () => (await activeCell(page))?.cell).toBe(5);
  await expect(sidebar.locator('[data-section="cell"] summary')).toHaveText('Cell 6');
  await expect(sidebar.locator('[data-section="cell"] [data-field="role"] select')).toHaveValue('step');
  await expect(sidebar.locator('[data-section="flow"] summary')).toHaveText('Step train: data');
  await shots(page, testInfo, '10-first-cell');
});

test('11. changing one parameter re-runs only the steps that read it', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(300_000);
  const sidebar = await open(page, tmpPath, digits(FIXED_REPORT));
  await runAndWait(sidebar, 'rebuild_report_summary');
  const gamma = sidebar.locator('[data-field="param-gamma"] input');
  await gamma.fill('0.0005');
  await gamma.press('Enter');
  await runAndWait(sidebar, 'rebuild_report_summary');
  const state = (step: string) => sidebar.locator(`.jp-cellpipe-StepStates li[data-step="${step}"]`);
  // load_data and split do not read gamma; train does, and evaluate is below it.
  await expect(state('load_data')).toHaveAttribute('data-state', 'cached');
  await expect(state('split')).toHaveAttribute('data-state', 'cached');
  await expect(state('train')).toHaveAttribute('data-state', 'succeeded');
  await expect(state('evaluate')).toHaveAttribute('data-state', 'succeeded');
  await shots(page, testInfo, '11-cached-steps');
});

test('12. the metric chart has axes and runs in the list’s order; defaults look like defaults', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(300_000);
  const sidebar = await open(page, tmpPath, digits(FIXED_REPORT));
  await runAndWait(sidebar, 'rebuild_report_summary');
  const gamma = sidebar.locator('[data-field="param-gamma"] input');
  await gamma.fill('0.1');
  await gamma.press('Enter');
  await runAndWait(sidebar, 'rebuild_report_summary');
  const runs = sidebar.locator('[data-section="runs"]');
  await expect(runs.locator('.jp-cellpipe-RunItem-number')).toHaveText(['#2', '#1']);
  const chart = runs.locator('.jp-cellpipe-MetricChart[data-metric="accuracy"]');
  await expect(chart.locator('figcaption')).toHaveText('accuracy by run (newest first)');
  // The bars are labelled with the runs' numbers, in the list's order, and the scale has its ends.
  await expect(chart.locator('g[data-run] text')).toHaveText(['#2', '#1']);
  const ids = await runs
    .locator('.jp-cellpipe-RunItem')
    .evaluateAll(items => items.map(i => i.getAttribute('data-run')));
  expect(
    await chart.locator('g[data-run]').evaluateAll(bars => bars.map(b => b.getAttribute('data-run')))
  ).toEqual(ids);
  await expect(chart.locator('text.jp-cellpipe-MetricChart-tick').first()).toHaveText(/^0\.\d+$|^1$/);
  await runs.scrollIntoViewIfNeeded();
  await shots(page, testInfo, '12-chart');

  await page.notebook.selectCells(5);
  const settings = sidebar.locator('[data-section="settings"]');
  await settings.locator('summary').click();
  for (const [field, placeholder] of [
    ['cpu.limit', 'e.g. 2'],
    ['gpu.count', 'none'],
    ['retries', 'none'],
    ['timeout', 'no limit']
  ]) {
    const input = settings.locator(`[data-field="${field}"] input`);
    await expect(input).toHaveValue('');
    await expect(input).toHaveAttribute('placeholder', placeholder);
    expect(await input.evaluate(i => getComputedStyle(i, '::placeholder').fontStyle)).toBe('italic');
  }
  await settings.scrollIntoViewIfNeeded();
  await shots(page, testInfo, '12-placeholders');
});
