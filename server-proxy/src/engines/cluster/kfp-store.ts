/**
 * Where a KFP v2 run's artifacts are, found the way KFP's own launcher finds them: the pipeline root (the
 * run's `runtime_config.pipeline_root`, else `defaultPipelineRoot` of the namespace's `kfp-launcher`
 * ConfigMap, else KFP's default `minio://mlpipeline/v2/artifacts`), and the object store of its scheme
 * (that ConfigMap's `providers`, else KFP's default MinIO service and Secret `mlpipeline-minio-artifact`).
 *
 * The launcher uploads a task's outputs to `ROOT/PIPELINE/RUN_ID/TASK/UUID/KEY` (the UUID is new for each
 * execution, so the task's folder is listed), and its log, when logs are published (KFP >= 2.15's
 * default), as the artifact `executor-logs` (`executor-logs-N` for attempt N of a retried task).
 */
import { parse } from 'yaml';
import { ArtifactStore, S3Repository, s3Store, StoredObject } from './artifact-store';
import { clusterError } from './cluster-errors';
import type { KubeClients } from './kube-client';

const LAUNCHER_CONFIG = 'kfp-launcher';
const DEFAULT_ROOT = 'minio://mlpipeline/v2/artifacts';
/** KFP's defaults for `minio://` roots without a provider in the ConfigMap (backend/src/v2/config). */
const DEFAULT_MINIO: S3Repository = {
  endpoint: 'seaweedfs.kubeflow:9000',
  region: 'minio',
  insecure: true,
  accessKeySecret: { name: 'mlpipeline-minio-artifact', key: 'accesskey' },
  secretKeySecret: { name: 'mlpipeline-minio-artifact', key: 'secretkey' }
};

/** A provider's default in the `providers` key (`minio:` / `s3:`), as KFP's launcher reads it. */
interface ProviderDefault {
  endpoint?: string;
  region?: string;
  disableSSL?: boolean;
  credentials?: {
    fromEnv?: boolean;
    secretRef?: { secretName?: string; accessKeyKey?: string; secretKeyKey?: string };
  };
}

export interface KfpRunStore {
  store: ArtifactStore;
  /** The run's folder in the bucket: `PREFIX/PIPELINE/RUN_ID/`. */
  runPrefix: string;
}

/** A `scheme://bucket/prefix` pipeline root. */
export function parsePipelineRoot(root: string): { scheme: string; bucket: string; prefix: string } | null {
  const m = /^([a-z0-9]+):\/\/([^/?]+)\/?([^?]*)/.exec(root);
  return m ? { scheme: m[1], bucket: m[2], prefix: m[3].replace(/\/+$/, '') } : null;
}

/** The object store holding a run's artifacts; throws with what could not be read. */
export async function kfpRunStore(
  kube: KubeClients,
  namespace: string,
  run: { runId: string; pipelineName: string; pipelineRoot?: string }
): Promise<KfpRunStore> {
  let data: Record<string, string> = {};
  try {
    const cm = await kube.core.readNamespacedConfigMap({ name: LAUNCHER_CONFIG, namespace });
    data = cm.data ?? {};
  } catch (err) {
    const e = clusterError(err, {
      action: `read the ConfigMap ${LAUNCHER_CONFIG} (where KFP keeps artifacts)`,
      namespace,
      server: kube.server,
      service: 'Kubernetes'
    });
    if (e.code !== 'not-found') {
      throw e;
    }
  }
  const rootText = run.pipelineRoot || data.defaultPipelineRoot || DEFAULT_ROOT;
  const root = parsePipelineRoot(rootText);
  if (!root || !['minio', 's3'].includes(root.scheme)) {
    throw new Error(`the pipeline root ${rootText} is not in an S3-compatible store cellpipe can read`);
  }
  const providers = (data.providers ? parse(data.providers) : {}) as Record<
    string,
    { default?: ProviderDefault } | undefined
  >;
  const given = providers?.[root.scheme]?.default;
  let repo: S3Repository;
  if (given) {
    const ref = given.credentials?.secretRef;
    if (given.credentials?.fromEnv || !ref?.secretName) {
      throw new Error(
        `the ${root.scheme} provider of ConfigMap ${LAUNCHER_CONFIG} takes its credentials from the ` +
          "launcher's environment, which cellpipe cannot read"
      );
    }
    repo = {
      endpoint: given.endpoint ?? (root.scheme === 'minio' ? DEFAULT_MINIO.endpoint : undefined),
      region: given.region,
      insecure: given.disableSSL ?? false,
      accessKeySecret: { name: ref.secretName, key: ref.accessKeyKey ?? 'accesskey' },
      secretKeySecret: { name: ref.secretName, key: ref.secretKeyKey ?? 'secretkey' }
    };
  } else if (root.scheme === 'minio') {
    repo = DEFAULT_MINIO;
  } else {
    throw new Error(`ConfigMap ${LAUNCHER_CONFIG} names no s3 provider for the pipeline root ${rootText}`);
  }
  const store = await s3Store(kube, namespace, { ...repo, bucket: root.bucket });
  const runPrefix = [root.prefix, run.pipelineName, run.runId].filter(Boolean).join('/') + '/';
  return { store, runPrefix };
}

/** The newest object of a task named `name` (or `name-N`, an attempt), among the task folder's objects. */
export function latestArtifact(objects: StoredObject[], name: string): StoredObject | undefined {
  const pattern = new RegExp(`/${name}(-\\d+)?$`);
  return objects
    .filter(o => pattern.test(o.key))
    .sort((a, b) => a.modified.localeCompare(b.modified) || a.key.localeCompare(b.key))
    .pop();
}
