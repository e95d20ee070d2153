/** What a local run records in `.cellpipe/runs/RUN_ID/run.json`. */
import type { ParameterValue } from '../../../../src/core/tags/parameters';

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
  /** The process running it; a "running" run whose owner is gone is resumed. */
  owner?: number;
  /** How many times it was resumed. */
  resumed?: number;
  steps: Record<string, StepRecord>;
  metrics: Record<string, unknown>;
}
