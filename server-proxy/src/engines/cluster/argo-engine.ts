/**
 * Argo Workflows through the Kubernetes API: create the Workflow custom object, read its status nodes
 * back (DAG task `displayName` = the step's cluster name), stop it with `spec.shutdown: Terminate`, and
 * read a step's log from its pod (container `main`).
 */
import { AuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import type { ClusterStepInfo, StepStatus } from '../../../../src/core/runs/run-record';
import { argoDocuments, RUN_DIR, RUN_VOLUME } from '../../../../src/core/targets/argo';
import type { ArgoWorkflow } from '../../../../src/core/targets/argo-workflow';
import { ArtifactStore, parseJsonObject, S3Repository, s3Store } from './artifact-store';
import type { ClusterBackend, ClusterPoll, TaskResults, TaskState } from './cluster-backend';
import { ClusterError, clusterError, networkCode } from './cluster-errors';
import type { ClusterTarget } from './cluster-target';
import type { KubeClients } from './kube-client';
import { pinnedImage } from './notebook-pod';
import { readVolumeFiles } from './volume-reader';
import { failureMessage, StepError, waitingReason } from './step-messages';
import { watchObject } from './watch';

const GROUP = 'argoproj.io';
const VERSION = 'v1alpha1';
const PLURAL = 'workflows';

interface ArgoNode {
  id: string;
  name?: string;
  displayName?: string;
  type?: string;
  templateName?: string;
  phase?: string;
  message?: string;
  /** The node the pod was scheduled on. */
  hostNodeName?: string;
  startedAt?: string;
  finishedAt?: string;
  /** A Retry node's attempts (Pod nodes named `TASK(N)`); a Pod node's dependents. */
  children?: string[];
  outputs?: {
    parameters?: { name: string; value?: string }[];
    /** With an artifact repository: `outputs`, `metrics`, and `main-logs` (archived log), by S3 key. */
    artifacts?: { name: string; s3?: { key?: string } }[];
  };
}

interface Workflow {
  metadata?: { name?: string; uid?: string; resourceVersion?: string };
  spec?: {
    shutdown?: string;
    templates?: {
      name: string;
      activeDeadlineSeconds?: number | string;
      container?: { args?: string[] };
      dag?: {
        tasks: {
          name: string;
          template?: string;
          arguments?: { parameters?: { name: string; value?: string }[] };
        }[];
      };
    }[];
  };
  status?: {
    phase?: string;
    message?: string;
    nodes?: Record<string, ArgoNode>;
    /** The artifact repository the workflow used, resolved by the controller. */
    artifactRepositoryRef?: { artifactRepository?: { s3?: S3Repository } };
    /**
     * Argo >= 3.4, by Pod node id: whether that pod's outputs (a WorkflowTaskResult) are in the node yet.
     * They are reconciled after the pod ends, so a node can be Succeeded while its outputs are still missing.
     */
    taskResultsCompletionStatus?: Record<string, boolean>;
  };
}

const NODE_STATUS: Record<string, StepStatus> = {
  Pending: 'queued',
  Running: 'running',
  Succeeded: 'succeeded',
  Failed: 'failed',
  Error: 'failed',
  Skipped: 'skipped',
  Omitted: 'skipped'
};

/** The Argo UI page of a workflow when `CELLPIPE_ARGO_UI_URL` says where the UI is. */
export function argoUrl(namespace: string, name: string): string | undefined {
  const ui = process.env.CELLPIPE_ARGO_UI_URL?.replace(/\/+$/, '');
  return ui ? `${ui}/workflows/${namespace}/${name}` : undefined;
}

/** Argo's convention for a namespace's artifact repositories, and the annotation naming the default one. */
const REPOSITORIES = 'artifact-repositories';
const DEFAULT_REPOSITORY = 'workflows.argoproj.io/default-artifact-repository';

/**
 * The namespace's default artifact repository (ConfigMap `artifact-repositories`, as Kubeflow makes in
 * every profile namespace), or why there is none to use: then outputs go the output-parameter way.
 */
export async function namespaceArtifactRepository(
  kube: KubeClients,
  namespace: string
): Promise<{ ref?: { configMap: string; key: string }; note?: string }> {
  try {
    const cm = await kube.core.readNamespacedConfigMap({ name: REPOSITORIES, namespace });
    const key = cm.metadata?.annotations?.[DEFAULT_REPOSITORY];
    if (key && cm.data?.[key] !== undefined) {
      return { ref: { configMap: REPOSITORIES, key } };
    }
    return {
      note: `ConfigMap ${REPOSITORIES} names no default repository (annotation ${DEFAULT_REPOSITORY})`
    };
  } catch (err) {
    const e = clusterError(err, {
      action: `read the ConfigMap ${REPOSITORIES}`,
      namespace,
      server: kube.server,
      service: 'Kubernetes'
    });
    if (e.code === 'not-found') {
      return {};
    }
    return { note: e.message };
  }
}

export async function submitWorkflow(
  kube: KubeClients,
  namespace: string,
  workflow: ArgoWorkflow
): Promise<{ name: string }> {
  try {
    const created = (await kube.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      body: workflow
    })) as Workflow;
    const name = created.metadata?.name;
    if (!name) {
      throw new Error('the API server answered without the Workflow name');
    }
    return { name };
  } catch (err) {
    const attempt = {
      action: 'create the Argo Workflow',
      namespace,
      server: kube.server,
      service: 'Kubernetes'
    };
    // The API server refuses an account that may not create workflows before it reads the request, and
    // closes the connection on a body as large as a Workflow (its programs inline): the client sees a
    // reset, not the 403. Ask the server what the account may do, and say that instead.
    if (/^(ECONNRESET|EPIPE|UND_ERR_SOCKET)$/.test(networkCode(err) ?? '')) {
      const allowed = await mayCreateWorkflows(kube, namespace).catch(() => undefined);
      if (allowed === false) {
        throw new ClusterError(
          'forbidden',
          `Could not ${attempt.action}: this account may not create ${PLURAL}.${GROUP} in namespace ` +
            `"${namespace}" (the API server's access review says so). Ask your cluster admin for a role ` +
            'binding that allows it (the RBAC cellpipe needs is in its README), or submit to a namespace where you may.'
        );
      }
    }
    throw clusterError(err, attempt);
  }
}

