/**
 * Kubeflow Pipelines v2: submit the compiled IR inline (`pipeline_spec`, with the kfp-kubernetes platform
 * spec beside it as the SDK sends it), then follow the run's `task_details` (display_name = the step's
 * cluster name). A finished step's log (the launcher's `executor-logs`), cell outputs and metrics are read
 * from the run's artifacts in KFP's object store (`kfp-store.ts`); without access to it, the log says
 * where to look in the KFP UI.
 */
import { mkdir } from 'fs/promises';
import { join } from 'path';
import type { StepStatus } from '../../../../src/core/runs/run-record';
import { CELL_OUTPUTS_KEY, METRICS_KEY } from '../../../../src/core/targets/cluster-plan';
import { kfpDocuments } from '../../../../src/core/targets/kfp';
import type { KfpPipelineSpec, KfpPlatformSpec } from '../../../../src/core/targets/kfp-spec';
import { parseJsonObject, StoredObject } from './artifact-store';
import type { ClusterBackend, ClusterPoll, TaskResults, TaskState } from './cluster-backend';
import { ClusterError } from './cluster-errors';
import type { ClusterTarget } from './cluster-target';
import { KfpClient, KfpRun, KfpState } from './kfp-client';
import { kfpRunStore, KfpRunStore, latestArtifact } from './kfp-store';
import type { KubeClients } from './kube-client';
import { pinnedImage } from './notebook-pod';
import { failureMessage, StepError } from './step-messages';

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

/** What the backend needs to read a run's artifacts: Kubernetes access in the run's namespace. */
export interface KfpArtifactAccess {
  kube: KubeClients;
  namespace: string;
}

/** KFP's Argo template of a step's executor pod (backend/src/v2/compiler/argocompiler). */
const EXECUTOR_TEMPLATE = 'system-container-impl';

/** The launcher's log artifact of a task (`executor-logs-N` for attempt N). */
const LOG_ARTIFACT = 'executor-logs';

