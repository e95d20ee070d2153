/**
 * CSI VolumeSnapshots (`snapshot.storage.k8s.io/v1`) of the notebook's workspace PVCs, taken before a
 * cluster run so every step sees the files as they were at submission (each step mounts a PVC restored
 * from them at the notebook's own mount paths).
 *
 * A snapshot needs a VolumeSnapshotClass whose `driver` is the PVC's CSI provisioner; when there is none
 * (or the API is missing) `planSnapshots` says why instead of failing, so the caller can offer to mount
 * the existing volumes. An account that may not list classes (they are cluster-scoped; a notebook's
 * namespace-scoped account often may not) names no class, and the snapshot controller takes the default
 * class of the PVC's driver, as it does for `kubectl` users.
 */
import { ClusterError, clusterError } from './cluster-errors';
import type { KubeClients } from './kube-client';
import type { PodVolume } from './notebook-pod';
import { watchObject, WatchEventType, WatchQueue } from './watch';

const GROUP = 'snapshot.storage.k8s.io';
const VERSION = 'v1';
const DEFAULT_CLASS_ANNOTATION = 'snapshot.storage.kubernetes.io/is-default-class';
const PROVISIONER_ANNOTATIONS = [
  'volume.kubernetes.io/storage-provisioner',
  'volume.beta.kubernetes.io/storage-provisioner'
];

export interface SnapshotPlan extends PodVolume {
  /**
   * The VolumeSnapshotClass; undefined when the account may not list classes (cluster-scoped): the
   * snapshot then names none and the snapshot controller takes the default class of the PVC's driver.
   */
  snapshotClass?: string;
  /** The PVC's StorageClass: restores use it, as its provisioner is the snapshot's driver. */
  storageClass?: string;
  /** The PVC's capacity (a restore must be at least the snapshot's restoreSize). */
  size: string;
  accessMode: 'ReadWriteOnce' | 'ReadWriteMany';
}

export interface TakenSnapshot extends SnapshotPlan {
  /** The VolumeSnapshot's name. */
  snapshot: string;
  restoreSize?: string;
}

export type SnapshotAvailability = { ok: true; plans: SnapshotPlan[] } | { ok: false; reason: string };

interface SnapshotClass {
  metadata?: { name?: string; annotations?: Record<string, string> };
  driver?: string;
}

interface VolumeSnapshot {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: { volumeSnapshotClassName?: string };
  status?: { readyToUse?: boolean; restoreSize?: string; error?: { message?: string } };
}

/** Whether each volume can be snapshotted, and with which class; else the reason it cannot. */
export async function planSnapshots(
  kube: KubeClients,
  namespace: string,
  volumes: PodVolume[]
): Promise<SnapshotAvailability> {
  // null: the account may not list classes (a namespace-scoped notebook account often may not).
  let classes: SnapshotClass[] | null;
  try {
    const list = (await kube.custom.listClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: 'volumesnapshotclasses'
    })) as { items?: SnapshotClass[] };
    classes = list.items ?? [];
  } catch (err) {
    const e = clusterError(err, {
      action: 'list VolumeSnapshotClasses',
      service: 'Kubernetes',
      server: kube.server
    });
    if (e.code === 'not-found') {
      return {
        ok: false,
        reason: 'the cluster has no CSI snapshot API (the VolumeSnapshot CRDs are not installed)'
      };
    }
    if (e.code !== 'forbidden') {
      throw e;
    }
    classes = null;
  }
  const plans: SnapshotPlan[] = [];
  for (const volume of volumes) {
    const attempt = {
      action: `read the PersistentVolumeClaim ${volume.claim}`,
      namespace,
      service: 'Kubernetes',
      server: kube.server
    };
    const pvc = await kube.core
      .readNamespacedPersistentVolumeClaim({ name: volume.claim, namespace })
      .catch(err => {
        throw clusterError(err, attempt);
      });
    const storageClass = pvc.spec?.storageClassName ?? undefined;
    let driver = PROVISIONER_ANNOTATIONS.map(a => pvc.metadata?.annotations?.[a]).find(Boolean);
    if (!driver && storageClass) {
      try {
        driver = (await kube.storage.readStorageClass({ name: storageClass })).provisioner;
      } catch (err) {
        const e = clusterError(err, { ...attempt, action: `read the StorageClass ${storageClass}` });
        if (e.code !== 'forbidden' && e.code !== 'not-found') {
          throw e;
        }
      }
    }
    let snapshotClass: string | undefined;
    if (classes !== null) {
      if (!driver) {
        return {
          ok: false,
          reason: `the CSI driver of PVC ${volume.claim} is unknown (no StorageClass provisioner)`
        };
      }
      const matching = classes.filter(c => c.driver === driver);
      const chosen =
        matching.find(c => c.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true') ?? matching[0];
      if (!chosen?.metadata?.name) {
        return {
          ok: false,
          reason: `no VolumeSnapshotClass has driver ${driver} (the driver of PVC ${volume.claim})`
        };
      }
      snapshotClass = chosen.metadata.name;
    }
    const modes = pvc.spec?.accessModes ?? [];
    plans.push({
      ...volume,
      snapshotClass,
      storageClass,
      size: pvc.status?.capacity?.storage ?? pvc.spec?.resources?.requests?.storage ?? '10Gi',
      accessMode: modes.includes('ReadWriteMany') ? 'ReadWriteMany' : 'ReadWriteOnce'
    });
  }
  return { ok: true, plans };
}

