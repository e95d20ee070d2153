/**
 * A loopback HTTP server that answers like the Kubernetes API (core, storage, CSI snapshots, Argo
 * Workflows) and the KFP v2beta1 API, with their status codes and bodies (Kubernetes `Status` objects,
 * gRPC-gateway errors). State moves on with each read, as a real run does. Used by cluster-*.spec.ts.
 *
 * Katib's Experiments (kubeflow.org/v1beta1: create, read, delete) report their Trials and the optimal one
 * as Katib's controller does (see katibState).
 *
 * Workflows and VolumeSnapshots also answer lists (`metadata.resourceVersion` of the list) and watches
 * (`?watch=true`): a chunked `application/json` stream of one `{"type","object"}` line per change, from
 * the current object (ADDED) or from a given `resourceVersion` (the changes after it); while a watch is
 * open its object moves on every `watchTickMs`. Every change takes the next `resourceVersion`. Watches can
 * be closed by the server after a while, their versions then compacted away (`ERROR` 410 Expired to a
 * watch from them), or refused (403, 404).
 *
 * Pods: a workflow's pods list with their `main` container and the digest its image ran at
 * (`containerStatuses[].imageID`); a pod created here (cellpipe's volume reader) is Pending for one read,
 * then Running, and `exec` into it (the API server's websocket, `v5.channel.k8s.io`) runs the command with
 * Python here, the claims it mounts being folders (`volumeDirs`). An Argo run volume (`WORKFLOW-cellpipe-run`)
 * exists while its Workflow does, and is deleted as `spec.volumeClaimGC` says when the workflow ends.
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';
import { basename } from 'path';
import type { Duplex } from 'stream';
import { WebSocketServer } from 'ws';
import { parseAllDocuments } from 'yaml';

/** FNV-1a, 32 bits, in decimal (Argo's node ids). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text)) {
    h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  }
  return h;
}

/** The node message of a Pending step pod whose restored PVC is not bound yet (Argo v3.7, Kubernetes 1.34). */
const UNBOUND_CLAIM =
  'Unschedulable: 0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. not found';

export interface FakeOptions {
  /** Namespaces where every request is answered 403 Forbidden. */
  forbidden?: string[];
  /** Answer a Workflow create with this status (403 quota, 409, 422) and message. */
  workflowCreate?: { code: number; reason: string; message: string };
  /**
   * The account may not create Workflows (everything else it may do): RBAC refuses the create before the
   * body is read, and the lab's API server (Go's HTTP server) then closes the connection on a body larger
   * than 256 KiB, which is every Workflow with its programs inline, so the client sees a reset rather than
   * the 403. A SelfSubjectAccessReview answers `allowed: false`.
   */
  workflowCreateForbidden?: boolean;
  /** The step (task) that fails in Argo/KFP runs. */
  failTask?: string;
  /** Argo: the failed task's node message (default as for a non-zero exit: "main: Error (exit code 1)"). */
  failMessage?: string;
  /** Argo: the failed task's `error` output parameter (what the step runtime wrote; default `{}`). */
  failError?: Record<string, unknown>;
  /** Argo: the failed task's retryStrategy limit: a Retry node over limit + 1 failed attempts. */
  failRetries?: number;
  /**
   * Argo: the namespace has an artifact repository (ConfigMap `artifact-repositories`, Secret `lab-s3`) on
   * this server's S3 (path style, bucket `argo-artifacts`): steps' outputs, metrics and logs are objects
   * there, and the Workflow's status names the repository and each node's artifact keys.
   */
  artifacts?: boolean;
  /** The workflow's pods were garbage-collected: listing them answers none. */
  podsGone?: boolean;
  /** What each step printed (its stream output); default `hello from TASK`. */
  stdout?: string;
  /** The access key the S3 store knows (default `lab`, the one in Secret `lab-s3`). */
  s3AccessKey?: string;
  /** How many GETs until a VolumeSnapshot is readyToUse. */
  snapshotReadyAfter?: number;
  /** status.error.message a VolumeSnapshot reports instead of becoming ready. */
  snapshotError?: string;
  /** No VolumeSnapshotClass for the PVC's driver. */
  noSnapshotClass?: boolean;
  /** Listing VolumeSnapshotClasses and reading StorageClasses (cluster-scoped) answer 403, as to a namespaced account. */
  clusterReadsForbidden?: boolean;
  /**
   * KFP: the namespace has the `kfp-launcher` ConfigMap pointing the `minio://mlpipeline` pipeline root at
   * this server's S3 (Secret `mlpipeline-minio-artifact`), and finished tasks' artifacts are there.
   */
  kfpArtifacts?: boolean;
  /**
   * KFP: the run's task details stop changing after this many GETs while the run goes on to its end, as
   * KFP 2.17 does once Argo replaces a large Workflow's `status.nodes` with `compressedNodes`. The
   * launcher still uploads every finished task's files.
   */
  kfpNodesFrozenAt?: number;
  /** KFP create-run answer instead of 200. */
  kfpCreate?: { code: number; message: string };
  /** How many GETs (or watch ticks) a run/workflow stays at each stage (default 1). */
  ticksPerTask?: number;
  /**
   * Argo: a GET of a Workflow answers the object as it was when the request came, this many ms later (a
   * large Workflow, its programs inline, over a slow link): watch events sent meanwhile are newer.
   */
  workflowGetDelayMs?: number;
  /**
   * Argo: the first step stays Pending for this many stages first, with the scheduler's message for a pod
   * whose PVC (restored from the snapshot) is not bound yet, as every snapshot run does on the lab.
   */
  volumeBindTicks?: number;
  /** How often a watched Workflow or VolumeSnapshot moves on while a watch of it is open (default 10 ms). */
  watchTickMs?: number;
  /** The server ends each watch stream after this long (as the API server does at its timeout). */
  watchCloseAfterMs?: number;
  /** When the server ends a watch, the versions it sent are compacted: a watch from them gets ERROR 410. */
  watchExpires?: boolean;
  /** Answer watch requests with this status instead of a stream (403: no `watch` verb; 404: no endpoint). */
  watchRefused?: 403 | 404;
  /**
   * A task whose pod stays Pending for `stages` stages first, with the reason Argo copies from the pod
   * into the node's `message` (e.g. "Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.").
   */
  pendingTask?: { task: string; message: string; stages?: number };
  /** A task whose first attempt fails and second succeeds (a Retry node with two Pod children). */
  retryTask?: string;
  /**
   * What a step that records metrics writes, from the input parameters of its task and of the tasks it
   * depends on (a sweep trial's swept values, as Argo records them on the nodes: what the data it read was
   * computed with); default `{"accuracy": 0.9}`.
   */
  metricsOf?: (inputs: Record<string, string>) => Record<string, unknown>;
  /** Katib: the trial (by index in the suggestion's order) that fails. */
  katibFailTrial?: number;
  /** The Python that `exec` into a pod runs a `python3` command with (default `python3`). */
  python?: string;
}

type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Omitted';

