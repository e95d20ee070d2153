/**
 * Kubeflow Pipelines v2: submit the compiled IR inline (`pipeline_spec`, with the kfp-kubernetes platform
 * spec beside it as the SDK sends it), then follow the run's `task_details` (display_name = the step's
 * cluster name). Step logs are served by the KFP UI, not the v2beta1 API, so the log says where to look.
 */
import type { StepStatus } from '../../../../src/core/runs/run-record';
import { kfpDocuments } from '../../../../src/core/targets/kfp';
import type { KfpPipelineSpec, KfpPlatformSpec } from '../../../../src/core/targets/kfp-spec';
import type { ClusterBackend, ClusterPoll, TaskState } from './cluster-backend';
import type { ClusterTarget } from './cluster-target';
import { KfpClient, KfpRun, KfpState } from './kfp-client';

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
  pipelineSpec: KfpPipelineSpec;
  platformSpec: KfpPlatformSpec | null;
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

export interface KfpDocumentPair {
  pipelineSpec: KfpPipelineSpec;
  platformSpec: KfpPlatformSpec | null;
}

/** KFP behind the one cluster-target interface: the IR (and platform spec) created inline as a run. */
export const kfpTarget: ClusterTarget<KfpDocumentPair> = {
  kind: 'kfp',
  compile(analysis, notebook, runtimeSource, options) {
    const { pipelineSpec, platformSpec, plan, warnings } = kfpDocuments(
      analysis,
      notebook,
      runtimeSource,
      options
    );
    return { documents: { pipelineSpec, platformSpec }, plan, warnings };
  },
  async submit(run, context) {
    const endpoint = context.kfpEndpoint();
    const client = new KfpClient(endpoint, context.kfpToken, context.namespace);
    const created = await submitKfpRun(client, {
      displayName: `${run.plan.name} ${context.id}`,
      pipelineSpec: run.documents.pipelineSpec,
      platformSpec: run.documents.platformSpec,
      parameters: context.parameters,
      experiment: context.experiment
    });
    return {
      kind: 'kfp',
      id: created.run_id,
      namespace: context.namespace,
      endpoint,
      url: client.runUrl(created.run_id)
    };
  },
  follow(cluster, tasks, connection) {
    if (!cluster.id || !cluster.endpoint) {
      return null;
    }
    return kfpBackend(new KfpClient(cluster.endpoint, connection.kfpToken, cluster.namespace), cluster.id, [
      ...tasks.keys()
    ]);
  }
};
