/**
 * A sweep as a Katib Experiment: the search space, objective and algorithm from the sweep, and a trial
 * Workflow whose containers (run here, with a trial's values put in as Katib puts them) print the
 * objective as the `name=value` line Katib's StdOut collector reads.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { ArgoContainerTemplate, ArgoDagTemplate } from '../argo-workflow';
import { katibExperiment } from '../katib-experiment';
import { analyse, notebookOf, REPO_ROOT, RUNTIME } from './helpers';

const VENV = join(REPO_ROOT, '.venv', 'bin', 'python');
const PYTHON = existsSync(VENV) ? VENV : 'python3';

const notebook = () =>
  notebookOf([
    [['pipeline-parameters'], 'gamma = 0.1\nC = 1\nkernel = "rbf"'],
    [['step:load'], 'data = [1, 2, 3]'],
    [['step:train', 'prev:load'], 'model = sum(data) * gamma + C + len(kernel)'],
    [['step:report', 'prev:train'], 'accuracy = round(model / 100, 6)'],
    [['pipeline-metrics'], 'accuracy']
  ]);

const axes = [
  {
    name: 'gamma',
    kind: 'values' as const,
    values: [0.01, 0.1].map(value => ({ type: 'float' as const, value }))
  },
  {
    name: 'kernel',
    kind: 'values' as const,
    values: ['rbf', 'poly'].map(value => ({ type: 'str' as const, value }))
  }
];

async function compile(sweep: Partial<Parameters<typeof katibExperiment>[3]> = {}) {
  const nb = notebook();
  return katibExperiment(await analyse(nb), nb, RUNTIME, {
    name: 'demo-sweep',
    axes,
    objective: { metric: 'accuracy', goal: 'max' },
    ...sweep
  });
}

describe('a sweep as a Katib Experiment', () => {
  it('has the search space, objective, algorithm and a Workflow trial', async () => {
    const { experiment } = await compile({ maxParallel: 2 });
    expect(experiment.apiVersion).toBe('kubeflow.org/v1beta1');
    expect(experiment.kind).toBe('Experiment');
    const { spec } = experiment;
    expect(spec.objective).toEqual({ type: 'maximize', objectiveMetricName: 'accuracy' });
    expect(spec.algorithm).toEqual({ algorithmName: 'grid' });
    expect([spec.maxTrialCount, spec.parallelTrialCount, spec.maxFailedTrialCount]).toEqual([4, 2, 4]);
    expect(spec.parameters).toEqual([
      { name: 'gamma', parameterType: 'discrete', feasibleSpace: { list: ['0.01', '0.1'] } },
      { name: 'kernel', parameterType: 'categorical', feasibleSpace: { list: ['rbf', 'poly'] } }
    ]);
    expect(spec.metricsCollectorSpec).toEqual({ collector: { kind: 'StdOut' } });
    const t = spec.trialTemplate;
    expect(t.primaryContainerName).toBe('main');
    expect(t.primaryPodLabels).toEqual({ 'katib.kubeflow.org/model-training': 'true' });
    expect(t.successCondition).toBe('status.[@this].#(phase=="Succeeded")#');
    expect(t.failureCondition).toBe('status.[@this].#(phase=="Failed")#');
    expect(t.trialParameters.map(p => [p.name, p.reference])).toEqual([
      ['gamma', 'gamma'],
      ['kernel', 'kernel']
    ]);
    expect(t.trialSpec.kind).toBe('Workflow');
    expect(t.trialSpec.metadata).toEqual({ labels: { 'cellpipe.dev/pipeline': 'demo' } });
    expect(t.trialSpec.spec.arguments!.parameters).toEqual([
      { name: 'gamma', value: '${trialParameters.gamma}' },
      { name: 'C', value: '1' },
      { name: 'kernel', value: '${trialParameters.kernel}' }
    ]);
    // Only the step recording the objective is Katib's primary pod, and prints its metrics.
    const templates = t.trialSpec.spec.templates.filter(x => 'container' in x) as ArgoContainerTemplate[];
    expect(
      templates.filter(x => x.metadata?.labels?.['katib.kubeflow.org/model-training']).map(x => x.name)
    ).toEqual(['report']);
    expect(templates.filter(x => x.container.args.includes('--metrics-log')).map(x => x.name)).toEqual([
      'report'
    ]);
  });

  it('draws at random from ranges, log-uniform where asked', async () => {
    const { experiment } = await compile({
      axes: [{ name: 'gamma', kind: 'range', type: 'float', min: 0.001, max: 1, log: true }],
      random: 5,
      seed: 3,
      objective: { metric: 'accuracy', goal: 'min' }
    });
    expect(experiment.spec.algorithm).toEqual({
      algorithmName: 'random',
      algorithmSettings: [{ name: 'random_state', value: '3' }]
    });
    expect(experiment.spec.objective.type).toBe('minimize');
    expect([experiment.spec.maxTrialCount, experiment.spec.parallelTrialCount]).toEqual([5, 5]);
    expect(experiment.spec.parameters).toEqual([
      {
        name: 'gamma',
        parameterType: 'double',
        feasibleSpace: { min: '0.001', max: '1', distribution: 'logUniform' }
      }
    ]);
  });

  it('needs an objective that a step records', async () => {
    await expect(compile({ objective: undefined })).rejects.toThrow(/add --objective METRIC:max\|min/);
    await expect(compile({ objective: { metric: 'loss', goal: 'min' } })).rejects.toThrow(
      /no step records the metric loss, .*the pipeline's metrics: accuracy/
    );
  });

  it("runs a trial's containers with Katib's values and prints the objective for the collector", async () => {
    const { experiment } = await compile();
    const workflow = experiment.spec.trialTemplate.trialSpec;
    // What Katib does: put the trial's assignments in for ${trialParameters.KEY}.
    const assigned: Record<string, string> = { gamma: '0.01', kernel: 'poly' };
    const args = Object.fromEntries(
      workflow.spec.arguments!.parameters.map(p => [
        p.name,
        p.value.replace(/^\$\{trialParameters\.(\w+)\}$/, (_, k: string) => assigned[k])
      ])
    );
    const root = mkdtempSync(join(tmpdir(), 'cellpipe-katib-'));
    const dag = workflow.spec.templates.find(t => t.name === 'main') as ArgoDagTemplate;
    let printed = '';
    for (const task of dag.dag.tasks) {
      const template = workflow.spec.templates.find(t => t.name === task.template) as ArgoContainerTemplate;
      const argv = template.container.args.map(a =>
        a
          .replace(/\{\{workflow\.parameters\.(\w+)\}\}/g, (_, k: string) => args[k])
          .replace(/^\/tmp\/cellpipe\/|^\/cellpipe\/run/, m =>
            m === '/cellpipe/run' ? join(root, 'volume') : `${join(root, 'pods', task.name)}/`
          )
      );
      const run = spawnSync(PYTHON, [...template.container.command.slice(1), ...argv], { encoding: 'utf8' });
      expect({ task: task.name, status: run.status, stderr: run.status ? run.stderr : '' }).toEqual({
        task: task.name,
        status: 0,
        stderr: ''
      });
      printed += run.stdout;
    }
    // sum(data) = 6: (6 * 0.01 + 1 + len("poly")) / 100.
    expect(printed.split('\n').filter(line => /^\w+=/.test(line))).toEqual(['accuracy=0.0506']);
  });
});
