/**
 * Recurring runs from the sidebar against the loopback cluster (server-proxy/test/cluster-fake.ts): a bad
 * cron is named by the field before anything is sent; a schedule is made (an Argo CronWorkflow), listed with
 * its next run, the run it starts is counted, it is paused (suspended on the cluster) and deleted.
 */
import { expect, test } from '@jupyterlab/galata';
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { clusterNotebook } from '../../server-proxy/test/cluster-notebook';
import { FakeCluster } from '../../server-proxy/test/cluster-fake';
import { openNotebook, openSidebar, shot } from './jupyterlab';

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

test('schedule the pipeline on Argo from the sidebar, pause it and delete it', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(180_000);
  const fake = await new FakeCluster({}).start();
  writeKubeconfig(fake.url);
  try {
    await openNotebook(
      page,
      `${tmpPath}/sales.ipynb`,
      clusterNotebook({ target: 'argo', namespace: 'team' })
    );
    const sidebar = await openSidebar(page, 3);
    const section = sidebar.locator('[data-section="schedules"]');
    await section.locator('summary').click();
    await section.scrollIntoViewIfNeeded();

    // The core's rule, by the field, as it is typed: nothing is sent.
    const cron = section.locator('[data-field="schedule-cron"] input');
    await cron.fill('30 7 * *');
    await expect(section.locator('[data-problem="schedule"]')).toContainText(
      'has 4 fields; a schedule has five'
    );
    await expect(section.locator('[data-action="schedule"]')).toBeDisabled();
    await shot(page, testInfo, '01-bad-cron');

    await cron.fill('30 7 * * 1-5');
    await section.locator('[data-field="schedule-timezone"] input').fill('Europe/Berlin');
    await section.locator('[data-field="schedule-name"] input').fill('weekday-sales');
    await section.locator('[data-action="schedule"]').click();
    const row = section.locator('li[data-schedule="weekday-sales"]');
    await expect(row).toHaveAttribute('data-state', 'active', { timeout: 60_000 });
    await expect(row).toContainText('30 7 * * 1-5');
    await expect(row).toContainText('Europe/Berlin');
    const made = fake.cronWorkflows.get('weekday-sales')!.body;
    expect(made.spec.schedules).toEqual(['30 7 * * 1-5']);
    expect(made.spec.timezone).toBe('Europe/Berlin');
    // The next run is shown (a date), the last one not yet.
    await expect(row.locator('[data-field="next"]')).not.toHaveText('–');
    await expect(row.locator('[data-field="last"]')).toHaveText('–');
    await row.scrollIntoViewIfNeeded();
    await shot(page, testInfo, '02-scheduled');

    // The cron controller starts a run; pausing reads the list again, which records and counts it.
    expect(fake.fireCron('weekday-sales')).not.toBeNull();
    await row.locator('[data-action="pause-schedule"]').click();
    await expect(row).toHaveAttribute('data-state', 'paused', { timeout: 60_000 });
    expect(fake.cronWorkflows.get('weekday-sales')!.body.spec.suspend).toBe(true);
    await expect(row.locator('[data-field="next"]')).toHaveText('–');
    await expect(row.locator('[data-field="runs"]')).toHaveText('1');
    await expect(row.locator('[data-action="resume-schedule"]')).toBeVisible();
    await expect(row.locator('[data-field="last"]')).not.toHaveText('–');
    // The run it started is in the Runs list like any cluster run.
    await expect(sidebar.locator('[data-section="runs"]')).toContainText(/succeeded|running/);
    await shot(page, testInfo, '03-paused');

    await row.locator('[data-action="delete-schedule"]').click();
    await expect(row).toHaveCount(0, { timeout: 60_000 });
    expect(fake.cronWorkflows.size).toBe(0);
    expect([...fake.snapshots.keys()].filter(s => s.startsWith('cellpipe-schedule-'))).toEqual([]);
    await shot(page, testInfo, '04-deleted');
  } finally {
    await fake.stop();
  }
});