/** A SelfSubjectAccessReview: whether the account may create Workflows in the namespace. */
async function mayCreateWorkflows(kube: KubeClients, namespace: string): Promise<boolean | undefined> {
  const review = await kube.config.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { group: GROUP, resource: PLURAL, verb: 'create', namespace } }
    }
  });
  return review.status?.allowed;
}

export function argoBackend(
  kube: KubeClients,
  namespace: string,
  name: string,
  /** Cluster task name → the step's own name, which the messages use (`load-data` is `load_data`). */
  steps: ReadonlyMap<string, string>
): ClusterBackend {
  const attempt = (action: string) => ({ action, namespace, server: kube.server, service: 'Kubernetes' });
  // Each finished task's artifact keys and the repository they are in, kept from every Workflow seen (a
  // poll and the watch): a poll's answer can be older than the events the watch delivered meanwhile, so
  // the latest object read is not the newest, and what a task left is never forgotten once seen.
  const artifacts = new Map<string, NonNullable<ArgoNode['outputs']>['artifacts']>();
  let repository: S3Repository | undefined;
  const observe = (workflow: Workflow) => {
    repository = workflow.status?.artifactRepositoryRef?.artifactRepository?.s3 ?? repository;
    for (const task of steps.keys()) {
      const node = taskNode(workflow, task);
      const found = node && resultsIn(workflow, node) ? outputsOf(workflow, node)?.artifacts : undefined;
      if (found?.length) {
        artifacts.set(task, found);
      }
    }
  };
  let store: Promise<ArtifactStore> | undefined;
  const artifact = async (task: string, name: string): Promise<string | undefined> => {
    const key = artifacts.get(task)?.find(a => a.name === name)?.s3?.key;
    if (!key || !repository) {
      return undefined;
    }
    store ??= s3Store(kube, namespace, repository);
    return (await store).read(key);
  };
  const readWorkflow = async (): Promise<Workflow> => {
    try {
      return (await kube.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name
      })) as Workflow;
    } catch (err) {
      throw clusterError(err, attempt(`read the Argo Workflow ${name}`));
    }
  };
  return {
    kind: 'argo',
    async poll(): Promise<ClusterPoll> {
      const workflow = await readWorkflow();
      observe(workflow);
      return workflowState(workflow, steps, namespace);
    },
    watch(listener) {
      return watchObject<Workflow>(
        kube,
        { group: GROUP, version: VERSION, plural: PLURAL, namespace, name },
        {
          onEvent(type, workflow) {
            if (type !== 'DELETED') {
              observe(workflow);
            }
            const state = workflowState(workflow, steps, namespace);
            if (type === 'DELETED' && state.status === 'running') {
              // Deleted before it finished (kubectl delete, a TTL): its pods are gone with it.
              state.status = 'failed';
              state.message =
                `The Argo Workflow ${name} was deleted before it finished (its pods are gone with it); run ` +
                'the pipeline again.';
            }
            listener.push(state);
          },
          onGiveUp: reason => listener.giveUp(reason)
        }
      );
    },
    async cancel(): Promise<void> {
      try {
        await kube.custom.patchNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
          // client-node sends a JSON patch (application/json-patch+json) by default.
          body: [{ op: 'add', path: '/spec/shutdown', value: 'Terminate' }]
        });
      } catch (err) {
        throw clusterError(err, attempt(`stop the Argo Workflow ${name}`));
      }
    },
    async log(task: string): Promise<string> {
      try {
        const pods = await kube.core.listNamespacedPod({
          namespace,
          labelSelector: `workflows.argoproj.io/workflow=${name}`
        });
        const pod = lastPodOf(pods.items, name, task);
        if (pod?.metadata?.name) {
          return withoutExecutorLines(
            await kube.core.readNamespacedPodLog({
              name: pod.metadata.name,
              namespace,
              container: 'main'
            })
          );
        }
      } catch (err) {
        const archived = await artifact(task, 'main-logs').catch(() => undefined);
        return (
          (archived === undefined ? undefined : withoutExecutorLines(archived)) ??
          `(could not read the log of step ${task}: ${clusterError(err, attempt('read the pod log')).message})\n`
        );
      }
      // The pod was garbage-collected: the log archived in the artifact store, when there is one.
      try {
        const archived = await artifact(task, 'main-logs');
        if (archived !== undefined) {
          return withoutExecutorLines(archived);
        }
      } catch (err) {
        return `(the pod of step ${task} is gone and its archived log could not be read: ${(err as Error).message})\n`;
      }
      return `(no pod of step ${task} was found: the workflow's pods were garbage-collected, and it has no archived log)\n`;
    },
    async copyValues(values, into, image) {
      // The run volume (volumeClaimTemplate `cellpipe-run`): Argo names its claim WORKFLOW-TEMPLATE.
      const claim = `${name}-${RUN_VOLUME}`;
      const workflow = await readWorkflow();
      try {
        return await readVolumeFiles(
          kube,
          namespace,
          {
            claim,
            image,
            nearPods: { 'workflows.argoproj.io/workflow': name },
            labels: { 'cellpipe.dev/workflow': name },
            values: values.map(v => ({
              path: `${taskRunDir(workflow, v.task)}data/${v.step}/${v.stem}`,
              into: `data/${v.step}`
            }))
          },
          into
        );
      } catch (err) {
        if (err instanceof ClusterError && err.code === 'not-found') {
          throw new ClusterError(
            'not-found',
            `The run volume ${claim} of the Argo Workflow ${name} is gone, and the data its steps passed on ` +
              'with it: Argo deletes it when the workflow succeeds (a failed one keeps it until the Workflow is ' +
              'deleted).'
          );
        }
        throw err;
      }
    },
    async image(task: string): Promise<string | undefined> {
      const pods = await kube.core.listNamespacedPod({
        namespace,
        labelSelector: `workflows.argoproj.io/workflow=${name}`
      });
      const pod = lastPodOf(pods.items, name, task);
      const main = pod?.spec?.containers.find(c => c.name === 'main');
      return pod && main ? pinnedImage(pod, main) : undefined;
    },
    async results(task: string): Promise<TaskResults> {
      // Whole, from the artifact store (the outputs parameter route caps them); a missing artifact is no result.
      const [outputs, metrics] = await Promise.allSettled(['outputs', 'metrics'].map(a => artifact(task, a)));
      // Both read at once; a failure is told for the first of them, in that order (the same every run).
      const [outputsText, metricsText] = [outputs, metrics].map((read, i) => {
        if (read.status === 'rejected') {
          const what = i === 0 ? 'outputs' : 'metrics';
          throw new Error(
            `could not read the ${what} of step ${task} from the artifact store: ${(read.reason as Error).message}`
          );
        }
        return read.value === undefined ? undefined : parseJsonObject(read.value);
      });
      return { outputs: outputsText, metrics: metricsText };
    }
  };
}

