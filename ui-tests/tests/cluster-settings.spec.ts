/**
 * The cluster from the sidebar, against the loopback cluster (server-proxy/test/cluster-fake.ts, which
 * answers as Kubernetes, Argo v3.7 and KFP's v2beta1 API do): the connection (a kubeconfig context,
 * checked by asking the cluster), the notebook pod's image and volumes as the defaults, settings checked
 * as they are typed, the KFP and Argo YAML downloaded, the pipeline uploaded to KFP as a version; a run's
 * pods, nodes, Pending reasons and retries; and the pipeline panel coming back after a reload.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { TestInfo } from '@playwright/test';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { AddressInfo, createServer } from 'net';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { FakeCluster, FakeOptions } from '../../server-proxy/test/cluster-fake';
import { clusterNotebook } from '../../server-proxy/test/cluster-notebook';
import { openNotebook, openSidebar, runCommand } from './jupyterlab';

test.use({ viewport: { width: 1680, height: 1050 } });

/** Where playwright.config.js tells the Jupyter server (and so the cellpipe server) to find it. */
const KUBECONFIG = join(__dirname, '..', 'test-results', 'cluster', 'kubeconfig.yaml');

/** A kubeconfig with a context per cluster; the first is the current one. */
function writeKubeconfig(clusters: Record<string, string>): void {
  mkdirSync(join(KUBECONFIG, '..'), { recursive: true });
  const names = Object.keys(clusters);
  writeFileSync(
    KUBECONFIG,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      ...names.map(
        n => `- name: ${n}\n  cluster:\n    server: ${clusters[n]}\n    insecure-skip-tls-verify: true`
      ),
      'users:',
      '- name: me\n  user:\n    token: ui-test-token',
      'contexts:',
      ...names.map(n => `- name: ${n}\n  context:\n    cluster: ${n}\n    user: me\n    namespace: team`),
      `current-context: ${names[0]}`,
      ''
    ].join('\n')
  );
}

