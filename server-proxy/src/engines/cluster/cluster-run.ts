/**
 * A cluster run, end to end: find the notebook's pod (image, workspace PVCs), snapshot the workspace,
 * compile for the target with the snapshots as volumes, submit, and follow the run, writing the same
 * `run.json` a local run writes (plus `target`, `cluster`, `snapshots`) and reporting step changes the
 * same way, so the UI shows cluster runs like local ones.
 *
 * Nothing is left half-submitted: a failure before the submission is accepted deletes the snapshots this
 * run created (the error names any that could not be deleted), and no run record is written.
 */
import { mkdir, writeFile } from 'fs/promises';
import { dirname, join, relative, isAbsolute } from 'path';
import type { NotebookData } from '../../../../src/core/notebook/model';
import type { PipelineAnalysis } from '../../../../src/core/pipeline';
import { argoDocuments } from '../../../../src/core/targets/argo';
import type {
  ClusterCompileOptions,
  ClusterPlan,
  SnapshotSource
} from '../../../../src/core/targets/cluster-plan';
import { CompileError } from '../../../../src/core/targets/cluster-step';
import { kfpDocuments } from '../../../../src/core/targets/kfp';
import type { ParameterValue } from '../../../../src/core/tags/parameters';
import { parseQuantity } from '../../../../src/core/tags/quantity';
import type { VolumeSettings } from '../../../../src/core/tags/settings';
import { writeJsonAtomic } from '../../atomic-file';
import { runtimeSource } from '../../runtime-source';
import { newRunId } from '../local/engine';
import type {
  ClusterInfo,
  RecordedSnapshot,
  RunRecord,
  StepRecord,
  StepStatus
} from '../../../../src/core/runs/run-record';
import { runDir } from '../local/run-store';
import { argoBackend, argoUrl, namespaceArtifactRepository, submitWorkflow } from './argo-engine';
import type { ClusterBackend, ClusterPoll, TaskState } from './cluster-backend';
import { ClusterError } from './cluster-errors';
import { DEFAULT_KFP_ENDPOINT, KfpClient } from './kfp-client';
import { kfpBackend, submitKfpRun } from './kfp-engine';
import type { KubeClients } from './kube-client';
import { NotebookPod, PodVolume, readNotebookPod } from './notebook-pod';
import { deleteSnapshots, planSnapshots, takeSnapshots, TakenSnapshot } from './snapshots';
import { WatchQueue } from './watch';
import { thisOwner } from '../../process-alive';

declare const CELLPIPE_VERSION: string | undefined;

export type ClusterTarget = 'kfp' | 'argo';

export interface ClusterConnection {
  /** Kubernetes: needed for Argo, snapshots and the notebook pod; created on demand by the caller. */
  kube?: () => KubeClients;
  /** KFP API endpoint; default: pipeline settings, then the in-cluster service. */
  endpoint?: string;
  /** Bearer token for KFP. */
  kfpToken?: string;
  /** The namespace; default: pipeline settings, then the notebook pod's. */
  namespace?: string;
  /** The notebook's pod, when the notebook runs in one (name and namespace). */
  pod?: { name: string; namespace: string };
}

export interface ClusterSubmitOptions extends ClusterConnection {
  target: ClusterTarget;
  notebookPath: string;
  notebook: NotebookData;
  analysis: PipelineAnalysis;
  /** Parameter overrides for this run. */
  parameters: Record<string, ParameterValue>;
  /** `snapshot` (default): restore each workspace PVC from a snapshot; `mount`: mount them as they are. */
  volumes?: 'snapshot' | 'mount';
  /** The step image when neither the step nor the pipeline names one and the pod's cannot be read. */
  image?: string;
  /** Argo: a ReadWriteMany storage class for the run volume. */
  runStorageClass?: string;
  snapshotTimeoutMs?: number;
  /** How often the cluster is asked (snapshots, run status). */
  pollMs?: number;
  id?: string;
}

export type StepListener = (step: string, record: StepRecord) => void;

export interface FollowOptions {
  onStep?: StepListener;
  /** Aborting asks the cluster to stop the run, then follows it to its end. */
  signal?: AbortSignal;
  /** Stop following (not the run) after this long: the result says `timedOut`. */
  timeoutMs?: number;
  pollMs?: number;
}

