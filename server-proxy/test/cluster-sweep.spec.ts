/**
 * Sweeps on the cluster targets against the loopback Kubernetes/KFP server, through the built CLI and
 * the server's API: `--target argo` submits one Workflow whose shared steps run once and whose other
 * steps fan out per trial, each trial a run of its own (steps, logs, metrics) and the sweep record the
 * same shape as a local one; `--target kfp` submits a KFP run per trial.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import type { SweepRecord } from '../../src/core/sweeps/sweep-record';
import { kubeClients, tokenKubeConfig } from '../src/engines/cluster/kube-client';
import type { FakeCluster, FakeOptions } from './cluster-fake';
import { call, clusterCli, kubeconfig, loopbackCluster } from './cluster-harness';
import { taggedNotebook, writeNotebookFile } from './cluster-notebook';
import { until } from './until';

jest.setTimeout(120000);

const cluster = loopbackCluster();
let fake: FakeCluster | undefined;

/** Five steps; the first two read no swept parameter. */
function sweepNotebook(): string {
  return writeNotebookFile(
    'tune.ipynb',
    taggedNotebook({ name: 'tune', namespace: 'team-a', image: 'python:3.11' }, [
      [['pipeline-parameters'], 'gamma = 0.1\nC = 1\nrows = 4'],
      [['step:load'], 'data = list(range(rows))'],
      [['step:prep', 'prev:load'], 'scaled = [x * 2 for x in data]'],
      [['step:train', 'prev:prep'], 'model = sum(scaled) * gamma + C'],
      [['step:evaluate', 'prev:train'], 'score = model / 100'],
      [['step:report', 'prev:evaluate'], 'accuracy = score'],
      [['pipeline-metrics'], 'accuracy']
    ])
  );
}

/** The trials' accuracy, as the report step of each would compute it: (12 gamma + C) / 100. */
const metricsOf = (inputs: Record<string, string>) =>
  inputs.gamma === undefined
    ? {}
    : { accuracy: Number(((12 * Number(inputs.gamma) + Number(inputs.C)) / 100).toFixed(6)) };

const GRID = ['--param', 'gamma=0.001,0.01,0.1', '--param', 'C=1,10', '--objective', 'accuracy:max'];

async function sweep(options: FakeOptions, args: string[]) {
  fake = await cluster.start({ metricsOf, ...options });
  const notebook = sweepNotebook();
  const folder = join(notebook, '..');
  const given = args.map(a => (a === 'ENDPOINT' ? fake!.url : a));
  const argv = ['sweep', notebook, ...GRID, '--kubeconfig', kubeconfig(fake.url), '--json', ...given];
  const result = await clusterCli(argv, { cwd: folder });
  return {
    ...result,
    folder,
    record: result.stdout ? (JSON.parse(result.stdout) as SweepRecord) : undefined
  };
}

const runOf = (folder: string, id: string) =>
  JSON.parse(readFileSync(join(folder, '.cellpipe', 'runs', id, 'run.json'), 'utf8'));

