/**
 * What a run records in `.cellpipe/runs/RUN_ID/run.json` (local runs, and cluster runs with `cluster`),
 * and the events the server sends as it changes: the contract between the engines, the server, the CLI
 * and the frontend. Types only.
 */
import type { ParameterValue } from '../tags/parameters';

export type StepStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface StepRecord {
  status: StepStatus;
  cached: boolean;
  started?: string;
  finished?: string;
  seconds?: number;
  exitCode?: number | null;
  /** For a failed step: what went wrong, with the notebook cell (0-based) and line when known. */
  error?: { message: string; cell: number | null; line: number | null };
  /** For a skipped step: the upstream step that failed. */
  skippedBecause?: string;
  /**
   * For a queued step on a cluster: why it does not start yet and what to do (unschedulable, quota, an
   * image that cannot be pulled), as one line.
   */
  waiting?: string;
}

export interface RunRecord {
  id: string;
  notebook: string;
  pipeline: string;
  status: RunStatus;
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
  /** The process running it (pid); a "running" run whose owner is gone is resumed. */
  owner?: number;
  /** When that process started (so that another process with the same pid is not taken for it). */
  ownerStarted?: string;
  /** How many times it was resumed. */
  resumed?: number;
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
  /** What the user should know about how it was submitted (image fallback, pod not readable…). */
  warnings?: string[];
  /** Why following a cluster run stopped before it finished (the run may still be going). */
  followError?: string;
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
}
