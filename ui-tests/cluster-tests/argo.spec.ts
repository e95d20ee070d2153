/**
 * The Run button in the notebook pod's JupyterLab, on the lab's real Argo: each example run locally,
 * then with the Argo target; the steps' states move on the graph and the badges, each step's log shows
 * in the panel, the snapshot of the workspace is named, and the cluster run's metrics and step outputs
 * equal the local run's (as the cellpipe server serves them to the sidebar).
 */
import { expect, test } from '@jupyterlab/galata';
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { runCommand, shot } from '../tests/jupyterlab';
import { openInPodLab, podLabOptions } from './pod-lab';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const names = readdirSync(EXAMPLES)
  .filter(n => n.endsWith('.ipynb'))
  .sort();

interface Served {
  run: { id: string; status: string; metrics: Record<string, unknown>; order: string[]; target?: string };
}

test.use(podLabOptions);

for (const name of names) {
  test(`${name}: Run locally, then on Argo; states, logs, outputs, metrics`, async ({
    page,
    baseURL
  }, testInfo) => {
    const content = JSON.parse(readFileSync(join(EXAMPLES, name), 'utf8'));
    const steps = Object.keys(
      Object.fromEntries(
        content.cells
          .flatMap((c: { metadata: { tags?: string[] } }) => c.metadata.tags ?? [])
          .filter((t: string) => t.startsWith('step:'))
          .map((t: string) => [t.slice(5), true])
      )
    );
    const { path, sidebar } = await openInPodLab(
      page,
      name.replace(/\.ipynb$/, ''),
      content,
      steps.length,
      name
    );
    const state = (step: string) => sidebar.locator(`.jp-cellpipe-StepStates li[data-step="${step}"]`);
    const api = async <T>(p: string): Promise<T> => {
      const res = await page.request.get(`${baseURL}/cellpipe${p}`);
      expect(res.ok()).toBe(true);
      return (await res.json()) as T;
    };

    // 1. Local: the reference.
    await sidebar.locator('[data-action="run"]').click();
    for (const step of steps) {
      await expect(state(step)).toHaveAttribute('data-state', 'succeeded', { timeout: 300_000 });
    }
    const runs = async () =>
      (await api<{ runs: Served['run'][] }>(`/api/runs?notebook=${encodeURIComponent(path)}`)).runs;
    const local = (await runs())[0];
    expect(local.status).toBe('succeeded');

    // 2. Argo: chosen in the pipeline settings (namespace: the notebook pod's).
    const settings = sidebar.locator('[data-section="pipeline"]');
    await settings.locator('summary').click();
    await settings.locator('[data-field="target"] select').selectOption('argo');
    await sidebar.locator('[data-action="run"]').click();
    await expect(sidebar.locator('.jp-cellpipe-Cluster')).toContainText(
      'On Argo Workflows, namespace team-a',
      {
        timeout: 180_000
      }
    );
    await expect(sidebar.locator('.jp-cellpipe-Snapshots')).toContainText('nb-workspace (at /home/jovyan)');
    await runCommand(page, 'cellpipe:open-panel');
    const graph = page.locator('.jp-cellpipe-GraphView');
    // States move: the first step is seen running (or already done) on the graph and its badge.
    await expect(graph.locator(`[data-step="${steps[0]}"]`)).toHaveAttribute(
      'data-state',
      /running|succeeded/,
      {
        timeout: 300_000
      }
    );
    await shot(page, testInfo, '01-argo-running');
    for (const step of steps) {
      await expect(state(step)).toHaveAttribute('data-state', 'succeeded', { timeout: 400_000 });
      await expect(graph.locator(`[data-step="${step}"]`)).toHaveAttribute('data-state', 'succeeded');
    }
    await expect(sidebar.locator('.jp-cellpipe-Run')).toHaveAttribute('data-status', 'succeeded');
    const badges = page.locator('.jp-Notebook .jp-cellpipe-Badge[data-state="succeeded"]');
    await expect(badges)
      .toHaveCount(steps.length, { timeout: 30_000 })
      .catch(async () => {
        // continuation cells carry their step's badge too: at least one per step
        expect(await badges.count()).toBeGreaterThanOrEqual(steps.length);
      });

    // Each step's log and outputs in the panel, as for a local run.
    const detail = page.locator('.jp-cellpipe-StepDetailPanel');
    for (const step of steps) {
      await graph.locator(`[data-step="${step}"]`).click();
      await expect(detail.locator('.jp-cellpipe-StepDetail')).toHaveAttribute('data-step', step);
      await expect(detail.locator('.jp-cellpipe-Log-text')).not.toBeEmpty({ timeout: 60_000 });
      await expect(detail.locator('.jp-cellpipe-Log-text')).not.toContainText('could not read');
    }
    await shot(page, testInfo, '02-argo-succeeded');

    // The same metrics and step outputs as the local run.
    const argo = (await runs())[0];
    expect(argo.target).toBe('argo');
    expect(argo.status).toBe('succeeded');
    expect(argo.metrics).toEqual(local.metrics);
    for (const step of steps) {
      type Step = {
        outputs?: Record<string, { output_type: string; text?: string; data?: Record<string, unknown> }[]>;
      };
      // What differs between two runs of the same code: counters, and the kernel's pid in the file name
      // a warning names (/tmp/ipykernel_PID/HASH.py).
      const strip = (s: Step) =>
        JSON.stringify(
          Object.fromEntries(
            Object.entries(s.outputs ?? {}).map(([cell, outs]) => [
              cell,
              outs.map(o => ({
                ...o,
                execution_count: undefined,
                ...(o.text === undefined
                  ? {}
                  : { text: o.text.replace(/\/ipykernel_\d+\//g, '/ipykernel_PID/') })
              }))
            ])
          )
        );
      const q = `?notebook=${encodeURIComponent(path)}`;
      const [a, l] = [
        await api<Step>(`/api/runs/${argo.id}/steps/${step}${q}`),
        await api<Step>(`/api/runs/${local.id}/steps/${step}${q}`)
      ];
      expect(strip(a), `outputs of ${step}`).toEqual(strip(l));
    }
  });
}
