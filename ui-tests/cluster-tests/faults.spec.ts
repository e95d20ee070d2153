/**
 * What the lab's real cluster does to a run, as the sidebar shows it: a step no node can schedule says
 * why it waits (and the run can be cancelled), and a failing step says its Python error with cell and line.
 * The same one-line messages the CLI prints (cluster/test/test_faults.py).
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { shot } from '../tests/jupyterlab';
import { openInPodLab, podLabOptions } from './pod-lab';

test.use(podLabOptions);

/** Two steps on Argo (the notebook's own target); `first` with the given settings and source. */
function twoSteps(first: Record<string, unknown>, source: string): Record<string, unknown> {
  const cell = (i: number, tags: string[], text: string) => ({
    cell_type: 'code',
    id: `c${i}`,
    metadata: { tags },
    execution_count: null,
    outputs: [],
    source: text
  });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      cellpipe: { name: 'ui-fault', target: 'argo', steps: { first } }
    },
    cells: [
      cell(0, ['imports'], 'import time'),
      cell(1, ['step:first'], source),
      cell(2, ['step:second', 'prev:first'], "print('second')")
    ]
  };
}

async function open(page: IJupyterLabPageFixture, name: string, content: Record<string, unknown>) {
  const { sidebar } = await openInPodLab(page, name, content, 2);
  const step = (name: string) => sidebar.locator(`.jp-cellpipe-StepStates li[data-step="${name}"]`);
  return { sidebar, step };
}

test('a request no node can satisfy: the step says why it waits, and the run is cancelled', async ({
  page
}, testInfo) => {
  const { sidebar, step } = await open(
    page,
    'unschedulable',
    twoSteps({ memory: { request: '500Gi' } }, "print('first')")
  );
  await sidebar.locator('[data-action="run"]').click();
  const waiting = step('first').locator('.jp-cellpipe-Waiting');
  await expect(waiting).toContainText('Step first cannot be scheduled', { timeout: 300_000 });
  await expect(waiting).toContainText('Insufficient memory');
  await expect(waiting).toContainText("Lower the step's CPU, memory or GPU request");
  await shot(page, testInfo, '01-unschedulable-waiting');
  await sidebar.locator('[data-action="cancel"]').click();
  await expect(sidebar.locator('.jp-cellpipe-Run')).toHaveAttribute('data-status', 'cancelled', {
    timeout: 180_000
  });
  await expect(step('first')).toHaveAttribute('data-state', 'cancelled');
  await expect(step('second')).toHaveAttribute('data-state', 'cancelled');
  await shot(page, testInfo, '02-unschedulable-cancelled');
});

test('a failing step retried: its Python error, cell and line, after how many attempts', async ({
  page
}, testInfo) => {
  const { sidebar, step } = await open(
    page,
    'retries',
    twoSteps({ retries: 1 }, "raise ValueError('no data for ' + 'march')")
  );
  await sidebar.locator('[data-action="run"]').click();
  await expect(sidebar.locator('.jp-cellpipe-Run')).toHaveAttribute('data-status', 'failed', {
    timeout: 400_000
  });
  await expect(step('first')).toHaveAttribute('data-state', 'failed');
  await expect(step('first').locator('.jp-cellpipe-Error')).toHaveText(
    'Step first failed after 2 attempts: cell 2, line 1 raised ValueError: no data for march'
  );
  await expect(step('second')).toHaveAttribute('data-state', 'skipped');
  await shot(page, testInfo, '03-retries-failed');
});
