/**
 * Argo Workflows through the Kubernetes API: create the Workflow custom object, read its status nodes
 * back (DAG task `displayName` = the step's cluster name), stop it with `spec.shutdown: Terminate`, and
 * read a step's log from its pod (container `main`).
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { StepStatus } from '../../../../src/core/runs/run-record';
import { argoDocuments } from '../../../../src/core/targets/argo';
import type { ArgoWorkflow } from '../../../../src/core/targets/argo-workflow';
import type { ClusterBackend, ClusterPoll, TaskState } from './cluster-backend';
import { clusterError } from './cluster-errors';
import type { ClusterTarget } from './cluster-target';
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
  phase?: string;
  message?: string;
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
  for (const node of Object.values(workflow.status?.nodes ?? {})) {
    // A retried step has a Retry node named after the task and Pod children named `task(N)`.
    if (!node.displayName || !known.has(node.displayName) || !node.phase) {
      continue;
    }
    const parameter = (name: string) => node.outputs?.parameters?.find(p => p.name === name)?.value;
    const metrics = parameter('metrics');
    const outputs = parameter('outputs');
    states.set(node.displayName, {
      status: NODE_STATUS[node.phase] ?? 'running',
      started: node.startedAt || undefined,
      finished: node.finishedAt || undefined,
      message: node.message,
      metrics: metrics ? parseObject(metrics) : undefined,
      outputs: outputs ? parseObject(outputs) : undefined
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

/** Argo behind the one cluster-target interface: the Workflow document, created as a custom object. */
export const argoTarget: ClusterTarget<ArgoWorkflow> = {
  kind: 'argo',
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