export interface SubmittedRun {
  record: RunRecord;
  /** Follows the run until it finishes (or the timeout), keeping run.json current. */
  follow(options?: FollowOptions): Promise<{ record: RunRecord; timedOut: boolean }>;
}

const FINISHED: ReadonlySet<StepStatus> = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);
const STAGE: Record<StepStatus, number> = {
  queued: 0,
  running: 1,
  succeeded: 2,
  failed: 2,
  skipped: 2,
  cancelled: 2
};

export async function submitClusterRun(options: ClusterSubmitOptions): Promise<SubmittedRun> {
  const { analysis, notebookPath, target } = options;
  const id = options.id ?? newRunId();
  const dir = runDir(notebookPath, id)!;
  const warnings: string[] = [];
  const kube = lazy(options.kube);

  // The notebook's pod: its image for the steps, its PVCs for the workspace.
  let pod: NotebookPod | undefined;
  if (options.pod) {
    try {
      pod = await readNotebookPod(
        need(kube, 'read the notebook pod'),
        options.pod.name,
        options.pod.namespace
      );
    } catch (err) {
      warnings.push(
        `The notebook's pod could not be read, so its image and volumes are not used: ${(err as Error).message}`
      );
    }
  }
  const namespace =
    options.namespace || analysis.pipeline.namespace || pod?.namespace || options.pod?.namespace;
  if (!namespace) {
    throw new ClusterError(
      'not-in-cluster',
      'No namespace to submit to: set it in the pipeline settings or pass --namespace.'
    );
  }
  const mode = options.volumes ?? 'snapshot';
  const workspace = workspaceVolumes(pod, analysis.pipeline.volumes, mode);
  const image = analysis.pipeline.image ? undefined : (pod?.image ?? options.image);
  if (!analysis.pipeline.image && !pod?.image && !options.image) {
    warnings.push(
      "The notebook pod's image is unknown and no image is configured: steps use the default image."
    );
  }
  const workingDir = pod ? workingDirOn(notebookPath, workspace.volumes) : undefined;
  const runAnalysis: PipelineAnalysis = {
    ...analysis,
    parameters: { ...analysis.parameters, ...options.parameters },
    pipeline: { ...analysis.pipeline, volumes: workspace.volumes }
  };
  // Argo: the namespace's artifact repository carries outputs, metrics and logs whole; without one they
  // are output parameters, capped to what a pod annotation holds.
  let artifactRepository: { configMap: string; key: string } | undefined;
  if (target === 'argo' && options.kube) {
    const found = await namespaceArtifactRepository(kube!(), namespace);
    artifactRepository = found.ref;
    if (found.note) {
      warnings.push(
        `No artifact repository is used (${found.note}): step outputs larger than 200 KiB come back cut.`
      );
    }
  }
  const compileOptions = (
    snapshots: Record<string, SnapshotSource>
  ): Omit<ClusterCompileOptions, 'runtimeSource'> => ({
    cellpipeVersion: typeof CELLPIPE_VERSION === 'string' ? CELLPIPE_VERSION : 'dev',
    defaultImage: image,
    snapshots,
    workingDir,
    runVolume: { storageClass: options.runStorageClass },
    artifactRepository
  });
  const compile = (snapshots: Record<string, SnapshotSource>) => {
    try {
      return target === 'kfp'
        ? {
            kind: 'kfp' as const,
            ...kfpDocuments(runAnalysis, options.notebook, runtimeSource(), compileOptions(snapshots))
          }
        : {
            kind: 'argo' as const,
            ...argoDocuments(runAnalysis, options.notebook, runtimeSource(), compileOptions(snapshots))
          };
    } catch (err) {
      if (err instanceof CompileError) {
        throw new ClusterError('not-compiled', err.message);
      }
      throw err;
    }
  };
  // Compile once before touching the cluster, so a pipeline that cannot compile creates nothing.
  const placeholders = Object.fromEntries(
    workspace.snapshot.map(v => [v.claim, { snapshot: `${v.claim}-snapshot`, size: '1Gi' }])
  );
  compile(placeholders);

  let taken: TakenSnapshot[] = [];
  if (workspace.snapshot.length > 0) {
    const kc = need(kube, 'snapshot the workspace volumes');
    const availability = await planSnapshots(kc, namespace, workspace.snapshot);
    if (!availability.ok) {
      throw new ClusterError(
        'no-snapshot-class',
        `Cannot snapshot the workspace volumes: ${availability.reason}. Submit with --mount-volumes ` +
          '(HTTP: "volumes": "mount") to mount the existing volumes instead; steps then see the files as they ' +
          'are when they run, and need ReadWriteMany volumes to run on other nodes.'
      );
    }
    taken = await takeSnapshots(kc, availability.plans, {
      runId: id,
      namespace,
      labels: {
        'cellpipe.dev/pipeline': analysis.pipeline.name
          .toLowerCase()
          .replace(/[^a-z0-9.-]/g, '-')
          .slice(0, 63)
      },
      timeoutMs: options.snapshotTimeoutMs,
      pollMs: options.pollMs
    });
  }
  const compiled = compile(
    Object.fromEntries(
      taken.map(t => [
        t.claim,
        {
          snapshot: t.snapshot,
          size: restoredSize(t.size, t.restoreSize),
          storageClass: t.storageClass,
          accessMode: t.accessMode
        }
      ])
    )
  );
  warnings.push(...compiled.warnings);
  const tasks = compiled.plan.steps.map(s => s.name);

  let cluster: ClusterInfo;
  let backend: ClusterBackend;
  try {
    if (compiled.kind === 'argo') {
      const kc = need(kube, 'submit an Argo Workflow');
      const { name } = await submitWorkflow(kc, namespace, {
        ...compiled.workflow,
        metadata: {
          ...(compiled.workflow.metadata as Record<string, unknown>),
          labels: {
            ...((compiled.workflow.metadata as { labels?: object }).labels ?? {}),
            'cellpipe.dev/run': id
          }
        }
      });
      cluster = { kind: 'argo', name, namespace, url: argoUrl(namespace, name) };
      backend = argoBackend(
        kc,
        namespace,
        name,
        new Map(compiled.plan.steps.map(s => [s.name, s.runnable.name]))
      );
    } else {
      const endpoint = options.endpoint || analysis.pipeline.endpoint || DEFAULT_KFP_ENDPOINT;
      const client = new KfpClient(endpoint, options.kfpToken, namespace);
      const run = await submitKfpRun(client, {
        displayName: `${compiled.plan.name} ${id}`,
        pipelineSpec: compiled.pipelineSpec,
        platformSpec: compiled.platformSpec,
        parameters: Object.fromEntries(
          compiled.plan.parameters.map(p => [p.key, runAnalysis.parameters[p.name].value])
        ),
        experiment: 'cellpipe'
      });
      cluster = { kind: 'kfp', id: run.run_id, namespace, endpoint, url: client.runUrl(run.run_id) };
      backend = kfpBackend(client, run.run_id, tasks);
    }
  } catch (err) {
    if (taken.length > 0) {
      const left = await deleteSnapshots(
        need(kube, 'delete the snapshots'),
        namespace,
        taken.map(t => t.snapshot)
      );
      if (err instanceof ClusterError) {
        throw new ClusterError(
          err.code,
          `${err.message} ` +
            (left.length > 0
              ? `The VolumeSnapshots ${left.join(', ')} could not be deleted; delete them yourself.`
              : `The VolumeSnapshots taken for this run were deleted.`)
        );
      }
    }
    throw err;
  }

  const snapshots: RecordedSnapshot[] = [
    ...taken.map(t => ({
      claim: t.claim,
      mountPath: t.mountPath,
      snapshot: t.snapshot,
      snapshotClass: t.snapshotClass,
      restoreSize: t.restoreSize
    })),
    ...workspace.mounted.map(v => ({ claim: v.claim, mountPath: v.mountPath }))
  ];
  const record = newRecord(id, options, runAnalysis, compiled.plan, cluster, snapshots, mode, warnings);
  await mkdir(join(dir, 'logs'), { recursive: true });
  await writeJsonAtomic(join(dir, 'run.json'), record);
  const cleanup = snapshotCleanup(
    kube,
    namespace,
    taken.map(t => t.snapshot)
  );
  return {
    record,
    follow: followOptions =>
      followLoop(dir, record, backend, taskNames(record, compiled.plan), { ...followOptions, cleanup })
  };
}

