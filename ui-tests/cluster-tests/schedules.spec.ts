/**
 * A recurring run made in the notebook pod's sidebar, on the lab's real Argo: the Schedules section makes a
 * CronWorkflow, Argo's cron controller fires it, the run it started shows in the Runs section and succeeds
 * (the sidebar reads the schedules again every minute, which records the run; the server follows it), and
 * pausing and deleting act on the cluster.
 */
import { expect, test } from '@jupyterlab/galata';
import { clusterNotebook } from '../../server-proxy/test/cluster-notebook';
import { shot } from '../tests/jupyterlab';
import { kubectl, kubeObject, openInPodLab, podLabOptions } from './pod-lab';

test.use(podLabOptions);

test('schedule every minute from the sidebar: Argo fires it, its run succeeds, pause and delete', async ({
  page
}, testInfo) => {
  // Up to a minute to fire, a minute until the sidebar reads the list again, then the run itself.
  test.setTimeout(900_000);
  const name = `ui-minutely-${Date.now() % 1_000_000}`;
  const namespace = process.env.NB_NS || 'team-a';
  const { sidebar } = await openInPodLab(page, 'schedule', clusterNotebook({ target: 'argo', namespace }), 3);
  const section = sidebar.locator('[data-section="schedules"]');
  await section.locator('summary').click();
  await section.scrollIntoViewIfNeeded();
  await section.locator('[data-field="schedule-cron"] input').fill('* * * * *');
  await section.locator('[data-field="schedule-name"] input').fill(name);
  const row = section.locator(`li[data-schedule="${name}"]`);
  try {
    await section.locator('[data-action="schedule"]').click();
    await expect(row).toHaveAttribute('data-state', 'active', { timeout: 120_000 });
    const cron = kubeObject('cronworkflow', name);
    expect(cron.spec.schedules).toEqual(['* * * * *']);
    expect(cron.spec.suspend).toBe(false);
    await row.scrollIntoViewIfNeeded();
    await shot(page, testInfo, '01-scheduled');

    // Fired within the minute; the list read a minute later records the run, which the server follows.
    await expect(row.locator('[data-field="runs"]')).not.toHaveText('0', { timeout: 200_000 });
    await expect(row.locator('[data-field="last"]')).not.toHaveText('–');
    const runs = sidebar.locator('[data-section="runs"]');
    await expect(runs).toContainText('succeeded', { timeout: 400_000 });
    await runs.scrollIntoViewIfNeeded();
    await shot(page, testInfo, '02-run-succeeded');

    await row.locator('[data-action="pause-schedule"]').click();
    await expect(row).toHaveAttribute('data-state', 'paused', { timeout: 60_000 });
    expect(kubeObject('cronworkflow', name).spec.suspend).toBe(true);
    await expect(row.locator('[data-field="next"]')).toHaveText('–');
    await shot(page, testInfo, '03-paused');

    await row.locator('[data-action="delete-schedule"]').click();
    await expect(row).toHaveCount(0, { timeout: 60_000 });
    expect(kubeObject('cronworkflow', name)).toBeNull();
    await shot(page, testInfo, '04-deleted');
  } finally {
    // The lab must not go on firing every minute, whatever failed above.
    kubectl('delete', 'cronworkflow', name, '--ignore-not-found');
    kubectl('delete', 'workflows', '-l', `cellpipe.dev/schedule=${name}`, '--wait=true');
    kubectl('delete', 'volumesnapshots', '-l', `cellpipe.dev/schedule=${name}`);
  }
});
