/**
 * Submitting a cluster run, whichever the engine: the workspace (`cluster-workspace.ts`), a compile with
 * placeholder snapshots so that a pipeline that cannot compile touches nothing, the VolumeSnapshots, the
 * real compile, the engine's submit (`ClusterTarget`), and the run folder with the same `run.json` a local
 * run writes (plus `target`, `cluster`, `snapshots`), owned by this process (its lease).
 *
 * Nothing is left half-submitted: a failure before the cluster accepted the run deletes the snapshots this
 * run created (the error names any that could not be deleted), and no run folder is written.
 */
import { mkdir } from 'fs/promises';
import { join } from 'path';
import type { NotebookData } from '../../../../src/core/notebook/model';
import type { PipelineAnalysis } from '../../../../src/core/pipeline';
import type {
  ClusterAccess,
  ClusterInfo,
  RecordedSnapshot,
  RunOwner,
  RunRecord
} from '../../../../src/core/runs/run-record';
import { addWarnings } from '../../../../src/core/runs/run-warnings';
import type { ClusterCompileOptions, SnapshotSource } from '../../../../src/core/targets/cluster-plan';
import { CompileError } from '../../../../src/core/targets/cluster-step';
import type { ParameterValue } from '../../../../src/core/tags/parameters';
import { parseQuantity } from '../../../../src/core/tags/quantity';
import { writeFileAtomic } from '../../atomic-file';
import { runtimeSha256, runtimeSource } from '../../runtime-source';
import { RunJournal } from '../../runs/run-journal';
import { createLease, ownerOfThisProcess } from '../../runs/run-lease';
import { newRunId, runDir } from '../../runs/run-store';
import { argoTarget } from './argo-engine';
import { ClusterError } from './cluster-errors';
import { clusterLineage, programText } from './cluster-lineage';
import { followClusterRun, FollowOptions, FollowResult } from './cluster-follow';
import type { ClusterBackend } from './cluster-backend';
import type { ClusterKind, ClusterTarget, CompiledRun } from './cluster-target';
import { ClusterWorkspace, clusterWorkspace } from './cluster-workspace';
import { ClusterConnection, kfpEndpoint, kubeAccess } from './connection';
import type { KubeClients } from './kube-client';
import { kfpTarget } from './kfp-engine';
import { deleteSnapshots, planSnapshots, takeSnapshots, TakenSnapshot } from './snapshots';

declare const CELLPIPE_VERSION: string | undefined;

export interface ClusterSubmitOptions extends ClusterConnection {
  target: ClusterKind;
  notebookPath: string;
  notebook: NotebookData;
  analysis: PipelineAnalysis;
  /** Parameter overrides for this run. */
  parameters: Record<string, ParameterValue>;
  /**
   * `snapshot`: restore each workspace PVC from a snapshot; `mount`: mount them as they are. Default: the
   * pipeline's snapshot setting, else `snapshot`.
   */
  volumes?: 'snapshot' | 'mount';
  /** The step image when neither the step nor the pipeline names one and the pod's cannot be read. */
  image?: string;
  /** Argo: a ReadWriteMany storage class for the run volume. */
  runStorageClass?: string;
  snapshotTimeoutMs?: number;
  /** The user's connection settings (kubeconfig context, token file), recorded to follow the run again. */
  access?: ClusterAccess;
  /** How often the cluster is asked (snapshots, run status). */
  pollMs?: number;
  id?: string;
  /** Who submits (the run's first owner); default a CLI. */
  owner?: RunOwner['kind'];
}

export interface SubmittedRun {
  record: RunRecord;
  /** Follows the run until it finishes (or the timeout), keeping run.json current. */
  follow(options?: FollowOptions): Promise<FollowResult>;
}

export const CLUSTER_TARGETS: Record<ClusterKind, ClusterTarget<unknown>> = {
  argo: argoTarget as ClusterTarget<unknown>,
  kfp: kfpTarget as ClusterTarget<unknown>
};

export async function submitClusterRun(options: ClusterSubmitOptions): Promise<SubmittedRun> {
  const target = CLUSTER_TARGETS[options.target];
  const id = options.id ?? newRunId();
  const submission = await submitCompiled(options, id, target, runCompile(options));
  const { compiled, cluster, kube } = submission;
  const tasks = new Map(compiled.plan.steps.map(s => [s.name, s.runnable.name]));
  return openRun(options, submission, {
    id,
    parameters: options.parameters,
    tasks,
    backend: () => target.follow(cluster, tasks, { kube, kfpToken: options.kfpToken })!,
    cleanup: snapshotCleanup(
      kube,
      submission.namespace,
      submission.taken.map(t => t.snapshot)
    )
  });
}

