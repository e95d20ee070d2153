/**
 * Recurring runs through the server's routes against the loopback cluster: an Argo CronWorkflow and a KFP
 * recurring run made from the notebook, listed with their state, paused, resumed and deleted; the runs they
 * start are recorded and followed like any cluster run; the workspace snapshot outlives each run.
 */
import { readFileSync } from 'fs';
import { dirname, join } from 'path';
import type { FakeCluster } from './cluster-fake';
import { call, loopbackCluster } from './cluster-harness';
import { writeClusterNotebook } from './cluster-notebook';
import { until } from './until';

jest.setTimeout(60000);

const cluster = loopbackCluster();
let fake: FakeCluster;
let port: number;
beforeEach(async () => {
  // KFP's launcher uploads each task's log, outputs and metrics, as on a real KFP
  fake = await cluster.start({ kfpArtifacts: true });
  ({ port } = await cluster.serve());
});

/** What the sidebar does: record the runs the schedules started, then list them (a GET only reads). */
const list = async (notebook: string) => {
  await call(port, 'POST', '/api/schedules/runs', { notebook });
  return (await call(port, 'GET', `/api/schedules?notebook=${encodeURIComponent(notebook)}`)).json.schedules;
};

describe('schedules on Argo', () => {
  it('makes a CronWorkflow of the compiled Workflow, with the workspace snapshot kept for every run', async () => {
    const notebook = writeClusterNotebook({ target: 'argo' });
    const made = await call(port, 'POST', '/api/schedules', {
      notebook,
      cron: '0 6 * * *',
      timezone: 'Europe/Berlin',
      parameters: { rate: '0.25' }
    });
    expect(made.status).toBe(201);
    expect(made.json.schedule).toMatchObject({
      name: 'sales',
      target: 'argo',
      paused: false,
      timezone: 'Europe/Berlin'
    });
    const cron = fake.cronWorkflows.get('sales')!.body;
    expect(cron.spec).toMatchObject({
      schedules: ['0 6 * * *'],
      timezone: 'Europe/Berlin',
      suspend: false,
      concurrencyPolicy: 'Forbid'
    });
    expect(cron.spec.workflowMetadata.labels['cellpipe.dev/schedule']).toBe('sales');
    expect(cron.spec.workflowSpec.arguments.parameters).toEqual([{ name: 'rate', value: '0.25' }]);
    // The steps restore the workspace from a snapshot taken now, named after the schedule.
    const restored = cron.spec.workflowSpec.volumeClaimTemplates.find(
      (t: { spec: { dataSource?: unknown } }) => t.spec.dataSource
    );
    const snapshot = restored.spec.dataSource.name;
    expect(snapshot).toMatch(/^cellpipe-schedule-sales-/);
    expect(fake.snapshots.get(snapshot)!.body.metadata.labels['cellpipe.dev/schedule']).toBe('sales');

    let [view] = await list(notebook);
    expect(view.paused).toBe(false);
    expect(Date.parse(view.nextRun)).toBeGreaterThan(Date.now());
    expect(view.runs).toEqual([]);

    // The controller starts a run: listing the schedules records it, and the server follows it to its end.
    const fired = new Date();
    const wf = fake.fireCron('sales', fired)!;
    // A GET only reads: the run is recorded by the POST the sidebar sends first.
    const read = await call(port, 'GET', `/api/schedules?notebook=${encodeURIComponent(notebook)}`);
    expect(read.json.schedules[0].runs).toEqual([]);
    [view] = await list(notebook);
    expect(view.lastRun).toBe(fired.toISOString());
    expect(view.runs).toHaveLength(1);
    const runId = view.runs[0];
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the run record as JSON
    const run: any = await until('the scheduled run to succeed', async () => {
      const r = await call(port, 'GET', `/api/runs/${runId}?notebook=${encodeURIComponent(notebook)}`);
      return r.json.status === 'succeeded' ? r.json : undefined;
    });
    expect(run).toMatchObject({ target: 'argo', schedule: 'sales', cluster: { kind: 'argo', name: wf } });
    expect(Object.values(run.steps).map((s: unknown) => (s as { status: string }).status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded'
    ]);
    // A scheduled run's end does not delete the snapshot the next run restores from.
    expect(fake.snapshots.has(snapshot)).toBe(true);
    // Listed again: the same run, not a second record of it.
    expect((await list(notebook))[0].runs).toEqual([runId]);
    const runs = (await call(port, 'GET', `/api/runs?notebook=${encodeURIComponent(notebook)}`)).json;
    expect(JSON.stringify(runs)).toContain(runId);

    // Pause: suspended on the cluster, no next run, nothing starts.
    expect((await call(port, 'POST', '/api/schedules/sales/pause', { notebook })).status).toBe(200);
    expect(fake.cronWorkflows.get('sales')!.body.spec.suspend).toBe(true);
    [view] = await list(notebook);
    expect(view.paused).toBe(true);
    expect(view.nextRun).toBeUndefined();
    expect(fake.fireCron('sales')).toBeNull();
    expect((await call(port, 'POST', '/api/schedules/sales/resume', { notebook })).status).toBe(200);
    expect((await list(notebook))[0].paused).toBe(false);

    // Delete: the CronWorkflow and its snapshot go; the run it started stays.
    const deleted = await call(
      port,
      'DELETE',
      `/api/schedules/sales?notebook=${encodeURIComponent(notebook)}`
    );
    expect(deleted).toMatchObject({ status: 200, json: { deleted: true, snapshotsLeft: [] } });
    expect(fake.cronWorkflows.has('sales')).toBe(false);
    expect(fake.snapshots.has(snapshot)).toBe(false);
    expect(await list(notebook)).toEqual([]);
    expect(
      (await call(port, 'GET', `/api/runs/${runId}?notebook=${encodeURIComponent(notebook)}`)).status
    ).toBe(200);
    expect(
      (await call(port, 'DELETE', `/api/schedules/sales?notebook=${encodeURIComponent(notebook)}`)).status
    ).toBe(404);
    expect((await call(port, 'POST', '/api/schedules/sales/pause', { notebook })).status).toBe(404);
  });

  it('refuses a bad cron or time zone, a second schedule of that name, and a local target', async () => {
    const notebook = writeClusterNotebook({ target: 'argo' });
    const bad = await call(port, 'POST', '/api/schedules', { notebook, cron: '0 6 * *' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/has 4 fields; a schedule has five/);
    const zone = await call(port, 'POST', '/api/schedules', {
      notebook,
      cron: '0 6 * * *',
      timezone: 'Berlin'
    });
    expect(zone.json.error.message).toMatch(/"Berlin" is not a time zone/);
    expect(fake.snapshots.size).toBe(0);
    expect(
      (await call(port, 'POST', '/api/schedules', { notebook, cron: '@daily', name: 'daily' })).status
    ).toBe(201);
    const again = await call(port, 'POST', '/api/schedules', { notebook, cron: '@daily', name: 'daily' });
    expect(again.status).toBe(409);
    const local = await call(port, 'POST', '/api/schedules', { notebook, cron: '@daily', target: 'local' });
    expect(local.status).toBe(400);
    expect(local.json.error.message).toMatch(/a schedule runs on a cluster.*--target argo or --target kfp/);
  });

  it('says when the cluster no longer has the schedule', async () => {
    const notebook = writeClusterNotebook({ target: 'argo' });
    await call(port, 'POST', '/api/schedules', { notebook, cron: '@hourly' });
    fake.cronWorkflows.delete('sales');
    const [view] = await list(notebook);
    expect(view.problem).toMatch(/no longer on the cluster/);
    expect(view.nextRun).toBeUndefined();
    // Deleting it here still cleans up (the snapshot) and forgets it.
    expect(
      (await call(port, 'DELETE', `/api/schedules/sales?notebook=${encodeURIComponent(notebook)}`)).status
    ).toBe(200);
    expect(fake.snapshots.size).toBe(0);
  });
});

describe('schedules on KFP', () => {
  it('uploads a pipeline version and makes a recurring run of it, paused and deleted through KFP', async () => {
    const notebook = writeClusterNotebook({ target: 'kfp', namespace: 'team' });
    const made = await call(port, 'POST', '/api/schedules', {
      notebook,
      cron: '30 6 * * 1-5',
      name: 'weekdays'
    });
    expect(made.status).toBe(201);
    const id = made.json.schedule.cluster.id;
    const rr = fake.recurringRuns.get(id)!;
    expect(rr).toMatchObject({
      display_name: 'weekdays',
      trigger: { cron_schedule: { cron: '0 30 6 * * 1-5' } },
      mode: 'ENABLE',
      max_concurrency: '1',
      no_catchup: true
    });
    const pipeline = fake.pipelines.find(
      p => p.pipeline_id === (rr.pipeline_version_reference as { pipeline_id: string }).pipeline_id
    )!;
    expect(pipeline.name).toBe('sales');
    expect(pipeline.versions[0].text).toContain('PIPELINE DEFINITION');

    const runId = fake.fireRecurringRun(id)!;
    let [view] = await list(notebook);
    expect(view.runs).toHaveLength(1);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the run record as JSON
    const run: any = await until('the scheduled run to succeed', async () => {
      const r = await call(port, 'GET', `/api/runs/${view.runs[0]}?notebook=${encodeURIComponent(notebook)}`);
      return r.json.status === 'succeeded' ? r.json : undefined;
    });
    expect(run).toMatchObject({ target: 'kfp', schedule: 'weekdays', cluster: { kind: 'kfp', id: runId } });
    // Read from KFP's store although the run (of an uploaded version) carries no spec of its own: the
    // pipeline's folder there comes from the version.
    expect(fake.kfpRuns.get(runId)!.body.pipeline_spec).toBeUndefined();
    const dir = join(dirname(notebook), '.cellpipe', 'runs', run.id);
    expect(run.metrics).toEqual({ accuracy: 0.9 });
    expect(readFileSync(join(dir, 'logs', 'train.log'), 'utf8')).toBe('hello from train\n');

    await call(port, 'POST', '/api/schedules/weekdays/pause', { notebook });
    expect(fake.recurringRuns.get(id)!.status).toBe('DISABLED');
    [view] = await list(notebook);
    expect(view.paused).toBe(true);
    expect(fake.fireRecurringRun(id)).toBeNull();
    await call(port, 'POST', '/api/schedules/weekdays/resume', { notebook });
    expect(fake.recurringRuns.get(id)!.status).toBe('ENABLED');
    expect(
      (await call(port, 'DELETE', `/api/schedules/weekdays?notebook=${encodeURIComponent(notebook)}`)).status
    ).toBe(200);
    expect(fake.recurringRuns.has(id)).toBe(false);
  });

  it('refuses a time zone KFP cannot keep', async () => {
    const notebook = writeClusterNotebook({ target: 'kfp', namespace: 'team' });
    const made = await call(port, 'POST', '/api/schedules', {
      notebook,
      cron: '0 6 * * *',
      timezone: 'Europe/Berlin'
    });
    expect(made.status).toBe(400);
    expect(made.json.error.message).toMatch(/KFP recurring runs have no time zone/);
  });
});
