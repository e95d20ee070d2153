/**
 * How this process reaches the cluster, from its environment: in a notebook pod the service account
 * (and the pod itself, for its image and volumes); elsewhere a kubeconfig and one of its contexts. Flags
 * (CLI) and the user's settings (JupyterLab: a context, a token file) override each part.
 */
import { ClusterError } from './cluster-errors';
import { DEFAULT_KFP_ENDPOINT, kfpToken } from './kfp-client';
import { inCluster, KubeClients, kubeClients, loadKubeConfig, podNamespace } from './kube-client';
import type { PipelineAnalysis } from '../../../../src/core/pipeline';
import { notebookPodName } from './notebook-pod';

export interface ClusterConnection {
  /** Kubernetes: needed for Argo, snapshots and the notebook pod; created on demand by the caller. */
  kube?: () => KubeClients;
  /** KFP API endpoint; default: pipeline settings, then the in-cluster service. */
  endpoint?: string;
  /** Bearer token for KFP. */
  kfpToken?: string;
  /** The namespace; default: pipeline settings, then the notebook pod's. */
  namespace?: string;
  /** The notebook's pod, when the notebook runs in one (name and namespace). */
  pod?: { name: string; namespace: string };
  /** This process runs in a pod of the cluster (KFP's in-cluster address can be used). */
  inCluster?: boolean;
}

export interface ConnectionFlags {
  kubeconfig?: string;
  /** A context of the kubeconfig; default: its current one. */
  context?: string;
  endpoint?: string;
  namespace?: string;
  tokenFile?: string;
}

export function environmentConnection(flags: ConnectionFlags = {}): ClusterConnection {
  const podName = process.env.CELLPIPE_POD_NAME ?? (inCluster() ? notebookPodName() : undefined);
  const podNs = process.env.CELLPIPE_POD_NAMESPACE ?? podNamespace() ?? flags.namespace;
  return {
    kube: () => kubeClients(loadKubeConfig(flags.kubeconfig, flags.context)),
    endpoint: flags.endpoint,
    namespace: flags.namespace,
    kfpToken: kfpToken(flags.tokenFile),
    inCluster: inCluster(),
    pod: podName && podNs ? { name: podName, namespace: podNs } : undefined
  };
}

/** The Kubernetes clients, made once; a ClusterError naming what could not be done without them. */
export function kubeAccess(connection: Pick<ClusterConnection, 'kube'>): (action: string) => KubeClients {
  let clients: KubeClients | undefined;
  return action => {
    if (!connection.kube) {
      throw new ClusterError(
        'not-in-cluster',
        `Cannot ${action}: no Kubernetes access (not in a pod, and no --kubeconfig).`
      );
    }
    clients ??= connection.kube();
    return clients;
  };
}

/**
 * The KFP endpoint: the flag, else the pipeline settings, else (from a pod of the cluster) the in-cluster
 * service; outside a cluster there is nothing to guess.
 */
export function kfpEndpoint(
  connection: Pick<ClusterConnection, 'endpoint' | 'inCluster'>,
  analysis: Pick<PipelineAnalysis, 'pipeline'>
): string {
  const endpoint = connection.endpoint || analysis.pipeline.endpoint;
  if (endpoint) {
    return endpoint;
  }
  if (connection.inCluster) {
    return DEFAULT_KFP_ENDPOINT;
  }
  throw new ClusterError(
    'no-endpoint',
    'No Kubeflow Pipelines endpoint: set the KFP endpoint in the pipeline settings (or --endpoint), e.g. ' +
      `https://HOST/pipeline. The in-cluster address ${DEFAULT_KFP_ENDPOINT} only works from a pod of the cluster.`
  );
}
