/**
 * Kubeflow Pipelines v2: submit the compiled IR inline (`pipeline_spec`, with the kfp-kubernetes platform
 * spec beside it as the SDK sends it), then follow the run's `task_details` (display_name = the step's
 * cluster name). Step logs are served by the KFP UI, not the v2beta1 API, so the log says where to look.
 */
import type { StepStatus } from '../../../../src/core/runs/run-record';
import type { ClusterBackend, ClusterPoll, TaskState } from './cluster-backend';
import type { KfpClient, KfpRun, KfpState } from './kfp-client';

const TASK_STATUS: Partial<Record<KfpState, StepStatus>> = {
  PENDING: 'queued',
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  SKIPPED: 'skipped',
  FAILED: 'failed',
  CANCELING: 'cancelled',
  CANCELED: 'cancelled'
};

export interface KfpSubmission {
  displayName: string;
  pipelineSpec: unknown;
  platformSpec: unknown | null;
  parameters: Record<string, unknown>;
  experiment?: string;
}

export async function submitKfpRun(client: KfpClient, submission: KfpSubmission): Promise<KfpRun> {
  const experimentId = submission.experiment ? await client.experimentId(submission.experiment) : undefined;
  return client.createRun({
    display_name: submission.displayName,
    ...(experimentId ? { experiment_id: experimentId } : {}),
    pipeline_spec: submission.platformSpec
      ? { pipeline_spec: submission.pipelineSpec, platform_spec: submission.platformSpec }
      : submission.pipelineSpec,
    runtime_config: { parameters: submission.parameters }
  });
}

export function kfpBackend(client: KfpClient, runId: string, tasks: string[]): ClusterBackend {
  const known = new Set(tasks);
  return {
    kind: 'kfp',
    async poll(): Promise<ClusterPoll> {
      const run = await client.getRun(runId);
      const states = new Map<string, TaskState>();
      for (const task of run.run_details?.task_details ?? []) {
        const name = task.display_name;
        if (!name || !known.has(name) || !task.state) {
          continue;
        }
        const pods = (task.child_tasks ?? []).map(c => c.pod_name).filter((p): p is string => !!p);
        const pod = pods[pods.length - 1] ?? task.pod_name;
        states.set(name, {
          status: TASK_STATUS[task.state] ?? 'running',
          started: task.start_time || undefined,
          finished: task.end_time || undefined,
          message: task.error?.message,
          ...(pod ? { cluster: { pod, ...(pods.length > 1 ? { retries: pods.length - 1 } : {}) } } : {})
        });
      }
      const state = run.state;
      const status =
        state === 'SUCCEEDED'
          ? 'succeeded'
          : state === 'FAILED'
            ? 'failed'
            : state === 'CANCELED'
              ? 'cancelled'
              : 'running';
      return { status, message: run.error?.message, tasks: states };
    },
    cancel: () => client.terminateRun(runId),
    log: async (task: string) =>
      `The logs of KFP steps are in the KFP UI: ${client.runUrl(runId)} (step ${task}).\n`
  };
}