/** What a submission left: the compiled documents on the cluster, and what they were made from. */
export interface Submission<Documents> {
  compiled: CompiledRun<Documents>;
  cluster: ClusterInfo;
  namespace: string;
  taken: TakenSnapshot[];
  mounted: ClusterWorkspace['mounted'];
  mode: 'snapshot' | 'mount';
  runAnalysis: PipelineAnalysis;
  warnings: string[];
  kube: (action: string) => KubeClients;
}

/**
 * A pipeline compiled for the cluster with its workspace snapshotted: what a run submits and what a schedule
 * hands to its CronWorkflow or KFP recurring run. `abandon` deletes the snapshots again when the cluster
 * did not take the documents.
 */
export interface PreparedClusterRun<Documents = unknown> {
  compiled: CompiledRun<Documents>;
  taken: TakenSnapshot[];
  workspace: ClusterWorkspace;
  runAnalysis: PipelineAnalysis;
  mode: 'snapshot' | 'mount';
  kube: (action: string) => KubeClients;
  /** The warnings of the workspace, the engine and the compile. */
  warnings: string[];
  /** Pipeline parameter values by their key in the compiled documents. */
  parameters: Record<string, unknown>;
  abandon(err: unknown): Promise<unknown>;
}

/** The documents of one run: what `submitClusterRun` and a schedule compile. */
export type CompileWith<Documents> = (
  analysis: PipelineAnalysis,
  compileOptions: Omit<ClusterCompileOptions, 'runtimeSource'>
) => CompiledRun<Documents>;

function runCompile(options: ClusterSubmitOptions): CompileWith<unknown> {
  const target = CLUSTER_TARGETS[options.target];
  return (analysis, compileOptions) =>
    target.compile(analysis, options.notebook, runtimeSource(), compileOptions);
}

/**
 * The workspace, a compile with placeholder snapshots (a pipeline that cannot compile touches nothing), the
 * VolumeSnapshots (named after `id`, labelled with `labels` too) and the real compile (`compileWith`: one
 * run's documents by default, or a sweep's).
 */