/** A task at one moment: its phase, and each attempt's (the last is the current one). */
interface TaskProgress {
  phase: Phase;
  message?: string;
  attempts: Array<{ phase: Phase; message?: string }>;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A Workflow or VolumeSnapshot with its versions: every change is an event watchers receive. */
interface Stored {
  kind: 'workflows' | 'volumesnapshots';
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- the created object as posted
  /** Reads and watch ticks so far: the object's state is a function of them. */
  ticks: number;
  resourceVersion: number;
  /** The last state sent (without its resourceVersion), to tell a change. */
  last: string;
  history: { resourceVersion: number; type: EventType; object: unknown }[];
}

interface Workflow extends Stored {
  /** Ticks when it was stopped (spec.shutdown): its nodes stay as they were then. */
  stoppedAt?: number;
  body: {
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
    spec: WorkflowSpec;
    status?: unknown;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a Katib Experiment as posted
type KatibBody = any;

interface WatchStream {
  kind: Stored['kind'];
  name?: string;
  res: ServerResponse;
}
interface WorkflowSpec {
  shutdown?: string;
  /** At most this many pods at once (the fake runs one at a time anyway). */
  parallelism?: number;
  templates: {
    name: string;
    dag?: {
      tasks: {
        name: string;
        template?: string;
        dependencies?: string[];
        arguments?: { parameters?: { name: string; value: string }[] };
      }[];
      failFast?: boolean;
    };
    outputs?: {
      parameters?: { name: string; valueFrom?: { path: string; default?: string } }[];
      artifacts?: { name: string; path: string }[];
    };
    archiveLocation?: { archiveLogs?: boolean };
  }[];
}

export class FakeCluster {
  server!: Server;
  url = '';
  readonly requests: string[] = [];
  readonly snapshots = new Map<string, Stored>();
  readonly workflows = new Map<string, Workflow>();
  readonly kfpRuns = new Map<
    string,
    { body: Record<string, unknown>; gets: number; tasks: string[]; spec: KfpIr }
  >();
  readonly experiments: { experiment_id: string; display_name: string; namespace: string }[] = [];
  /** KFP pipelines uploaded, with their versions (the uploaded file's text). */
  readonly pipelines: Array<{
    pipeline_id: string;
    name: string;
    display_name: string;
    description: string;
    namespace: string;
    created_at: string;
    versions: Array<{
      pipeline_id: string;
      pipeline_version_id: string;
      name: string;
      display_name: string;
      created_at: string;
      filename: string;
      text: string;
    }>;
  }> = [];
  /** Argo CronWorkflows by name, as created (plus what the controller set: its status). */
  readonly cronWorkflows = new Map<string, { body: any; status: Record<string, unknown> }>(); // eslint-disable-line @typescript-eslint/no-explicit-any -- as posted
  /** KFP recurring runs by id. */
  readonly recurringRuns = new Map<string, Record<string, unknown>>();
  readonly tokens = new Set<string>();
  /** Katib Experiments as created, with how often each was read (its trials move on with the reads). */
  readonly katib = new Map<string, { body: KatibBody; reads: number }>();
  /** The S3 store's objects (bucket/key → content), as Argo's executor or KFP's launcher uploaded them. */
  readonly objects = new Map<string, string | Buffer>();
  /** What each PVC holds, as a folder here (a claim without one is empty). */
  readonly volumeDirs = new Map<string, string>();
  /** Pods created through the API (volume readers), by name, with how often each was read. */
  readonly pods = new Map<string, { body: any; reads: number }>(); // eslint-disable-line @typescript-eslint/no-explicit-any -- as posted
  /** What a task's container wrote besides (after) the step's stream output, by task: its log goes on with it. */
  readonly stepLogs = new Map<string, string>();
  /** Commands run in pods through exec. */
  readonly execs: string[][] = [];
  /** KFP executor pods as the engine names them → the image of their task. */
  private readonly kfpPods = new Map<string, string>();
  private readonly sockets = new WebSocketServer({
    noServer: true,
    handleProtocols: protocols => (protocols.has('v5.channel.k8s.io') ? 'v5.channel.k8s.io' : false)
  });
  /** Watch streams open now. */
  readonly watches = new Set<WatchStream>();
  /** The last resourceVersion given out; versions below `compacted` are gone (410 Expired). */
  private version = 1000;
  private compacted = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(readonly options: FakeOptions = {}) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let text = '';
      req.on('data', c => (text += c));
      req.on('end', () => {
        this.requests.push(`${req.method} ${req.url}`);
        this.tokens.add(req.headers.authorization ?? '');
        try {
          const multipart = /^multipart\/form-data/i.test(req.headers['content-type'] ?? '');
          this.handle(req, res, multipart ? { multipart: text } : text ? JSON.parse(text) : undefined);
        } catch (err) {
          status(res, 500, 'InternalError', String(err));
        }
      });
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head)
    );
    // As the real API servers (Go's, with no idle timeout) do: an idle kept-alive connection is closed by
    // the client, not by a 5 s timer of this fake's.
    this.server.keepAliveTimeout = 0;
    await new Promise<void>(resolve => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    for (const t of this.timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    this.timers.clear();
    this.sockets.close();
    this.server.closeAllConnections();
    return new Promise(resolve => this.server.close(() => resolve()));
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- request JSON of any shape
  private handle(req: IncomingMessage, res: ServerResponse, body: any): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const method = req.method;
    const ns = /\/namespaces\/([^/]+)/.exec(path)?.[1];
    if (ns && this.options.forbidden?.includes(ns)) {
      // As the lab's API server words an RBAC refusal (group-qualified resource, verb, API group).
      const r = /^\/apis?\/(?:([^/]+)\/)?v[^/]+\/namespaces\/[^/]+\/([^/]+)(\/[^/]+)?/.exec(path);
      const [group, plural, named] = [r?.[1] ?? '', r?.[2] ?? '', !!r?.[3]];
      const verb =
        method === 'GET' ? (named ? 'get' : 'list') : method === 'POST' ? 'create' : method!.toLowerCase();
      return status(
        res,
        403,
        'Forbidden',
        `${group ? `${plural}.${group}` : plural} is forbidden: User "system:serviceaccount:${ns}:default-editor" ` +
          `cannot ${verb} resource "${plural}"${group ? ` in API group "${group}"` : ''} in the namespace "${ns}"`
      );
    }
    let m: RegExpExecArray | null;
    if (path.startsWith('/apis/v2beta1/pipelines')) {
      return this.kfpPipelines(req, res, url, body);
    }
    // Core: the notebook pod, its PVCs, the Argo pods and their logs.
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path)) && method === 'POST') {
      const name = body.metadata?.name ?? `${body.metadata?.generateName ?? 'pod-'}r${this.pods.size + 1}x`;
      const pod = { ...body, metadata: { ...body.metadata, name, namespace: m[1], uid: `uid-${name}` } };
      this.pods.set(name, { body: pod, reads: 0 });
      return json(res, 201, { ...pod, status: { phase: 'Pending' } });
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(path))) {
      const created = this.pods.get(m[2]);
      if (created && method === 'DELETE') {
        this.pods.delete(m[2]);
        return json(res, 200, { ...created.body, status: { phase: 'Running' } });
      }
      if (method === 'GET' && created) {
        // Scheduled and started after one read, as a pod whose image is on the node already.
        const running = created.reads++ > 0;
        return json(res, 200, {
          ...created.body,
          status: running
            ? { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, state: { running: {} } }] }
            : {
                phase: 'Pending',
                containerStatuses: [
                  { name: 'main', ready: false, state: { waiting: { reason: 'ContainerCreating' } } }
                ]
              }
        });
      }
      const kfpImage = this.kfpPods.get(m[2]);
      if (method === 'GET' && kfpImage) {
        return json(res, 200, stepPod(m[2], m[1], kfpImage, {}));
      }
      if (method !== 'GET' || m[2] !== 'notebook-0') {
        return status(res, 404, 'NotFound', `pods "${m[2]}" not found`);
      }
      return json(res, 200, notebookPod(m[1]));
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path)) && method === 'GET') {
      const wf = /workflows.argoproj.io\/workflow=(.+)/.exec(
        url.searchParams.get('labelSelector') ?? ''
      )?.[1];
      const workflow = wf && !this.options.podsGone ? this.workflows.get(wf) : undefined;
      const nodes = workflow ? this.render(workflow).pods : [];
      return json(res, 200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: {},
        items: nodes.map(n =>
          stepPod(n.podName, m![1], n.image, {
            creationTimestamp: `2026-01-01T00:00:0${n.attempt}Z`,
            annotations: { 'workflows.argoproj.io/node-name': n.name }
          })
        )
      });
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(path)) && method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      const pod = m[2];
      const node = [...this.workflows.values()]
        .flatMap(wf => this.render(wf).pods.map(p => ({ ...p, wf: wf.body.metadata.name })))
        .find(p => p.podName === pod);
      const task = node?.name.slice(node.wf.length + 1).replace(/\(\d+\)$/, '');
      // Argo's emissary executor logs in the main container too, around the step's own output.
      return void res.end(
        'time="2026-01-01T00:00:01.000Z" level=info msg="capturing logs" argo=true\n' +
          `log of ${m[2]} (container ${url.searchParams.get('container')})\n` +
          (task ? (this.stepLogs.get(task) ?? '') : '') +
          'time="2026-01-01T00:00:06.000Z" level=info msg="sub-process exited" argo=true error="<nil>"\n' +
          'time="2026-01-01T00:00:06.000Z" level=info msg="Taring /tmp/cellpipe/outputs.json"\n'
      );
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/kfp-launcher$/.exec(path)) && method === 'GET') {
      if (!this.options.kfpArtifacts) {
        return status(res, 404, 'NotFound', 'configmaps "kfp-launcher" not found');
      }
      // As the lab's KFP recipe makes it (KFP's launcher reads the same keys).
      return json(res, 200, {
        kind: 'ConfigMap',
        apiVersion: 'v1',
        metadata: { name: 'kfp-launcher', namespace: m[1] },
        data: {
          defaultPipelineRoot: 'minio://mlpipeline/v2/artifacts',
          providers:
            `minio:\n  default:\n    endpoint: ${this.s3Endpoint()}\n    disableSSL: true\n    region: minio\n` +
            '    forcePathStyle: true\n    credentials:\n      fromEnv: false\n' +
            '      secretRef: {secretName: mlpipeline-minio-artifact, accessKeyKey: accesskey, secretKeyKey: secretkey}\n'
        }
      });
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/.exec(path)) && method === 'GET') {
      if (!this.options.artifacts || m[2] !== 'artifact-repositories') {
        return status(res, 404, 'NotFound', `configmaps "${m[2]}" not found`);
      }
      // As Kubeflow's profile controller (and the lab's 80-notebook.sh) makes it.
      return json(res, 200, {
        kind: 'ConfigMap',
        apiVersion: 'v1',
        metadata: {
          name: m[2],
          namespace: m[1],
          annotations: { 'workflows.argoproj.io/default-artifact-repository': 'default-v1' }
        },
        data: {
          'default-v1': `archiveLogs: true\ns3:\n  bucket: argo-artifacts\n  endpoint: ${this.s3Endpoint()}\n`
        }
      });
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(path)) && method === 'GET') {
      const known =
        (this.options.artifacts && m[2] === 'lab-s3') ||
        (this.options.kfpArtifacts && m[2] === 'mlpipeline-minio-artifact');
      if (!known) {
        return status(res, 404, 'NotFound', `secrets "${m[2]}" not found`);
      }
      const b64 = (t: string) => Buffer.from(t).toString('base64');
      return json(res, 200, {
        kind: 'Secret',
        apiVersion: 'v1',
        metadata: { name: m[2], namespace: m[1] },
        type: 'Opaque',
        data: { accesskey: b64('lab'), secretkey: b64('labsecret') }
      });
    }
    if ((m = /^\/(argo-artifacts|mlpipeline)\/(.+)$/.exec(path)) && method === 'GET') {
      return this.s3Get(req, res, m[1], decodeURIComponent(m[2]));
    }
    if (
      (m = /^\/(argo-artifacts|mlpipeline)\/?$/.exec(path)) &&
      method === 'GET' &&
      url.searchParams.get('list-type') === '2'
    ) {
      return this.s3List(req, res, m[1], url.searchParams.get('prefix') ?? '');
    }
    if (
      (m = /^\/api\/v1\/namespaces\/([^/]+)\/persistentvolumeclaims\/([^/]+)$/.exec(path)) &&
      method === 'GET'
    ) {
      if (m[2].endsWith('-cellpipe-run') && !this.runVolumeExists(m[2])) {
        return status(res, 404, 'NotFound', `persistentvolumeclaims "${m[2]}" not found`);
      }
      return json(res, 200, {
        kind: 'PersistentVolumeClaim',
        apiVersion: 'v1',
        metadata: { name: m[2], namespace: m[1] },
        spec: {
          storageClassName: 'csi-rbd',
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '5Gi' } }
        },
        status: { phase: 'Bound', capacity: { storage: '5Gi' } }
      });
    }
    if (
      this.options.clusterReadsForbidden &&
      (path.startsWith('/apis/storage.k8s.io/v1/storageclasses') ||
        path === '/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses')
    ) {
      const what = path.includes('storageclasses') ? 'storageclasses' : 'volumesnapshotclasses';
      const group = what === 'storageclasses' ? 'storage.k8s.io' : 'snapshot.storage.k8s.io';
      return status(
        res,
        403,
        'Forbidden',
        `${what}.${group} is forbidden: User "system:serviceaccount:team-a:default-editor" cannot list resource "${what}" in API group "${group}" at the cluster scope`
      );
    }
    if ((m = /^\/apis\/storage.k8s.io\/v1\/storageclasses\/([^/]+)$/.exec(path)) && method === 'GET') {
      return json(res, 200, {
        kind: 'StorageClass',
        apiVersion: 'storage.k8s.io/v1',
        metadata: { name: m[1] },
        provisioner: 'rbd.csi.ceph.com'
      });
    }
    if (path === '/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses' && method === 'GET') {
      const items = [
        {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshotClass',
          metadata: { name: 'other' },
          driver: 'ebs.csi.aws.com',
          deletionPolicy: 'Delete'
        }
      ];
      if (!this.options.noSnapshotClass) {
        items.push(
          {
            apiVersion: 'snapshot.storage.k8s.io/v1',
            kind: 'VolumeSnapshotClass',
            metadata: { name: 'rbd-plain' },
            driver: 'rbd.csi.ceph.com',
            deletionPolicy: 'Delete'
          },
          {
            apiVersion: 'snapshot.storage.k8s.io/v1',
            kind: 'VolumeSnapshotClass',
            metadata: {
              name: 'rbd-default',
              annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' }
            } as never,
            driver: 'rbd.csi.ceph.com',
            deletionPolicy: 'Delete'
          }
        );
      }
      return json(res, 200, {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotClassList',
        items
      });
    }
    if (
      (m = /^\/apis\/snapshot.storage.k8s.io\/v1\/namespaces\/([^/]+)\/volumesnapshots(?:\/([^/]+))?$/.exec(
        path
      ))
    ) {
      if (method === 'GET' && !m[2]) {
        return this.collection(res, url, 'volumesnapshots', m[1]);
      }
      const name = m[2] ?? body?.metadata?.name;
      if (method === 'POST') {
        if (this.snapshots.has(name)) {
          return status(
            res,
            409,
            'AlreadyExists',
            `volumesnapshots.snapshot.storage.k8s.io "${name}" already exists`
          );
        }
        // The snapshot controller fills in the default class of the PVC's driver when none is named.
        const created = {
          ...body,
          metadata: { ...body.metadata, uid: `uid-${name}` },
          spec: { volumeSnapshotClassName: 'rbd-default', ...body.spec }
        };
        const snap = this.store('volumesnapshots', created);
        this.snapshots.set(name, snap);
        return json(res, 201, this.view(snap));
      }
      const snap = this.snapshots.get(name);
      if (!snap) {
        return status(res, 404, 'NotFound', `volumesnapshots.snapshot.storage.k8s.io "${name}" not found`);
      }
      if (method === 'DELETE') {
        this.snapshots.delete(name);
        this.change(snap, 'DELETED');
        return json(res, 200, this.view(snap));
      }
      this.advance(snap);
      return json(res, 200, this.view(snap));
    }
    if (path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews' && method === 'POST') {
      const a = body.spec.resourceAttributes;
      const denied =
        this.options.workflowCreateForbidden && a.resource === 'workflows' && a.verb === 'create';
      return json(res, 201, { ...body, status: { allowed: !denied } });
    }
    // Argo CronWorkflows. The API server takes any spec (Argo's CRDs carry no schema); the controller then
    // refuses a malformed schedule with a SpecError condition and starts nothing.
    if (
      (m = /^\/apis\/argoproj.io\/v1alpha1\/namespaces\/([^/]+)\/cronworkflows(?:\/([^/]+))?$/.exec(path))
    ) {
      const notFound = (n: string) =>
        status(res, 404, 'NotFound', `cronworkflows.argoproj.io "${n}" not found`);
      if (method === 'POST') {
        const name = body.metadata?.name;
        if (!name || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
          return status(
            res,
            422,
            'Invalid',
            `CronWorkflow.argoproj.io "${name}" is invalid: metadata.name: Invalid value`
          );
        }
        if (this.cronWorkflows.has(name)) {
          return status(res, 409, 'AlreadyExists', `cronworkflows.argoproj.io "${name}" already exists`);
        }
        const schedules: string[] = body.spec?.schedules ?? (body.spec?.schedule ? [body.spec.schedule] : []);
        const bad = schedules.find(
          c => !/^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$/.test(c.trim())
        );
        const cronStatus: Record<string, unknown> =
          schedules.length === 0 || bad !== undefined
            ? {
                conditions: [
                  {
                    type: 'SpecError',
                    status: 'True',
                    message: `cron schedule ${bad ?? ''} is malformed: expected exactly 5 fields`
                  }
                ]
              }
            : { active: [], conditions: [] };
        const created = {
          ...body,
          metadata: {
            ...body.metadata,
            namespace: m[1],
            uid: `uid-${name}`,
            creationTimestamp: '2026-01-01T00:00:00Z'
          }
        };
        this.cronWorkflows.set(name, { body: created, status: cronStatus });
        return json(res, 201, { ...created, status: cronStatus });
      }
      if (method === 'GET' && !m[2]) {
        const items = [...this.cronWorkflows.values()].filter(c => c.body.metadata.namespace === m![1]);
        return json(res, 200, {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'CronWorkflowList',
          metadata: { resourceVersion: String(this.version) },
          items: items.map(c => ({ ...c.body, status: c.status }))
        });
      }
      const cron = this.cronWorkflows.get(m[2]);
      if (!cron || cron.body.metadata.namespace !== m[1]) {
        return notFound(m[2]);
      }
      if (method === 'DELETE') {
        this.cronWorkflows.delete(m[2]);
        return json(res, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Success',
          details: { name: m[2] }
        });
      }
      if (method === 'PATCH') {
        for (const op of body as { op: string; path: string; value: unknown }[]) {
          if (op.path === '/spec/suspend' && (op.op === 'add' || op.op === 'replace')) {
            cron.body.spec.suspend = op.value;
          }
        }
      }
      return json(res, 200, { ...cron.body, status: cron.status });
    }
    // Argo Workflows as custom objects.
    if ((m = /^\/apis\/argoproj.io\/v1alpha1\/namespaces\/([^/]+)\/workflows(?:\/([^/]+))?$/.exec(path))) {
      if (method === 'POST') {
        const c = this.options.workflowCreate;
        if (c) {
          return status(res, c.code, c.reason, c.message);
        }
        if (this.options.workflowCreateForbidden) {
          if (Buffer.byteLength(JSON.stringify(body)) > 256 * 1024) {
            return void req.socket.destroy();
          }
          return status(
            res,
            403,
            'Forbidden',
            `workflows.argoproj.io is forbidden: User "system:serviceaccount:${m[1]}:default-editor" cannot ` +
              `create resource "workflows" in API group "argoproj.io" in the namespace "${m[1]}"`
          );
        }
        const name = `${body.metadata.generateName}x7k2p`;
        const wf = this.store('workflows', {
          ...body,
          metadata: { ...body.metadata, name, namespace: m[1], uid: `uid-${name}` }
        }) as Workflow;
        this.workflows.set(name, wf);
        return json(res, 201, this.view(wf));
      }
      if (method === 'GET' && !m[2]) {
        return this.collection(res, url, 'workflows', m[1]);
      }
      const wf = this.workflows.get(m[2]);
      if (!wf) {
        return status(res, 404, 'NotFound', `workflows.argoproj.io "${m[2]}" not found`);
      }
      if (method === 'DELETE') {
        this.workflows.delete(m[2]);
        this.change(wf, 'DELETED');
        return json(res, 200, this.view(wf));
      }
      if (method === 'PATCH') {
        for (const op of body as { path: string; value: string }[]) {
          if (op.path === '/spec/shutdown') {
            wf.body.spec.shutdown = op.value;
            wf.stoppedAt ??= wf.ticks;
          }
        }
        this.change(wf);
        return json(res, 200, this.view(wf));
      }
      this.advance(wf);
      const view = this.view(wf);
      const delay = this.options.workflowGetDelayMs;
      if (!delay) {
        return json(res, 200, view);
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        json(res, 200, view);
      }, delay);
      this.timers.add(timer);
      return;
    }
    // Katib Experiments and their Trials (kubeflow.org/v1beta1).
    if ((m = /^\/apis\/kubeflow.org\/v1beta1\/namespaces\/([^/]+)\/experiments(?:\/([^/]+))?$/.exec(path))) {
      if (method === 'POST') {
        const name = body.metadata?.name as string;
        if (this.katib.has(name)) {
          return status(res, 409, 'AlreadyExists', `experiments.kubeflow.org "${name}" already exists`);
        }
        // Katib's validating webhook.
        if (!body.spec?.objective?.objectiveMetricName || !body.spec?.trialTemplate?.trialSpec) {
          return status(
            res,
            422,
            'Invalid',
            `Experiment.kubeflow.org "${name}" is invalid: spec.objective and spec.trialTemplate are required`
          );
        }
        const experiment = {
          body: {
            ...body,
            metadata: {
              ...body.metadata,
              namespace: m[1],
              uid: `uid-${name}`,
              creationTimestamp: '2026-01-01T00:00:00Z'
            }
          },
          reads: 0
        };
        this.katib.set(name, experiment);
        return json(res, 201, experiment.body);
      }
      const experiment = m[2] ? this.katib.get(m[2]) : undefined;
      if (!experiment) {
        return status(res, 404, 'NotFound', `experiments.kubeflow.org "${m[2] ?? ''}" not found`);
      }
      if (method === 'DELETE') {
        this.katib.delete(m[2]);
        return json(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
      }
      experiment.reads++;
      return json(res, 200, { ...experiment.body, status: this.katibState(experiment).status });
    }
    if ((m = /^\/apis\/kubeflow.org\/v1beta1\/namespaces\/([^/]+)\/trials$/.exec(path)) && method === 'GET') {
      const of = /^katib\.kubeflow\.org\/experiment=(.+)$/.exec(
        url.searchParams.get('labelSelector') ?? ''
      )?.[1];
      const experiment = of ? this.katib.get(of) : undefined;
      return json(res, 200, {
        apiVersion: 'kubeflow.org/v1beta1',
        kind: 'TrialList',
        metadata: { resourceVersion: String(this.version) },
        items: experiment ? this.katibState(experiment).trials : []
      });
    }
    // KFP v2beta1.
    if (path === '/apis/v2beta1/experiments' && method === 'GET') {
      return json(res, 200, {
        experiments: this.experiments.filter(e => e.namespace === url.searchParams.get('namespace'))
      });
    }
    if (path === '/apis/v2beta1/experiments' && method === 'POST') {
      const e = {
        experiment_id: `exp-${this.experiments.length + 1}`,
        display_name: body.display_name,
        namespace: body.namespace
      };
      this.experiments.push(e);
      return json(res, 200, e);
    }
    if (path.startsWith('/apis/v2beta1/recurringruns')) {
      return this.kfpRecurringRuns(res, path, method!, url, body);
    }
    if (path === '/apis/v2beta1/runs' && method === 'GET') {
      const experiment = url.searchParams.get('experiment_id');
      const runs = [...this.kfpRuns.entries()]
        .filter(([, r]) => !experiment || r.body.experiment_id === experiment)
        .map(([id, r]) => ({
          run_id: id,
          display_name: r.body.display_name,
          experiment_id: r.body.experiment_id,
          recurring_run_id: r.body.recurring_run_id,
          created_at: r.body.created_at ?? '2026-01-01T00:00:00Z'
        }))
        .reverse();
      return json(res, 200, runs.length > 0 ? { runs, total_size: runs.length } : {});
    }
    if (path === '/apis/v2beta1/runs' && method === 'POST') {
      if (this.options.kfpCreate) {
        const { code, message } = this.options.kfpCreate;
        return json(res, code, { error: message, code: code === 403 ? 7 : 3, message, details: [] });
      }
      const spec = (body.pipeline_spec.pipeline_spec ?? body.pipeline_spec) as KfpIr;
      const run_id = `0b8f6f0e-${this.kfpRuns.size + 1}`;
      this.kfpRuns.set(run_id, {
        body: { ...body, run_id },
        spec,
        gets: 0,
        tasks: Object.keys(spec.root.dag.tasks).filter(
          t => !t.startsWith('createpvc') && !t.startsWith('deletepvc')
        )
      });
      return json(res, 200, {
        run_id,
        display_name: body.display_name,
        experiment_id: body.experiment_id,
        state: 'PENDING',
        created_at: '2026-01-01T00:00:00Z'
      });
    }
    if ((m = /^\/apis\/v2beta1\/runs\/([^/:]+)$/.exec(path)) && method === 'GET') {
      const run = this.kfpRuns.get(m[1]);
      if (!run) {
        return json(res, 404, {
          error: `Run ${m[1]} not found`,
          code: 5,
          message: `Run ${m[1]} not found`,
          details: []
        });
      }
      run.gets++;
      return json(res, 200, this.kfpStatus(m[1], run));
    }
    if ((m = /^\/apis\/v2beta1\/runs\/([^/:]+):terminate$/.exec(path)) && method === 'POST') {
      return json(res, 200, {});
    }
    status(res, 404, 'NotFound', `the server could not find the requested resource (${method} ${path})`);
  }

  /** The Workflow ran to its end while nobody read it (its state otherwise moves on with each read). */
  runToEnd(name: string): void {
    const wf = this.workflows.get(name)!;
    wf.ticks = 1e12;
    this.change(wf);
  }

  /**
   * What Argo's cron controller does when a CronWorkflow is due: a Workflow from its `workflowSpec`, named
   * NAME-UNIXTIME, with its `workflowMetadata` labels and the `cron-workflow` label, and
   * `status.lastScheduledTime`. Nothing while it is suspended or its spec is in error (null then).
   */
  fireCron(name: string, at = new Date()): string | null {
    const cron = this.cronWorkflows.get(name);
    const conditions = (cron?.status.conditions ?? []) as { type: string }[];
    if (!cron || cron.body.spec.suspend === true || conditions.some(c => c.type === 'SpecError')) {
      return null;
    }
    const wfName = `${name}-${Math.floor(at.getTime() / 1000)}`;
    const labels = {
      ...(cron.body.spec.workflowMetadata?.labels ?? {}),
      'workflows.argoproj.io/cron-workflow': name
    };
    const wf = this.store('workflows', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: {
        name: wfName,
        namespace: cron.body.metadata.namespace,
        uid: `uid-${wfName}`,
        labels,
        creationTimestamp: at.toISOString()
      },
      spec: cron.body.spec.workflowSpec
    }) as Workflow;
    this.workflows.set(wfName, wf);
    cron.status = { ...cron.status, lastScheduledTime: at.toISOString(), active: [{ name: wfName }] };
    return wfName;
  }

  /** What KFP's scheduled-workflow controller does when a recurring run is due: a run of its version. */
  fireRecurringRun(id: string, at = new Date()): string | null {
    const rr = this.recurringRuns.get(id);
    if (!rr || rr.status !== 'ENABLED') {
      return null;
    }
    const ref = rr.pipeline_version_reference as { pipeline_id: string; pipeline_version_id: string };
    const version = this.pipelines
      .find(p => p.pipeline_id === ref.pipeline_id)
      ?.versions.find(v => v.pipeline_version_id === ref.pipeline_version_id);
    if (!version) {
      return null;
    }
    const spec = parseAllDocuments(version.text)[0].toJS() as KfpIr;
    const run_id = `0b8f6f0e-${this.kfpRuns.size + 1}`;
    // As KFP answers a run of an uploaded version: its reference, no inline spec.
    this.kfpRuns.set(run_id, {
      body: {
        run_id,
        pipeline_version_reference: ref,
        runtime_config: rr.runtime_config,
        display_name: `${rr.display_name}-${at.getTime()}`,
        experiment_id: rr.experiment_id,
        recurring_run_id: id,
        created_at: at.toISOString()
      },
      spec,
      gets: 0,
      tasks: Object.keys(spec.root.dag.tasks).filter(
        t => !t.startsWith('createpvc') && !t.startsWith('deletepvc')
      )
    });
    return run_id;
  }

  /** KFP v2beta1 recurring runs: create (cron checked as KFP's six fields), get, list, enable, disable, delete. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- request JSON of any shape
  private kfpRecurringRuns(res: ServerResponse, path: string, method: string, url: URL, body: any): void {
    const grpcError = (code: number, grpc: number, message: string) =>
      json(res, code, { error: message, code: grpc, message, details: [] });
    if (path === '/apis/v2beta1/recurringruns' && method === 'POST') {
      const cron: string | undefined = body?.trigger?.cron_schedule?.cron;
      if (!cron || cron.trim().split(/\s+/).length !== 6) {
        return grpcError(
          400,
          3,
          `Invalid input error: The cron schedule "${cron ?? ''}" is invalid: expected exactly 6 fields`
        );
      }
      const ref = body.pipeline_version_reference;
      const pipeline = this.pipelines.find(p => p.pipeline_id === ref?.pipeline_id);
      if (!pipeline?.versions.some(v => v.pipeline_version_id === ref?.pipeline_version_id)) {
        return grpcError(404, 5, `Pipeline version ${ref?.pipeline_version_id} not found`);
      }
      const recurring_run_id = `rr-${this.recurringRuns.size + 1}`;
      const created = {
        ...body,
        recurring_run_id,
        status: body.mode === 'DISABLE' ? 'DISABLED' : 'ENABLED',
        created_at: '2026-01-01T00:00:00Z',
        updated_at: '2026-01-01T00:00:00Z'
      };
      this.recurringRuns.set(recurring_run_id, created);
      return json(res, 200, created);
    }
    if (path === '/apis/v2beta1/recurringruns' && method === 'GET') {
      const experiment = url.searchParams.get('experiment_id');
      const runs = [...this.recurringRuns.values()].filter(
        r => !experiment || r.experiment_id === experiment
      );
      return json(res, 200, runs.length > 0 ? { recurringRuns: runs, total_size: runs.length } : {});
    }
    const m = /^\/apis\/v2beta1\/recurringruns\/([^/:]+)(?::(enable|disable))?$/.exec(path);
    const rr = m ? this.recurringRuns.get(m[1]) : undefined;
    if (!m || !rr) {
      return grpcError(
        404,
        5,
        `Failed to get a recurring run: ResourceNotFoundError: RecurringRun ${m?.[1] ?? ''} not found`
      );
    }
    if (m[2] && method === 'POST') {
      rr.mode = m[2] === 'enable' ? 'ENABLE' : 'DISABLE';
      rr.status = m[2] === 'enable' ? 'ENABLED' : 'DISABLED';
      return json(res, 200, {});
    }
    if (method === 'DELETE') {
      this.recurringRuns.delete(m[1]);
      return json(res, 200, {});
    }
    return json(res, 200, rr);
  }

  /**
   * KFP's pipeline API v2beta1: look a pipeline up by name, list its versions, and the upload endpoints
   * (multipart, the file in `uploadfile`; errors as `{error_message, error_details}`, as KFP's upload
   * server writes them; the others as gRPC-gateway errors).
   */
  private kfpPipelines(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    body: { multipart?: string } | undefined
  ): void {
    const path = url.pathname;
    const q = url.searchParams;
    const grpcError = (code: number, grpc: number, message: string) =>
      json(res, code, { error: message, code: grpc, message, details: [] });
    const view = (p: FakeCluster['pipelines'][number]) => {
      const { versions: _v, ...rest } = p;
      void _v;
      return rest;
    };
    const versionView = (v: FakeCluster['pipelines'][number]['versions'][number]) => {
      const { text: _t, filename: _f, ...rest } = v;
      void _t;
      void _f;
      return rest;
    };
    let m: RegExpExecArray | null;
    if ((m = /^\/apis\/v2beta1\/pipelines\/names\/([^/]+)$/.exec(path)) && req.method === 'GET') {
      const name = decodeURIComponent(m[1]);
      const found = this.pipelines.find(p => p.name === name && p.namespace === (q.get('namespace') ?? ''));
      return found ? json(res, 200, view(found)) : grpcError(404, 5, `Pipeline ${name} not found`);
    }
    if ((m = /^\/apis\/v2beta1\/pipelines\/([^/]+)\/versions$/.exec(path)) && req.method === 'GET') {
      const found = this.pipelines.find(p => p.pipeline_id === m![1]);
      if (!found) {
        return grpcError(404, 5, `Pipeline ${m[1]} not found`);
      }
      const versions = [...found.versions].reverse().slice(0, Number(q.get('page_size') ?? 100));
      return json(res, 200, {
        pipeline_versions: versions.map(versionView),
        total_size: found.versions.length
      });
    }
    if ((m = /^\/apis\/v2beta1\/pipelines\/([^/]+)\/versions\/([^/]+)$/.exec(path)) && req.method === 'GET') {
      const version = this.pipelines
        .find(p => p.pipeline_id === m![1])
        ?.versions.find(v => v.pipeline_version_id === m![2]);
      if (!version) {
        return grpcError(404, 5, `Pipeline version ${m[2]} not found`);
      }
      // As KFP 2.17 answers it: the uploaded documents, the IR beside its platform spec when there is one.
      const [ir, platform] = parseAllDocuments(version.text).map(d => d.toJS() as unknown);
      return json(res, 200, {
        ...versionView(version),
        pipeline_spec: platform ? { pipeline_spec: ir, platform_spec: platform } : ir
      });
    }
    if (path === '/apis/v2beta1/pipelines/upload' || path === '/apis/v2beta1/pipelines/upload_version') {
      const file = uploadedFile(body?.multipart);
      const uploadError = (code: number, message: string) =>
        json(res, code, { error_message: message, error_details: message });
      if (req.method !== 'POST' || !file) {
        return uploadError(400, 'Failed to read pipeline from file');
      }
      const stamp = '2026-01-01T00:00:00Z';
      const version = (pipelineId: string, name: string) => ({
        pipeline_id: pipelineId,
        pipeline_version_id: `ver-${this.pipelines.reduce((n, p) => n + p.versions.length, 0) + 1}`,
        name,
        display_name: q.get('display_name') || name,
        created_at: stamp,
        ...file
      });
      if (path.endsWith('/upload')) {
        const name = q.get('name') || file.filename.replace(/\.[^.]*$/, '');
        const namespace = q.get('namespace') ?? '';
        if (this.pipelines.some(p => p.name === name && p.namespace === namespace)) {
          return uploadError(409, 'Failed to create a pipeline and a pipeline version');
        }
        const pipeline_id = `pipe-${this.pipelines.length + 1}`;
        const pipeline = {
          pipeline_id,
          name,
          display_name: q.get('display_name') || name,
          description: q.get('description') ?? '',
          namespace,
          created_at: stamp,
          versions: [] as FakeCluster['pipelines'][number]['versions']
        };
        pipeline.versions.push(version(pipeline_id, name));
        this.pipelines.push(pipeline);
        return json(res, 200, view(pipeline));
      }
      const pipeline = this.pipelines.find(p => p.pipeline_id === q.get('pipelineid'));
      if (!pipeline) {
        return uploadError(400, 'Failed to create a pipeline version');
      }
      const name = q.get('name') || file.filename;
      if (pipeline.versions.some(v => v.name === name)) {
        return uploadError(409, 'Failed to create a pipeline version');
      }
      const created = version(pipeline.pipeline_id, name);
      pipeline.versions.push(created);
      return json(res, 200, versionView(created));
    }
    status(res, 404, 'NotFound', `the server could not find the requested resource (${req.method} ${path})`);
  }

  /**
   * Whether an Argo run volume is there: while its Workflow is, until the workflow ends as its
   * `volumeClaimGC` strategy deletes claims on (OnWorkflowCompletion: any end; OnWorkflowSuccess: success).
   */
  private runVolumeExists(claim: string): boolean {
    const wf = this.workflows.get(claim.slice(0, -'-cellpipe-run'.length));
    if (!wf) {
      return false;
    }
    const phase = this.workflowStatus(wf).phase;
    const strategy = (wf.body.spec as { volumeClaimGC?: { strategy?: string } }).volumeClaimGC?.strategy;
    return strategy === 'OnWorkflowSuccess' ? phase !== 'Succeeded' : phase === 'Running';
  }

  /**
   * `exec` into a pod created here: the command runs with Python here, the paths under the pod's mounts
   * being those claims' folders; stdout and stderr as channels 1 and 2, the status as channel 3 (what the
   * API server sends: Success, or NonZeroExitCode with the exit code), then the socket closes.
   */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname);
    const pod = m ? this.pods.get(m[2]) : undefined;
    if (!pod) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    this.sockets.handleUpgrade(req, socket, head, ws => {
      const command = url.searchParams.getAll('command');
      this.execs.push(command);
      const mounts: Array<[string, string]> = [];
      for (const mount of pod.body.spec.containers[0].volumeMounts ?? []) {
        const volume = pod.body.spec.volumes.find((v: { name: string }) => v.name === mount.name);
        const dir = this.volumeDirs.get(volume?.persistentVolumeClaim?.claimName);
        if (dir) {
          mounts.push([mount.mountPath, dir]);
        }
      }
      const local = (arg: string) => {
        const found = mounts.find(([at]) => arg === at || arg.startsWith(`${at}/`));
        return found ? found[1] + arg.slice(found[0].length) : arg;
      };
      const [program, ...args] = command;
      const child = spawn(
        program === 'python3' ? (this.options.python ?? 'python3') : program,
        args.map(local)
      );
      const sendOn = (channel: number, data: Buffer | string) =>
        ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
      child.stdout.on('data', (chunk: Buffer) => sendOn(1, chunk));
      child.stderr.on('data', (chunk: Buffer) => sendOn(2, chunk));
      child.on('close', code => {
        const result =
          code === 0
            ? { metadata: {}, status: 'Success' }
            : {
                metadata: {},
                status: 'Failure',
                message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}]: exit status ${code}`,
                reason: 'NonZeroExitCode',
                details: { causes: [{ reason: 'ExitCode', message: String(code) }] }
              };
        sendOn(3, JSON.stringify(result));
        ws.close();
      });
    });
  }

  /** Where the S3 store answers, as an Argo repository names it (host:port, `insecure`). */
  s3Endpoint(): string {
    return this.url.replace(/^http:\/\//, '');
  }

  /** Whether a request is signed (SigV4) with the access key the store knows; else answered as S3 does. */
  private s3Signed(req: IncomingMessage, res: ServerResponse, key: string): boolean {
    const credential = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
    if (credential !== (this.options.s3AccessKey ?? 'lab')) {
      s3Error(
        res,
        403,
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
        key
      );
      return false;
    }
    return true;
  }

  /** ListObjectsV2 (one page), path style, as S3 and moto answer it. */
  private s3List(req: IncomingMessage, res: ServerResponse, bucket: string, prefix: string): void {
    if (!this.s3Signed(req, res, prefix)) {
      return;
    }
    const keys = [...this.objects.keys()]
      .filter(k => k.startsWith(`${bucket}/${prefix}`))
      .map(k => k.slice(bucket.length + 1))
      .sort();
    const escapeXml = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const text =
      '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Name>${bucket}</Name><Prefix>${escapeXml(prefix)}</Prefix><MaxKeys>1000</MaxKeys><KeyCount>${keys.length}</KeyCount>` +
      '<IsTruncated>false</IsTruncated>' +
      keys
        .map(
          k =>
            `<Contents><Key>${escapeXml(k)}</Key><LastModified>2026-01-01T00:00:05.000Z</LastModified>` +
            `<ETag>"0"</ETag><Size>${Buffer.byteLength(this.objects.get(`${bucket}/${k}`)!)}</Size><StorageClass>STANDARD</StorageClass></Contents>`
        )
        .join('') +
      '</ListBucketResult>';
    res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  /** GetObject, path style, signed (SigV4) with the Secret's access key, answered as S3 does. */
  private s3Get(req: IncomingMessage, res: ServerResponse, bucket: string, key: string): void {
    if (!this.s3Signed(req, res, key)) {
      return;
    }
    const text = this.objects.get(`${bucket}/${key}`);
    if (text === undefined) {
      return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.', key);
    }
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': Buffer.byteLength(text),
      ETag: '"0"'
    });
    res.end(text);
  }

  /** A new object at the next resourceVersion (its ADDED event). */
  private store(kind: Stored['kind'], body: Stored['body']): Stored {
    const stored: Stored = { kind, body, ticks: 0, resourceVersion: 0, last: '', history: [] };
    this.change(stored, 'ADDED');
    return stored;
  }

  /** One more read or watch tick: a change of state is a MODIFIED event. */
  private advance(stored: Stored): void {
    stored.ticks++;
    this.change(stored);
  }

  /** Records a change (when the state did change, or for ADDED/DELETED) and sends it to the watchers. */
  private change(stored: Stored, type: EventType = 'MODIFIED'): void {
    const state = JSON.stringify(this.state(stored));
    if (type === 'MODIFIED' && state === stored.last) {
      return;
    }
    stored.last = state;
    stored.resourceVersion = ++this.version;
    const event = { resourceVersion: stored.resourceVersion, type, object: this.view(stored) };
    stored.history.push(event);
    for (const w of this.watches) {
      if (w.kind === stored.kind && (!w.name || w.name === stored.body.metadata.name)) {
        send(w.res, event);
      }
    }
  }

  /** The object as the API server returns it. */
  private view(stored: Stored): Record<string, unknown> {
    return {
      ...stored.body,
      metadata: { ...stored.body.metadata, resourceVersion: String(stored.resourceVersion) },
      status: this.state(stored)
    };
  }

  private state(stored: Stored): unknown {
    if (stored.kind === 'workflows') {
      return this.workflowStatus(stored as Workflow);
    }
    if (this.options.snapshotError) {
      return {
        readyToUse: false,
        error: { message: this.options.snapshotError, time: '2026-01-01T00:00:00Z' }
      };
    }
    const ready = stored.ticks >= (this.options.snapshotReadyAfter ?? 2);
    return {
      readyToUse: ready,
      ...(ready
        ? // CSI drivers report the bytes the snapshot holds, not the size of the claim it was taken of.
          { restoreSize: '15783', boundVolumeSnapshotContentName: `snapcontent-${stored.body.metadata.name}` }
        : {})
    };
  }

  /** GET of a collection: a list, or with `watch` a stream of events. */
  private collection(res: ServerResponse, url: URL, kind: Stored['kind'], namespace: string): void {
    const name = /^metadata\.name=(.+)$/.exec(url.searchParams.get('fieldSelector') ?? '')?.[1];
    const all: Stored[] = [...(kind === 'workflows' ? this.workflows : this.snapshots).values()];
    // Equality terms only (`k=v,k2=v2`), as cellpipe asks.
    const selector = (url.searchParams.get('labelSelector') ?? '')
      .split(',')
      .filter(Boolean)
      .map(term => term.split('='));
    const items = all.filter(
      o =>
        o.body.metadata.namespace === namespace &&
        (!name || o.body.metadata.name === name) &&
        selector.every(([k, v]) => o.body.metadata.labels?.[k] === v)
    );
    const group = kind === 'workflows' ? 'argoproj.io' : 'snapshot.storage.k8s.io';
    const watch = url.searchParams.get('watch');
    if (watch !== 'true' && watch !== '1') {
      return json(res, 200, {
        apiVersion: kind === 'workflows' ? 'argoproj.io/v1alpha1' : 'snapshot.storage.k8s.io/v1',
        kind: kind === 'workflows' ? 'WorkflowList' : 'VolumeSnapshotList',
        metadata: { resourceVersion: String(this.version) },
        items: items.map(o => this.view(o))
      });
    }
    if (this.options.watchRefused === 403) {
      return status(
        res,
        403,
        'Forbidden',
        `${kind}.${group} is forbidden: User "system:serviceaccount:${namespace}:default-editor" cannot watch resource "${kind}" in API group "${group}" in the namespace "${namespace}"`
      );
    }
    if (this.options.watchRefused === 404) {
      return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const from = url.searchParams.get('resourceVersion');
    if (from && from !== '0' && Number(from) < this.compacted) {
      send(res, {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${from} (${this.compacted})`,
          reason: 'Expired',
          code: 410
        }
      });
      return void res.end();
    }
    // From a version: the changes after it; else the objects as they are now, as ADDED.
    for (const o of items) {
      if (from && from !== '0') {
        o.history.filter(e => e.resourceVersion > Number(from)).forEach(e => send(res, e));
      } else if (o.history[o.history.length - 1]?.type !== 'DELETED') {
        send(res, { type: 'ADDED', object: this.view(o) });
      }
    }
    const stream: WatchStream = { kind, name, res };
    this.watches.add(stream);
    const tick = setInterval(() => items.forEach(o => this.advance(o)), this.options.watchTickMs ?? 10);
    this.timers.add(tick);
    const seconds = Number(url.searchParams.get('timeoutSeconds') || 0);
    const closeAfter = Math.min(
      this.options.watchCloseAfterMs ?? Infinity,
      seconds > 0 ? seconds * 1000 : Infinity
    );
    const close = Number.isFinite(closeAfter)
      ? setTimeout(() => {
          if (this.options.watchExpires) {
            // Much else changed meanwhile, and etcd compacted the versions this watch sent.
            this.version += 100;
            this.compacted = this.version;
          }
          res.end();
        }, closeAfter)
      : undefined;
    if (close) {
      this.timers.add(close);
    }
    const done = () => {
      clearInterval(tick);
      this.timers.delete(tick);
      if (close) {
        clearTimeout(close);
        this.timers.delete(close);
      }
      this.watches.delete(stream);
    };
    // Ends with the stream: closed by the server, or by the client going away.
    res.on('close', done);
  }

  /**
   * Tasks run one after another, one stage per `ticksPerTask` reads: the first Pending while its restored
   * volume binds (`volumeBindTicks`), Pending first for `pendingTask`, Running, then done; `retryTask` fails
   * its first attempt and runs again; `failTask` fails (after `failRetries` more failed attempts), and the
   * tasks after it are omitted in the same update (as on the lab). A DAG with `failFast: false` (a sweep)
   * omits only the tasks that depend on a failed one, and the others go on.
   */
  private progress(
    tasks: string[],
    gets: number,
    dag: { deps: Map<string, string[]>; failFast: boolean } = { deps: new Map(), failFast: true }
  ): { phase: 'Running' | 'Succeeded' | 'Failed'; states: (TaskProgress | undefined)[] } {
    const stage = Math.floor(gets / (this.options.ticksPerTask ?? 1));
    const binding = this.options.volumeBindTicks ?? 0;
    if (stage >= 1 && stage <= binding) {
      const bound: TaskProgress = {
        phase: 'Pending',
        message: UNBOUND_CLAIM,
        attempts: [{ phase: 'Pending', message: UNBOUND_CLAIM }]
      };
      return { phase: 'Running', states: tasks.map((_, i) => (i === 0 ? bound : undefined)) };
    }
    const tick = stage > binding ? stage - binding : stage;
    const pending = this.options.pendingTask;
    const failure = this.options.failMessage ?? 'main: Error (exit code 1)';
    const stagesOf = (t: string): TaskProgress[] => {
      const waiting: TaskProgress[] =
        t === pending?.task
          ? Array.from({ length: pending.stages ?? 2 }, () => ({
              phase: 'Pending' as const,
              message: pending.message,
              attempts: [{ phase: 'Pending' as const, message: pending.message }]
            }))
          : [];
      const running: TaskProgress[] =
        t === this.options.retryTask
          ? [
              { phase: 'Running', attempts: [{ phase: 'Running' }] },
              {
                phase: 'Running',
                attempts: [{ phase: 'Failed', message: 'main: Error (exit code 1)' }, { phase: 'Running' }]
              }
            ]
          : [{ phase: 'Running', attempts: [{ phase: 'Running' }] }];
      return [...waiting, ...running];
    };
    const finalOf = (t: string, stages: TaskProgress[]): TaskProgress => {
      if (t === this.options.failTask) {
        const attempts = Array.from({ length: (this.options.failRetries ?? 0) + 1 }, () => ({
          phase: 'Failed' as const,
          message: failure
        }));
        return { phase: 'Failed', message: failure, attempts };
      }
      const before = stages[stages.length - 1].attempts.slice(0, -1);
      return { phase: 'Succeeded', attempts: [...before, { phase: 'Succeeded' }] };
    };
    const states: (TaskProgress | undefined)[] = [];
    let start = 1;
    let failed = false;
    // Tasks failed or omitted so far: a task depending on one of them is omitted when it no longer fails fast.
    const blocked = new Set<string>();
    for (const t of tasks) {
      const stages = stagesOf(t);
      const end = start + stages.length;
      if (dag.failFast ? failed : (dag.deps.get(t) ?? []).some(d => blocked.has(d))) {
        states.push({ phase: 'Omitted', attempts: [] });
        blocked.add(t);
        continue;
      }
      if (tick >= end) {
        const done = finalOf(t, stages);
        if (done.phase === 'Failed') {
          failed = true;
          blocked.add(t);
        }
        states.push(done);
      } else {
        states.push(tick >= start ? stages[tick - start] : undefined);
      }
      start = end;
    }
    const done = (dag.failFast && failed) || tick >= start;
    return { phase: done ? (failed ? 'Failed' : 'Succeeded') : 'Running', states };
  }

  /**
   * A Katib Experiment's status and Trials after `reads` reads, as Katib's controller writes them: its
   * suggestion (every combination of the parameters' lists for grid; `maxTrialCount` seeded draws for
   * random) made into Trials `parallelTrialCount` at a time, each Running for one read and then Succeeded
   * with the objective observed (`metricsOf` of its assignments), or Failed (`katibFailTrial`, by index);
   * the Experiment Succeeded once `maxTrialCount` trials ended, with the best as `currentOptimalTrial`.
   * The trials' Workflows are not created here.
   */
  private katibState(experiment: { body: KatibBody; reads: number }): { status: unknown; trials: unknown[] } {
    const spec = experiment.body.spec;
    const name = experiment.body.metadata.name as string;
    const params = spec.parameters as Array<{
      name: string;
      parameterType: string;
      feasibleSpace: { list?: string[]; min?: string; max?: string };
    }>;
    let assignments: Array<Record<string, string>> = [{}];
    if (spec.algorithm.algorithmName === 'grid') {
      for (const p of params) {
        assignments = assignments.flatMap(a =>
          (p.feasibleSpace.list ?? []).map(v => ({ ...a, [p.name]: v }))
        );
      }
    } else {
      assignments = Array.from({ length: spec.maxTrialCount }, (_, i) =>
        Object.fromEntries(
          params.map(p => {
            const u = fnv1a(`${name}.${i}.${p.name}`) / 2 ** 32;
            const list = p.feasibleSpace.list;
            const min = Number(p.feasibleSpace.min);
            const max = Number(p.feasibleSpace.max);
            return [
              p.name,
              list
                ? list[Math.floor(u * list.length)]
                : p.parameterType === 'int'
                  ? String(min + Math.floor(u * (max - min + 1)))
                  : String(Number((min + u * (max - min)).toPrecision(4)))
            ];
          })
        )
      );
    }
    assignments = assignments.slice(0, spec.maxTrialCount);
    const parallel = spec.parallelTrialCount ?? 3;
    const metric = spec.objective.objectiveMetricName as string;
    const condition = (type: string, state: boolean, reason: string, message: string) => ({
      type,
      status: state ? 'True' : 'False',
      reason,
      message,
      lastTransitionTime: '2026-01-01T00:00:00Z'
    });
    const trials = assignments.flatMap((values, i) => {
      const created = Math.floor(i / parallel) * 2 + 1;
      if (experiment.reads < created) {
        return [];
      }
      const ended = experiment.reads > created;
      const failed = ended && this.options.katibFailTrial === i;
      const observed = this.options.metricsOf?.(values)?.[metric] ?? 0.9;
      const conditions = [
        condition('Created', true, 'TrialCreated', 'Trial is created'),
        condition('Running', !ended, ended ? 'TrialRunning' : 'TrialRunning', 'Trial is running'),
        ...(ended
          ? [
              failed
                ? condition(
                    'Failed',
                    true,
                    'TrialFailed',
                    'Trial has failed. Job message: main: Error (exit code 1)'
                  )
                : condition('Succeeded', true, 'TrialSucceeded', 'Trial has succeeded')
            ]
          : [])
      ];
      return [
        {
          apiVersion: 'kubeflow.org/v1beta1',
          kind: 'Trial',
          metadata: {
            name: `${name}-${fnv1a(`${name}.${i}`).toString(36).slice(0, 8)}`,
            namespace: experiment.body.metadata.namespace,
            labels: { 'katib.kubeflow.org/experiment': name },
            creationTimestamp: `2026-01-01T00:${String(created).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`
          },
          spec: {
            parameterAssignments: Object.entries(values).map(([n, value]) => ({ name: n, value })),
            primaryContainerName: spec.trialTemplate.primaryContainerName
          },
          status: {
            startTime: '2026-01-01T00:00:00Z',
            ...(ended ? { completionTime: '2026-01-01T00:00:09Z' } : {}),
            conditions,
            ...(ended && !failed
              ? {
                  observation: {
                    metrics: [
                      { name: metric, latest: String(observed), min: String(observed), max: String(observed) }
                    ]
                  }
                }
              : {})
          }
        }
      ];
    });
    type Trial = (typeof trials)[number];
    const succeeded = trials.filter(t => t.status.conditions.some(c => c.type === 'Succeeded'));
    const failedCount = trials.filter(t => t.status.conditions.some(c => c.type === 'Failed')).length;
    const value = (t: Trial) => Number(t.status.observation?.metrics[0].latest);
    const best = succeeded.reduce<Trial | undefined>(
      (b, t) =>
        !b || (spec.objective.type === 'maximize' ? value(t) > value(b) : value(t) < value(b)) ? t : b,
      undefined
    );
    const over = succeeded.length + failedCount >= assignments.length;
    const failedExperiment = failedCount > (spec.maxFailedTrialCount ?? assignments.length);
    return {
      trials,
      status: {
        startTime: '2026-01-01T00:00:00Z',
        conditions: [
          condition('Created', true, 'ExperimentCreated', 'Experiment is created'),
          condition('Running', !over, 'ExperimentRunning', 'Experiment is running'),
          ...(over
            ? [
                failedExperiment
                  ? condition(
                      'Failed',
                      true,
                      'ExperimentFailed',
                      'Experiment has failed because max failed count has reached'
                    )
                  : condition(
                      'Succeeded',
                      true,
                      'ExperimentMaxTrialsReached',
                      'Experiment has succeeded because max trial count has reached'
                    )
              ]
            : [])
        ],
        trials: trials.length,
        trialsSucceeded: succeeded.length,
        trialsFailed: failedCount,
        trialsRunning: trials.length - succeeded.length - failedCount,
        ...(best
          ? {
              currentOptimalTrial: {
                bestTrialName: best.metadata.name,
                parameterAssignments: best.spec.parameterAssignments,
                observation: best.status.observation
              }
            }
          : {})
      }
    };
  }

  private workflowStatus(wf: Workflow): { phase: string; nodes: Record<string, FakeNode> } {
    return this.render(wf).status;
  }

  /**
   * A Workflow's status as Argo writes it, and its pods. Node ids are Argo's (the workflow name and the
   * FNV-1a hash of the node name); a pod per attempt, named as Argo names it.
   */
  private render(wf: Workflow): {
    status: { phase: string; nodes: Record<string, FakeNode> };
    pods: Array<{ name: string; podName: string; attempt: number; image: string }>;
  } {
    const entries = wf.body.spec.templates.find(t => t.dag)?.dag;
    const tasks = dagTasks(wf.body.spec);
    const templateOf = (t: string) => entries?.tasks.find(e => e.name === t)?.template ?? t;
    const inputsOf = (t: string) => entries?.tasks.find(e => e.name === t)?.arguments?.parameters ?? [];
    // A task's inputs with those of every task before it, nearest last (its own win).
    const seenBy = (t: string, seen = new Set<string>()): { name: string; value: string }[] => {
      seen.add(t);
      const before = (entries?.tasks.find(e => e.name === t)?.dependencies ?? [])
        .filter(d => !seen.has(d))
        .flatMap(d => seenBy(d, seen));
      return [...before, ...inputsOf(t)];
    };
    const dag = {
      deps: new Map((entries?.tasks ?? []).map(e => [e.name, e.dependencies ?? []])),
      failFast: entries?.failFast !== false
    };
    const name = wf.body.metadata.name;
    const stopped = !!wf.body.spec.shutdown;
    const STOP = "Stopped with strategy 'Terminate'";
    // Stopped: Argo fails the running (and pending) steps with its stop message and omits the rest.
    const { phase, states: reached } = stopped
      ? (() => {
          const p = this.progress(tasks, wf.stoppedAt ?? wf.ticks, dag);
          const stop = (st: TaskProgress | undefined): TaskProgress =>
            !st
              ? { phase: 'Omitted', attempts: [] }
              : st.phase === 'Running' || st.phase === 'Pending'
                ? { phase: 'Failed', message: STOP, attempts: [{ phase: 'Failed', message: STOP }] }
                : st;
          return { phase: 'Failed' as const, states: p.states.map(stop) };
        })()
      : this.progress(tasks, wf.ticks, dag);
    // Argo >= 3.4: a pod's outputs come in a WorkflowTaskResult the controller reconciles after the node's
    // phase, so a node that has just finished has none yet and `taskResultsCompletionStatus` says false
    // for its pod. For that one stage nothing else moves on (the tasks after it read its outputs), and the
    // workflow completes only once every result is in.
    const before = stopped ? undefined : this.progress(tasks, wf.ticks - 1, dag).states;
    const done = (p: Phase | undefined) => p === 'Succeeded' || p === 'Failed';
    const lagging = reached.map((s, i) => !!before && done(s?.phase) && !done(before[i]?.phase));
    const awaiting = (i: number) => lagging[i];
    const states = lagging.includes(true) ? reached.map((s, i) => (lagging[i] ? s : before![i])) : reached;
    const completion: Record<string, boolean> = {};
    const nodes: Record<string, FakeNode> = {
      [name]: { id: name, name, displayName: name, type: 'DAG', phase: 'Running', templateName: 'main' }
    };
    const pods: Array<{ name: string; podName: string; attempt: number; image: string }> = [];
    const imageOf = (template: string) =>
      (
        wf.body.spec.templates.find(t => t.name === template) as
          { container?: { image?: string } } | undefined
      )?.container?.image ?? 'python:3.12-slim';
    const id = (i: number, attempt?: number) =>
      `${name}-${fnv1a(`${name}.${tasks[i]}${attempt === undefined ? '' : `(${attempt})`}`)}`;
    tasks.forEach((t, i) => {
      const state = states[i];
      if (!state) {
        return;
      }
      const retried = state.attempts.length > 1 || t === this.options.retryTask;
      // Argo's v2 pod names: WORKFLOW-TEMPLATE-HASH, the hash being that of the pod's node id.
      const template = templateOf(t);
      const inputs = inputsOf(t);
      const podOf = (attempt: number) =>
        `${name}-${template}-${(retried ? id(i, attempt) : id(i)).slice(name.length + 1)}`;
      const lastPod = podOf(Math.max(0, state.attempts.length - 1));
      const outputs = awaiting(i)
        ? undefined
        : this.nodeOutputs(wf, lastPod, template, seenBy(t), state.phase, stopped);
      // A Pod node's children are the tasks after it (here the next one); a retried step's are on its
      // Retry node's last attempt, and the Retry node's own children are its attempts.
      const next = i + 1 < tasks.length && states[i + 1] ? [id(i + 1)] : undefined;
      const node = (s: {
        phase: Phase;
        message?: string;
      }): Omit<FakeNode, 'id' | 'name' | 'displayName' | 'type'> => ({
        templateName: template,
        ...(inputs.length > 0 ? { inputs: { parameters: inputs } } : {}),
        phase: s.phase,
        startedAt: '2026-01-01T00:00:00Z',
        finishedAt: ['Succeeded', 'Failed'].includes(s.phase) ? '2026-01-01T00:00:07Z' : null,
        boundaryID: name,
        ...(s.phase === 'Pending' || s.phase === 'Omitted' ? {} : { hostNodeName: 'worker-1' }),
        ...(s.message ? { message: s.message } : {})
      });
      // The task's own node (a Pod, or the Retry node over its attempts).
      const taskNode = {
        ...node(state),
        ...(outputs ? { outputs } : {}),
        id: id(i),
        name: `${name}.${t}`,
        displayName: t
      };
      if (state.phase === 'Omitted') {
        nodes[id(i)] = {
          ...node({ phase: 'Omitted', message: 'omitted: depends condition not met' }),
          id: id(i),
          name: `${name}.${t}`,
          displayName: t,
          type: 'Skipped'
        };
      } else if (retried) {
        const attempts = state.attempts.map((a, n) => {
          const attemptId = id(i, n);
          completion[attemptId] = n < state.attempts.length - 1 || (done(a.phase) && !awaiting(i));
          nodes[attemptId] = {
            ...node(a),
            ...(n === state.attempts.length - 1 && outputs ? { outputs } : {}),
            id: attemptId,
            name: `${name}.${t}(${n})`,
            displayName: `${t}(${n})`,
            type: 'Pod',
            ...(n === state.attempts.length - 1 && next ? { children: next } : {})
          };
          pods.push({ name: `${name}.${t}(${n})`, podName: podOf(n), attempt: n, image: imageOf(template) });
          return attemptId;
        });
        nodes[id(i)] = {
          ...taskNode,
          type: 'Retry',
          ...(state.phase === 'Failed' && !stopped ? { message: 'No more retries left' } : {}),
          children: attempts
        };
      } else {
        completion[id(i)] = done(state.phase) && !awaiting(i);
        nodes[id(i)] = { ...taskNode, type: 'Pod', ...(next ? { children: next } : {}) };
        pods.push({ name: `${name}.${t}`, podName: podOf(0), attempt: 0, image: imageOf(template) });
      }
    });
    const status = {
      phase: phase !== 'Running' && Object.values(completion).includes(false) ? 'Running' : phase,
      startedAt: '2026-01-01T00:00:00Z',
      // Go writes a map's keys sorted: the nodes come in the order of their ids, not of the steps.
      nodes: Object.fromEntries(Object.entries(nodes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      progress: '0/1',
      taskResultsCompletionStatus: completion,
      ...(stopped ? { message: STOP } : {}),
      ...(this.options.artifacts
        ? {
            // As the lab's controller resolves the namespace's default repository.
            artifactRepositoryRef: {
              configMap: 'artifact-repositories',
              key: 'default-v1',
              namespace: wf.body.metadata.namespace,
              artifactRepository: {
                archiveLogs: true,
                s3: {
                  accessKeySecret: { key: 'accesskey', name: 'lab-s3' },
                  bucket: 'argo-artifacts',
                  endpoint: this.s3Endpoint(),
                  insecure: true,
                  secretKeySecret: { key: 'secretkey', name: 'lab-s3' }
                }
              }
            }
          }
        : {})
    };
    return { status, pods };
  }

  /**
   * A finished node's outputs, as the template declares them (what the step container wrote): output
   * parameters (`metrics`, capped `outputs`, `error`), or with an artifact repository output artifacts
   * uploaded to the store (keys WORKFLOW/POD/FILE, `archive: none`) and the log archived as `main-logs`.
   * A failed step wrote its error and outputs but no metrics (an optional artifact, a parameter's default).
   */
  private nodeOutputs(
    wf: Workflow,
    pod: string,
    task: string,
    inputs: { name: string; value: string }[],
    state: string,
    stopped: boolean
  ): Record<string, unknown> | undefined {
    if (state !== 'Succeeded' && state !== 'Failed') {
      return undefined;
    }
    const template = wf.body.spec.templates.find(t => t.name === task);
    const succeeded = state === 'Succeeded';
    const metrics = this.options.metricsOf?.(Object.fromEntries(inputs.map(p => [p.name, p.value]))) ?? {
      accuracy: 0.9
    };
    const written: Record<string, string | undefined> = {
      // Only a step that records metrics has the output (parameter or artifact) to write them to.
      metrics: succeeded ? JSON.stringify(metrics) : undefined,
      outputs: JSON.stringify({
        '1': [{ output_type: 'stream', name: 'stdout', text: this.options.stdout ?? `hello from ${task}\n` }]
      }),
      error: succeeded || stopped ? '{}' : JSON.stringify(this.options.failError ?? {})
    };
    const parameters = (template?.outputs?.parameters ?? []).map(p => ({
      ...p,
      value: written[p.name] ?? p.valueFrom?.default
    }));
    const upload = (file: string, text: string) => {
      const key = `${wf.body.metadata.name}/${pod}/${file}`;
      this.objects.set(`argo-artifacts/${key}`, text);
      return { s3: { key } };
    };
    const artifacts = (template?.outputs?.artifacts ?? []).flatMap(a =>
      written[a.name] === undefined ? [] : [{ ...a, ...upload(basename(a.path), written[a.name]!) }]
    );
    if (template?.archiveLocation?.archiveLogs) {
      artifacts.push({
        name: 'main-logs',
        ...upload(
          'main.log',
          `archived log of ${pod}\n` +
            'time="2026-01-01T00:00:06.000Z" level=info msg="sub-process exited" argo=true error="<nil>"\n'
        )
      } as never);
    }
    return {
      ...(artifacts.length > 0 ? { artifacts } : {}),
      exitCode: succeeded ? '0' : '1',
      ...(parameters.length > 0 ? { parameters } : {})
    };
  }

  /**
   * A KFP run as the v2beta1 API answers it (KFP 2.17, as the lab's backend did): `task_details` are the
   * run's Argo nodes, in the order of their (random) task ids: the workflow, `root-driver`, the `root` DAG,
   * and for each task its driver pod (`TASK-driver`), the task's DAG node (`TASK`, the step) and its
   * executor pods (`executor`, one per attempt), plus a nameless record of the driver's execution (only an
   * `execution_id`). States are Argo's phases (an omitted node has none: UNSPECIFIED), `child_tasks` the
   * children's node ids, times in whole seconds with Go's zero time for a node not finished, and there is no
   * error message. A finished task's launcher has uploaded its files under the pipeline root
   * (`v2/artifacts/PIPELINE/RUN_ID/TASK/UUID/KEY`, see kfpUpload).
   */
  private kfpStatus(
    id: string,
    run: { body: Record<string, unknown>; gets: number; tasks: string[]; spec: KfpIr }
  ): unknown {
    const { phase, states: real } = this.progress(run.tasks, run.gets - 1);
    // The nodes as KFP last saw them: they stop moving once Argo compresses the node status.
    const { phase: nodesPhase, states } = this.progress(
      run.tasks,
      Math.min(run.gets - 1, this.options.kfpNodesFrozenAt ?? Infinity)
    );
    const state =
      run.gets <= 1
        ? 'PENDING'
        : phase === 'Running'
          ? 'RUNNING'
          : phase === 'Succeeded'
            ? 'SUCCEEDED'
            : 'FAILED';
    const kfpState: Record<Phase, string> = {
      Pending: 'PENDING',
      Running: 'RUNNING',
      Succeeded: 'SUCCEEDED',
      Failed: 'FAILED',
      Omitted: 'RUNTIME_STATE_UNSPECIFIED'
    } as const;
    const spec = run.spec;
    const workflow = `${spec.pipelineInfo.name}-k4x2q`;
    const nodeId = (name: string) => `${workflow}-${fnv1a(name)}`;
    const ZERO = '0001-01-01T00:00:00Z';
    const node = (name: string, display: string, phase: Phase, children: string[] = []) => ({
      run_id: id,
      task_id: `uuid-${nodeId(name)}`,
      display_name: display,
      create_time: '2026-01-01T00:00:00Z',
      start_time: '2026-01-01T00:00:00Z',
      end_time: ['Running', 'Pending'].includes(phase) ? ZERO : '2026-01-01T00:00:05Z',
      state: kfpState[phase],
      state_history: [{ update_time: '2026-01-01T00:00:00Z', state: kfpState[phase] }],
      ...(children.length > 0 ? { child_tasks: children.map(c => ({ pod_name: nodeId(c) })) } : {})
    });
    const running = nodesPhase === 'Running' || phase === 'Running' ? 'Running' : phase;
    const first = run.tasks.length > 0 ? [`${workflow}.root.${run.tasks[0]}-driver`] : [];
    // The workflow, its root driver and root DAG, as the lab's KFP 2.17 listed them.
    const nodes: Record<string, unknown>[] = [
      node(workflow, workflow, running, [`${workflow}.root-driver`]),
      node(`${workflow}.root-driver`, 'root-driver', 'Succeeded', [`${workflow}.root`]),
      node(`${workflow}.root`, 'root', running, first)
    ];
    run.tasks.forEach((t, i) => {
      const task = states[i];
      if (!task) {
        return;
      }
      const base = `${workflow}.root.${t}`;
      if (task.phase === 'Omitted') {
        nodes.push(node(base, t, 'Omitted'));
        return;
      }
      const attempts = task.attempts.map((_, n) => `${base}.executor(${n})`);
      // The executor pods as the engine names them (Argo's v2 names, KFP's template system-container-impl).
      attempts.forEach(a =>
        this.kfpPods.set(nodeId(a).replace(/-(\d+)$/, '-system-container-impl-$1'), kfpImage(spec, t))
      );
      nodes.push(node(`${base}-driver`, `${t}-driver`, 'Succeeded', [base]));
      nodes.push(node(base, t, task.phase, attempts));
      task.attempts.forEach((a, n) => nodes.push(node(attempts[n], 'executor', a.phase)));
      // The driver's own record of the execution: no name, no state, its MLMD execution id.
      nodes.push({
        run_id: id,
        task_id: `uuid-${nodeId(`${base}.execution`)}`,
        create_time: '2026-01-01T00:00:01Z',
        start_time: '2026-01-01T00:00:01Z',
        end_time: '2026-01-01T00:00:02Z',
        execution_id: String(10 + i)
      });
    });
    // What the launchers uploaded, as the run really went (the task details may lag).
    run.tasks.forEach((t, i) => {
      const task = real[i];
      if (task && (task.phase === 'Succeeded' || task.phase === 'Failed')) {
        this.kfpUpload(
          `v2/artifacts/${spec.pipelineInfo.name}/${id}/${t}/a1b2c3d4-000${i}`,
          t,
          task.phase,
          task.attempts.length,
          i === run.tasks.length - 1
        );
      }
    });
    return {
      run_id: id,
      display_name: run.body.display_name,
      ...(run.body.experiment_id ? { experiment_id: run.body.experiment_id } : {}),
      pipeline_spec: run.body.pipeline_spec,
      pipeline_version_reference: run.body.pipeline_version_reference,
      runtime_config: run.body.runtime_config,
      storage_state: 'AVAILABLE',
      state,
      created_at: '2026-01-01T00:00:00Z',
      ...(['SUCCEEDED', 'FAILED'].includes(state) ? { finished_at: '2026-01-01T00:01:00Z' } : {}),
      ...(state === 'FAILED' ? { error: { code: 2, message: 'Pipeline run failed' } } : {}),
      run_details: {
        task_details: nodes.sort((a, b) => String(a.task_id).localeCompare(String(b.task_id)))
      }
    };
  }

  /**
   * What KFP's launcher uploads for a finished task: the log of each attempt (`executor-logs-N`, as the
   * driver names them even without retries), and the outputs and metrics; of a failed step only the logs.
   */
  private kfpUpload(
    folder: string,
    task: string,
    phase: 'Succeeded' | 'Failed',
    attempts: number,
    last: boolean
  ): void {
    if (!this.options.kfpArtifacts || this.objects.has(`mlpipeline/${folder}/executor-logs-0`)) {
      return;
    }
    const printed = this.options.stdout ?? `hello from ${task}\n`;
    const outputs = { '1': [{ output_type: 'stream', name: 'stdout', text: printed }] };
    for (let n = 0; n < attempts - 1; n++) {
      this.objects.set(`mlpipeline/${folder}/executor-logs-${n}`, `attempt ${n} of ${task}\n`);
    }
    let log = printed + (this.stepLogs.get(task) ?? '');
    if (phase === 'Failed') {
      const error = this.options.failError ?? {};
      log +=
        `cellpipe: step ${task} failed: ${String(error.message ?? 'boom')}\n\n` +
        `cellpipe-results: ${JSON.stringify({ error, outputs })}\n`;
    } else {
      this.objects.set(`mlpipeline/${folder}/cellpipe_outputs`, JSON.stringify(outputs));
      if (last) {
        this.objects.set(`mlpipeline/${folder}/cellpipe_metrics`, '{"accuracy": 0.9}');
      }
    }
    this.objects.set(`mlpipeline/${folder}/executor-logs-${attempts - 1}`, log);
  }
}

/** The parts of a KFP IR the fake reads. */
interface KfpIr {
  pipelineInfo: { name: string };
  root: { dag: { tasks: Record<string, unknown> } };
}

/** An Argo node status (v3.7), as the fake writes it. */
interface FakeNode {
  id: string;
  name: string;
  displayName: string;
  type: string;
  templateName: string;
  phase: string;
  startedAt?: string;
  finishedAt?: string | null;
  boundaryID?: string;
  hostNodeName?: string;
  message?: string;
  children?: string[];
  outputs?: unknown;
  inputs?: unknown;
}

/** The `uploadfile` part of a multipart body: its file name and text. */
function uploadedFile(body: unknown): { filename: string; text: string } | null {
  if (typeof body !== 'string') {
    return null;
  }
  const part =
    /Content-Disposition: form-data; name="uploadfile"; filename="([^"]*)"\r\n(?:[^\r\n]+\r\n)*\r\n([\s\S]*?)\r\n--/.exec(
      body
    );
  return part ? { filename: part[1], text: part[2] } : null;
}

function dagTasks(spec: WorkflowSpec): string[] {
  return spec.templates.find(t => t.dag)?.dag?.tasks.map(t => t.name) ?? [];
}

function notebookPod(namespace: string): unknown {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name: 'notebook-0', namespace, labels: { 'notebook-name': 'notebook' } },
    spec: {
      containers: [
        {
          name: 'notebook',
          image: 'kubeflownotebookswg/jupyter-scipy:v1.9.0',
          volumeMounts: [
            { name: 'workspace', mountPath: '/home/jovyan' },
            { name: 'data', mountPath: '/data' },
            {
              name: 'kube-api-access',
              mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
              readOnly: true
            }
          ]
        }
      ],
      volumes: [
        { name: 'workspace', persistentVolumeClaim: { claimName: 'workspace-notebook' } },
        { name: 'data', persistentVolumeClaim: { claimName: 'data-vol' } },
        { name: 'kube-api-access', projected: { sources: [] } }
      ]
    },
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'notebook',
          image: 'kubeflownotebookswg/jupyter-scipy:v1.9.0',
          imageID: `docker.io/kubeflownotebookswg/jupyter-scipy@sha256:${'ab'.repeat(32)}`,
          ready: true,
          restartCount: 0
        }
      ]
    }
  };
}

/**
 * A step's pod, its `main` container running `image`, with the digest the runtime pulled it at (what the
 * kubelet reports in `imageID`; here a hash of the name, so every pull of a tag gives the same).
 */
function stepPod(name: string, namespace: string, image: string, metadata: Record<string, unknown>): unknown {
  const repository = image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  const digest = createHash('sha256').update(image).digest('hex');
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name, namespace, ...metadata },
    spec: { containers: [{ name: 'main', image }] },
    status: {
      phase: 'Succeeded',
      containerStatuses: [
        {
          name: 'main',
          image,
          imageID: `docker.io/${repository.includes('/') ? repository : `library/${repository}`}@sha256:${digest}`,
          ready: false,
          restartCount: 0
        }
      ]
    }
  };
}

/** The image of a KFP task's executor in the IR. */
function kfpImage(spec: unknown, task: string): string {
  const ir = spec as {
    root: { dag: { tasks: Record<string, { componentRef: { name: string } }> } };
    components: Record<string, { executorLabel?: string }>;
    deploymentSpec?: { executors: Record<string, { container?: { image?: string } }> };
  };
  const component = ir.root.dag.tasks[task]?.componentRef.name;
  const executor = component ? ir.components[component]?.executorLabel : undefined;
  return (executor && ir.deploymentSpec?.executors[executor]?.container?.image) || 'python:3.12-slim';
}

/** One watch event: a JSON object on its own line. */
function send(res: ServerResponse, event: { type: string; object: unknown }): void {
  if (!res.writableEnded) {
    res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
  }
}

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A Kubernetes `Status` failure body, as the API server sends it. */
function status(res: ServerResponse, code: number, reason: string, message: string): void {
  json(res, code, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    details: {},
    code
  });
}

/** An S3 error body (XML), as S3 and MinIO answer. */
function s3Error(res: ServerResponse, code: number, name: string, message: string, key: string): void {
  const text =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${name}</Code><Message>${message}</Message><Key>${key}</Key><RequestId>0</RequestId></Error>`;
  res.writeHead(code, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