/** Follows a cluster run again (after a server restart), from its record. */
export function reattach(
  notebookPath: string,
  record: RunRecord,
  connection: { kube?: () => KubeClients; kfpToken?: string },
  plan: Pick<ClusterPlan, 'steps'> | null = null
): ((options?: FollowOptions) => Promise<{ record: RunRecord; timedOut: boolean }>) | null {
  const cluster = record.cluster;
  const dir = runDir(notebookPath, record.id);
  if (!cluster || !dir) {
    return null;
  }
  const tasks = taskNames(record, plan);
  let backend: ClusterBackend;
  if (cluster.kind === 'argo' && cluster.name && connection.kube) {
    backend = argoBackend(connection.kube(), cluster.namespace, cluster.name, tasks);
  } else if (cluster.kind === 'kfp' && cluster.id && cluster.endpoint) {
    const client = new KfpClient(cluster.endpoint, connection.kfpToken, cluster.namespace);
    backend = kfpBackend(client, cluster.id, [...tasks.keys()]);
  } else {
    return null;
  }
  const cleanup = snapshotCleanup(
    connection.kube,
    cluster.namespace,
    (record.snapshots ?? []).flatMap(s => (s.snapshot ? [s.snapshot] : []))
  );
  return options => followLoop(dir, record, backend, tasks, { ...options, cleanup });
}