function closedPort(): Promise<number> {
  return new Promise(resolve => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

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

let fake: FakeCluster | null = null;

async function startFake(options: FakeOptions = {}): Promise<FakeCluster> {
  fake = await new FakeCluster(options).start();
  return fake;
}

test.afterEach(async ({ request }) => {
  await fake?.stop();
  fake = null;
  // The connection is a user setting: the next tests start without it.
  await request.put('/lab/api/settings/cellpipe:plugin', { data: { raw: '{}' } });
});

async function open(page: IJupyterLabPageFixture, tmpPath: string, settings: Record<string, unknown>) {
  await openNotebook(page, `${tmpPath}/sales.ipynb`, clusterNotebook(settings));
  const sidebar = await openSidebar(page, 3);
  const pipeline = sidebar.locator('[data-section="pipeline"]');
  await pipeline.locator('summary').click();
  return { sidebar, pipeline };
}

test('the connection, its defaults from the notebook pod, settings checked as typed; compile and upload', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(240_000);
  const cluster = await startFake();
  const broken = await closedPort();
  writeKubeconfig({ lab: cluster.url, broken: `http://127.0.0.1:${broken}` });
  const { sidebar, pipeline } = await open(page, tmpPath, { target: 'kfp', endpoint: cluster.url });
  const access = pipeline.locator('[data-field="context"]');
  await expect(access.locator('option')).toHaveText([
    'Current context (lab)',
    'context lab',
    'context broken'
  ]);
  // A context whose cluster does not answer: said by the field.
  await access.locator('select').selectOption('broken');
  await expect(access.locator('.jp-cellpipe-Field-error')).toContainText(
    `cannot reach Kubernetes at http://127.0.0.1:${broken}`,
    { timeout: 30_000 }
  );
  await access.locator('select').selectOption('lab');
  await expect(access.locator('.jp-cellpipe-Field-hint')).toHaveText(
    `kubeconfig context lab (${cluster.url})`,
    {
      timeout: 30_000
    }
  );
  // What cellpipe found in the notebook pod, as the defaults.
  await expect(pipeline.locator('[data-field="image"] input')).toHaveAttribute(
    'placeholder',
    `kubeflownotebookswg/jupyter-scipy@sha256:${'ab'.repeat(32)}`
  );
  await expect(pipeline.locator('[data-field="volumes"] input')).toHaveAttribute(
    'placeholder',
    'workspace-notebook=/home/jovyan, data-vol=/data'
  );
  await expect(pipeline.locator('[data-field="namespace"] input')).toHaveAttribute('placeholder', 'team');
  await expect(pipeline.locator('[data-field="snapshot"] input')).toBeChecked();
  await expect(pipeline.locator('[data-field="snapshot-default"]')).toHaveText(
    'Default: on (the cluster can snapshot the volumes).'
  );
  // Checked as typed, nothing written until valid.
  const namespace = pipeline.locator('[data-field="namespace"]');
  await namespace.locator('input').fill('Team A');
  await expect(namespace.locator('.jp-cellpipe-Field-error')).toContainText('is not a Kubernetes namespace');
  const token = pipeline.locator('[data-field="tokenFile"]');
  await token.locator('input').fill('token.txt');
  await expect(token.locator('.jp-cellpipe-Field-error')).toContainText('An absolute path');
  await token.locator('input').fill('/nowhere/token');
  await token.locator('input').press('Enter');
  await expect(token.locator('.jp-cellpipe-Field-error')).toContainText(
    'The KFP token file /nowhere/token cannot be read',
    { timeout: 30_000 }
  );
  await shots(page, testInfo, '01-connection');
  await token.locator('input').fill('');
  await token.locator('input').press('Enter');
  await expect(token.locator('.jp-cellpipe-Field-error')).toHaveCount(0, { timeout: 30_000 });
  await namespace.locator('input').press('Escape');
  await expect(namespace.locator('.jp-cellpipe-Field-error')).toHaveCount(0);
  const experiment = pipeline.locator('[data-field="experiment"] input');
  await experiment.fill('sales-experiments');
  await experiment.press('Enter');

  // Compile: what `cellpipe compile` writes, downloaded.
  for (const [target, check] of [
    [
      'kfp',
      (docs: Array<Record<string, unknown>>) => expect(docs[0].pipelineInfo).toEqual({ name: 'sales' })
    ],
    ['argo', (docs: Array<Record<string, unknown>>) => expect(docs[0].kind).toBe('Workflow')]
  ] as const) {
    const download = page.waitForEvent('download');
    await pipeline.locator(`[data-action="download-${target}"]`).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe(`sales.${target}.yaml`);
    check(parseAllDocuments(readFileSync((await file.path())!, 'utf8')).map(d => d.toJS()));
    await expect(pipeline.locator('[data-outcome="downloaded"]')).toContainText(
      `Downloaded sales.${target}.yaml.`
    );
  }
  // Upload to KFP: the pipeline, then a new version of it.
  await pipeline.locator('[data-action="upload-kfp"]').click();
  const uploaded = pipeline.locator('[data-outcome="uploaded"]');
  await expect(uploaded).toContainText('Created pipeline sales with version sales.', { timeout: 30_000 });
  await expect(uploaded.locator('a')).toHaveAttribute(
    'href',
    `${cluster.url}/#/pipelines/details/pipe-1/version/ver-1`
  );
  expect(cluster.pipelines.map(p => [p.name, p.namespace, p.versions.length])).toEqual([
    ['sales', 'team', 1]
  ]);
  await pipeline.locator('[data-action="upload-kfp"]').click();
  await expect(uploaded).toContainText(/Added version sales-\d{8}-\d{6} to pipeline sales\./, {
    timeout: 30_000
  });
  expect(cluster.pipelines[0].versions).toHaveLength(2);
  expect(cluster.pipelines[0].versions[1].text).toContain('pipelineInfo:');
  await uploaded.scrollIntoViewIfNeeded();
  await shots(page, testInfo, '02-uploaded');

  // A run goes into the experiment named in the settings.
  await sidebar.locator('[data-action="run"]').click();
  await expect(sidebar.locator('.jp-cellpipe-Cluster')).toContainText(
    'On Kubeflow Pipelines, namespace team',
    {
      timeout: 60_000
    }
  );
  expect(cluster.experiments.map(e => e.display_name)).toEqual(['sales-experiments']);
});

test('a cluster run shows each step’s pod and node, why a step waits, and its retries', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(240_000);
  const cluster = await startFake({
    watchTickMs: 1500,
    pendingTask: {
      task: 'train',
      message: 'Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.',
      stages: 3
    },
    retryTask: 'evaluate'
  });
  writeKubeconfig({ lab: cluster.url });
  const { sidebar } = await open(page, tmpPath, { target: 'argo', namespace: 'team' });
  await sidebar.locator('[data-action="run"]').click();
  const state = (step: string) => sidebar.locator(`.jp-cellpipe-StepStates li[data-step="${step}"]`);
  await expect(state('train').locator('.jp-cellpipe-ClusterStep-waiting')).toContainText(
    'Step train cannot be scheduled: 0/1 nodes are available: 1 Insufficient cpu.',
    { timeout: 60_000 }
  );
  await expect(state('train')).toHaveAttribute('data-state', 'queued');
  await expect(state('load_data').locator('.jp-cellpipe-ClusterStep-where')).toContainText(
    /pod sales-x7k2p-load-data-\d+ · node worker-1/
  );
  await runCommand(page, 'cellpipe:open-panel');
  await shots(page, testInfo, '03-pending');
  await expect(state('evaluate')).toHaveAttribute('data-state', 'succeeded', { timeout: 90_000 });
  await expect(state('train').locator('.jp-cellpipe-ClusterStep-waiting')).toHaveCount(0);
  await expect(state('evaluate').locator('.jp-cellpipe-ClusterStep-where')).toHaveText(
    /^pod sales-x7k2p-evaluate-\d+ · node worker-1 · 1 retry$/
  );
  await page.locator('.jp-cellpipe-GraphView [data-step="evaluate"]').click();
  await expect(page.locator('.jp-cellpipe-StepDetail .jp-cellpipe-ClusterStep-where')).toContainText(
    '1 retry'
  );
  await shots(page, testInfo, '04-retried');
});

test('the pipeline panel comes back after a reload', async ({ page, tmpPath }) => {
  await open(page, tmpPath, { target: 'local' });
  // JupyterLab saves the workspace (its layout and what the trackers restore) a moment after a change.
  const saved = page.waitForRequest(
    r =>
      r.method() === 'PUT' &&
      r.url().includes('/api/workspaces') &&
      (r.postData() ?? '').includes('cellpipe-pipeline'),
    { timeout: 30_000 }
  );
  await runCommand(page, 'cellpipe:open-panel');
  await expect(page.locator('.jp-cellpipe-GraphView [data-step]')).toHaveCount(3);
  await saved;
  // Not galata's wait for the Launcher: the restored layout has none.
  await page.reload({ waitForIsReady: false });
  await expect(page.locator('.jp-cellpipe-GraphView [data-step]')).toHaveCount(3, { timeout: 60_000 });
  await expect(page.locator('.lm-TabBar-tab', { hasText: 'Pipeline: sales.ipynb' })).toBeVisible();
});
