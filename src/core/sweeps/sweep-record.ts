/**
 * What a sweep records in `.cellpipe/sweeps/SWEEP_ID.json` beside the notebook: its axes, its trials
 * (each one a run that opens like any other), the steps every trial shares and the best trial. The
 * contract between the sweep runner, the CLI and the frontend. Types only.
 */
import type { ClusterInfo, RunStatus } from '../runs/run-record';
import type { ParameterValue } from '../tags/parameters';
import type { Objective, SweepAxis } from './sweep-plan';

export interface TrialRecord {
  /** `gamma=0.01 C=10` */
  label: string;
  parameters: Record<string, ParameterValue>;
  /** The trial's run, once it started. */
  run?: string;
  /** Katib: the Trial's name (its Workflow has the same name); Katib's trials are not cellpipe runs. */
  clusterTrial?: string;
  status: RunStatus | 'queued' | 'not-run';
  /** Why a trial did not run (a shared step failed in the trial that ran it). */
  reason?: string;
  metrics?: Record<string, unknown>;
  seconds?: number;
}

export interface SweepRecord {
  id: string;
  notebook: string;
  /** Where the trials ran when not on the local engine. */
  target?: 'argo' | 'kfp' | 'katib';
  /** Argo: the one Workflow of every trial. */
  cluster?: ClusterInfo;
  /** Katib: the Experiment. */
  experiment?: { name: string; namespace: string };
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  started: string;
  finished?: string;
  axes: SweepAxis[];
  /** Random search: how many draws, from which seed. */
  random?: { trials: number; seed: number };
  objective?: Objective;
  /** Steps that read no swept parameter: run once, by the first trial, and taken from the cache by the others. */
  shared: string[];
  maxParallel: number;
  trials: TrialRecord[];
  /** The index of the best trial by the objective. */
  best?: number;
  /** What went wrong around the trials (snapshots that could not be deleted). */
  warnings?: string[];
}