/**
 * Deletes the run's VolumeSnapshots once it has ended (its restored claims are gone with the workflow), so
 * a run leaves nothing behind; a snapshot that cannot be deleted is named in the run's warnings.
 */
function snapshotCleanup(
  kube: (() => KubeClients) | undefined,
  namespace: string,
  names: string[]
): ((record: RunRecord) => Promise<void>) | undefined {
  if (!kube || names.length === 0) {
    return undefined;
  }
  return async record => {
    const left = await deleteSnapshots(kube(), namespace, names);
    if (left.length > 0) {
      record.warnings = [
        ...(record.warnings ?? []),
        `The VolumeSnapshots ${left.join(', ')} of this run could not be deleted; delete them yourself.`
      ];
    }
  };
}

/** Cluster task name → step name, from the plan or, after a restart, from the record. */
function taskNames(record: RunRecord, plan: Pick<ClusterPlan, 'steps'> | null): Map<string, string> {
  if (plan) {
    return new Map(plan.steps.map(s => [s.name, s.runnable.name]));
  }
  return new Map(Object.entries(record.clusterTasks ?? {}).map(([step, task]) => [task, step]));
}

async function followLoop(
  dir: string,
  record: RunRecord,
  backend: ClusterBackend,
  tasks: Map<string, string>,
  options: FollowOptions & { cleanup?: (record: RunRecord) => Promise<void> }
): Promise<{ record: RunRecord; timedOut: boolean }> {
  const pollMs = options.pollMs ?? 3000;
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const save = () => writeJsonAtomic(join(dir, 'run.json'), record);
  let cancelAsked = false;
  let failures = 0;
  Object.assign(record, thisOwner());
  // Events as they happen when the engine can watch (Argo); polls while the watch is not open, or at all.
  const feed = backend.watch ? new WatchQueue<ClusterPoll>().start(q => backend.watch!(q)) : undefined;
  try {
    for (;;) {
      if (options.signal?.aborted && !cancelAsked) {
        cancelAsked = true;
        await backend.cancel().catch(err => {
          record.followError = `Could not stop the run: ${(err as Error).message}`;
        });
      }
      let poll = feed?.take();
      if (!poll && !feed?.live) {
        try {
          poll = await backend.poll();
          failures = 0;
        } catch (err) {
          // A blip of the API server or gateway: try again a few times before giving up on following.
          if (++failures >= 5) {
            record.followError = (err as Error).message;
            await save();
            return { record, timedOut: false };
          }
        }
      }
      if (poll) {
        // In the run's order: a failed step is recorded before the steps skipped because of it.
        const changed = [...poll.tasks]
          .map(([task, state]) => ({ task, state, step: tasks.get(task) }))
          .filter((t): t is { task: string; state: TaskState; step: string } => t.step !== undefined)
          .sort((a, b) => record.order.indexOf(a.step) - record.order.indexOf(b.step));
        for (const { task, state, step } of changed) {
          await updateStep(dir, record, step, state, task, backend, options.onStep);
        }
        if (poll.status !== 'running') {
          finish(record, poll.status, poll.message, options.onStep);
          await options.cleanup?.(record);
          await save();
          return { record, timedOut: false };
        }
        await save();
      }
      if (Date.now() >= deadline) {
        return { record, timedOut: true };
      }
      const wait = Math.min(pollMs, Math.max(0, deadline - Date.now()));
      await (feed ? feed.wait(wait, cancelAsked ? undefined : options.signal) : sleep(wait));
    }
  } finally {
    feed?.stop();
  }
}

