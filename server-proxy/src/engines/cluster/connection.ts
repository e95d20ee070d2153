/**
 * How this process reaches the cluster, from its environment: in a notebook pod the service account
 * (and the pod itself, for its image and volumes); elsewhere a kubeconfig and one of its contexts. Flags
 * (CLI) and the user's settings (JupyterLab: a context, a token file) override each part.
 */
import { ClusterConnection } from './cluster-run';
import { kfpToken } from './kfp-client';
import { inCluster, kubeClients, loadKubeConfig, podNamespace } from './kube-client';
import { notebookPodName } from './notebook-pod';

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
