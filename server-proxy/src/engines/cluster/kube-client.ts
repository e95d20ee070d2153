/**
 * The Kubernetes clients a cluster run uses, from one KubeConfig: in a pod the service account
 * (`loadFromCluster`), else a kubeconfig file (`--kubeconfig`, `KUBECONFIG`, `~/.kube/config`). Tests build
 * the KubeConfig from an object pointing at a loopback server.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, StorageV1Api } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'fs';
import { homedir } from 'os';
import { join } from 'path';
import { ClusterError } from './cluster-errors';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeClients {
  config: KubeConfig;
  core: CoreV1Api;
  storage: StorageV1Api;
  custom: CustomObjectsApi;
  /** The API server's URL, for messages. */
  server: string;
}

export function kubeClients(config: KubeConfig): KubeClients {
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    storage: config.makeApiClient(StorageV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
    server: config.getCurrentCluster()?.server ?? '(no cluster)'
  };
}

/** Whether this process runs in a Kubernetes pod (the service account is mounted). */
export function inCluster(): boolean {
  return !!process.env.KUBERNETES_SERVICE_HOST && existsSync(`${SERVICE_ACCOUNT_DIR}/token`);
}

/** The namespace of this pod's service account, when in a pod. */
export function podNamespace(): string | undefined {
  try {
    return readFileSync(`${SERVICE_ACCOUNT_DIR}/namespace`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The service account token of this pod, when in a pod. */
export function serviceAccountToken(): string | undefined {
  try {
    return readFileSync(`${SERVICE_ACCOUNT_DIR}/token`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The kubeconfig file kubectl would read: the one given, else KUBECONFIG's first, else ~/.kube/config. */
export function kubeconfigPath(kubeconfigFile?: string): string | undefined {
  const given = kubeconfigFile ?? process.env.KUBECONFIG?.split(':').find(Boolean);
  if (given) {
    return given;
  }
  const home = join(homedir(), '.kube', 'config');
  return existsSync(home) ? home : undefined;
}

const NO_ACCESS =
  'No Kubernetes access: cellpipe is not running in a pod of the cluster (no service account is mounted) ' +
  'and there is no kubeconfig (KUBECONFIG, ~/.kube/config). Run JupyterLab in the cluster (a Kubeflow ' +
  'notebook server), or point KUBECONFIG at the kubeconfig kubectl uses (or pass --kubeconfig), then choose ' +
  'its context in the pipeline settings.';

/**
 * The KubeConfig: from the kubeconfig file (`context` chosen, else its current one), else in a pod its
 * service account. No kubeconfig and no pod, a missing file or an unknown context are ClusterErrors that
 * say what to do (client-node would fall back to http://localhost:8080 and fail with a TLS message).
 */
export function loadKubeConfig(kubeconfigFile?: string, context?: string): KubeConfig {
  const config = new KubeConfig();
  const explicit = kubeconfigFile ?? process.env.KUBECONFIG?.split(':').find(Boolean);
  // In a pod, its service account unless a kubeconfig (or one of its contexts) is asked for.
  const file = explicit ?? (inCluster() && !context ? undefined : kubeconfigPath());
  if (file) {
    if (!existsSync(file)) {
      throw new ClusterError(
        'not-in-cluster',
        `The kubeconfig ${file} (${kubeconfigFile ? '--kubeconfig' : 'KUBECONFIG'}) does not exist. ` +
          'Point KUBECONFIG at the kubeconfig kubectl uses, or unset it in a pod of the cluster.'
      );
    }
    try {
      config.loadFromFile(file);
    } catch (err) {
      throw new ClusterError(
        'not-in-cluster',
        `The kubeconfig ${file} cannot be read: ${(err as Error).message}`
      );
    }
  } else if (inCluster()) {
    if (context) {
      throw new ClusterError(
        'no-such-context',
        `There is no kubeconfig to take the context "${context}" from (KUBECONFIG, ~/.kube/config); ` +
          'in this pod, choose its service account in the pipeline settings.'
      );
    }
    config.loadFromCluster();
  } else {
    throw new ClusterError('not-in-cluster', NO_ACCESS);
  }
  if (context) {
    if (!config.getContexts().some(c => c.name === context)) {
      const known = config.getContexts().map(c => c.name);
      throw new ClusterError(
        'no-such-context',
        `The kubeconfig ${file ?? ''} has no context "${context}"` +
          (known.length ? ` (it has ${known.join(', ')}).` : '.') +
          ' Choose one of its contexts in the pipeline settings (or --context).'
      );
    }
    config.setCurrentContext(context);
  }
  if (!config.getCurrentCluster()) {
    throw new ClusterError(
      'not-in-cluster',
      `The kubeconfig ${file ?? ''} has no current context with a cluster. Choose a context in the pipeline ` +
        'settings (or --context), or set one with kubectl config use-context.'
    );
  }
  return config;
}

/** A KubeConfig for one server and bearer token (tests; a token given without a kubeconfig). */
export function tokenKubeConfig(server: string, token: string, namespace = 'default'): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    // client-node refuses plain http unless TLS verification is off (there is no TLS to verify then).
    clusters: [{ name: 'cluster', server, skipTLSVerify: server.startsWith('http:') }],
    users: [{ name: 'user', token }],
    contexts: [{ name: 'context', cluster: 'cluster', user: 'user', namespace }],
    currentContext: 'context'
  });
  return config;
}