async function updateStep(
  dir: string,
  record: RunRecord,
  step: string,
  state: TaskState,
  task: string,
  backend: ClusterBackend,
  onStep?: StepListener
): Promise<void> {
  const old = record.steps[step];
  // A watch event and a poll may arrive out of order: a step never moves back (running → queued, done → running).
  if (old && STAGE[state.status] < STAGE[old.status]) {
    return;
  }
  if (old && old.status === state.status) {
    // Still queued: only why it waits may have changed.
    if (state.status === 'queued' && state.waiting !== old.waiting) {
      record.steps[step] = { ...old, waiting: state.waiting };
      onStep?.(step, record.steps[step]);
    }
    return;
  }
  const next: StepRecord = { status: state.status, cached: false };
  if (state.status === 'queued' && state.waiting) {
    next.waiting = state.waiting;
  }
  if (state.started) {
    next.started = state.started;
  }
  if (state.finished && FINISHED.has(state.status)) {
    next.finished = state.finished;
    if (state.started) {
      next.seconds = (Date.parse(state.finished) - Date.parse(state.started)) / 1000;
    }
  }
  if (state.status === 'skipped') {
    // The cluster omits the steps below a failed one: say which, as local runs do.
    const failed = record.order.find(s => record.steps[s].status === 'failed');
    record.steps[step] = failed ? { status: 'skipped', cached: false, skippedBecause: failed } : next;
    onStep?.(step, record.steps[step]);
    return;
  }
  if (state.status === 'failed') {
    next.error = {
      message: state.message || `Step ${step} failed on the cluster.`,
      cell: state.error?.cell ?? null,
      line: state.error?.line ?? null
    };
  }
  record.steps[step] = next;
  let { outputs, metrics } = state;
  if (FINISHED.has(state.status) && backend.results) {
    // Outputs and metrics kept as artifacts come back whole; a store that cannot be read is said in the log.
    try {
      const results = await backend.results(task);
      outputs = results.outputs ?? outputs;
      metrics = results.metrics ?? metrics;
    } catch (err) {
      record.warnings = [...new Set([...(record.warnings ?? []), (err as Error).message])];
    }
  }
  if (state.status === 'succeeded' && metrics) {
    Object.assign(record.metrics, metrics);
  }
  if (FINISHED.has(state.status)) {
    await writeFile(join(dir, 'logs', `${step}.log`), await backend.log(task));
    if (outputs) {
      // Where a local run keeps them: GET /api/runs/ID/steps/STEP serves them the same way.
      await writeJsonAtomic(join(dir, 'steps', step, 'outputs.json'), outputs);
    }
  }
  onStep?.(step, next);
}

/**
 * The run's end: steps the cluster never finished are cancelled or, after a failed step, skipped because of
 * it. A run that failed with no failed step (its workflow deleted under it) fails the steps that were
 * running with the run's message (the first unfinished one when none was), and the rest are skipped.
 */
function finish(
  record: RunRecord,
  status: RunRecord['status'],
  message: string | undefined,
  onStep?: StepListener
): void {
  const unfinished = record.order.filter(s => !FINISHED.has(record.steps[s].status));
  if (status === 'failed' && !record.order.some(s => record.steps[s].status === 'failed')) {
    const running = unfinished.filter(s => record.steps[s].status === 'running');
    for (const step of running.length > 0 ? running : unfinished.slice(0, 1)) {
      const { started } = record.steps[step];
      record.steps[step] = {
        status: 'failed',
        cached: false,
        ...(started ? { started } : {}),
        error: { message: message || 'The run failed on the cluster.', cell: null, line: null }
      };
      onStep?.(step, record.steps[step]);
    }
  }
  const failed = record.order.find(s => record.steps[s].status === 'failed');
  for (const step of record.order) {
    if (!FINISHED.has(record.steps[step].status)) {
      record.steps[step] =
        status === 'failed' && failed
          ? { status: 'skipped', cached: false, skippedBecause: failed }
          : { status: 'cancelled', cached: false };
      onStep?.(step, record.steps[step]);
    }
  }
  record.status = status;
  record.finished = new Date().toISOString();
}

