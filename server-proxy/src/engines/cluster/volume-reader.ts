/**
 * Files of a PersistentVolumeClaim no pod mounts any more (the run volume of a finished Argo Workflow),
 * read through a short-lived pod: it mounts the claim read-only and sleeps, and each file comes back over
 * `exec` (the API server's websocket, as `kubectl cp` reads files), then the pod is deleted. The pod runs
 * the step's own image, which has the Python the steps ran on: Python lists and streams the files, so the
 * image needs nothing else.
 */
import { Exec, type V1Pod, type V1Status } from '@kubernetes/client-node';
import { createWriteStream } from 'fs';
import { mkdir, rename, rm } from 'fs/promises';
import { basename, dirname, join } from 'path';
import { Writable } from 'stream';
import { ClusterError, clusterError } from './cluster-errors';
import type { KubeClients } from './kube-client';

/** Where the reader pod mounts the claim (the steps' mount path of the run volume: paths read the same). */
export const READER_MOUNT = '/cellpipe/run';

/** The files of each `FOLDER/STEM.json` and `FOLDER/STEM.*` (a saved value), as JSON: [[index, path], …]. */
const LIST = `
import json, os, sys
root, found = sys.argv[1], []
for index, want in enumerate(sys.argv[2:]):
    folder, stem = os.path.split(want)
    try:
        names = sorted(os.listdir(os.path.join(root, folder)))
    except OSError:
        continue
    for name in names:
        path = os.path.join(root, folder, name)
        if (name == stem + ".json" or name.startswith(stem + ".")) and os.path.isfile(path) and not os.path.islink(path):
            found.append([index, os.path.join(folder, name)])
print(json.dumps(found))
`;

/** One file's bytes on stdout. */
const CAT =
  'import shutil, sys\nwith open(sys.argv[1], "rb") as f:\n    shutil.copyfileobj(f, sys.stdout.buffer)\n';

export interface VolumeRead {
  claim: string;
  /** An image with python3 (the step's). */
  image: string;
  /** Keeps the reader on the node of pods still mounting a ReadWriteOnce claim (a running workflow's). */
  nearPods?: Record<string, string>;
  labels?: Record<string, string>;
  /** Saved values wanted: `FOLDER/STEM` relative to the claim's root, and the folder of `into` for them. */
  values: Array<{ path: string; into: string }>;
  /** How long the pod may take to start (default 3 minutes: an image pull). */
  startTimeoutMs?: number;
  pollMs?: number;
}

/**
 * Copies the files of `values` from the claim into their folders of `into`; returns the paths copied
 * (relative to `into`).
 * ClusterErrors say what could not be done (`not-found`: the claim is gone).
 */
export async function readVolumeFiles(
  kube: KubeClients,
  namespace: string,
  read: VolumeRead,
  into: string
): Promise<string[]> {
  const attempt = (action: string) => ({ action, namespace, server: kube.server, service: 'Kubernetes' });
  try {
    await kube.core.readNamespacedPersistentVolumeClaim({ name: read.claim, namespace });
  } catch (err) {
    throw clusterError(err, attempt(`read the volume claim ${read.claim}`));
  }
  let pod: V1Pod;
  try {
    pod = await kube.core.createNamespacedPod({ namespace, body: readerPod(read) });
  } catch (err) {
    throw clusterError(err, attempt(`start a pod that reads the volume ${read.claim}`));
  }
  const name = pod.metadata!.name!;
  try {
    await untilRunning(kube, namespace, name, read);
    const wanted = read.values.map(v => v.path);
    const listed = await execText(kube, namespace, name, ['python3', '-c', LIST, READER_MOUNT, ...wanted]);
    const copied: string[] = [];
    for (const [index, path] of JSON.parse(listed) as Array<[number, string]>) {
      const local = join(read.values[index].into, basename(path));
      const target = join(into, local);
      await mkdir(dirname(target), { recursive: true });
      const tmp = `${target}.part`;
      await execToFile(kube, namespace, name, ['python3', '-c', CAT, join(READER_MOUNT, path)], tmp);
      await rename(tmp, target);
      copied.push(local);
    }
    return copied;
  } finally {
    // The pod sleeps until its deadline otherwise; a pod that cannot be deleted ends then by itself.
    await kube.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
  }
}

