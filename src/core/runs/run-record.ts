/**
 * What a run records in `.cellpipe/runs/RUN_ID/run.json` (local runs, and cluster runs with `cluster`),
 * and the events the server sends as it changes: the contract between the engines, the server, the CLI
 * and the frontend. Types only.
 */
import type { ParameterValue } from '../tags/parameters';
import type { RunLineage } from './lineage';

export type StepStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface StepRecord {
  status: StepStatus;
  cached: boolean;
  /**
   * The run's change (`RunRecord.seq`) that last changed this step: of two states of the step, read or
   * heard at different times, the one with the higher number is the later (`run-order.ts`).
   */
  seq?: number;
  /** A step taken from the cache: the run whose result (data, outputs, log) it is. */
  cachedFrom?: string;
  started?: string;
  finished?: string;
  seconds?: number;
  exitCode?: number | null;
  /** The signal that ended the step's process (e.g. `SIGKILL`), when one did. */
  signal?: string;
  /** For a failed step: what went wrong, with the notebook cell (0-based) and line when known. */
  error?: { message: string; cell: number | null; line: number | null };
  /** For a skipped step: its upstream step, on its own branch, that failed or was skipped. */
  skippedBecause?: string;
  /** Why a step was skipped or cancelled when no upstream step explains it (the run itself stopped). */
  reason?: string;
  /** Local runs: the step's process, so that a new owner of the run finds it (see `RunOwner`). */
  process?: ProcessRef;
  /**
   * Local runs: the step started as a fork of the process of `from`, its upstream step whose cells had run
   * and which held its outputs in memory (it counts as succeeded only once `from` has saved them); with
   * `refused`, it waited for the files instead, and why (what `from`'s cells left that a fork would break).
   */
  handoff?: { from: string; refused?: string };
  /**
   * For a queued step on a cluster: why it does not start yet and what to do (unschedulable, quota, an
   * image that cannot be pulled), as one line.
   */
  waiting?: string;
  /** A cluster step: where it runs and how often it was retried. */
  cluster?: ClusterStepInfo;
}

/** What the cluster says about a step's pod, as the follow loop last read it. */
export interface ClusterStepInfo {
  /** The pod running the step (its latest attempt). */
  pod?: string;
  /** The node the pod was scheduled on. */
  node?: string;
  /** Attempts after the first so far (the step's retries setting). */
  retries?: number;
}

/** A process, told apart from a later one with the same pid by its start (boot id and start time). */
export interface ProcessRef {
  pid: number;
  start?: string;
}

/** Who runs a run: the cellpipe server or a `cellpipe run`/`submit` process, on this host. */
export interface RunOwner extends ProcessRef {
  kind: 'server' | 'cli';
  host: string;
}

/** What a reader adds to a run whose owner is gone (never stored in run.json). */
export interface OrphanState {
  /** The owner that is gone, as a person reads it (`cellpipe run (pid 123)`). */
  owner: string;
  kind: RunOwner['kind'];
  /** Steps whose process still runs without an owner; their results are kept when they end. */
  liveSteps: string[];
}