describe('cellpipe sweep --target argo', () => {
  it('submits one Workflow: the shared steps once, the other three once per trial; each trial a run', async () => {
    const { code, stderr, record, folder } = await sweep({}, ['--target', 'argo']);
    expect({ code, stderr: code ? stderr : '' }).toEqual({ code: 0, stderr: '' });
    expect(fake!.workflows.size).toBe(1);
    const [workflow] = [...fake!.workflows.values()];
    const tasks = workflow.body.spec.templates.find(t => t.dag)!.dag!.tasks;
    const count = (template: string) => tasks.filter(t => (t.template ?? t.name) === template).length;
    expect(['load', 'prep', 'train', 'evaluate', 'report'].map(count)).toEqual([1, 1, 6, 6, 6]);
    expect(workflow.body.metadata.labels?.['cellpipe.dev/run']).toBe(record!.id);

    expect(record).toMatchObject({ target: 'argo', status: 'succeeded', shared: ['load', 'prep'], best: 5 });
    expect(record!.cluster).toMatchObject({
      kind: 'argo',
      namespace: 'team-a',
      name: workflow.body.metadata.name
    });
    expect(record!.trials.map(t => [t.label, t.status, t.metrics?.accuracy])).toEqual([
      ['gamma=0.001 C=1', 'succeeded', 0.01012],
      ['gamma=0.001 C=10', 'succeeded', 0.10012],
      ['gamma=0.01 C=1', 'succeeded', 0.0112],
      ['gamma=0.01 C=10', 'succeeded', 0.1012],
      ['gamma=0.1 C=1', 'succeeded', 0.022],
      ['gamma=0.1 C=10', 'succeeded', 0.112]
    ]);
    // Each trial is a run like any other: all five steps, its own tasks, a log per step, its parameters.
    const run = runOf(folder, record!.trials[2].run!);
    expect(run).toMatchObject({
      status: 'succeeded',
      target: 'argo',
      parameters: { gamma: { type: 'float', value: 0.01 }, C: { type: 'int', value: 1 } },
      clusterTasks: {
        load: 'load',
        prep: 'prep',
        train: 'train-t3',
        evaluate: 'evaluate-t3',
        report: 'report-t3'
      },
      metrics: { accuracy: 0.0112 }
    });
    expect(Object.values(run.steps).map(s => (s as { status: string }).status)).toEqual(
      Array(5).fill('succeeded')
    );
    // Its steps' logs are its own pods' (template train, a pod per trial); the shared steps' the one pod.
    const log = (trial: number, step: string) =>
      readFileSync(
        join(folder, '.cellpipe', 'runs', record!.trials[trial].run!, 'logs', `${step}.log`),
        'utf8'
      );
    const name = workflow.body.metadata.name;
    expect(log(2, 'train')).toMatch(new RegExp(`^log of ${name}-train-\\d+ \\(container main\\)`));
    expect(log(3, 'train')).toMatch(new RegExp(`^log of ${name}-train-\\d+ `));
    expect(log(2, 'train')).not.toEqual(log(3, 'train'));
    expect(log(2, 'prep')).toEqual(log(3, 'prep'));
    // The sweep record on disk is the one printed.
    const saved = JSON.parse(readFileSync(join(folder, '.cellpipe', 'sweeps', `${record!.id}.json`), 'utf8'));
    expect(saved).toEqual(record);
  });

  it('prints the table with the best trial marked', async () => {
    fake = await cluster.start({ metricsOf });
    const notebook = sweepNotebook();
    const folder = join(notebook, '..');
    const r = await clusterCli(
      ['sweep', notebook, ...GRID, '--target', 'argo', '--kubeconfig', kubeconfig(fake.url)],
      { cwd: folder }
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/: 6 trials; run once for all of them: load, prep\n/);
    const best = r.stdout.split('\n').find(line => line.startsWith('*'));
    expect(best).toMatch(/^\*\s+6\s+0\.1\s+10\s+succeeded\s+0\.112\s/);
    expect(r.stdout).toMatch(/best: trial 6 \(gamma=0\.1 C=10\), accuracy highest\n$/);
  });

  it('a trial that fails leaves the others running; a shared step that fails fails them all', async () => {
    const one = await sweep({ failTask: 'train-t3' }, ['--target', 'argo']);
    expect(one.code).toBe(1);
    expect(one.record!.trials.map(t => t.status)).toEqual([
      'succeeded',
      'succeeded',
      'failed',
      'succeeded',
      'succeeded',
      'succeeded'
    ]);
    expect(one.record).toMatchObject({ status: 'failed', best: 5 });
    const failed = runOf(one.folder, one.record!.trials[2].run!);
    expect(failed.steps.train.status).toBe('failed');
    expect(failed.steps.evaluate).toMatchObject({ status: 'skipped', skippedBecause: 'train' });
    await cluster.stop();

    const all = await sweep({ failTask: 'prep' }, ['--target', 'argo']);
    expect(all.code).toBe(1);
    expect(all.record!.trials.map(t => t.status)).toEqual(Array(6).fill('failed'));
    expect(runOf(all.folder, all.record!.trials[0].run!).steps.prep.status).toBe('failed');
    expect(all.record!.best).toBeUndefined();
  });

  it('limits the pods at once with --max-parallel', async () => {
    const { code } = await sweep({}, ['--target', 'argo', '--max-parallel', '2']);
    expect(code).toBe(0);
    const [workflow] = [...fake!.workflows.values()];
    expect(workflow.body.spec.parallelism).toBe(2);
  });
});

describe('cellpipe sweep --target kfp', () => {
  it('submits a KFP run per trial, none waiting for another: KFP shares no step across their volumes', async () => {
    const { code, stderr, record, folder } = await sweep({}, ['--target', 'kfp', '--endpoint', 'ENDPOINT']);
    expect({ code, stderr: code ? stderr : '' }).toEqual({ code: 0, stderr: '' });
    expect(fake!.kfpRuns.size).toBe(6);
    expect(record).toMatchObject({ target: 'kfp', status: 'succeeded', shared: [] });
    expect(runOf(folder, record!.trials[1].run!)).toMatchObject({ target: 'kfp', status: 'succeeded' });
  });
});

