/**
 * Where a cluster run's steps find the notebook's files and image: the notebook's pod when it runs in one
 * (its image, pinned by digest, and its PVC mounts), merged with the pipeline's own volumes, in `snapshot`
 * mode (each PVC restored from a VolumeSnapshot taken now) or `mount` mode (the live volumes), and the
 * working directory (the notebook's folder when it is on one of those volumes).
 */
import { dirname, isAbsolute, relative } from 'path';
import type { PipelineAnalysis } from '../../../../src/core/pipeline';
import type { VolumeSettings } from '../../../../src/core/tags/settings';
import { ClusterError } from './cluster-errors';
import type { ClusterConnection } from './connection';
import type { KubeClients } from './kube-client';
import { NotebookPod, PodVolume, readNotebookPod } from './notebook-pod';

export interface ClusterWorkspace {
  namespace: string;
  /** The volumes to compile with (settings' volumes plus the pod's). */
  volumes: VolumeSettings[];
  /** Those restored from a snapshot taken now. */
  snapshot: PodVolume[];
  /** Those mounted as they are. */
  mounted: PodVolume[];
  /** The default step image (none when the pipeline names one). */
  image?: string;
  /** The image of the pod this process runs in: it holds this process's cellpipe and step runtime. */
  ownImage?: string;
  workingDir?: string;
  warnings: string[];
}

export async function clusterWorkspace(
  analysis: PipelineAnalysis,
  notebookPath: string,
  connection: ClusterConnection & { image?: string },
  mode: 'snapshot' | 'mount',
  kube: (action: string) => KubeClients
): Promise<ClusterWorkspace> {
  const warnings: string[] = [];
  let pod: NotebookPod | undefined;
  if (connection.pod) {
    try {
      pod = await readNotebookPod(
        kube('read the notebook pod'),
        connection.pod.name,
        connection.pod.namespace
      );
    } catch (err) {
      warnings.push(
        `The notebook's pod could not be read, so its image and volumes are not used: ${(err as Error).message}`
      );
    }
  }
  const namespace =
    connection.namespace || analysis.pipeline.namespace || pod?.namespace || connection.pod?.namespace;
  if (!namespace) {
    throw new ClusterError(
      'not-in-cluster',
      'No namespace to submit to: set the namespace in the pipeline settings (on the command line: --namespace).'
    );
  }
  const byClaim = new Map<string, VolumeSettings>();
  for (const v of pod?.volumes ?? []) {
    byClaim.set(v.claim, { name: v.claim, mountPath: v.mountPath, type: 'snapshot' });
  }
  for (const v of analysis.pipeline.volumes) {
    if (!byClaim.has(v.name)) {
      byClaim.set(v.name, v);
    }
  }
  const volumes = [...byClaim.values()].map(v => (mode === 'mount' ? { ...v, type: 'pvc' as const } : v));
  const asPod = (v: VolumeSettings): PodVolume => ({ claim: v.name, mountPath: v.mountPath });
  if (!analysis.pipeline.image && !pod?.image && !connection.image) {
    warnings.push(
      "The notebook pod's image is unknown and no image is configured: steps use the default image."
    );
  }
  return {
    namespace,
    volumes,
    snapshot: volumes.filter(v => v.type === 'snapshot').map(asPod),
    mounted: volumes.filter(v => v.type === 'pvc').map(asPod),
    image: analysis.pipeline.image ? undefined : (pod?.image ?? connection.image),
    ownImage: pod?.image,
    workingDir: pod ? workingDirOn(notebookPath, volumes) : undefined,
    warnings
  };
}

/** The notebook's folder, when it is on one of the mounted volumes (the steps then start there). */
function workingDirOn(notebookPath: string, volumes: VolumeSettings[]): string | undefined {
  const folder = dirname(notebookPath);
  const inside = volumes.some(v => {
    const rel = relative(v.mountPath, folder);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  });
  return inside ? folder : undefined;
}
