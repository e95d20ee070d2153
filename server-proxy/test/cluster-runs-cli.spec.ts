/**
 * `cellpipe runs` (the built CLI) on the runs a schedule started on the loopback cluster, with no server
 * following them: each is read from the cluster once as it is shown, so one that ended is not shown
 * running; one whose cluster cannot be read is shown as last seen, saying when.
 */
import { dirname } from 'path';
import type { RunRecord } from '../../src/core/runs/run-record';
import type { FakeCluster } from './cluster-fake';
import { clusterCli, kubeconfig, loopbackCluster } from './cluster-harness';
import { writeClusterNotebook } from './cluster-notebook';

jest.setTimeout(60000);

const cluster = loopbackCluster();

/** A schedule made with the CLI, fired once: its run recorded by `cellpipe runs` while it runs. */
async function scheduledRun(): Promise<{
  fake: FakeCluster;
  notebook: string;
  workflow: string;
  run: RunRecord;
}> {
  // Slow enough that it still runs when first recorded (the CLI follows a new run for a moment).
  const fake = await cluster.start({ ticksPerTask: 1000 });
  const notebook = writeClusterNotebook({ target: 'argo', namespace: 'team-a', image: 'python:3.12' });
  const made = await cli(fake, ['schedule', notebook, '--cron', '@daily']);
  expect(made.stderr).toBe('');
  const workflow = fake.fireCron('sales')!;
  const listed = await cli(fake, ['runs', notebook, '--json']);
  const [run] = JSON.parse(listed.stdout) as RunRecord[];
  expect(run).toMatchObject({ schedule: 'sales', status: 'running', cluster: { name: workflow } });
  return { fake, notebook, workflow, run };
}

const cli = (fake: FakeCluster | null, argv: string[], notebook = argv[1]) =>
  clusterCli(argv, {
    cwd: dirname(notebook),
    // null: a cluster that does not answer (nothing listens on port 9)
    env: { KUBECONFIG: kubeconfig(fake ? fake.url : 'http://127.0.0.1:9') }
  });

describe('cellpipe runs on a scheduled run no server follows', () => {
  it('lists it as the cluster has it now, not as it was first recorded', async () => {
    const { fake, notebook, workflow, run } = await scheduledRun();
    fake.runToEnd(workflow);
    const listed = await cli(fake, ['runs', notebook]);
    expect(listed.stdout).toMatch(new RegExp(`^${run.id}  succeeded `));
    const [again] = JSON.parse((await cli(fake, ['runs', notebook, '--json'])).stdout) as RunRecord[];
    expect(again.status).toBe('succeeded');
    expect(Object.values(again.steps).map(s => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it('shows it with --show as the cluster has it now', async () => {
    const { fake, notebook, workflow, run } = await scheduledRun();
    fake.runToEnd(workflow);
    const shown = await cli(fake, ['runs', notebook, '--show', run.id]);
    expect(shown.stdout).toMatch(new RegExp(`^run ${run.id} of sales.ipynb: succeeded in `));
  });

  it('says it is shown as last seen, and when, while the cluster cannot be read', async () => {
    const { notebook, run } = await scheduledRun();
    const listed = await cli(null, ['runs', notebook]);
    const [seen] = JSON.parse((await cli(null, ['runs', notebook, '--json'])).stdout) as RunRecord[];
    expect(seen.status).toBe('running');
    expect(Date.parse(seen.seen!)).toBeGreaterThanOrEqual(Date.parse(run.started));
    expect(listed.stdout).toContain(`    as last seen on the cluster, at ${seen.seen}\n`);
    expect(listed.stderr).toContain(
      `cellpipe: run ${run.id} is shown as last seen on the cluster, at ${seen.seen}: the cluster could not be read`
    );
    const shown = await cli(null, ['runs', notebook, '--show', run.id]);
    expect(shown.stdout).toContain(
      `: running, started ${run.started}, argo (as last seen on the cluster, at ${seen.seen})`
    );
  });
});