/**
 * The step's own output: Argo's emissary executor runs in the main container and logs there too
 * (`time="…" level=info msg="capturing logs" argo=true`, "Taring …"), lines the user did not write.
 */
export function withoutExecutorLines(log: string): string {
  return log
    .split('\n')
    .filter(line => !/^time="[^"]*" level=(debug|info|warning|error|fatal) msg="/.test(line))
    .join('\n');
}

/**
 * Where a task keeps its data on the run volume, relative to its root: its container's `--run-dir` with
 * its DAG task's arguments in (a sweep trial's steps: `trials/tN/`), '' for the volume's own layout.
 */
function taskRunDir(workflow: Workflow, task: string): string {
  const templates = workflow.spec?.templates ?? [];
  const dagTask = templates.flatMap(t => t.dag?.tasks ?? []).find(t => t.name === task);
  const args = templates.find(t => t.name === (dagTask?.template ?? task))?.container?.args ?? [];
  const at = args.indexOf('--run-dir');
  const given = new Map((dagTask?.arguments?.parameters ?? []).map(p => [p.name, p.value ?? '']));
  const dir =
    at < 0
      ? RUN_DIR
      : args[at + 1].replace(/\{\{inputs\.parameters\.(\w+)\}\}/g, (_, key: string) => given.get(key) ?? '');
  const relative = dir.startsWith(RUN_DIR) ? dir.slice(RUN_DIR.length).replace(/^\/+|\/+$/g, '') : '';
  return relative ? `${relative}/` : '';
}

