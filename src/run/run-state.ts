/**
 * A run as the UI shows it, built from the server's run record and kept
 * current by its live events. Pure, so it is tested without a browser.
 */
import type { RunEvent, RunRecord, RunStatus, StepRecord, StepStatus } from '../core/runs/run-record';

export type { RunEvent, RunRecord, RunStatus, StepRecord };

/** A step taken from the cache shows as `cached`, not as a fresh success. */
export type StepState = StepStatus | 'cached';

export interface StepView {
  state: StepState;
  seconds?: number;
  error?: StepRecord['error'];
  skippedBecause?: string;
  waiting?: string;
}

export interface RunView {
  id: string;
  status: RunStatus;
  started: string;
  finished?: string;
  parameters: Record<string, unknown>;
  order: string[];
  steps: Record<string, StepView>;
  metrics: Record<string, unknown>;
  target: 'local' | 'kfp' | 'argo';
  cluster?: RunRecord['cluster'];
  snapshots: NonNullable<RunRecord['snapshots']>;
  /** What the user should know: submission warnings, and why following stopped. */
  notes: string[];
}

function stepView(record: StepRecord): StepView {
  return {
    // A step taken from the cache is shown as such, not as a fresh success.
    state: record.cached && record.status === 'succeeded' ? 'cached' : record.status,
    seconds: record.seconds,
    error: record.error,
    skippedBecause: record.skippedBecause,
    waiting: record.waiting
  };
}

/** Parameters are recorded typed ({type, value}); the UI shows the values. */
function parameterValues(parameters: RunRecord['parameters']): Record<string, unknown> {
  return Object.fromEntries(Object.entries(parameters).map(([name, p]) => [name, p.value]));
}

export function runView(record: RunRecord): RunView {
  return {
    id: record.id,
    status: record.status,
    started: record.started,
    finished: record.finished,
    parameters: parameterValues(record.parameters),
    order: record.order,
    steps: Object.fromEntries(Object.entries(record.steps).map(([name, s]) => [name, stepView(s)])),
    metrics: record.metrics,
    target: record.target ?? 'local',
    cluster: record.cluster,
    snapshots: record.snapshots ?? [],
    notes: [...(record.warnings ?? []), ...(record.followError ? [record.followError] : [])]
  };
}

const RUN_STATUSES: readonly string[] = ['running', 'succeeded', 'failed', 'cancelled'];

/** The run after one event; events of other runs leave it unchanged (the same object). */
export function applyRunEvent(run: RunView, event: RunEvent): RunView {
  if (event.run !== run.id) {
    return run;
  }
  if (event.step !== undefined && event.record) {
    return { ...run, steps: { ...run.steps, [event.step]: stepView(event.record) } };
  }
  if (event.step === undefined && RUN_STATUSES.includes(event.status)) {
    return { ...run, status: event.status as RunStatus };
  }
  return run;
}

/**
 * A notebook: step's state, from the states of the steps of its sub-pipeline (`NAME.STEP`): failed or
 * running when one is, finished when all are; undefined before any ran.
 */
export function notebookStepView(steps: Record<string, StepView>, name: string): StepView | undefined {
  const inside = Object.entries(steps)
    .filter(([step]) => step.startsWith(`${name}.`))
    .map(([, s]) => s);
  if (inside.length === 0) {
    return undefined;
  }
  for (const state of ['failed', 'running', 'cancelled', 'skipped', 'queued'] as const) {
    const first = inside.find(s => s.state === state);
    if (first) {
      return first;
    }
  }
  const seconds = inside.reduce((sum, s) => sum + (s.seconds ?? 0), 0);
  return { state: inside.every(s => s.state === 'cached') ? 'cached' : 'succeeded', seconds };
}

/** Seconds from start to finish (or to `now` while running). */
export function runSeconds(run: Pick<RunView, 'started' | 'finished'>, now: number = Date.now()): number {
  const end = run.finished ? Date.parse(run.finished) : now;
  return Math.max(0, (end - Date.parse(run.started)) / 1000);
}

/** Metric names across runs, and one row per run, for the comparison table and chart. */
export function compareMetrics(runs: readonly RunView[]): {
  names: string[];
  rows: Array<{ run: string; values: Record<string, number | string | null> }>;
} {
  const names = [...new Set(runs.flatMap(r => Object.keys(r.metrics)))].sort();
  const rows = runs.map(r => ({
    run: r.id,
    values: Object.fromEntries(
      names.map(n => {
        const v = r.metrics[n];
        return [
          n,
          typeof v === 'number' || typeof v === 'string' ? v : v === undefined ? null : JSON.stringify(v)
        ];
      })
    )
  }));
  return { names, rows };
}