export function kfpBackend(
  client: KfpClient,
  runId: string,
  /** Cluster task name → the step's own name, which the messages use. */
  steps: ReadonlyMap<string, string>,
  access?: KfpArtifactAccess
): ClusterBackend {
  let last: KfpRun | undefined;
  let store: Promise<KfpRunStore> | undefined;
  /** Each task's latest executor pod, as the task details name it. */
  const podOf = new Map<string, string>();
  const runStore = (): Promise<KfpRunStore> => {
    if (!access) {
      return Promise.reject(new Error('no Kubernetes access to find the store'));
    }
    store ??= (async () => {
      const run = last ?? (await client.getRun(runId));
      return kfpRunStore(access.kube, access.namespace, {
        runId,
        pipelineName: (await pipelineNameOf(client, run)) ?? '',
        pipelineRoot: run.runtime_config?.pipeline_root
      });
    })();
    // A store that could not be found now may be found at the next step (a ConfigMap fixed meanwhile).
    store.catch(() => (store = undefined));
    return store;
  };
  const logs = new Map<
    string,
    Promise<{ text: string; results?: Record<string, unknown> } | { why: string }>
  >();
  /** A task's log from the store, without the results line a failed step ends it with (read once). */
  const taskLog = (task: string) => {
    let found = logs.get(task);
    if (!found) {
      found = (async () => {
        try {
          const { s, objects } = await taskObjects(task);
          const object = latestArtifact(objects, LOG_ARTIFACT);
          if (!object) {
            return { why: `step ${task} left no log in KFP's artifact store` };
          }
          return splitResults(await s.store.read(object.key));
        } catch (err) {
          logs.delete(task);
          return {
            why: `could not read the log of step ${task} from KFP's artifact store: ${(err as Error).message}`
          };
        }
      })();
      logs.set(task, found);
    }
    return found;
  };
  /** The objects in a task's folder of the run (all its executions and attempts). */
  const taskObjects = async (task: string): Promise<{ s: KfpRunStore; objects: StoredObject[] }> => {
    const s = await runStore();
    return { s, objects: await s.store.list(`${s.runPrefix}${task}/`) };
  };
  /**
   * A run that ended while some of its steps still look unfinished: KFP 2.17 builds `task_details` from
   * the Workflow's `status.nodes`, which Argo replaces with `compressedNodes` once the Workflow is large
   * (a few steps with their programs inline), so the tasks stop moving while the run's state still does.
   * A run succeeds only when every step did; otherwise what each step left in the store says how it ended
   * (its cell outputs: it succeeded; the results line of its log: it failed, with its error).
   */
  const settleStale = async (states: Map<string, TaskState>, run: KfpRun) => {
    const finished = timeOf(run.finished_at);
    for (const task of steps.keys()) {
      const known = states.get(task);
      if (known && !['queued', 'running'].includes(known.status)) {
        continue;
      }
      let ended: TaskState['status'] | undefined = run.state === 'SUCCEEDED' ? 'succeeded' : undefined;
      if (!ended && access) {
        const objects = await taskObjects(task).then(
          found => found.objects,
          () => []
        );
        const log = latestArtifact(objects, LOG_ARTIFACT) ? await taskLog(task) : undefined;
        ended = latestArtifact(objects, CELL_OUTPUTS_KEY)
          ? 'succeeded'
          : log && 'results' in log && log.results
            ? 'failed'
            : undefined;
      }
      if (ended) {
        states.set(task, { ...known, status: ended, finished: known?.finished ?? finished });
      }
    }
  };
  return {
    kind: 'kfp',
    async poll(): Promise<ClusterPoll> {
      const run = await client.getRun(runId);
      last = run;
      const states = new Map<string, TaskState>();
      for (const task of run.run_details?.task_details ?? []) {
        const name = task.display_name;
        const status = task.state && TASK_STATUS[task.state];
        // A task Argo omitted (below a failed one) has no KFP state (UNSPECIFIED): the run's end skips it.
        if (!name || !steps.has(name) || !status) {
          continue;
        }
        // The step's children are its executor's Argo node ids (`pod_name`, despite the name); the pod is
        // Argo's v2 name for the node: WORKFLOW-TEMPLATE-HASH, KFP's executor template being
        // `system-container-impl`.
        const pods = (task.child_tasks ?? [])
          .map(c => c.pod_name?.replace(/-(\d+)$/, `-${EXECUTOR_TEMPLATE}-$1`))
          .filter((p): p is string => !!p);
        const pod = pods[pods.length - 1];
        if (pod) {
          podOf.set(name, pod);
        }
        states.set(name, {
          status,
          started: timeOf(task.start_time),
          finished: timeOf(task.end_time),
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
      if (status !== 'running') {
        await settleStale(states, run);
      }
      return { status, message: run.error?.message, tasks: states };
    },
    cancel: () => client.terminateRun(runId),
    async copyValues(values, into) {
      if (!access) {
        throw new ClusterError(
          'not-in-cluster',
          "Cannot read KFP's artifact store: no Kubernetes access to the run's namespace (not in a pod, and no --kubeconfig)."
        );
      }
      const copied: string[] = [];
      for (const v of values) {
        const { s, objects } = await taskObjects(v.task);
        // The launcher uploads a value's artifact as a folder, TASK/EXECUTION/KEY/{STEM.json, STEM.<format>}.
        const fileOf = (key: string) => key.slice(key.lastIndexOf('/') + 1);
        const files = objects.filter(
          o => fileOf(o.key) === `${v.stem}.json` || fileOf(o.key).startsWith(`${v.stem}.`)
        );
        // A retried task has an execution folder per attempt: the latest one's.
        const latest = [...files].sort((a, b) => a.modified.localeCompare(b.modified)).pop();
        const folder = latest?.key.slice(0, latest.key.lastIndexOf('/') + 1);
        for (const o of files.filter(f => folder && f.key === folder + fileOf(f.key))) {
          const path = `data/${v.step}/${fileOf(o.key)}`;
          await mkdir(join(into, 'data', v.step), { recursive: true });
          await s.store.download(o.key, join(into, path));
          copied.push(path);
        }
      }
      return copied;
    },
    async image(task: string): Promise<string | undefined> {
      const name = podOf.get(task);
      if (!access || !name) {
        return undefined;
      }
      const pod = await access.kube.core.readNamespacedPod({ name, namespace: access.namespace });
      // KFP's executor runs the step's image as the container `main` of its pod.
      const main = pod.spec?.containers.find(c => c.name === 'main');
      return main ? pinnedImage(pod, main) : undefined;
    },
    async log(task: string): Promise<string> {
      if (!access) {
        return `The log of step ${task} is in the KFP UI: ${client.runUrl(runId)}\n`;
      }
      const found = await taskLog(task);
      return 'text' in found
        ? found.text
        : `(${found.why}; see the KFP UI: ${client.runUrl(runId)}, step ${task})\n`;
    },
    async results(task: string): Promise<TaskResults> {
      if (!access) {
        return {};
      }
      let found: { s: KfpRunStore; objects: StoredObject[] };
      try {
        found = await taskObjects(task);
      } catch (err) {
        throw new Error(
          `could not read the outputs of step ${task} from KFP's artifact store: ${(err as Error).message}`,
          { cause: err }
        );
      }
      const read = async (name: string) => {
        const object = latestArtifact(found.objects, name);
        if (!object) {
          return undefined;
        }
        try {
          return parseJsonObject(await found.s.store.read(object.key));
        } catch (err) {
          throw new Error(
            `could not read the ${name} of step ${task} from KFP's artifact store: ${(err as Error).message}`,
            { cause: err }
          );
        }
      };
      // One after the other, so that a store refusing both is told the same way every time.
      const outputs = await read(CELL_OUTPUTS_KEY);
      const metrics = await read(METRICS_KEY);
      if (outputs || metrics) {
        return { outputs, metrics };
      }
      // A failed step uploads only its log, which ends with its error and outputs.
      const log = await taskLog(task);
      const results = 'results' in log ? log.results : undefined;
      const error = results?.error as StepError | undefined;
      const step = steps.get(task) ?? task;
      return {
        outputs: results?.outputs as Record<string, unknown> | undefined,
        ...(error && Object.keys(error).length > 0
          ? {
              error: {
                message: failureMessage(step, { error }),
                cell: error.cell ?? null,
                line: error.line ?? null
              }
            }
          : {})
      };
    }
  };
}

/** A log, and the results line (`cellpipe-results: JSON`, runtime.py's RESULTS_LINE) taken out of it. */
export function splitResults(log: string): { text: string; results?: Record<string, unknown> } {
  const lines = log.split('\n');
  const at = lines.map(l => l.startsWith(RESULTS_LINE)).lastIndexOf(true);
  if (at < 0) {
    return { text: log };
  }
  const results = parseJsonObject(lines[at].slice(RESULTS_LINE.length));
  lines.splice(at, 1);
  // The empty line written before it, so that it starts a line of its own.
  if (at > 0 && lines[at - 1] === '') {
    lines.splice(at - 1, 1);
  }
  return { text: lines.join('\n'), results };
}

const RESULTS_LINE = 'cellpipe-results: ';

/**
 * A task's time as KFP answers it: Argo's node time in seconds, where a time not reached yet is Go's zero
 * time (`0001-01-01T00:00:00Z`) or the Unix epoch, which are no time.
 */
function timeOf(text: string | undefined): string | undefined {
  return text && Date.parse(text) > 0 ? text : undefined;
}

/**
 * The pipeline's name (`pipelineInfo.name` of its spec), a folder of its store: from the run's inline spec,
 * or, for a run of an uploaded version (a recurring run's), which KFP answers without a spec, the version's.
 */
async function pipelineNameOf(client: KfpClient, run: KfpRun): Promise<string | undefined> {
  const ref = run.pipeline_version_reference;
  const spec = (
    run.pipeline_spec === undefined && ref?.pipeline_id && ref.pipeline_version_id
      ? (await client.getPipelineVersion(ref.pipeline_id, ref.pipeline_version_id)).pipeline_spec
      : run.pipeline_spec
  ) as { pipelineInfo?: { name?: string }; pipeline_spec?: { pipelineInfo?: { name?: string } } } | undefined;
  return spec?.pipelineInfo?.name ?? spec?.pipeline_spec?.pipelineInfo?.name;
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
    let kube: KubeClients | undefined;
    try {
      kube = connection.kube("read the KFP run's artifacts");
    } catch {
      kube = undefined; // no Kubernetes access here: states only, the log says where to look
    }
    return kfpBackend(
      new KfpClient(cluster.endpoint, connection.kfpToken, cluster.namespace),
      cluster.id,
      tasks,
      kube ? { kube, namespace: cluster.namespace } : undefined
    );
  }
};