describe('POST /api/sweeps with target argo', () => {
  it("makes each trial a run of the server's, followed on the one Workflow", async () => {
    fake = await cluster.start({ metricsOf, ticksPerTask: 2 });
    const notebook = sweepNotebook();
    const url = fake.url;
    const { port } = await cluster.serve({
      root: join(notebook, '..'),
      clusterPollMs: 10,
      cluster: () => ({ kube: () => kubeClients(tokenKubeConfig(url, 'kube-token', 'team-a')) })
    });
    const started = await call(port, 'POST', '/api/sweeps', {
      notebook: 'tune.ipynb',
      params: ['gamma=0.001,0.01,0.1', 'C=1,10'],
      objective: 'accuracy:max',
      target: 'argo'
    });
    expect(started.status).toBe(201);
    const id = started.json.sweep;
    const trial = started.json.record.trials[0].run;
    // A trial is a run the server serves while it runs.
    const live = await call(port, 'GET', `/api/runs/${trial}?notebook=tune.ipynb`);
    expect(live.status).toBe(200);
    expect(live.json).toMatchObject({ id: trial, target: 'argo' });
    const done = await until(
      `sweep ${id} to finish`,
      async () => {
        const r = (await call(port, 'GET', `/api/sweeps/${id}?notebook=tune.ipynb`)).json;
        return r.status !== 'running' && r;
      },
      { timeoutMs: 60000, everyMs: 50 }
    );
    expect(done).toMatchObject({ status: 'succeeded', best: 5, target: 'argo' });
    expect(fake.workflows.size).toBe(1);
  });

  it('refuses an unknown target', async () => {
    await cluster.start();
    const { port } = await cluster.serve({ root: join(sweepNotebook(), '..') });
    const r = await call(port, 'POST', '/api/sweeps', {
      notebook: 'tune.ipynb',
      params: ['C=1,2'],
      target: 'slurm'
    });
    expect(r.status).toBe(400);
  });
});

describe('cellpipe sweep --target katib', () => {
  it("creates one Experiment; the record holds Katib's trials, their metrics and its optimal trial", async () => {
    const { code, stderr, record } = await sweep({}, ['--target', 'katib', '--max-parallel', '2']);
    expect({ code, stderr: code ? stderr : '' }).toEqual({ code: 0, stderr: '' });
    expect(fake!.katib.size).toBe(1);
    const [experiment] = [...fake!.katib.values()];
    const name = experiment.body.metadata.name;
    expect(experiment.body.spec).toMatchObject({
      objective: { type: 'maximize', objectiveMetricName: 'accuracy' },
      algorithm: { algorithmName: 'grid' },
      maxTrialCount: 6,
      parallelTrialCount: 2,
      metricsCollectorSpec: { collector: { kind: 'StdOut' } }
    });
    expect(experiment.body.spec.trialTemplate.trialSpec.kind).toBe('Workflow');
    expect(experiment.body.metadata.labels['cellpipe.dev/run']).toBe(record!.id);
    expect(record).toMatchObject({
      target: 'katib',
      status: 'succeeded',
      best: 5,
      experiment: { name, namespace: 'team-a' }
    });
    expect(record!.trials.map(t => [t.label, t.status, t.metrics?.accuracy])).toEqual([
      ['gamma=0.001 C=1', 'succeeded', 0.01012],
      ['gamma=0.001 C=10', 'succeeded', 0.10012],
      ['gamma=0.01 C=1', 'succeeded', 0.0112],
      ['gamma=0.01 C=10', 'succeeded', 0.1012],
      ['gamma=0.1 C=1', 'succeeded', 0.022],
      ['gamma=0.1 C=10', 'succeeded', 0.112]
    ]);
    expect(record!.trials.every(t => t.clusterTrial?.startsWith(`${name}-`))).toBe(true);
  });

  it("random search takes Katib's draws; a failed trial fails the sweep, not the others", async () => {
    const { code, record } = await sweep({ katibFailTrial: 1 }, [
      '--target',
      'katib',
      '--random',
      '3',
      '--param',
      'rows=2..9'
    ]);
    expect(code).toBe(1);
    const [experiment] = [...fake!.katib.values()];
    expect(experiment.body.spec.algorithm).toEqual({
      algorithmName: 'random',
      algorithmSettings: [{ name: 'random_state', value: '0' }]
    });
    expect(experiment.body.spec.parameters.find((p: { name: string }) => p.name === 'rows')).toEqual({
      name: 'rows',
      parameterType: 'int',
      feasibleSpace: { min: '2', max: '9' }
    });
    expect(record!.trials.map(t => t.status)).toEqual(['succeeded', 'failed', 'succeeded']);
    expect(record!.trials[1].reason).toMatch(/Trial has failed/);
    expect(record!.status).toBe('failed');
  });
});
