/**
 * What this server can reach with a user's connection settings, for JupyterLab's cluster settings: the
 * kubeconfig and its contexts, the notebook's pod (its image by digest and its PVCs: the defaults of a
 * cluster run), the default namespace, whether the pod's volumes can be snapshotted, and KFP's default
 * endpoint and token. Problems (an unknown context, an unreadable token file, an unreachable cluster)
 * are reported by field rather than thrown, so the form can show each by its field.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { ClusterReport, KubeContext } from '../../../../src/core/cluster-api';
import type { ClusterAccess } from '../../../../src/core/runs/run-record';
import { ClusterError } from './cluster-errors';
import type { ClusterConnection } from './connection';
import { DEFAULT_KFP_ENDPOINT } from './kfp-client';
import { inCluster, kubeconfigPath } from './kube-client';
import { readNotebookPod } from './notebook-pod';
import { planSnapshots } from './snapshots';

export async function clusterReport(
  access: ClusterAccess,
  connect: () => ClusterConnection,
  namespace?: string
): Promise<ClusterReport> {
  const report: ClusterReport = {
    inCluster: inCluster(),
    kubeconfig: readKubeconfig(),
    access: null,
    pod: null,
    namespace: null,
    snapshots: null,
    kfp: { defaultEndpoint: inCluster() ? DEFAULT_KFP_ENDPOINT : null, token: false },
    problems: []
  };
  const problem = (field: ClusterReport['problems'][number]['field'], err: unknown) =>
    report.problems.push({ field, message: err instanceof Error ? err.message : String(err) });

  let connection: ClusterConnection;
  try {
    connection = connect();
  } catch (err) {
    problem(err instanceof ClusterError && err.code === 'bad-token-file' ? 'tokenFile' : 'cluster', err);
    return report;
  }
  report.kfp.token = !!connection.kfpToken;
  let kube;
  try {
    kube = connection.kube?.();
  } catch (err) {
    problem(err instanceof ClusterError && err.code === 'no-such-context' ? 'context' : 'cluster', err);
  }
  if (kube) {
    const context = kube.config.getCurrentContext();
    const viaKubeconfig = report.kubeconfig?.contexts.some(c => c.name === context) ?? false;
    report.access = viaKubeconfig
      ? `kubeconfig context ${context} (${kube.server})`
      : access.context
        ? `context ${access.context} (${kube.server})`
        : `${kube.server}`;
    report.namespace = kube.config.getContextObject(context)?.namespace ?? null;
  }
  if (kube && connection.pod) {
    try {
      const pod = await readNotebookPod(kube, connection.pod.name, connection.pod.namespace);
      report.pod = { name: pod.name, namespace: pod.namespace, image: pod.image, volumes: pod.volumes };
      report.namespace ??= pod.namespace;
    } catch (err) {
      problem('cluster', err);
    }
  }
  report.namespace = namespace || report.namespace || connection.namespace || null;
  if (kube && report.pod && report.pod.volumes.length > 0 && report.namespace) {
    try {
      const availability = await planSnapshots(kube, report.namespace, report.pod.volumes);
      report.snapshots = availability.ok
        ? { available: true }
        : { available: false, reason: availability.reason };
    } catch (err) {
      problem('cluster', err);
    }
  }
  return report;
}

/** The kubeconfig kubectl would read and its contexts, or null when there is none (or it cannot be read). */
function readKubeconfig(): ClusterReport['kubeconfig'] {
  const path = kubeconfigPath();
  if (!path) {
    return null;
  }
  const config = new KubeConfig();
  try {
    config.loadFromFile(path);
  } catch {
    return null;
  }
  const contexts: KubeContext[] = config.getContexts().map(c => ({
    name: c.name,
    server: config.getCluster(c.cluster)?.server ?? '',
    ...(c.namespace ? { namespace: c.namespace } : {})
  }));
  return { path, contexts, current: config.getCurrentContext() || null };
}