export async function prepareClusterRun<Documents = unknown>(
  options: ClusterSubmitOptions,
  id: string,
  labels: Record<string, string> = {},
  compileWith: CompileWith<Documents> = runCompile(options) as CompileWith<Documents>
): Promise<PreparedClusterRun<Documents>> {
  const { analysis, notebookPath } = options;
  const target = CLUSTER_TARGETS[options.target];
  const kube = kubeAccess(options);
  const mode = options.volumes ?? (analysis.pipeline.snapshot === false ? 'mount' : 'snapshot');
  const workspace = await clusterWorkspace(analysis, notebookPath, options, mode, kube);
  const prepared = target.prepare
    ? await target.prepare({ namespace: workspace.namespace, kube })
    : { options: {}, warnings: [] };
  const runAnalysis: PipelineAnalysis = {
    ...analysis,
    parameters: { ...analysis.parameters, ...options.parameters },
    pipeline: { ...analysis.pipeline, volumes: workspace.volumes }
  };
  const compile = (snapshots: Record<string, SnapshotSource>) => {
    const compileOptions: Omit<ClusterCompileOptions, 'runtimeSource'> = {
      cellpipeVersion: typeof CELLPIPE_VERSION === 'string' ? CELLPIPE_VERSION : 'dev',
      defaultImage: workspace.image,
      ...(workspace.ownImage ? { runtimeImage: { image: workspace.ownImage, sha256: runtimeSha256() } } : {}),
      snapshots,
      workingDir: workspace.workingDir,
      runVolume: { storageClass: options.runStorageClass },
      ...prepared.options
    };
    try {
      return compileWith(runAnalysis, compileOptions);
    } catch (err) {
      if (err instanceof CompileError) {
        throw new ClusterError('not-compiled', err.message);
      }
      throw err;
    }
  };
  // Compile once before touching the cluster, so a pipeline that cannot compile creates nothing.
  compile(
    Object.fromEntries(
      workspace.snapshot.map(v => [v.claim, { snapshot: `${v.claim}-snapshot`, size: '1Gi' }])
    )
  );
  const taken = await snapshotWorkspace(workspace, options, id, kube, labels);
  const abandon = (err: unknown) => withSnapshotsDeleted(err, taken, workspace.namespace, kube);
  let compiled;
  try {
    compiled = compile(
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
  } catch (err) {
    throw await abandon(err);
  }
  return {
    compiled,
    taken,
    workspace,
    runAnalysis,
    mode,
    kube,
    warnings: [...workspace.warnings, ...prepared.warnings, ...compiled.warnings],
    parameters: Object.fromEntries(
      compiled.plan.parameters.map(p => [p.key, runAnalysis.parameters[p.name].value])
    ),
    abandon
  };
}

/**
 * A prepared run (`prepareClusterRun`) submitted with the engine's submit (`target`: the run's engine, or a
 * sweep's); snapshots are deleted again when the cluster did not take it.
 */
export async function submitCompiled<Documents>(
  options: ClusterSubmitOptions,
  id: string,
  target: ClusterTarget<Documents>,
  compileWith: CompileWith<Documents>
): Promise<Submission<Documents>> {
  const { analysis } = options;
  const { compiled, taken, workspace, runAnalysis, mode, kube, warnings, parameters, abandon } =
    await prepareClusterRun(options, id, {}, compileWith);
  let cluster;
  try {
    cluster = await target.submit(compiled, {
      id,
      namespace: workspace.namespace,
      parameters,
      kube,
      kfpEndpoint: () => kfpEndpoint(options, analysis),
      kfpToken: options.kfpToken,
      experiment: analysis.pipeline.experiment || 'cellpipe'
    });
  } catch (err) {
    throw await abandon(err);
  }
  return {
    compiled,
    cluster,
    namespace: workspace.namespace,
    taken,
    mounted: workspace.mounted,
    mode,
    runAnalysis,
    warnings,
    kube
  };
}

/**
 * A submitted run's folder, with the same `run.json` a local run writes (plus `target`, `cluster`,
 * `snapshots`), owned by this process; `tasks` maps its DAG tasks to its steps (a sweep trial's own).
 */
export async function openRun(
  options: ClusterSubmitOptions,
  submission: Submission<unknown>,
  run: {
    id: string;
    parameters: Record<string, ParameterValue>;
    tasks: Map<string, string>;
    backend: () => ClusterBackend;
    cleanup?: (record: RunRecord) => Promise<void>;
  }
): Promise<SubmittedRun> {
  const { compiled, cluster, taken, mode, runAnalysis, warnings } = submission;
  const { id } = run;
  const dir = runDir(options.notebookPath, id)!;
  const snapshots: RecordedSnapshot[] = [
    ...taken.map(t => ({
      claim: t.claim,
      mountPath: t.mountPath,
      snapshot: t.snapshot,
      snapshotClass: t.snapshotClass,
      restoreSize: t.restoreSize
    })),
    ...submission.mounted.map(v => ({ claim: v.claim, mountPath: v.mountPath }))
  ];
  const owner = ownerOfThisProcess(options.owner ?? 'cli');
  // The runnable steps (a notebook step's sub-pipeline steps are `NOTEBOOK_STEP.STEP`), as a local run has them.
  const runnable = compiled.plan.steps.map(s => s.runnable);
  const order = runnable.map(r => r.name);
  const deps = Object.fromEntries(
    runnable.map(r => [r.name, [...new Set([...r.deps, ...Object.values(r.sources)])].sort()])
  );
  const parameters = { ...runAnalysis.parameters, ...run.parameters };
  const record: RunRecord = {
    id,
    notebook: options.notebookPath,
    pipeline: runAnalysis.pipeline.name,
    status: 'running',
    started: new Date().toISOString(),
    parameters: run.parameters,
    order,
    plan: { deps, cacheKeys: {}, reuse: {} },
    owner,
    steps: Object.fromEntries(order.map(s => [s, { status: 'queued', cached: false }])),
    metrics: {},
    target: options.target,
    cluster,
    clusterTasks: Object.fromEntries([...run.tasks].map(([task, step]) => [step, task])),
    snapshots,
    volumes: mode,
    lineage: clusterLineage(options.analysis.path, compiled.plan.steps, parameters, id, snapshots),
    ...(options.access && Object.keys(options.access).length > 0 ? { access: options.access } : {}),
    ...(warnings.length > 0 ? { warnings } : {})
  };
  // The run is on the cluster now: its folder records it (a folder that cannot be written is said in the
  // record the caller gets; the run goes on on the cluster).
  const journal = new RunJournal(dir, record);
  try {
    await mkdir(join(dir, 'logs'), { recursive: true });
    await createLease(dir, owner);
    // The programs as the containers run them, as a local run keeps them: a step's inputs are loaded into
    // a kernel by its own program (runs/step-inputs.ts).
    for (const s of compiled.plan.steps) {
      await writeFileAtomic(join(dir, 'programs', `${s.runnable.name}.py`), programText(s));
    }
  } catch {
    // the journal below reports what cannot be written
  }
  if (!(await journal.save())) {
    record.followError = journal.failure!;
  }
  const follow = (followOptions: FollowOptions = {}) =>
    followClusterRun(dir, record, run.backend(), run.tasks, {
      pollMs: options.pollMs,
      ...followOptions,
      cleanup: run.cleanup
    });
  return { record, follow };
}

async function snapshotWorkspace(
  workspace: ClusterWorkspace,
  options: ClusterSubmitOptions,
  id: string,
  kube: (action: string) => KubeClients,
  labels: Record<string, string>
): Promise<TakenSnapshot[]> {
  if (workspace.snapshot.length === 0) {
    return [];
  }
  const kc = kube('snapshot the workspace volumes');
  const availability = await planSnapshots(kc, workspace.namespace, workspace.snapshot);
  if (!availability.ok) {
    throw new ClusterError(
      'no-snapshot-class',
      `Cannot snapshot the workspace volumes: ${availability.reason}. Submit with --mount-volumes ` +
        '(HTTP: "volumes": "mount") to mount the existing volumes instead; steps then see the files as they ' +
        'are when they run, and need ReadWriteMany volumes to run on other nodes.'
    );
  }
  return takeSnapshots(kc, availability.plans, {
    runId: id,
    namespace: workspace.namespace,
    labels: {
      'cellpipe.dev/pipeline': options.analysis.pipeline.name
        .toLowerCase()
        .replace(/[^a-z0-9.-]/g, '-')
        .slice(0, 63),
      ...labels
    },
    timeoutMs: options.snapshotTimeoutMs,
    pollMs: options.pollMs
  });
}

/** The error of a submission that failed after snapshots were taken, once they are deleted again. */
async function withSnapshotsDeleted(
  err: unknown,
  taken: TakenSnapshot[],
  namespace: string,
  kube: (action: string) => KubeClients
): Promise<unknown> {
  if (taken.length === 0) {
    return err;
  }
  const left = await deleteSnapshots(
    kube('delete the snapshots'),
    namespace,
    taken.map(t => t.snapshot)
  );
  if (!(err instanceof ClusterError)) {
    return err;
  }
  return new ClusterError(
    err.code,
    `${err.message} ` +
      (left.length > 0
        ? `The VolumeSnapshots ${left.join(', ')} could not be deleted; delete them yourself.`
        : `The VolumeSnapshots taken for this run were deleted.`)
  );
}

/** Follows a cluster run again after the process that followed it was gone, from its record. */
export function refollowClusterRun(
  dir: string,
  record: RunRecord,
  connection: Pick<ClusterConnection, 'kube' | 'kfpToken'>,
  options: FollowOptions = {}
): Promise<FollowResult> | null {
  const cluster = record.cluster;
  if (!cluster) {
    return null;
  }
  const kube = kubeAccess(connection);
  const { backend, tasks } = recordedBackend(record, connection, kube);
  // A scheduled run's snapshots are its schedule's: every run it starts restores from them.
  const cleanup = record.schedule
    ? undefined
    : snapshotCleanup(
        kube,
        cluster.namespace,
        (record.snapshots ?? []).flatMap(s => (s.snapshot ? [s.snapshot] : []))
      );
  return backend ? followClusterRun(dir, record, backend, tasks, { ...options, cleanup }) : null;
}

/** The engine's view of a recorded cluster run (to follow it, read its steps' data); null when it cannot. */
export function recordedBackend(
  record: RunRecord,
  connection: Pick<ClusterConnection, 'kube' | 'kfpToken'>,
  kube = kubeAccess(connection)
): { backend: ClusterBackend | null; tasks: Map<string, string> } {
  const tasks = new Map(Object.entries(record.clusterTasks ?? {}).map(([step, task]) => [task, step]));
  const backend = record.cluster
    ? CLUSTER_TARGETS[record.cluster.kind].follow(record.cluster, tasks, {
        kube,
        kfpToken: connection.kfpToken
      })
    : null;
  return { backend, tasks };
}

/**
 * Deletes the run's VolumeSnapshots once it has ended (its restored claims are gone with the workflow), so
 * a run leaves nothing behind; a snapshot that cannot be deleted is named in the run's warnings.
 */
export function snapshotCleanup(
  kube: (action: string) => KubeClients,
  namespace: string,
  names: string[]
): ((record: Pick<RunRecord, 'warnings'>) => Promise<void>) | undefined {
  if (names.length === 0) {
    return undefined;
  }
  return async record => {
    let left: string[];
    try {
      left = await deleteSnapshots(kube('delete the snapshots'), namespace, names);
    } catch {
      left = names;
    }
    if (left.length > 0) {
      addWarnings(
        record,
        `The VolumeSnapshots ${left.join(', ')} of this run could not be deleted; delete them yourself.`
      );
    }
  };
}

/** A sweep's snapshot cleanup, run once its last trial has ended: the warnings of what it could not delete. */
export function sweepSnapshotCleanup(
  kube: (action: string) => KubeClients,
  namespace: string,
  names: string[]
): () => Promise<string[]> {
  const cleanup = snapshotCleanup(kube, namespace, names);
  return async () => {
    const said: Pick<RunRecord, 'warnings'> = {};
    await cleanup?.(said);
    return said.warnings ?? [];
  };
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
