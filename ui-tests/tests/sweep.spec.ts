/**
 * A sweep from the sidebar in real JupyterLab: values for two parameters of a classification notebook,
 * the objective metric, Start sweep; the trials fill the table, the best one is marked, the chart shows
 * parallel coordinates (then, with one parameter swept, the metric against it), and a trial opens its run.
 */
import { expect, test } from '@jupyterlab/galata';
import { codeNotebook, openNotebook, openSidebar, shot } from './jupyterlab';

const DIGITS = codeNotebook([
  [
    ['imports'],
    'from sklearn.datasets import load_digits\nfrom sklearn.svm import SVC\nfrom sklearn.model_selection import train_test_split'
  ],
  [['pipeline-parameters'], 'gamma = 0.001\nC = 1.0\ntest_size = 0.5'],
  [['step:load_data'], 'X, y = load_digits(return_X_y=True)'],
  [
    ['step:split', 'prev:load_data'],
    'X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, random_state=0)'
  ],
  [['step:train', 'prev:split'], 'model = SVC(gamma=gamma, C=C).fit(X_train, y_train)'],
  [['step:evaluate', 'prev:train'], 'accuracy = model.score(X_test, y_test)'],
  [['pipeline-metrics'], 'accuracy']
]);

test('a sweep from the sidebar: trials, the best one, the chart, and a trial opens its run', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(600_000); // eight pipeline runs of scikit-learn steps
  await openNotebook(page, `${tmpPath}/digits.ipynb`, DIGITS);
  const sidebar = await openSidebar(page, 4);
  const section = sidebar.locator('[data-section="sweep"]');
  await section.locator('summary').click();
  await expect(section.locator('[data-action="sweep"]')).toBeDisabled(); // nothing to sweep yet
  await section.locator('[data-field="sweep-gamma"] input').fill('0.0001, 0.001, 0.1');
  await section.locator('[data-field="sweep-C"] input').fill('1, 10');
  await section.locator('[data-field="sweep-parallel"] input').fill('2');
  await expect(section.locator('[data-field="sweep-objective"] select').first()).toHaveValue('accuracy');
  await section.locator('[data-action="sweep"]').click();

  const sweep = section.locator('.jp-cellpipe-Sweep');
  await expect(sweep).toHaveAttribute('data-status', 'succeeded', { timeout: 240_000 });
  await expect(sweep.locator('tbody tr')).toHaveCount(6);
  await expect(sweep.locator('tbody tr[data-status="succeeded"]')).toHaveCount(6);
  await expect(sweep).toContainText('Run once for all trials: load_data, split');
  // gamma 0.1 overfits the digits (accuracy near 0.1); the best trial is one with a small gamma.
  const best = sweep.locator('tbody tr[data-best="true"]');
  await expect(best).toHaveCount(1);
  await expect(best.locator('td').nth(1)).not.toHaveText('0.1');
  await expect(sweep.locator('.jp-cellpipe-SweepChart[data-kind="parallel"] polyline')).toHaveCount(6);
  await sidebar.locator('[data-section="runs"]').evaluate(e => e.removeAttribute('open'));
  await sweep.locator('.jp-cellpipe-SweepChart').scrollIntoViewIfNeeded();
  await shot(page, testInfo, 'sweep-grid');

  // A trial opens its run in the runs list.
  await best.click();
  const runId = await best.getAttribute('title');
  await expect(sidebar.locator('.jp-cellpipe-RunItem-button[aria-pressed="true"]')).toHaveAttribute(
    'title',
    runId!
  );

  // One parameter swept: the metric against it.
  await section.locator('[data-field="sweep-C"] input').fill('');
  await section.locator('[data-field="sweep-gamma"] input').fill('0.0005, 0.002');
  await section.locator('[data-action="sweep"]').click();
  await expect(section.locator('.jp-cellpipe-Sweep tbody tr')).toHaveCount(2, { timeout: 30_000 });
  await expect(section.locator('.jp-cellpipe-Sweep')).toHaveAttribute('data-status', 'succeeded', {
    timeout: 240_000
  });
  await expect(section.locator('.jp-cellpipe-SweepChart[data-kind="line"] circle')).toHaveCount(2);
  await section.locator('.jp-cellpipe-SweepChart').scrollIntoViewIfNeeded();
  await shot(page, testInfo, 'sweep-one-parameter');
});
