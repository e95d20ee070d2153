/**
 * A parameter sweep as one Argo Workflow: the steps every trial shares (they read none of the swept
 * parameters, `sharedSteps`) are tasks of the workflow's DAG once, and every other step is a task per
 * trial (`train-t1`, `train-t2`, ...) after them, all in the one flat DAG, so the Argo UI shows the shared
 * steps fanning out into one chain per trial, and each trial's tasks are DAG tasks whose `displayName` the
 * follow code maps to steps as for a single run.
 *
 * A trial step's template is the step's own, with the swept parameters it reads as template inputs (the
 * task passes the trial's values) and its data in the trial's folder of the run volume
 * (`/cellpipe/run/trials/tN`), reading what shared steps saved from theirs (`--in KEY DIR`). The DAG does
 * not fail fast: a trial that fails leaves the others running.
 */
import type { NotebookData } from '../notebook/model';
import type { PipelineAnalysis } from '../pipeline';
import { sharedSteps, TrialParameters } from '../sweeps/sweep-plan';
import { parameterText } from '../tags/parameters';
import type { ClusterCompileOptions, PlannedStep } from './cluster-plan';
import { STATE_IN } from './cluster-plan';
import { CompileError } from './cluster-step';
import type { AdapterFlag } from './cluster-step';
import type { ArgoContainerTemplate, ArgoDagTemplate } from './argo-workflow';
import { argoDocuments, ArgoDocuments, RUN_DIR, stepTemplate } from './argo';

export interface ArgoSweepDocuments extends ArgoDocuments {
  /** The runnable steps every trial shares, in run order. */
  shared: string[];
  /** For each trial, the task of each of its steps (runnable name → DAG task name). */
  trialTasks: Array<Record<string, string>>;
}

/** The template input holding the trial's name (`t1`), which names its folder of the run volume. */
const TRIAL_INPUT = 'trial';

export function argoSweepDocuments(
  analysis: PipelineAnalysis,
  notebook: NotebookData,
  runtimeSource: string,
  trials: readonly TrialParameters[],
  options: Omit<ClusterCompileOptions, 'runtimeSource'> & { maxParallel?: number } = {}
): ArgoSweepDocuments {
  const base = argoDocuments(analysis, notebook, runtimeSource, options);
  const { plan, workflow } = base;
  if (plan.groups.length > 0) {
    throw new CompileError(
      `${plan.notebook}: a sweep on Argo cannot fan out a notebook: step (${plan.groups.map(g => g.qualified).join(', ')}) yet; ` +
        'sweep it with --target local or kfp.'
    );
  }
  const swept = Object.keys(trials[0] ?? {});
  const sweptKeys = new Map(plan.parameters.filter(p => swept.includes(p.name)).map(p => [p.key, p.name]));
  const shared = sharedSteps(
    plan.steps.map(s => s.runnable),
    swept
  );
  const sharedTask = new Set(plan.steps.filter(s => shared.includes(s.runnable.name)).map(s => s.name));
  const own = plan.steps.filter(s => !sharedTask.has(s.name));

  const templates = workflow.spec.templates;
  const dag = templates.find(t => t.name === workflow.spec.entrypoint) as ArgoDagTemplate;
  const byName = new Map(dag.dag.tasks.map(t => [t.name, t]));
  // A trial's task name: the step's, suffixed by the trial (`-t12`), kept a DNS label and unique.
  const taskName = (step: string, trial: number) => plan.labels.name(`${step}-t${trial + 1}`);
  const tasks: ArgoDagTemplate['dag']['tasks'] = plan.steps
    .filter(s => sharedTask.has(s.name))
    .map(s => byName.get(s.name)!);
  const trialTasks = trials.map((values, i) => {
    const names: Record<string, string> = {};
    for (const s of plan.steps) {
      names[s.runnable.name] = sharedTask.has(s.name) ? s.name : taskName(s.name, i);
    }
    for (const s of own) {
      const after = s.after.map(dep => (sharedTask.has(dep) ? dep : taskName(dep, i)));
      const read = s.parameters.filter(p => p.fromRun && sweptKeys.has(p.key));
      tasks.push({
        name: names[s.runnable.name],
        template: s.name,
        ...(after.length > 0 ? { dependencies: after } : {}),
        arguments: {
          parameters: [
            { name: TRIAL_INPUT, value: `t${i + 1}` },
            ...read.map(p => ({ name: p.key, value: parameterText(values[sweptKeys.get(p.key)!]) }))
          ]
        }
      });
    }
    return names;
  });
  dag.dag = { tasks, failFast: false };

  for (const s of own) {
    const at = templates.findIndex(t => t.name === s.name);
    const old = templates[at] as ArgoContainerTemplate;
    const template = stepTemplate(
      s,
      old.container.volumeMounts,
      base.singleNode,
      options.workingDir,
      !!options.artifactRepository,
      {
        runDir: `${RUN_DIR}/trials/{{inputs.parameters.${TRIAL_INPUT}}}`,
        parameter: key =>
          sweptKeys.has(key) ? `{{inputs.parameters.${key}}}` : `{{workflow.parameters.${key}}}`,
        inputs: sharedInputs(s, shared)
      }
    );
    const read = s.parameters.filter(p => p.fromRun && sweptKeys.has(p.key)).map(p => ({ name: p.key }));
    const { name, ...rest } = template;
    templates[at] = { name, inputs: { parameters: [{ name: TRIAL_INPUT }, ...read] }, ...rest };
  }
  // The swept parameters come from each trial's task; the workflow's arguments keep the others.
  const kept = workflow.spec.arguments?.parameters.filter(p => !sweptKeys.has(p.name)) ?? [];
  if (kept.length > 0) {
    workflow.spec.arguments = { parameters: kept };
  } else {
    delete workflow.spec.arguments;
  }
  if (options.maxParallel !== undefined) {
    const { entrypoint, ...rest } = workflow.spec;
    workflow.spec = { entrypoint, parallelism: options.maxParallel, ...rest };
  }
  workflow.metadata.annotations = {
    ...workflow.metadata.annotations,
    'cellpipe.dev/sweep': `${trials.length} trials; shared steps: ${shared.join(', ') || 'none'}`
  };
  return { ...base, shared, trialTasks };
}

/** `--in` flags for a trial step's inputs (variables and interpreter state) that shared steps saved. */
function sharedInputs(s: PlannedStep, shared: readonly string[]): AdapterFlag[] {
  const flags: AdapterFlag[] = [];
  for (const [key, name] of Object.entries(s.binding.ins)) {
    const provider = name.startsWith(STATE_IN) ? name.slice(STATE_IN.length) : s.runnable.sources[name];
    if (provider !== undefined && shared.includes(provider)) {
      flags.push(['--in', key, `${RUN_DIR}/data/${provider}`]);
    }
  }
  return flags;
}
