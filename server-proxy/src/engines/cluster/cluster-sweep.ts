/**
 * A sweep on Argo: one Workflow for all trials (`argoSweepDocuments`: the shared steps once, the others a
 * task per trial), submitted once, and one run per trial here, a run folder like any other's (its steps
 * mapped to its own tasks and the shared ones), followed on the one Workflow. A trial ends when its own
 * tasks have, not when the whole Workflow does.
 */
import { FINISHED } from '../../../../src/core/runs/lifecycle';
import type { TrialParameters } from '../../../../src/core/sweeps/sweep-plan';
import { argoSweepDocuments } from '../../../../src/core/targets/argo-sweep';
import { runtimeSource } from '../../runtime-source';
import { newRunId } from '../../runs/run-store';
import { argoBackend, argoTarget } from './argo-engine';
import type { ClusterBackend, ClusterPoll } from './cluster-backend';
import {
  ClusterSubmitOptions,
  openRun,
  sweepSnapshotCleanup,
  submitCompiled,
  SubmittedRun
} from './cluster-submit';

export interface ArgoSweepOptions extends Omit<ClusterSubmitOptions, 'target' | 'parameters' | 'id'> {
  /** The sweep's id: a label on the Workflow, and the name of its snapshots. */
  sweepId: string;
  trials: TrialParameters[];
  /** At most this many step pods at once (the Workflow's `parallelism`). */
  maxParallel?: number;
}

export interface SubmittedSweep {
  /** One run per trial, in the trials' order. */
  trials: SubmittedRun[];
  /** The steps every trial shares. */
  shared: string[];
  /** Deletes the sweep's VolumeSnapshots once every trial has ended; names any that could not be. */
  cleanup(): Promise<string[]>;
}

export async function submitArgoSweep(options: ArgoSweepOptions): Promise<SubmittedSweep> {
  const submitOptions: ClusterSubmitOptions = { ...options, target: 'argo', parameters: {} };
  let compiled: ReturnType<typeof argoSweepDocuments> | undefined;
  const submission = await submitCompiled(
    submitOptions,
    options.sweepId,
    argoTarget,
    (analysis, compileOptions) => {
      compiled = argoSweepDocuments(analysis, options.notebook, runtimeSource(), options.trials, {
        ...compileOptions,
        maxParallel: options.maxParallel
      });
      return { documents: compiled.workflow, plan: compiled.plan, warnings: compiled.warnings };
    }
  );
  const { cluster, kube } = submission;
  const trials = await Promise.all(
    options.trials.map((parameters, i) => {
      const tasks = new Map(Object.entries(compiled!.trialTasks[i]).map(([step, task]) => [task, step]));
      return openRun(submitOptions, submission, {
        id: newRunId(),
        parameters,
        tasks,
        backend: () =>
          trialBackend(
            argoBackend(kube('follow the Argo Workflow'), cluster.namespace, cluster.name!, tasks),
            tasks
          )
      });
    })
  );
  const names = submission.taken.map(t => t.snapshot);
  const deleteSnapshots = sweepSnapshotCleanup(kube, submission.namespace, names);
  return {
    trials,
    shared: compiled!.shared,
    cleanup: deleteSnapshots
  };
}

/**
 * One trial's view of the sweep's Workflow: it has ended once all of its tasks have (failed when one of
 * them failed or was skipped, cancelled when one was), while the other trials may still run.
 */
export function trialBackend(inner: ClusterBackend, tasks: ReadonlyMap<string, string>): ClusterBackend {
  const own = (poll: ClusterPoll): ClusterPoll => {
    const states = [...tasks.keys()].map(task => poll.tasks.get(task)?.status);
    if (!states.every(s => s !== undefined && FINISHED.has(s))) {
      return poll;
    }
    const status = states.some(s => s === 'failed' || s === 'skipped')
      ? 'failed'
      : states.includes('cancelled')
        ? 'cancelled'
        : 'succeeded';
    return { ...poll, status, message: status === 'succeeded' ? undefined : poll.message };
  };
  return {
    ...inner,
    poll: async () => own(await inner.poll()),
    ...(inner.watch
      ? {
          watch: listener =>
            inner.watch!({ push: poll => listener.push(own(poll)), giveUp: why => listener.giveUp(why) })
        }
      : {})
  };
}