/** The node of a task (DAG task `displayName`): a Pod node, or the Retry node over its attempts. */
function taskNode(workflow: Workflow | undefined, task: string): ArgoNode | undefined {
  return Object.values(workflow?.status?.nodes ?? {}).find(n => n.displayName === task && n.phase);
}

/** A task node's latest attempt: a Retry node's last child, else the node itself. */
function latestAttempt(workflow: Workflow, node: ArgoNode): ArgoNode {
  const nodes = workflow.status?.nodes ?? {};
  const attempts = node.type === 'Retry' ? (node.children ?? []).map(id => nodes[id]).filter(Boolean) : [];
  return attempts.length > 0 ? attempts[attempts.length - 1] : node;
}

/** A task node's outputs: its own, or (on a Retry node that has none) its latest attempt's. */
function outputsOf(workflow: Workflow, node: ArgoNode): ArgoNode['outputs'] {
  return node.outputs ?? latestAttempt(workflow, node).outputs;
}

/**
 * Whether a task's outputs are in its node: Argo >= 3.4 says so per pod in `taskResultsCompletionStatus`
 * (no entry: an older Argo, which writes them with the phase). Once the workflow has ended they are all
 * the controller will give.
 */
function resultsIn(workflow: Workflow, node: ArgoNode): boolean {
  const ended =
    !!workflow.status?.phase && workflow.status.phase !== 'Running' && workflow.status.phase !== 'Pending';
  return ended || workflow.status?.taskResultsCompletionStatus?.[latestAttempt(workflow, node).id] !== false;
}

