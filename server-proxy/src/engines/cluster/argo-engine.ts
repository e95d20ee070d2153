/**
 * Argo Workflows through the Kubernetes API: create the Workflow custom object, read its status nodes
 * back (DAG task `displayName` = the step's cluster name), stop it with `spec.shutdown: Terminate`, and
 * read a step's log from its pod (container `main`).
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { ClusterStepInfo, StepStatus } from '../../../../src/core/runs/run-record';
import type { ClusterBackend, ClusterPoll, TaskState } from './cluster-backend';
import { clusterError } from './cluster-errors';
import type { KubeClients } from './kube-client';
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
  /** A Retry node's attempts (Pod nodes), by id. */
  children?: string[];
  startedAt?: string;
  finishedAt?: string;
  outputs?: { parameters?: { name: string; value?: string }[] };
}

interface Workflow {
  metadata?: { name?: string; uid?: string; resourceVersion?: string };
  spec?: { shutdown?: string };
  status?: { phase?: string; message?: string; nodes?: Record<string, ArgoNode> };
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

export async function submitWorkflow(
  kube: KubeClients,
  namespace: string,
  workflow: Record<string, unknown>
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
    throw clusterError(err, {
      action: 'create the Argo Workflow',
      namespace,
      server: kube.server,
      service: 'Kubernetes'
    });
  }
}

export function argoBackend(
  kube: KubeClients,
  namespace: string,
  name: string,
  tasks: string[]
): ClusterBackend {
  const known = new Set(tasks);
  const attempt = (action: string) => ({ action, namespace, server: kube.server, service: 'Kubernetes' });
  return {
    kind: 'argo',
    async poll(): Promise<ClusterPoll> {
      let workflow: Workflow;
      try {
        workflow = (await kube.custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name
        })) as Workflow;
      } catch (err) {
        throw clusterError(err, attempt(`read the Argo Workflow ${name}`));
      }
      return workflowState(workflow, known);
    },
    watch(listener) {
      return watchObject<Workflow>(
        kube,
        { group: GROUP, version: VERSION, plural: PLURAL, namespace, name },
        {
          onEvent(type, workflow) {
            const state = workflowState(workflow, known);
            if (type === 'DELETED' && state.status === 'running') {
              // Deleted before it finished (kubectl delete, a TTL): its pods are gone with it.
              state.status = 'failed';
              state.message = `The Argo Workflow ${name} was deleted before it finished.`;
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
        if (!pod?.metadata?.name) {
          return `(no pod of step ${task} was found: the workflow's pods may have been garbage-collected)\n`;
        }
        return await kube.core.readNamespacedPodLog({
          name: pod.metadata.name,
          namespace,
          container: 'main'
        });
      } catch (err) {
        return `(could not read the log of step ${task}: ${clusterError(err, attempt('read the pod log')).message})\n`;
      }
    }
  };
}

/** The run's state in a Workflow object (read or from a watch event). */
function workflowState(workflow: Workflow, known: Set<string>): ClusterPoll {
  const states = new Map<string, TaskState>();
  const nodes = workflow.status?.nodes ?? {};
  const name = workflow.metadata?.name ?? '';
  for (const node of Object.values(nodes)) {
    // A retried step has a Retry node named after the task and Pod children named `task(N)`.
    if (!node.displayName || !known.has(node.displayName) || !node.phase) {
      continue;
    }
    const parameter = (key: string) => node.outputs?.parameters?.find(p => p.name === key)?.value;
    const metrics = parameter('metrics');
    const outputs = parameter('outputs');
    states.set(node.displayName, {
      status: NODE_STATUS[node.phase] ?? 'running',
      started: node.startedAt || undefined,
      finished: node.finishedAt || undefined,
      message: node.message,
      metrics: metrics ? parseObject(metrics) : undefined,
      outputs: outputs ? parseObject(outputs) : undefined,
      cluster: podInfo(name, node, nodes)
    });
  }
  const phase = workflow.status?.phase;
  const cancelled = !!workflow.spec?.shutdown;
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
  if (latest.phase === 'Pending' && latest.message) {
    info.waiting = pendingReason(latest.message);
  }
  return Object.keys(info).length > 0 ? info : undefined;
}

/** A Pending pod's reason in words a user can act on. */
export function pendingReason(message: string): NonNullable<ClusterStepInfo['waiting']> {
  if (/^Unschedulable\b|nodes are available/i.test(message)) {
    return {
      reason: 'unschedulable',
      message:
        `no node can take the step's pod (${message}). Lower its cpu, memory or GPU requests, check its ` +
        'node selector and tolerations, or add nodes.'
    };
  }
  if (/ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull/i.test(message)) {
    return {
      reason: 'image-pull',
      message: `the step's image cannot be pulled (${message}). Check the image name and tag, and that the cluster may pull from its registry (an image pull secret).`
    };
  }
  return { reason: 'pending', message };
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

/** A JSON object from an output parameter; anything else (truncated, not JSON) is ignored. */
function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