export interface RunRecord {
  id: string;
  notebook: string;
  pipeline: string;
  status: RunStatus;
  /**
   * How many changes the run's lifecycle has made to it so far, counted by its owner (and the next one, which
   * goes on from the record): a record with a higher number was taken later (`run-order.ts`). Absent in a
   * record from before runs were counted.
   */
  seq?: number;
  started: string;
  finished?: string;
  parameters: Record<string, ParameterValue>;
  /** Content hash of the notebook's folder as the steps saw it (files listed in workspace.json). */
  workspace?: string;
  /**
   * The snapshot the steps worked in (`workspace/`): how many files, how many had to be copied into the
   * store this time, and files a step wrote in place (their store objects were dropped).
   */
  snapshot?: { files: number; copied: number; bytesCopied: number; changedInPlace?: string[] };
  /** Steps in an order that runs each after its upstream steps. */
  order: string[];
  /** How to run (and resume) it: upstream steps, cache keys, and whether a step may come from the cache. */
  plan: { deps: Record<string, string[]>; cacheKeys: Record<string, string>; reuse: Record<string, boolean> };
  /** Why it failed or was cancelled, in one line (the first failed step and its error, or the run's own reason). */
  reason?: string;
  /** The process that runs it now (the lease in the run folder says so; this copy is for people). */
  owner?: RunOwner;
  /** Local runs: the Python the steps run on (a run taken over goes on with the same one). */
  python?: string;
  /** How many times another process took it over after its owner was gone. */
  resumed?: number;
  /**
   * Local runs: how step processes started: `forked` from a warm Python that ran the imports and functions
   * cells once, or `fresh` interpreters (the setting turned warm Pythons off, or `reason` says what in the
   * prelude a fork would break).
   */
  processes?: {
    kind: 'forked' | 'fresh';
    reason?: string;
    /** Forked: the modules of the steps' imports the warm Python imported before forking them. */
    imported?: string[];
    /** Forked: those it left to the steps' own import, with why (the notebook's order must keep it). */
    left?: Record<string, string>;
  };
  /** Set by readers when the owner of a run still marked running is gone (never stored). */
  orphan?: OrphanState;
  steps: Record<string, StepRecord>;
  metrics: Record<string, unknown>;
  /** A cluster run: step name → its task name on the cluster (to map the cluster's tasks back). */
  clusterTasks?: Record<string, string>;
  /** Where it ran: absent or `local` for the local engine. */
  target?: 'local' | 'kfp' | 'argo';
  /** A cluster run: the Workflow or KFP run, its namespace and UI page. */
  cluster?: ClusterInfo;
  /** The workspace volumes of a cluster run: restored from these VolumeSnapshots, or mounted as they are. */
  snapshots?: RecordedSnapshot[];
  /** Cluster runs: `snapshot` (steps see the files as at submission) or `mount` (the live volumes). */
  volumes?: 'snapshot' | 'mount';
  /** What the user should know: how it was submitted (image fallback…), a step that could not be cached. */
  warnings?: string[];
  /** Why following a cluster run stopped before it finished (the run may still be going). */
  followError?: string;
  /** A cluster run: when its state was last read from the cluster (what the record says is as of then). */
  seen?: string;
  /** A cluster run: the user's connection settings it was submitted with (to follow it again the same way). */
  access?: ClusterAccess;
  /** What each step ran with: code, parameters, inputs, workspace, environment (`lineage.ts`). */
  lineage?: RunLineage;
  /** A run a schedule started on the cluster (its CronWorkflow or KFP recurring run): the schedule's name. */
  schedule?: string;
}

export interface RecordedSnapshot {
  /** The notebook's PVC. */
  claim: string;
  mountPath: string;
  /** The VolumeSnapshot (absent when the volume was mounted as it is). */
  snapshot?: string;
  snapshotClass?: string;
  restoreSize?: string;
}

/** Where the run is on the cluster, as recorded in run.json. */
export interface ClusterInfo {
  kind: 'kfp' | 'argo';
  /** Argo: the Workflow's name. */
  name?: string;
  /** KFP: the run id. */
  id?: string;
  namespace: string;
  /** The run in the KFP or Argo UI, when known. */
  url?: string;
  /** KFP: the API endpoint (to follow the run again after a restart). */
  endpoint?: string;
}

/** One server-sent event: a run's or one of its steps' status changed. */
export interface RunEvent {
  run: string;
  notebook: string;
  step?: string;
  status: string;
  record?: StepRecord;
  /** A run's end: the run's `seq` as it ended. */
  seq?: number;
}

/**
 * How the server reaches the cluster for a request (the user's settings in JupyterLab, the CLI's flags);
 * what is left out comes from the server's environment (the pod's service account, KUBECONFIG).
 */
export interface ClusterAccess {
  /** A context of the kubeconfig; absent: its current context (or, in a pod without one, the service account). */
  context?: string;
  /** A file holding the bearer token for Kubeflow Pipelines. */
  tokenFile?: string;
}

/** `POST /api/runs`: what to run and how. The server validates it; the frontend sends it. */
export interface StartRunRequest {
  /** Notebook path relative to the Jupyter root. */
  notebook: string;
  /** Live notebook content (nbformat JSON): runs use what the user sees, saved or not; default: the file. */
  content?: unknown;
  /** NAME → VALUE text, typed by the notebook's parameters (as `--param`). */
  parameters?: Record<string, string>;
  cache?: boolean;
  /** Which steps: all (default), just `step`, or `step` and everything below it. */
  steps?: { mode: 'all' | 'one' | 'from'; step?: string };
  /** How many steps run at once; 0 or absent: one per CPU core. */
  parallel?: number;
  /** Where to run; default: the notebook's target setting. */
  target?: 'local' | 'kfp' | 'argo';
  /** Cluster runs: restore the workspace volumes from snapshots (default) or mount them as they are. */
  volumes?: 'snapshot' | 'mount';
  /** Cluster runs: how to reach the cluster. */
  connection?: ClusterAccess;
}