/** The run's state in a Workflow object (read or from a watch event). */
function workflowState(
  workflow: Workflow,
  steps: ReadonlyMap<string, string>,
  namespace: string
): ClusterPoll {
  const states = new Map<string, TaskState>();
  const nodes = workflow.status?.nodes ?? {};
  const name = workflow.metadata?.name ?? '';
  const cancelled = !!workflow.spec?.shutdown;
  const ended = (node: ArgoNode) => ['Succeeded', 'Failed', 'Error'].includes(node.phase ?? '');
  const awaiting = Object.values(nodes).some(n => n.type === 'Pod' && ended(n) && !resultsIn(workflow, n));
  for (const node of Object.values(nodes)) {
    // A retried step has a Retry node named after the task and Pod children named `task(N)`.
    const step = node.displayName ? steps.get(node.displayName) : undefined;
    if (!node.displayName || !step || !node.phase) {
      continue;
    }
    const task = node.displayName;
    // A Retry node's children are its attempts; a Pod node's are the tasks that run after it.
    const attempts = node.type === 'Retry' ? (node.children ?? []).map(id => nodes[id]).filter(Boolean) : [];
    // What the latest attempt says (a Retry node's own message is only "No more retries left").
    const latest = attempts.length > 0 ? attempts[attempts.length - 1] : node;
    const parameter = (name: string) =>
      (node.outputs ?? latest.outputs)?.parameters?.find(p => p.name === name)?.value;
    const metrics = parameter('metrics');
    const outputs = parameter('outputs');
    const error = parameter('error');
    let status = NODE_STATUS[node.phase] ?? 'running';
    if (ended(node) && !resultsIn(workflow, node)) {
      // Ended, but its outputs (and error) are not in the node yet: it finishes when they are.
      status = 'running';
    } else if (status === 'skipped' && awaiting) {
      // Omitted because a step failed whose error is not in yet: told after that failure, with its name.
      continue;
    }
    const state: TaskState = {
      status,
      started: node.startedAt || undefined,
      finished: status === 'running' ? undefined : node.finishedAt || undefined,
      metrics: metrics ? parseJsonObject(metrics) : undefined,
      outputs: outputs ? parseJsonObject(outputs) : undefined,
      cluster: podInfo(name, node, nodes)
    };
    if (status === 'queued' || (status === 'running' && latest.phase === 'Pending')) {
      state.status = 'queued';
      state.waiting = waitingReason(step, latest.message, namespace);
    } else if (cancelled && (status === 'skipped' || (status === 'failed' && !hasError(error)))) {
      // Stopped (spec.shutdown): Argo fails the steps it stopped ("Stopped with strategy 'Terminate'",
      // "omitted: depends condition not met" for one that never started); they were cancelled.
      state.status = 'cancelled';
    } else if (status === 'failed') {
      const stepError = error ? (parseJsonObject(error) as StepError | undefined) : undefined;
      state.error = stepError && Object.keys(stepError).length > 0 ? stepError : undefined;
      const deadline = workflow.spec?.templates?.find(
        t => t.name === node.templateName
      )?.activeDeadlineSeconds;
      state.message = failureMessage(step, {
        raw: latest.message ?? node.message,
        attempts: node.type === 'Retry' ? attempts.length : undefined,
        timeoutSeconds: deadline === undefined ? undefined : Number(deadline),
        error: state.error
      });
    } else {
      state.message = node.message;
    }
    states.set(task, state);
  }
  const phase = workflow.status?.phase;
  const status =
    phase === 'Succeeded'
      ? 'succeeded'
      : phase === 'Failed' || phase === 'Error'
        ? cancelled
          ? 'cancelled'
          : 'failed'
        : 'running';
  return { status, message: workflow.status?.message, tasks: states };
}

