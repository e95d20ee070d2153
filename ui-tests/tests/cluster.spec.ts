/**
 * A cluster run from JupyterLab: choose the Argo target in the sidebar and submit. First the cluster is
 * unreachable and the error says so; then the kubeconfig points at a loopback server that answers like
 * the Kubernetes API with Argo Workflows (server-proxy/test/cluster-fake.ts), and the run's states move
 * in the sidebar and the graph as the workflow advances, with a link to the Argo UI and the snapshots of
 * the notebook pod's volumes. A cluster without a snapshot class says why and offers to mount the
 * volumes as they are.
 */
import { expect, test } from '@jupyterlab/galata';
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { clusterNotebook } from '../../server-proxy/test/cluster-notebook';
import { FakeCluster } from '../../server-proxy/test/cluster-fake';
import { openNotebook, openSidebar, runCommand, shot } from './jupyterlab';

/** Where playwright.config.js tells the Jupyter server (and so the cellpipe server) to find it. */
const KUBECONFIG = join(__dirname, '..', 'test-results', 'cluster', 'kubeconfig.yaml');

function writeKubeconfig(server: string): void {
  mkdirSync(join(KUBECONFIG, '..'), { recursive: true });
  writeFileSync(
    KUBECONFIG,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: test\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: test\n  user:\n    token: ui-test-token',
      'contexts:',
      '- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: team',
      'current-context: test',
      ''
    ].join('\n')
  );
}

test('submit to Argo: a clear error when the cluster is unreachable, then the states move', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(180_000);
  // The server follows the workflow through its watch: a stage a second and a half, so the states can be seen moving.
  const fake = await new FakeCluster({ watchTickMs: 1500 }).start();
  const noSnapshots = await new FakeCluster({ noSnapshotClass: true, watchTickMs: 1500 }).start();
  try {
    // A local notebook: its target is chosen in the sidebar.
    const nb = clusterNotebook({ target: 'local' });
    await openNotebook(page, `${tmpPath}/sales.ipynb`, nb);
    const sidebar = await openSidebar(page, 3);

    const settings = sidebar.locator('[data-section="pipeline"]');
    await settings.locator('summary').click();
    await settings.locator('[data-field="target"] select').selectOption('argo');
    const namespace = settings.locator('[data-field="namespace"] input');
    await namespace.fill('team');
    await namespace.press('Enter');

    // Unreachable: nothing listens on port 9.
    writeKubeconfig('http://127.0.0.1:9');
    await sidebar.locator('[data-action="run"]').click();
    await expect(sidebar.locator('.jp-cellpipe-Error[role="alert"]')).toContainText(/reach|connect/i, {
      timeout: 60_000
    });
    await shot(page, testInfo, '01-unreachable');
    expect(fake.workflows.size).toBe(0);

    // The loopback cluster: the workflow is created and advances, watched by the server.
    writeKubeconfig(fake.url);
    await sidebar.locator('[data-action="run"]').click();
    const state = (step: string) => sidebar.locator(`.jp-cellpipe-StepStates li[data-step="${step}"]`);
    await expect(sidebar.locator('.jp-cellpipe-Cluster')).toContainText('On Argo Workflows, namespace team', {
      timeout: 60_000
    });
    await expect(sidebar.locator('.jp-cellpipe-Cluster a')).toHaveAttribute(
      'href',
      /^https:\/\/argo\.example\.com\//
    );
    await expect(state('load_data')).toHaveAttribute('data-state', /running|succeeded/, { timeout: 60_000 });
    await runCommand(page, 'cellpipe:open-panel');
    await shot(page, testInfo, '02-argo-running');
    await expect(state('evaluate')).toHaveAttribute('data-state', 'succeeded', { timeout: 90_000 });
    await expect(page.locator('.jp-cellpipe-GraphView [data-step="evaluate"]')).toHaveAttribute(
      'data-state',
      'succeeded'
    );
    await expect(sidebar.locator('.jp-cellpipe-Run')).toHaveAttribute('data-status', 'succeeded');
    expect(fake.workflows.size).toBe(1);
    // The notebook pod's workspace volumes were snapshotted, and the run says from which snapshots.
    await expect(sidebar.locator('.jp-cellpipe-Snapshots')).toContainText(
      'workspace-notebook (at /home/jovyan)'
    );
    // Its outputs came back from the cluster and render beside the notebook as a local step's do.
    await page.locator('.jp-cellpipe-GraphView [data-step="evaluate"]').click();
    await expect(page.locator('.jp-cellpipe-StepOutputs')).toContainText('hello from evaluate');
    await shot(page, testInfo, '03-argo-succeeded');

    // A cluster without a snapshot class for the volumes' driver: the reason, and the offer to mount.
    writeKubeconfig(noSnapshots.url);
    await sidebar.locator('[data-action="run"]').click();
    await expect(sidebar.locator('.jp-cellpipe-Error[role="alert"]')).toContainText(
      'no VolumeSnapshotClass',
      {
        timeout: 60_000
      }
    );
    expect(noSnapshots.workflows.size).toBe(0);
    await shot(page, testInfo, '04-no-snapshot-class');
    await sidebar.locator('[data-action="run-mounted"]').click();
    await expect(sidebar.locator('.jp-cellpipe-Snapshots')).toContainText('mounted as it is', {
      timeout: 60_000
    });
    await expect(state('evaluate')).toHaveAttribute('data-state', 'succeeded', { timeout: 90_000 });
    expect(noSnapshots.workflows.size).toBe(1);
  } finally {
    await fake.stop();
    await noSnapshots.stop();
  }
});
