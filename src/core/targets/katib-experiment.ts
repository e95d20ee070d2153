/**
 * A sweep as a Katib Experiment (kubeflow.org/v1beta1): Katib picks the trials (grid, or random draws),
 * and each trial is the pipeline's own Argo Workflow (argo.ts) with the swept parameters' arguments set
 * to `${trialParameters.KEY}`. The step that records the objective metric prints its numeric metrics as
 * `name=value` lines at its end (`--metrics-log`), which Katib's StdOut collector reads from that pod's
 * main container (the pod carries the primary pod label). Katib runs every trial whole: the steps a
 * local or Argo sweep shares run once per trial here.
 */
import type { NotebookData } from '../notebook/model';
import type { PipelineAnalysis } from '../pipeline';
import type { Objective, SweepAxis } from '../sweeps/sweep-plan';
import { parameterText } from '../tags/parameters';
import { argoDocuments } from './argo';
import type { ArgoContainerTemplate, ArgoWorkflow } from './argo-workflow';
import type { ClusterCompileOptions, ClusterPlan } from './cluster-plan';
import { CompileError } from './cluster-step';

/** The label that marks the pod whose metrics Katib collects (`primaryPodLabels`). */
export const KATIB_PRIMARY_LABEL = 'katib.kubeflow.org/model-training';

export interface KatibParameter {
  name: string;
  parameterType: 'int' | 'double' | 'discrete' | 'categorical';
  feasibleSpace: { min?: string; max?: string; list?: string[]; distribution?: 'logUniform' };
}

export interface KatibExperiment {
  apiVersion: 'kubeflow.org/v1beta1';
  kind: 'Experiment';
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  spec: {
    objective: { type: 'maximize' | 'minimize'; objectiveMetricName: string; goal?: number };
    algorithm: {
      algorithmName: 'grid' | 'random';
      algorithmSettings?: Array<{ name: string; value: string }>;
    };
    parallelTrialCount: number;
    maxTrialCount: number;
    maxFailedTrialCount: number;
    parameters: KatibParameter[];
    metricsCollectorSpec: { collector: { kind: 'StdOut' } };
    trialTemplate: {
      primaryContainerName: string;
      primaryPodLabels: Record<string, string>;
      successCondition: string;
      failureCondition: string;
      trialParameters: Array<{ name: string; description: string; reference: string }>;
      trialSpec: Omit<ArgoWorkflow, 'metadata'> & { metadata: { labels: Record<string, string> } };
    };
  };
}

export interface KatibSweep {
  /** The Experiment's name (a DNS label). */
  name: string;
  axes: readonly SweepAxis[];
  objective?: Objective;
  /** Random search: this many trials, drawn with `seed`; else the grid of the listed values. */
  random?: number;
  seed?: number;
  maxParallel?: number;
}

export function katibExperiment(
  analysis: PipelineAnalysis,
  notebook: NotebookData,
  runtimeSource: string,
  sweep: KatibSweep,
  options: Omit<ClusterCompileOptions, 'runtimeSource'> = {}
): { experiment: KatibExperiment; plan: ClusterPlan; warnings: string[] } {
  const { workflow, plan, warnings } = argoDocuments(analysis, notebook, runtimeSource, options);
  const objective = sweep.objective;
  if (!objective) {
    throw new CompileError(
      `${plan.notebook}: a Katib sweep ranks its trials: add --objective METRIC:max|min.`
    );
  }
  const reporters = plan.steps.filter(s => s.metrics.includes(objective.metric));
  if (reporters.length === 0) {
    const metrics = [...new Set(plan.steps.flatMap(s => s.metrics))];
    throw new CompileError(
      `${plan.notebook}: no step records the metric ${objective.metric}, so Katib could not rank the trials ` +
        `(the pipeline's metrics: ${metrics.join(', ') || 'none'}; tag a cell pipeline-metrics).`
    );
  }
  const keys = new Map(plan.parameters.map(p => [p.name, p.key]));
  const parameters = sweep.axes.map(axis => katibParameter(axis, keys.get(axis.name) ?? axis.name));
  // The swept arguments are Katib's to set; a trial's Workflow is named after the trial.
  const args = workflow.spec.arguments?.parameters ?? [];
  for (const axis of sweep.axes) {
    const key = keys.get(axis.name);
    const arg = args.find(a => a.name === key);
    if (arg) {
      arg.value = `\${trialParameters.${key}}`;
    }
  }
  for (const s of reporters) {
    const template = workflow.spec.templates.find(t => t.name === s.name) as ArgoContainerTemplate;
    template.container.args.push('--metrics-log');
    template.metadata = {
      ...template.metadata,
      labels: { ...template.metadata?.labels, [KATIB_PRIMARY_LABEL]: 'true' }
    };
  }
  const grid = sweep.axes.reduce((n, a) => n * (a.kind === 'values' ? a.values.length : Infinity), 1);
  const maxTrialCount = sweep.random ?? grid;
  if (!Number.isFinite(maxTrialCount)) {
    throw new CompileError(`${plan.notebook}: a range is for random search; add --random N.`);
  }
  const experiment: KatibExperiment = {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Experiment',
    metadata: { name: sweep.name, labels: { 'cellpipe.dev/pipeline': plan.name } },
    spec: {
      objective: {
        type: objective.goal === 'max' ? 'maximize' : 'minimize',
        objectiveMetricName: objective.metric
      },
      algorithm:
        sweep.random === undefined
          ? { algorithmName: 'grid' }
          : {
              algorithmName: 'random',
              algorithmSettings: [{ name: 'random_state', value: String(sweep.seed ?? 0) }]
            },
      parallelTrialCount: Math.min(sweep.maxParallel ?? maxTrialCount, maxTrialCount),
      maxTrialCount,
      // As a local sweep: a trial that fails does not stop the others.
      maxFailedTrialCount: maxTrialCount,
      parameters,
      metricsCollectorSpec: { collector: { kind: 'StdOut' } },
      trialTemplate: {
        primaryContainerName: 'main',
        primaryPodLabels: { [KATIB_PRIMARY_LABEL]: 'true' },
        successCondition: 'status.[@this].#(phase=="Succeeded")#',
        failureCondition: 'status.[@this].#(phase=="Failed")#',
        trialParameters: sweep.axes.map(axis => ({
          name: keys.get(axis.name) ?? axis.name,
          description: `pipeline parameter ${axis.name}`,
          reference: keys.get(axis.name) ?? axis.name
        })),
        trialSpec: {
          ...workflow,
          metadata: { labels: workflow.metadata.labels }
        }
      }
    }
  };
  return { experiment, plan, warnings };
}

function katibParameter(axis: SweepAxis, name: string): KatibParameter {
  if (axis.kind === 'range') {
    return {
      name,
      parameterType: axis.type === 'int' ? 'int' : 'double',
      feasibleSpace: {
        min: String(axis.min),
        max: String(axis.max),
        ...(axis.log ? { distribution: 'logUniform' as const } : {})
      }
    };
  }
  const numeric = axis.values.every(v => v.type === 'int' || v.type === 'float');
  return {
    name,
    parameterType: numeric ? 'discrete' : 'categorical',
    feasibleSpace: { list: axis.values.map(v => parameterText(v)) }
  };
}
