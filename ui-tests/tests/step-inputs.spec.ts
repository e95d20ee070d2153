/**
 * A failed step's inputs in the kernel: run a pipeline whose step fails, click "Load this step's inputs
 * into the kernel"; the notebook's kernel then has the values the step received (a DataFrame, an array,
 * the run's parameter value) and the cursor is at the failing line. Screenshots in test-results/.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { codeNotebook, openNotebook, openSidebar, saveNotebook, shot } from './jupyterlab';

/** What the current notebook's kernel answers for each expression (its text/plain form). */
function kernelValues(
  page: IJupyterLabPageFixture,
  expressions: Record<string, string>
): Promise<Record<string, string>> {
  return page.evaluate(async expressions => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- galata exposes the app on window, untyped
    const panel = (window as any).jupyterapp.shell.currentWidget;
    const reply = await panel.sessionContext.session.kernel.requestExecute({
      code: '',
      silent: true,
      user_expressions: expressions
    }).done;
    const found: Record<string, string> = {};
    for (const [name, e] of Object.entries(reply.content.user_expressions)) {
      found[name] = (e as { data: Record<string, string> }).data['text/plain'];
    }
    return found;
  }, expressions);
}

test('a failed step: Load puts its inputs in the kernel and goes to the failing line', async ({
  page,
  tmpPath
}, testInfo) => {
  await openNotebook(
    page,
    `${tmpPath}/inputs.ipynb`,
    codeNotebook([
      [['imports'], 'import numpy as np\nimport pandas as pd'],
      [['pipeline-parameters'], 'limit = 5'],
      [['step:load'], 'frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})\ngrid = np.arange(6.0).reshape(2, 3)'],
      [
        ['step:check', 'prev:load'],
        'total = frame["x"].sum() + grid.sum()\nprint(total)\nassert total < limit, f"total {total} is over {limit}"'
      ]
    ])
  );
  const sidebar = await openSidebar(page, 2);
  const run = sidebar.locator('.jp-cellpipe-Run');
  await sidebar.locator('[data-action="run"]').click();
  await expect(run).toHaveAttribute('data-status', 'failed', { timeout: 120_000 });
  const check = sidebar.locator('.jp-cellpipe-StepStates li[data-step="check"]');
  await expect(check.locator('.jp-cellpipe-Error')).toContainText('cell 4, line 3 raised AssertionError');
  await shot(page, testInfo, 'step-inputs-failed');

  await check.locator('[data-action="load-inputs"]').click();
  const note = check.locator('.jp-cellpipe-StepInputs-note');
  await expect(note).toHaveAttribute('data-status', 'loaded', { timeout: 120_000 });
  await expect(note).toContainText('The kernel has what step check of run');
  await expect(note).toContainText('(parameters limit; inputs frame, grid). It failed at cell 4, line 3');

  // The cursor is at the failing line of the failing cell.
  const at = await page.evaluate(() => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- galata exposes the app on window, untyped
    const notebook = (window as any).jupyterapp.shell.currentWidget.content;
    return { cell: notebook.activeCellIndex, line: notebook.activeCell.editor.getCursorPosition().line };
  });
  expect(at).toEqual({ cell: 3, line: 2 });

  // The kernel has the values the step received.
  const values = await kernelValues(page, {
    frame: 'frame["x"].tolist()',
    grid: 'float(grid.sum())',
    limit: 'limit',
    total: '"total" in dir()'
  });
  expect(values).toEqual({ frame: '[1.0, 2.0, 3.0]', grid: '15.0', limit: '5', total: 'False' });
  await shot(page, testInfo, 'step-inputs-loaded');

  // Running the failing cell in the notebook fails as the step did: the user fixes it there.
  await page.notebook.runCell(3);
  await expect(page.locator('.jp-Cell').nth(3).locator('.jp-OutputArea')).toContainText(
    'AssertionError: total 21.0 is over 5'
  );
  await shot(page, testInfo, 'step-inputs-rerun');
});

test('a failed sub-pipeline step: Load opens its notebook, loads its inputs there and goes to the failing line', async ({
  page,
  tmpPath
}, testInfo) => {
  // The child's cell reads `xs` from the parent's step and `math` from the parent's imports cell.
  const child = codeNotebook([
    [['step:check'], 'root = math.sqrt(sum(xs))\nprint(root)\nassert root > 5, f"root {root} is too small"']
  ]);
  await saveNotebook(page, `${tmpPath}/child.ipynb`, child);
  const parent = codeNotebook([
    [['imports'], 'import math'],
    [['step:load'], 'xs = [1.0, 3.0]'],
    [['notebook:sub', 'prev:load'], '']
  ]) as { cells: Array<{ metadata: Record<string, unknown> }> };
  parent.cells[2].metadata.notebook_path = 'child.ipynb';
  await openNotebook(page, `${tmpPath}/parent.ipynb`, parent);
  const sidebar = await openSidebar(page, 2);
  const run = sidebar.locator('.jp-cellpipe-Run');
  await sidebar.locator('[data-action="run"]').click();
  await expect(run).toHaveAttribute('data-status', 'failed', { timeout: 120_000 });
  const check = sidebar.locator('.jp-cellpipe-StepStates li[data-step="sub.check"]');
  await expect(check.locator('.jp-cellpipe-Error')).toContainText('cell 1, line 3 raised AssertionError');

  await check.locator('[data-action="load-inputs"]').click();
  // The child notebook opens: the failing cell and line are in it, and its kernel gets the inputs.
  const current = () =>
    page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- galata exposes the app on window, untyped
      return (window as any).jupyterapp.shell.currentWidget.context.path as string;
    });
  await expect.poll(current, { timeout: 120_000 }).toBe(`${tmpPath}/child.ipynb`);
  const at = await page.evaluate(async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- galata exposes the app on window, untyped
    const panel = (window as any).jupyterapp.shell.currentWidget;
    for (let i = 0; i < 600 && panel.content.activeCell.editor.getCursorPosition().line !== 2; i++) {
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    return {
      cell: panel.content.activeCellIndex,
      line: panel.content.activeCell.editor.getCursorPosition().line
    };
  });
  expect(at).toEqual({ cell: 0, line: 2 });
  const values = await kernelValues(page, { xs: 'xs', math: 'math.__name__', root: '"root" in dir()' });
  expect(values).toEqual({ xs: '[1.0, 3.0]', math: "'math'", root: 'False' });
  // The sidebar shows the child notebook now: a notification says what was loaded and where it failed.
  await expect(page.locator('.Toastify__toast').last()).toContainText(
    "child.ipynb's kernel has the inputs of step sub.check; it failed at cell 1, line 3."
  );
  await shot(page, testInfo, 'step-inputs-sub-pipeline');
});
