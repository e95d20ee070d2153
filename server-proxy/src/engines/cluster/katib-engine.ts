/**
 * Sweeps through Katib: the Experiment (katib-experiment.ts) created as a custom object
 * (kubeflow.org/v1beta1 `experiments`) after the workspace is snapshotted as for any cluster run, then
 * followed by reading it and its Trials (label `katib.kubeflow.org/experiment`) until it has a
 * Succeeded or Failed condition. Each Trial is a trial of the sweep record: its assignments, its state
 * from its conditions, its metrics from its observation; the best is Katib's `currentOptimalTrial`.
 * Katib names each trial's Workflow after the Trial. Stopping a sweep deletes the Experiment (Katib has no
 * stop), which deletes its trials.
 */
import { trialLabel, TrialParameters } from '../../../../src/core/sweeps/sweep-plan';
import type { TrialRecord } from '../../../../src/core/sweeps/sweep-record';
import { katibExperiment, KatibExperiment, KatibSweep } from '../../../../src/core/targets/katib-experiment';
import { parseParameterOverride, ParameterValue } from '../../../../src/core/tags/parameters';
import { runtimeSource } from '../../runtime-source';
import { argoTarget } from './argo-engine';
import { clusterError } from './cluster-errors';
import { ClusterSubmitOptions, sweepSnapshotCleanup, submitCompiled } from './cluster-submit';
import type { ClusterTarget } from './cluster-target';
import type { KubeClients } from './kube-client';

const GROUP = 'kubeflow.org';
const VERSION = 'v1beta1';
const EXPERIMENT_LABEL = 'katib.kubeflow.org/experiment';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface KatibTrial {
  metadata?: { name?: string; creationTimestamp?: string };
  spec?: { parameterAssignments?: Array<{ name: string; value: string }> };
  status?: {
    conditions?: Condition[];
    startTime?: string;
    completionTime?: string;
    observation?: { metrics?: Array<{ name: string; latest?: string }> };
  };
}

interface ExperimentObject {
  status?: {
    conditions?: Condition[];
    currentOptimalTrial?: { bestTrialName?: string };
  };
}

/** What the Experiment says now: its trials as sweep trials, the best one, and whether it has ended. */
export interface KatibState {
  status: 'running' | 'succeeded' | 'failed';
  message?: string;
  trials: Array<TrialRecord & { name: string }>;
  best?: string;
}

export interface KatibSweepOptions extends Omit<ClusterSubmitOptions, 'target' | 'parameters' | 'id'> {
  sweepId: string;
  sweep: Omit<KatibSweep, 'name'>;
}

export interface SubmittedExperiment {
  name: string;
  namespace: string;
  poll(): Promise<KatibState>;
  /** Deletes the Experiment (and so its trials). */
  stop(): Promise<void>;
  /** Deletes the workspace snapshots once the Experiment has ended; names any left. */
  cleanup(): Promise<string[]>;
}

