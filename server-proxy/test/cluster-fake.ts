/**
 * A loopback HTTP server that answers like the Kubernetes API (core, storage, CSI snapshots, Argo
 * Workflows) and the KFP v2beta1 API, with their status codes and bodies (Kubernetes `Status` objects,
 * gRPC-gateway errors). State moves on with each read, as a real run does. Used by cluster-*.spec.ts.
 *
 * Workflows and VolumeSnapshots also answer lists (`metadata.resourceVersion` of the list) and watches
 * (`?watch=true`): a chunked `application/json` stream of one `{"type","object"}` line per change, from
 * the current object (ADDED) or from a given `resourceVersion` (the changes after it); while a watch is
 * open its object moves on every `watchTickMs`. Every change takes the next `resourceVersion`. Watches can
 * be closed by the server after a while, their versions then compacted away (`ERROR` 410 Expired to a
 * watch from them), or refused (403, 404).
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';
import { basename } from 'path';

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
  /** KFP create-run answer instead of 200. */
  kfpCreate?: { code: number; message: string };
  /** How many GETs (or watch ticks) a run/workflow stays at each stage (default 1). */
  ticksPerTask?: number;
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

interface WatchStream {
  kind: Stored['kind'];
  name?: string;
  res: ServerResponse;
}
interface WorkflowSpec {
  shutdown?: string;
  templates: {
    name: string;
    dag?: { tasks: { name: string }[] };
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
  readonly kfpRuns = new Map<string, { body: Record<string, unknown>; gets: number; tasks: string[] }>();
  readonly experiments: { experiment_id: string; display_name: string; namespace: string }[] = [];
  readonly tokens = new Set<string>();
  /** The S3 store's objects (bucket/key → text), as Argo's executor uploaded them. */
  readonly objects = new Map<string, string>();
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
          this.handle(req, res, text ? JSON.parse(text) : undefined);
        } catch (err) {
          status(res, 500, 'InternalError', String(err));
        }
      });
    });
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
    // Core: the notebook pod, its PVCs, the Argo pods and their logs.
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(path)) && method === 'GET') {
      if (m[2] !== 'notebook-0') {
        return status(res, 404, 'NotFound', `pods "${m[2]}" not found`);
      }
      return json(res, 200, notebookPod(m[1]));
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path)) && method === 'GET') {
      const wf = /workflows.argoproj.io\/workflow=(.+)/.exec(
        url.searchParams.get('labelSelector') ?? ''
      )?.[1];
      const workflow = wf && !this.options.podsGone ? this.workflows.get(wf) : undefined;
      const tasks = workflow ? dagTasks(workflow.body.spec) : [];
      return json(res, 200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: {},
        items: tasks.map((t, i) => ({
          metadata: {
            name: `${wf}-${t}-${1000 + i}`,
            namespace: m![1],
            creationTimestamp: '2026-01-01T00:00:00Z',
            annotations: { 'workflows.argoproj.io/node-name': `${wf}.${t}` }
          }
        }))
      });
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(path)) && method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      // Argo's emissary executor logs in the main container too, around the step's own output.
      return void res.end(
        'time="2026-01-01T00:00:01.000Z" level=info msg="capturing logs" argo=true\n' +
          `log of ${m[2]} (container ${url.searchParams.get('container')})\n` +
          'time="2026-01-01T00:00:06.000Z" level=info msg="sub-process exited" argo=true error="<nil>"\n' +
          'time="2026-01-01T00:00:06.000Z" level=info msg="Taring /tmp/cellpipe/outputs.json"\n'
      );
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
      if (!this.options.artifacts || m[2] !== 'lab-s3') {
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
    if ((m = /^\/argo-artifacts\/(.+)$/.exec(path)) && method === 'GET') {
      return this.s3Get(req, res, 'argo-artifacts', decodeURIComponent(m[1]));
    }
    if (
      (m = /^\/api\/v1\/namespaces\/([^/]+)\/persistentvolumeclaims\/([^/]+)$/.exec(path)) &&
      method === 'GET'
    ) {
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
    // Argo Workflows as custom objects.
    if ((m = /^\/apis\/argoproj.io\/v1alpha1\/namespaces\/([^/]+)\/workflows(?:\/([^/]+))?$/.exec(path))) {
      if (method === 'POST') {
        const c = this.options.workflowCreate;
        if (c) {
          return status(res, c.code, c.reason, c.message);
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
      return json(res, 200, this.view(wf));
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
    if (path === '/apis/v2beta1/runs' && method === 'POST') {
      if (this.options.kfpCreate) {
        const { code, message } = this.options.kfpCreate;
        return json(res, code, { error: message, code: code === 403 ? 7 : 3, message, details: [] });
      }
      const spec = body.pipeline_spec.pipeline_spec ?? body.pipeline_spec;
      const run_id = `0b8f6f0e-${this.kfpRuns.size + 1}`;
      this.kfpRuns.set(run_id, {
        body: { ...body, run_id },
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

  /** Where the S3 store answers, as an Argo repository names it (host:port, `insecure`). */
  s3Endpoint(): string {
    return this.url.replace(/^http:\/\//, '');
  }

  /** GetObject, path style, signed (SigV4) with the Secret's access key, answered as S3 does. */
  private s3Get(req: IncomingMessage, res: ServerResponse, bucket: string, key: string): void {
    const credential = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
    if (credential !== (this.options.s3AccessKey ?? 'lab')) {
      return s3Error(
        res,
        403,
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
        key
      );
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
    const items = all.filter(
      o => o.body.metadata.namespace === namespace && (!name || o.body.metadata.name === name)
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

  /** Tasks run one after another, one stage per `ticksPerTask` reads; `failTask` fails, the rest are omitted. */
  private progress(
    tasks: string[],
    gets: number
  ): {
    phase: 'Running' | 'Succeeded' | 'Failed';
    states: ('Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Omitted' | undefined)[];
  } {
    const stage = Math.floor(gets / (this.options.ticksPerTask ?? 1));
    const binding = this.options.volumeBindTicks ?? 0;
    if (stage >= 1 && stage <= binding) {
      return { phase: 'Running', states: tasks.map((_, i) => (i === 0 ? 'Pending' : undefined)) };
    }
    const tick = stage > binding ? stage - binding : stage;
    const states: ('Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Omitted' | undefined)[] = [];
    let failed = false;
    tasks.forEach((t, i) => {
      if (failed) {
        // Argo marks the steps after a failed one omitted in the same update that fails it (seen on the lab).
        states.push('Omitted');
      } else if (tick > i + 1) {
        failed = t === this.options.failTask;
        states.push(failed ? 'Failed' : 'Succeeded');
      } else {
        states.push(tick === i + 1 ? 'Running' : undefined);
      }
    });
    const done = tick > tasks.length;
    return { phase: failed && done ? 'Failed' : done ? 'Succeeded' : 'Running', states };
  }

  private workflowStatus(wf: Workflow): unknown {
    const tasks = dagTasks(wf.body.spec);
    const name = wf.body.metadata.name;
    const stopped = !!wf.body.spec.shutdown;
    // Stopped: Argo fails the running (and pending) steps with its stop message and omits the rest.
    const { phase, states } = stopped
      ? (() => {
          const p = this.progress(tasks, wf.stoppedAt ?? wf.ticks);
          return {
            phase: 'Failed' as const,
            states: p.states.map(st => (st === 'Running' ? 'Failed' : (st ?? 'Omitted')))
          };
        })()
      : this.progress(tasks, wf.ticks);
    const nodes: Record<string, unknown> = {
      [name]: { id: name, name, displayName: name, type: 'DAG', phase: 'Running', templateName: 'main' }
    };
    // Node ids as Argo makes them: the workflow name and the FNV-1a hash of the node name.
    const id = (i: number, attempt?: number) =>
      `${name}-${fnv1a(`${name}.${tasks[i]}${attempt === undefined ? '' : `(${attempt})`}`)}`;
    tasks.forEach((t, i) => {
      const state = states[i];
      if (!state) {
        return;
      }
      const failed = state === 'Failed';
      const retries = failed && !stopped && t === this.options.failTask ? (this.options.failRetries ?? 0) : 0;
      // Pod names as Argo (POD_NAMES v2) gives them: WORKFLOW-TEMPLATE-HASH; the same in artifact keys.
      const pod = `${name}-${t}-${1000 + i}`;
      const outputs = this.nodeOutputs(wf, pod, t, i === tasks.length - 1, state, stopped);
      const node = {
        name: `${name}.${t}`,
        displayName: t,
        templateName: t,
        phase: state,
        startedAt: '2026-01-01T00:00:00Z',
        finishedAt: state === 'Running' || state === 'Pending' ? null : '2026-01-01T00:00:07Z',
        boundaryID: name,
        ...(state === 'Pending' ? { message: UNBOUND_CLAIM } : {}),
        ...(failed
          ? {
              message: stopped
                ? "Stopped with strategy 'Terminate'"
                : (this.options.failMessage ?? 'main: Error (exit code 1)')
            }
          : {}),
        ...(outputs ? { outputs } : {})
      };
      // A Pod node's children are the tasks after it (here the next one); a retried step's are on its
      // Retry node's last attempt, and the Retry node's own children are its attempts.
      const next = i + 1 < tasks.length && states[i + 1] ? [id(i + 1)] : undefined;
      if (retries > 0) {
        const attempts = Array.from({ length: retries + 1 }, (_, a) => id(i, a));
        attempts.forEach((attemptId, a) => {
          nodes[attemptId] = {
            ...node,
            id: attemptId,
            name: `${name}.${t}(${a})`,
            displayName: `${t}(${a})`,
            type: 'Pod',
            ...(a === retries && next ? { children: next } : {})
          };
        });
        nodes[id(i)] = {
          ...node,
          id: id(i),
          type: 'Retry',
          message: 'No more retries left',
          children: attempts
        };
      } else {
        nodes[id(i)] = {
          ...node,
          id: id(i),
          type: state === 'Omitted' ? 'Skipped' : 'Pod',
          ...(state === 'Omitted' ? { message: 'omitted: depends condition not met' } : {}),
          ...(next ? { children: next } : {})
        };
      }
    });
    return {
      phase,
      startedAt: '2026-01-01T00:00:00Z',
      // Go writes a map's keys sorted: the nodes come in the order of their ids, not of the steps.
      nodes: Object.fromEntries(Object.entries(nodes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      progress: '0/1',
      ...(stopped ? { message: "Stopped with strategy 'Terminate'" } : {}),
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
    last: boolean,
    state: string,
    stopped: boolean
  ): Record<string, unknown> | undefined {
    if (state !== 'Succeeded' && state !== 'Failed') {
      return undefined;
    }
    const template = wf.body.spec.templates.find(t => t.name === task);
    const succeeded = state === 'Succeeded';
    const written: Record<string, string | undefined> = {
      metrics: succeeded ? (last ? '{"accuracy": 0.9}' : '{}') : undefined,
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

  private kfpStatus(
    id: string,
    run: { body: Record<string, unknown>; gets: number; tasks: string[] }
  ): unknown {
    const { phase, states } = this.progress(run.tasks, run.gets - 1);
    const state =
      run.gets <= 1
        ? 'PENDING'
        : phase === 'Running'
          ? 'RUNNING'
          : phase === 'Succeeded'
            ? 'SUCCEEDED'
            : 'FAILED';
    const kfpState = {
      Pending: 'PENDING',
      Running: 'RUNNING',
      Succeeded: 'SUCCEEDED',
      Failed: 'FAILED',
      Omitted: 'SKIPPED'
    } as const;
    return {
      run_id: id,
      display_name: run.body.display_name,
      state,
      created_at: '2026-01-01T00:00:00Z',
      ...(state === 'FAILED' ? { error: { code: 2, message: 'Pipeline run failed' } } : {}),
      run_details: {
        task_details: [
          { task_id: 'root-1', display_name: 'root', state: 'RUNNING' },
          ...run.tasks.flatMap((t, i) =>
            states[i]
              ? [
                  {
                    task_id: `t-${i}`,
                    display_name: t,
                    state: kfpState[states[i]!],
                    start_time: '2026-01-01T00:00:00Z',
                    ...(states[i] === 'Running' ? {} : { end_time: '2026-01-01T00:00:05Z' }),
                    ...(states[i] === 'Failed' ? { error: { message: 'exit status 1' } } : {})
                  }
                ]
              : []
          )
        ]
      }
    };
  }
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
