/**
 * The pod the notebook runs in: its image pinned by digest (the default image of the steps, so they
 * have the notebook's libraries) and the PVCs its workspace is on, with the container's mount paths.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { clusterError } from './cluster-errors';
import type { KubeClients } from './kube-client';

export interface PodVolume {
  /** The PersistentVolumeClaim. */
  claim: string;
  mountPath: string;
}

export interface NotebookPod {
  name: string;
  namespace: string;
  /** `repository@sha256:…` when the runtime reported a digest, else the image as the pod names it. */
  image?: string;
  volumes: PodVolume[];
}

/**
 * Which pod: `CELLPIPE_POD_NAME` / `CELLPIPE_POD_NAMESPACE` when set (downward API), else the host name,
 * which Kubernetes sets to the pod's name.
 */
export function notebookPodName(): string | undefined {
  return process.env.CELLPIPE_POD_NAME || process.env.HOSTNAME || undefined;
}

export async function readNotebookPod(
  kube: KubeClients,
  name: string,
  namespace: string
): Promise<NotebookPod> {
  let pod: V1Pod;
  try {
    pod = await kube.core.readNamespacedPod({ name, namespace });
  } catch (err) {
    throw clusterError(err, {
      action: `read the notebook's pod ${name}`,
      namespace,
      server: kube.server,
      service: 'Kubernetes'
    });
  }
  const container = notebookContainer(pod);
  const claims = new Map(
    (pod.spec?.volumes ?? [])
      .filter(v => v.persistentVolumeClaim?.claimName)
      .map(v => [v.name, v.persistentVolumeClaim!.claimName])
  );
  const volumes: PodVolume[] = [];
  for (const mount of container?.volumeMounts ?? []) {
    const claim = claims.get(mount.name);
    // A sub-path mount shows part of the claim; the steps mount the whole restored claim at the same
    // path, which would show other files: such mounts are left out rather than shown wrongly.
    if (claim && !mount.subPath && !mount.subPathExpr) {
      volumes.push({ claim, mountPath: mount.mountPath });
    }
  }
  return { name, namespace, image: container ? pinnedImage(pod, container) : undefined, volumes };
}

/** Kubeflow names the notebook container after the notebook (label `notebook-name`); else the first. */
function notebookContainer(pod: V1Pod): V1Container | undefined {
  const containers = pod.spec?.containers ?? [];
  const named = pod.metadata?.labels?.['notebook-name'];
  return containers.find(c => c.name === named) ?? containers[0];
}

/** The container's image by digest from `status.containerStatuses[].imageID`, which the tag may no longer be. */
export function pinnedImage(pod: V1Pod, container: V1Container): string | undefined {
  const status = pod.status?.containerStatuses?.find(s => s.name === container.name);
  const digest = /@(sha256:[0-9a-f]{64})$/.exec(status?.imageID ?? '')?.[1];
  const image = container.image;
  if (!image) {
    return undefined;
  }
  if (!digest) {
    return image;
  }
  // Strip a tag (after the last '/', a ':'), or an existing digest, and pin to the running one.
  const withoutDigest = image.replace(/@.*$/, '');
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const repository = colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
  return `${repository}@${digest}`;
}
