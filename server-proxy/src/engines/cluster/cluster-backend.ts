/** What the follow loop needs from a submitted cluster run, whichever the engine (Argo or KFP). */
import type { ClusterStepInfo, RunStatus, StepStatus } from '../../../../src/core/runs/run-record';

export interface TaskState {
  status: StepStatus;
  started?: string;
  finished?: string;
  message?: string;
  /** The task's metrics when the engine reports them (Argo output parameter `metrics`). */
  metrics?: Record<string, unknown>;
  /** The task's cell outputs (nbformat, by cell index) when the engine returns them (Argo: `outputs`). */
  outputs?: Record<string, unknown>;
  /** Its pod, node, why it waits, retries so far, as far as the engine tells. */
  cluster?: ClusterStepInfo;
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
}
