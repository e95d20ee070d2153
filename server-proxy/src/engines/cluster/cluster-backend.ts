/** What the follow loop needs from a submitted cluster run, whichever the engine (Argo or KFP). */
import type { ClusterStepInfo, RunStatus, StepStatus } from '../../../../src/core/runs/run-record';
import type { StepError } from './step-messages';

export interface TaskState {
  status: StepStatus;
  started?: string;
  finished?: string;
  message?: string;
  /** The task's metrics when the engine reports them (Argo output parameter `metrics`). */
  metrics?: Record<string, unknown>;
  /** The task's cell outputs (nbformat, by cell index) when the engine returns them (Argo: `outputs`). */
  outputs?: Record<string, unknown>;
  /** Its pod, node and retries so far, as far as the engine tells. */
  cluster?: ClusterStepInfo;
  /** For a failed task: the step's own error (cell, line), when it got to run its cells. */
  error?: StepError;
  /** For a queued task: why it does not start yet, as one line (see step-messages.ts). */
  waiting?: string;
}

/** What a finished task left in the artifact store (outputs, metrics), read once when it finishes. */
export interface TaskResults {
  outputs?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  /** A failed task's own error (cell, line) and the message to show, when only the store has them (KFP). */
  error?: { message: string; cell: number | null; line: number | null };
}

/** A value a step saved, as a run folder keeps it: `data/STEP/STEM.json` and `data/STEP/STEM.*`. */
export interface SavedValue {
  /** The runnable step that saved it. */
  step: string;
  /** That step's task on the cluster. */
  task: string;
  /** The file stem (runtime.py `file_stem`; `@state` for the interpreter state). */
  stem: string;
}

export interface ClusterPoll {
  status: 'running' | RunStatus;
  message?: string;
  /** By cluster task name (the DNS label of the step in the compiled pipeline). */
  tasks: Map<string, TaskState>;
}

/** Where a backend's watch reports to (a `WatchQueue`). */
export interface ClusterWatchListener {
  /** The run's state after each event, in order. */
  push(poll: ClusterPoll): void;
  /** The watch stopped for good (refused, or failing): the follow loop polls from now on. */
  giveUp(reason: string): void;
}

export interface ClusterBackend {
  kind: 'kfp' | 'argo';
  poll(): Promise<ClusterPoll>;
  /**
   * Follows the run through a watch stream when the engine has one (Argo: the Workflow's watch; KFP has
   * none). While the returned watch is not `live` (connecting, reconnecting) the follow loop polls.
   */
  watch?(listener: ClusterWatchListener): { readonly live: boolean; stop(): void };
  /** Asks the cluster to stop the run (Argo: shutdown Terminate; KFP: :terminate). */
  cancel(): Promise<void>;
  /** A finished task's log, or a line saying where to read it. */
  log(task: string): Promise<string>;
  /** A finished task's outputs and metrics when they are artifacts rather than part of its state. */
  results?(task: string): Promise<TaskResults>;
  /**
   * Copies values finished steps saved into the folder `into`, as a run folder keeps them (`data/STEP/…`),
   * reading them where the engine keeps them (Argo: the run volume; KFP: the artifact store); `image` runs
   * a pod that reads a volume. Returns the paths copied; a ClusterError `not-found` when they are gone.
   */
  copyValues?(values: SavedValue[], into: string, image: string): Promise<string[]>;
  /** The image a task's pod ran, by digest (`repository@sha256:…`), while its pod is there. */
  image?(task: string): Promise<string | undefined>;
}