/**
 * Where a task runs, as Argo's node status says: its latest attempt (a Retry node's last child, else the
 * Pod node itself), that pod's name (Argo's v2 pod names: WORKFLOW-TEMPLATE-HASH, the hash being the
 * node id's suffix), the node it was scheduled on, why it is Pending (Argo copies the pod's reason into
 * `message`: "Unschedulable: 0/3 nodes are available…", "ImagePullBackOff: …") and how many retries.
 */
function podInfo(
  workflow: string,
  node: ArgoNode,
  nodes: Record<string, ArgoNode>
): ClusterStepInfo | undefined {
  const attempts =
    node.type === 'Retry' ? (node.children ?? []).map(id => nodes[id]).filter(Boolean) : [node];
  const latest = attempts[attempts.length - 1];
  if (!latest || latest.type !== 'Pod') {
    return undefined;
  }
  const info: ClusterStepInfo = {};
  const template = latest.templateName ?? node.templateName;
  if (latest.id.startsWith(`${workflow}-`) && template) {
    info.pod = `${workflow}-${template}-${latest.id.slice(workflow.length + 1)}`;
  }
  if (latest.hostNodeName) {
    info.node = latest.hostNodeName;
  }
  if (attempts.length > 1) {
    info.retries = attempts.length - 1;
  }
  return Object.keys(info).length > 0 ? info : undefined;
}

/** The latest pod of a task: Argo annotates each pod with its node name, `WORKFLOW.TASK` or `WORKFLOW.TASK(N)`. */
function lastPodOf(pods: V1Pod[], workflow: string, task: string): V1Pod | undefined {
  const nodeName = new RegExp(`^${escape(workflow)}\\.${escape(task)}(\\(\\d+\\))?$`);
  return pods
    .filter(p => nodeName.test(p.metadata?.annotations?.['workflows.argoproj.io/node-name'] ?? ''))
    .sort((a, b) =>
      String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? ''))
    )
    .pop();
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether the `error` output parameter holds a step's own error (`{}` when it has none). */
function hasError(text: string | undefined): boolean {
  const error = text ? parseJsonObject(text) : undefined;
  return !!error && Object.keys(error).length > 0;
}

/** Argo behind the one cluster-target interface: the Workflow document, created as a custom object. */
export const argoTarget: ClusterTarget<ArgoWorkflow> = {
  kind: 'argo',
  async prepare(context) {
    // The namespace's artifact repository carries outputs, metrics and logs whole; without one they are
    // output parameters, capped to what a pod annotation holds.
    let kube;
    try {
      kube = context.kube('read the artifact repository');
    } catch {
      return { options: {}, warnings: [] };
    }
    const found = await namespaceArtifactRepository(kube, context.namespace);
    return {
      options: found.ref ? { artifactRepository: found.ref } : {},
      warnings: found.note
        ? [`No artifact repository is used (${found.note}): step outputs larger than 200 KiB come back cut.`]
        : []
    };
  },
  compile(analysis, notebook, runtimeSource, options) {
    const { workflow, plan, warnings } = argoDocuments(analysis, notebook, runtimeSource, options);
    return { documents: workflow, plan, warnings };
  },
  async submit(run, context) {
    const workflow: ArgoWorkflow = {
      ...run.documents,
      metadata: {
        ...run.documents.metadata,
        labels: { ...run.documents.metadata.labels, 'cellpipe.dev/run': context.id }
      }
    };
    const { name } = await submitWorkflow(
      context.kube('submit an Argo Workflow'),
      context.namespace,
      workflow
    );
    return { kind: 'argo', name, namespace: context.namespace, url: argoUrl(context.namespace, name) };
  },
  follow(cluster, tasks, connection) {
    if (!cluster.name) {
      return null;
    }
    try {
      return argoBackend(connection.kube('follow the Argo Workflow'), cluster.namespace, cluster.name, tasks);
    } catch {
      return null; // no Kubernetes access here
    }
  }
};