function newRecord(
  id: string,
  options: ClusterSubmitOptions,
  analysis: PipelineAnalysis,
  plan: ClusterPlan,
  cluster: ClusterInfo,
  snapshots: RecordedSnapshot[],
  volumes: 'snapshot' | 'mount',
  warnings: string[]
): RunRecord {
  // The runnable steps (a notebook step's sub-pipeline steps are `NOTEBOOK_STEP.STEP`), as a local run has them.
  const runnable = plan.steps.map(s => s.runnable);
  const order = runnable.map(r => r.name);
  const deps = Object.fromEntries(
    runnable.map(r => [r.name, [...new Set([...r.deps, ...Object.values(r.sources)])].sort()])
  );
  return {
    id,
    notebook: options.notebookPath,
    pipeline: analysis.pipeline.name,
    status: 'running',
    started: new Date().toISOString(),
    parameters: options.parameters,
    order,
    plan: { deps, cacheKeys: {}, reuse: {} },
    ...thisOwner(),
    steps: Object.fromEntries(order.map(s => [s, { status: 'queued', cached: false }])),
    metrics: {},
    target: options.target,
    cluster,
    clusterTasks: Object.fromEntries(plan.steps.map(s => [s.runnable.name, s.name])),
    snapshots,
    volumes,
    ...(warnings.length > 0 ? { warnings } : {})
  };
}

interface Workspace {
  /** The volumes to compile with (settings' volumes plus the pod's). */
  volumes: VolumeSettings[];
  /** Those restored from a snapshot taken now. */
  snapshot: PodVolume[];
  /** Those mounted as they are. */
  mounted: PodVolume[];
}

/**
 * The pod's PVCs and the pipeline's own volumes, once each: in `snapshot` mode the pod's PVCs and the
 * settings' snapshot volumes are restored from snapshots; in `mount` mode every volume is mounted as is.
 */
function workspaceVolumes(
  pod: NotebookPod | undefined,
  settings: VolumeSettings[],
  mode: 'snapshot' | 'mount'
): Workspace {
  const byClaim = new Map<string, VolumeSettings>();
  for (const v of pod?.volumes ?? []) {
    byClaim.set(v.claim, { name: v.claim, mountPath: v.mountPath, type: 'snapshot' });
  }
  for (const v of settings) {
    if (!byClaim.has(v.name)) {
      byClaim.set(v.name, v);
    }
  }
  const volumes = [...byClaim.values()].map(v => (mode === 'mount' ? { ...v, type: 'pvc' as const } : v));
  const asPod = (v: VolumeSettings): PodVolume => ({ claim: v.name, mountPath: v.mountPath });
  return {
    volumes,
    snapshot: volumes.filter(v => v.type === 'snapshot').map(asPod),
    mounted: volumes.filter(v => v.type === 'pvc').map(asPod)
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

/**
 * The size of a claim restored from a snapshot: the workspace PVC's own size, or the snapshot's
 * `restoreSize` when that is larger (a restore may not be smaller). CSI drivers report `restoreSize` as the
 * bytes the snapshot holds (the lab's driver: "15783"), so taking it alone would give the steps a workspace
 * with no room to write in.
 */
export function restoredSize(claimSize: string, restoreSize: string | undefined): string {
  if (!restoreSize) {
    return claimSize;
  }
  const claim = parseQuantity(claimSize);
  const restore = parseQuantity(restoreSize);
  return claim !== null && restore !== null && restore > claim ? restoreSize : claimSize;
}

function lazy<T>(make: (() => T) | undefined): (() => T) | undefined {
  if (!make) {
    return undefined;
  }
  let value: T | undefined;
  return () => (value ??= make());
}

function need(kube: (() => KubeClients) | undefined, action: string): KubeClients {
  if (!kube) {
    throw new ClusterError(
      'not-in-cluster',
      `Cannot ${action}: no Kubernetes access (not in a pod, and no --kubeconfig).`
    );
  }
  return kube();
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
