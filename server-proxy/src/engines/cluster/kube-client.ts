/**
 * The Kubernetes clients a cluster run uses, from one KubeConfig: in a pod the service account
 * (`loadFromCluster`), else a kubeconfig file (`--kubeconfig`, `KUBECONFIG`, `~/.kube/config`). Tests build
 * the KubeConfig from an object pointing at a loopback server.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, StorageV1Api } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'fs';

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

export function loadKubeConfig(kubeconfigFile?: string): KubeConfig {
  const config = new KubeConfig();
  if (kubeconfigFile) {
    config.loadFromFile(kubeconfigFile);
  } else if (inCluster() && !process.env.KUBECONFIG) {
    config.loadFromCluster();
  } else {
    config.loadFromDefault();
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
