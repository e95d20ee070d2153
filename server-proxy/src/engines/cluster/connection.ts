/**
 * How this process reaches the cluster, from its environment: in a notebook pod the service account
 * (and the pod itself, for its image and volumes); elsewhere a kubeconfig. Flags (CLI) override each part.
 */
import { ClusterError } from './cluster-errors';
import { kfpToken } from './kfp-client';
import { inCluster, KubeClients, kubeClients, loadKubeConfig, podNamespace } from './kube-client';
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
}

export interface ConnectionFlags {
  kubeconfig?: string;
  endpoint?: string;
  namespace?: string;
  tokenFile?: string;
}

export function environmentConnection(flags: ConnectionFlags = {}): ClusterConnection {
  const kubeconfig = flags.kubeconfig ?? process.env.KUBECONFIG;
  const podName = process.env.CELLPIPE_POD_NAME ?? (inCluster() ? notebookPodName() : undefined);
  const podNs = process.env.CELLPIPE_POD_NAMESPACE ?? podNamespace() ?? flags.namespace;
  return {
    kube: () => kubeClients(loadKubeConfig(kubeconfig)),
    endpoint: flags.endpoint,
    namespace: flags.namespace,
    kfpToken: kfpToken(flags.tokenFile),
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
