/**
 * A sweep compiled to one Argo Workflow: shared steps once, the others once per trial, and the trial
 * tasks' containers, run here in the DAG's order with the project's Python, compute each trial's own
 * values from the shared steps' data.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { argoSweepDocuments } from '../argo-sweep';
import type { ArgoContainerTemplate, ArgoDagTemplate } from '../argo-workflow';
import { sweepTrials } from '../../sweeps/sweep-plan';
import { analyse, notebookOf, REPO_ROOT, RUNTIME } from './helpers';

const VENV = join(REPO_ROOT, '.venv', 'bin', 'python');
const PYTHON = existsSync(VENV) ? VENV : 'python3';

const notebook = () =>
  notebookOf([
    [['pipeline-parameters'], 'gamma = 0.1\nC = 1\nrows = 4'],
    [['step:load'], 'data = list(range(rows))'],
    [['step:prep', 'prev:load'], 'scaled = [x * 2 for x in data]'],
    [['step:train', 'prev:prep'], 'model = sum(scaled) * gamma + C'],
    [['step:evaluate', 'prev:train'], 'score = model / 100'],
    [['step:report', 'prev:evaluate'], 'accuracy = round(score, 6)'],
    [['pipeline-metrics'], 'accuracy']
  ]);

const grid = sweepTrials([
  { name: 'gamma', kind: 'values', values: [0.001, 0.01, 0.1].map(value => ({ type: 'float', value })) },
  { name: 'C', kind: 'values', values: [1, 10].map(value => ({ type: 'int', value })) }
]);

async function compile(options = {}) {
  const nb = notebook();
  return argoSweepDocuments(await analyse(nb), nb, RUNTIME, grid, options);
}

describe('a sweep as one Argo Workflow', () => {
  it('has the shared steps once and every other step once per trial, after them', async () => {
    const { workflow, shared, trialTasks } = await compile();
    expect(shared).toEqual(['load', 'prep']);
    const dag = workflow.spec.templates.find(t => t.name === 'main') as ArgoDagTemplate;
    expect(dag.dag.failFast).toBe(false);
    const count = (template: string) => dag.dag.tasks.filter(t => t.template === template).length;
    expect(['load', 'prep', 'train', 'evaluate', 'report'].map(count)).toEqual([1, 1, 6, 6, 6]);
    expect(dag.dag.tasks.find(t => t.name === 'train-t2')).toEqual({
      name: 'train-t2',
      template: 'train',
      dependencies: ['prep'],
      arguments: {
        parameters: [
          { name: 'trial', value: 't2' },
          { name: 'gamma', value: '0.001' },
          { name: 'C', value: '10' }
        ]
      }
    });
    expect(dag.dag.tasks.find(t => t.name === 'report-t6')?.dependencies).toEqual(['evaluate-t6']);
    expect(trialTasks[5]).toEqual({
      load: 'load',
      prep: 'prep',
      train: 'train-t6',
      evaluate: 'evaluate-t6',
      report: 'report-t6'
    });
    // The swept values come from the tasks; the others stay the workflow's.
    expect(workflow.spec.arguments).toEqual({ parameters: [{ name: 'rows', value: '4' }] });
    const train = workflow.spec.templates.find(t => t.name === 'train') as ArgoContainerTemplate;
    expect(train.inputs).toEqual({ parameters: [{ name: 'trial' }, { name: 'gamma' }, { name: 'C' }] });
    expect(train.container.args).toEqual(
      expect.arrayContaining([
        '/cellpipe/run/trials/{{inputs.parameters.trial}}',
        '{{inputs.parameters.gamma}}'
      ])
    );
    const load = workflow.spec.templates.find(t => t.name === 'load') as ArgoContainerTemplate;
    expect(load.inputs).toBeUndefined();
    expect(load.container.args).toEqual(expect.arrayContaining(['{{workflow.parameters.rows}}']));
  });

  it('limits the pods at once with --max-parallel', async () => {
    expect((await compile({ maxParallel: 2 })).workflow.spec.parallelism).toBe(2);
    expect((await compile()).workflow.spec.parallelism).toBeUndefined();
  });

  it("runs each trial's containers on the shared steps' data, with the trial's values", async () => {
    const { workflow } = await compile();
    const root = mkdtempSync(join(tmpdir(), 'cellpipe-argo-sweep-'));
    const dag = workflow.spec.templates.find(t => t.name === 'main') as ArgoDagTemplate;
    const args = Object.fromEntries(workflow.spec.arguments!.parameters.map(p => [p.name, p.value]));
    const accuracy: Record<string, number> = {};
    for (const task of dag.dag.tasks) {
      const template = workflow.spec.templates.find(t => t.name === task.template) as ArgoContainerTemplate;
      const inputs = Object.fromEntries((task.arguments?.parameters ?? []).map(p => [p.name, p.value]));
      const pod = join(root, 'pods', task.name);
      const argv = template.container.args.map(a =>
        a
          .replace(/\{\{inputs\.parameters\.(\w+)\}\}/g, (_, k: string) => inputs[k])
          .replace(/\{\{workflow\.parameters\.(\w+)\}\}/g, (_, k: string) => args[k])
          .replace(/^\/tmp\/cellpipe\/|^\/cellpipe\/run/, m =>
            m === '/cellpipe/run' ? join(root, 'volume') : `${pod}/`
          )
      );
      const run = spawnSync(PYTHON, [...template.container.command.slice(1), ...argv], { encoding: 'utf8' });
      expect({ task: task.name, status: run.status, stderr: run.status ? run.stderr : '' }).toEqual({
        task: task.name,
        status: 0,
        stderr: ''
      });
      if (task.template === 'report') {
        accuracy[inputs.trial] = JSON.parse(readFileSync(join(pod, 'metrics.json'), 'utf8')).accuracy;
      }
    }
    // sum(scaled) = 12: accuracy = (12 * gamma + C) / 100, per trial.
    expect(accuracy).toEqual({
      t1: 0.01012,
      t2: 0.10012,
      t3: 0.0112,
      t4: 0.1012,
      t5: 0.022,
      t6: 0.112
    });
    // The shared steps ran once, into the volume's own folders; each trial's steps into its folder.
    expect(existsSync(join(root, 'volume', 'data', 'prep'))).toBe(true);
    expect(existsSync(join(root, 'volume', 'trials', 't3', 'data', 'train'))).toBe(true);
    expect(existsSync(join(root, 'volume', 'trials', 't3', 'data', 'prep'))).toBe(false);
  });
});