/** The VolumeSnapshot name of one claim in one run (DNS-1123 subdomain, ≤ 253). */
export function snapshotName(runId: string, claim: string): string {
  return `cellpipe-${runId}-${claim}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .slice(0, 253)
    .replace(/[-.]+$/, '');
}

export interface TakeOptions {
  runId: string;
  namespace: string;
  labels?: Record<string, string>;
  /** How long to wait for readyToUse. */
  timeoutMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * Creates a VolumeSnapshot per plan and waits until each is readyToUse. On any failure the snapshots
 * already created are deleted (and the error says which could not be), so nothing is left half-made.
 */
export async function takeSnapshots(
  kube: KubeClients,
  plans: SnapshotPlan[],
  options: TakeOptions
): Promise<TakenSnapshot[]> {
  const { namespace } = options;
  const created: string[] = [];
  try {
    for (const plan of plans) {
      const name = snapshotName(options.runId, plan.claim);
      await kube.custom
        .createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: 'volumesnapshots',
          body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'VolumeSnapshot',
            metadata: { name, namespace, labels: { 'cellpipe.dev/run': options.runId, ...options.labels } },
            spec: {
              ...(plan.snapshotClass ? { volumeSnapshotClassName: plan.snapshotClass } : {}),
              source: { persistentVolumeClaimName: plan.claim }
            }
          }
        })
        .catch(err => {
          throw clusterError(err, {
            action: `create the VolumeSnapshot ${name} of PVC ${plan.claim}`,
            namespace,
            service: 'Kubernetes',
            server: kube.server
          });
        });
      created.push(name);
    }
    return await Promise.all(plans.map((plan, i) => waitReady(kube, plan, created[i], options)));
  } catch (err) {
    const left = await deleteSnapshots(kube, namespace, created);
    if (left.length > 0 && err instanceof ClusterError) {
      throw new ClusterError(
        err.code,
        `${err.message} These VolumeSnapshots could not be deleted: ${left.join(', ')}.`
      );
    }
    throw err;
  }
}

/**
 * Waits for `readyToUse` through a watch of the VolumeSnapshot, reading it once first and polling while
 * the watch is not open (or was refused).
 */
async function waitReady(
  kube: KubeClients,
  plan: SnapshotPlan,
  name: string,
  options: TakeOptions
): Promise<TakenSnapshot> {
  const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
  const pollMs = options.pollMs ?? 2000;
  const { namespace } = options;
  const feed = new WatchQueue<{ type: WatchEventType; snapshot: VolumeSnapshot }>().start(queue =>
    watchObject<VolumeSnapshot>(
      kube,
      { group: GROUP, version: VERSION, plural: 'volumesnapshots', namespace, name },
      {
        onEvent: (type, snapshot) => queue.push({ type, snapshot }),
        onGiveUp: reason => queue.giveUp(reason)
      }
    )
  );
  const read = async (): Promise<VolumeSnapshot> =>
    (await kube.custom
      .getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: 'volumesnapshots',
        name
      })
      .catch(err => {
        throw clusterError(err, {
          action: `read the VolumeSnapshot ${name}`,
          namespace,
          service: 'Kubernetes',
          server: kube.server
        });
      })) as VolumeSnapshot;
  try {
    let event: { type: WatchEventType; snapshot: VolumeSnapshot } | undefined = {
      type: 'ADDED',
      snapshot: await read()
    };
    for (;;) {
      if (event) {
        if (event.type === 'DELETED') {
          throw new ClusterError(
            'snapshot-failed',
            `The VolumeSnapshot ${name} of PVC ${plan.claim} was deleted before it was ready to use.`
          );
        }
        const status = event.snapshot.status ?? {};
        if (status.error?.message) {
          throw new ClusterError(
            'snapshot-failed',
            `The VolumeSnapshot ${name} of PVC ${plan.claim} failed: ${status.error.message}`
          );
        }
        if (status.readyToUse === true) {
          // The class the snapshot controller chose when none was named.
          const snapshotClass = plan.snapshotClass ?? event.snapshot.spec?.volumeSnapshotClassName;
          return { ...plan, snapshotClass, snapshot: name, restoreSize: status.restoreSize };
        }
      }
      if (options.signal?.aborted) {
        throw new ClusterError('snapshot-timeout', `Cancelled while waiting for the VolumeSnapshot ${name}.`);
      }
      if (Date.now() > deadline) {
        throw new ClusterError(
          'snapshot-timeout',
          `The VolumeSnapshot ${name} of PVC ${plan.claim} was not ready to use in time; see ` +
            `kubectl describe volumesnapshot ${name} -n ${namespace}.`
        );
      }
      event = feed.take();
      if (!event) {
        if (feed.live) {
          await feed.wait(Math.min(pollMs, Math.max(1, deadline - Date.now())), options.signal);
          event = feed.take();
        } else {
          // Not watching (connecting, reconnecting, refused): poll.
          await feed.wait(pollMs, options.signal);
          event = feed.take() ?? (feed.live ? undefined : { type: 'ADDED', snapshot: await read() });
        }
      }
    }
  } finally {
    feed.stop();
  }
}

/** Deletes VolumeSnapshots; returns the names that could not be deleted (a 404 counts as deleted). */
export async function deleteSnapshots(
  kube: KubeClients,
  namespace: string,
  names: string[]
): Promise<string[]> {
  const left: string[] = [];
  for (const name of names) {
    try {
      await kube.custom.deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: 'volumesnapshots',
        name
      });
    } catch (err) {
      if (clusterError(err, { action: 'delete', service: 'Kubernetes' }).code !== 'not-found') {
        left.push(name);
      }
    }
  }
  return left;
}