function readerPod(read: VolumeRead): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'cellpipe-read-',
      labels: { 'cellpipe.dev/role': 'volume-reader', ...read.labels },
      // An Istio sidecar would keep the pod from starting in a Kubeflow profile namespace without it.
      annotations: { 'sidecar.istio.io/inject': 'false' }
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: 900,
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: 'main',
          image: read.image,
          command: ['python3', '-c', 'import time; time.sleep(900)'],
          volumeMounts: [{ name: 'volume', mountPath: READER_MOUNT, readOnly: true }]
        }
      ],
      volumes: [{ name: 'volume', persistentVolumeClaim: { claimName: read.claim, readOnly: true } }],
      ...(read.nearPods
        ? {
            affinity: {
              podAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  {
                    weight: 100,
                    podAffinityTerm: {
                      labelSelector: { matchLabels: read.nearPods },
                      topologyKey: 'kubernetes.io/hostname'
                    }
                  }
                ]
              }
            }
          }
        : {})
    }
  };
}

/** Waits for the reader to run; a pod that cannot start says why (its container's or scheduler's reason). */
async function untilRunning(
  kube: KubeClients,
  namespace: string,
  name: string,
  read: VolumeRead
): Promise<void> {
  const deadline = Date.now() + (read.startTimeoutMs ?? 180_000);
  let why = 'it is still pending';
  for (;;) {
    const pod = await kube.core.readNamespacedPod({ name, namespace });
    const phase = pod.status?.phase;
    if (phase === 'Running') {
      return;
    }
    const waiting = pod.status?.containerStatuses?.find(s => s.state?.waiting)?.state?.waiting;
    const unscheduled = pod.status?.conditions?.find(c => c.type === 'PodScheduled' && c.status === 'False');
    why = waiting?.reason
      ? `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`
      : (unscheduled?.message ?? why);
    if (
      phase === 'Failed' ||
      phase === 'Succeeded' ||
      /ErrImagePull|ImagePullBackOff|InvalidImageName/.test(why)
    ) {
      break;
    }
    if (Date.now() >= deadline) {
      break;
    }
    await new Promise(resolve => setTimeout(resolve, read.pollMs ?? 1000));
  }
  throw new ClusterError(
    'unreachable',
    `The pod ${name} that reads the volume ${read.claim} (image ${read.image}) did not start: ${why}.`
  );
}

async function execText(
  kube: KubeClients,
  namespace: string,
  pod: string,
  command: string[]
): Promise<string> {
  const out = collected();
  await execCommand(kube, namespace, pod, command, out.stream);
  return out.text();
}

/** A stream that keeps what is written to it. */
function collected(): { stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    }
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function execToFile(
  kube: KubeClients,
  namespace: string,
  pod: string,
  command: string[],
  file: string
): Promise<void> {
  const out = createWriteStream(file);
  const written = new Promise<void>((resolve, reject) => {
    out.on('close', resolve);
    out.on('error', reject);
  });
  try {
    await execCommand(kube, namespace, pod, command, out);
    await written;
  } catch (err) {
    out.destroy();
    await rm(file, { force: true });
    throw err;
  }
}

/** Runs `command` in the reader's container; its stdout into `out` (ended by the exec), stderr kept for errors. */
async function execCommand(
  kube: KubeClients,
  namespace: string,
  pod: string,
  command: string[],
  out: Writable
): Promise<void> {
  const stderr = collected();
  let status: V1Status | undefined;
  const socket = await new Exec(kube.config)
    .exec(namespace, pod, 'main', command, out, stderr.stream, null, false, s => (status = s))
    .catch(e => {
      throw clusterError(e, {
        action: `read files in the pod ${pod} (exec)`,
        namespace,
        server: kube.server,
        service: 'Kubernetes'
      });
    });
  await new Promise<void>(resolve => socket.on('close', () => resolve()));
  if (status?.status !== 'Success') {
    const text = stderr.text().trim().split('\n').slice(-3).join(' ');
    throw new ClusterError(
      'unreachable',
      `Reading files in the pod ${pod} failed: ${status?.message ?? 'the exec ended without a status'}` +
        (text ? ` (${text})` : '')
    );
  }
}