export async function submitKatibSweep(options: KatibSweepOptions): Promise<SubmittedExperiment> {
  const submitOptions: ClusterSubmitOptions = { ...options, target: 'argo', parameters: {} };
  // The trials are Argo Workflows: Argo's preparation (the artifact repository), Katib's document.
  const target: ClusterTarget<KatibExperiment> = {
    kind: 'argo',
    prepare: argoTarget.prepare,
    compile(analysis, notebook, source, compileOptions) {
      const { experiment, plan, warnings } = katibExperiment(
        analysis,
        notebook,
        source,
        { ...options.sweep, name: experimentName(analysis.pipeline.name, options.sweepId) },
        compileOptions
      );
      return { documents: experiment, plan, warnings };
    },
    async submit(run, context) {
      const kube = context.kube('create the Katib Experiment');
      const body = {
        ...run.documents,
        metadata: { ...run.documents.metadata, namespace: context.namespace }
      };
      body.metadata.labels = { ...body.metadata.labels, 'cellpipe.dev/run': context.id };
      try {
        await kube.custom.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: context.namespace,
          plural: 'experiments',
          body
        });
      } catch (err) {
        throw clusterError(err, {
          action: 'create the Katib Experiment',
          namespace: context.namespace,
          server: kube.server,
          service: 'Kubernetes'
        });
      }
      // Not a run's cluster info: the Experiment's name, for the sweep record.
      return { kind: 'argo', name: run.documents.metadata.name, namespace: context.namespace };
    },
    follow: () => null
  };
  const submission = await submitCompiled(
    submitOptions,
    options.sweepId,
    target,
    (analysis, compileOptions) => target.compile(analysis, options.notebook, runtimeSource(), compileOptions)
  );
  const { namespace, kube } = submission;
  const name = submission.cluster.name!;
  const types = Object.fromEntries(options.sweep.axes.map(a => [a.name, a]));
  const keys = new Map(submission.compiled.plan.parameters.map(p => [p.key, p.name]));
  const declared = submission.runAnalysis.parameters;
  const deleteSnapshots = sweepSnapshotCleanup(
    kube,
    namespace,
    submission.taken.map(t => t.snapshot)
  );
  const attempt = (action: string, k: KubeClients) => ({
    action,
    namespace,
    server: k.server,
    service: 'Kubernetes'
  });
  return {
    name,
    namespace,
    async poll() {
      const k = kube('follow the Katib Experiment');
      let experiment: ExperimentObject;
      let trials: KatibTrial[];
      try {
        experiment = (await k.custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: 'experiments',
          name
        })) as ExperimentObject;
        const list = (await k.custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: 'trials',
          labelSelector: `${EXPERIMENT_LABEL}=${name}`
        })) as { items?: KatibTrial[] };
        trials = list.items ?? [];
      } catch (err) {
        throw clusterError(err, attempt(`read the Katib Experiment ${name}`, k));
      }
      return experimentState(experiment, trials, keys, declared, types);
    },
    async stop() {
      const k = kube('delete the Katib Experiment');
      try {
        await k.custom.deleteNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: 'experiments',
          name
        });
      } catch (err) {
        throw clusterError(err, attempt(`delete the Katib Experiment ${name}`, k));
      }
    },
    cleanup: deleteSnapshots
  };
}

/** A DNS label for the Experiment: the pipeline's name and the sweep id (its trials' names add a suffix). */
function experimentName(pipeline: string, sweepId: string): string {
  const base =
    pipeline
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'sweep';
  const id = sweepId.toLowerCase().replace(/[^a-z0-9]+/g, '');
  return `${base.slice(0, 40 - id.length).replace(/-+$/, '')}-${id}`;
}

function experimentState(
  experiment: ExperimentObject,
  trials: KatibTrial[],
  keys: ReadonlyMap<string, string>,
  declared: Record<string, ParameterValue>,
  axes: Record<string, unknown>
): KatibState {
  const ended = lastTrue(experiment.status?.conditions);
  const status = ended?.type === 'Succeeded' ? 'succeeded' : ended?.type === 'Failed' ? 'failed' : 'running';
  const records = [...trials]
    .sort((a, b) =>
      String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? ''))
    )
    .map(trial => {
      const parameters: TrialParameters = {};
      for (const { name: key, value } of trial.spec?.parameterAssignments ?? []) {
        const name = keys.get(key) ?? key;
        if (name in axes) {
          parameters[name] = parseParameterOverride(`${name}=${value}`, declared).value;
        }
      }
      const condition = lastTrue(trial.status?.conditions);
      const metrics = Object.fromEntries(
        (trial.status?.observation?.metrics ?? [])
          .filter(m => m.latest !== undefined && m.latest !== '' && !Number.isNaN(Number(m.latest)))
          .map(m => [m.name, Number(m.latest)])
      );
      const start = trial.status?.startTime;
      const end = trial.status?.completionTime;
      return {
        name: trial.metadata?.name ?? '',
        label: trialLabel(parameters),
        parameters,
        status: trialStatus(condition?.type),
        ...(condition && condition.type !== 'Succeeded' && condition.message
          ? { reason: condition.message }
          : {}),
        ...(Object.keys(metrics).length > 0 ? { metrics } : {}),
        ...(start && end ? { seconds: (Date.parse(end) - Date.parse(start)) / 1000 } : {})
      };
    });
  return {
    status,
    message: status === 'failed' ? ended?.message : undefined,
    trials: records,
    best: experiment.status?.currentOptimalTrial?.bestTrialName || undefined
  };
}

function trialStatus(type: string | undefined): TrialRecord['status'] {
  switch (type) {
    case 'Succeeded':
      return 'succeeded';
    case 'Failed':
    case 'MetricsUnavailable':
      return 'failed';
    case 'EarlyStopped':
      return 'cancelled';
    case 'Running':
      return 'running';
    default:
      return 'queued';
  }
}

/** The latest condition that holds: Katib appends them (Created, Running, then Succeeded or Failed). */
function lastTrue(conditions: Condition[] | undefined): Condition | undefined {
  return [...(conditions ?? [])].reverse().find(c => c.status === 'True');
}
