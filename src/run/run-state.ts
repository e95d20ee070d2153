/**
 * A run as the UI shows it, built from the server's run record (kept current by its live events through
 * the core's `applyRunEvent`). Pure, so it is tested without a browser.
 */
import type { RunEvent, RunRecord, RunStatus, StepRecord, StepStatus } from '../core/runs/run-record';
import { formatParameter } from '../core/tags/parameters';

export type { RunEvent, RunRecord, RunStatus, StepRecord };

/** A step taken from the cache shows as `cached`, not as a fresh success. */
export type StepState = StepStatus | 'cached';

export interface StepView {
  state: StepState;
  seconds?: number;
  error?: StepRecord['error'];
  skippedBecause?: string;
  /** Why a step was skipped or cancelled when no upstream step explains it. */
  reason?: string;
  /** A cached step: the run whose result it is. */
  cachedFrom?: string;
  /** A queued cluster step: why it does not start yet, and what to do. */
  waiting?: string;
  /** A cluster step: its pod, node and retries. */
  cluster?: StepRecord['cluster'];
}

export interface RunView {
  id: string;
  status: RunStatus;
  started: string;
  finished?: string;
  /** NAME → the value as a Python literal (`1.0`, `"a"`, `[1, 2]`). */
  parameters: Record<string, string>;
  order: string[];
  steps: Record<string, StepView>;
  metrics: Record<string, unknown>;
  target: 'local' | 'kfp' | 'argo';
  cluster?: RunRecord['cluster'];
  snapshots: NonNullable<RunRecord['snapshots']>;
  /** What the user should know: submission warnings, and why following stopped. */
  notes: string[];
  /** What each step ran with (code, parameters, inputs), the workspace and the environment. */
  lineage?: RunRecord['lineage'];
}

function stepView(record: StepRecord): StepView {
  return {
    // A step taken from the cache is shown as such, not as a fresh success.
    state: record.cached && record.status === 'succeeded' ? 'cached' : record.status,
    seconds: record.seconds,
    error: record.error,
    skippedBecause: record.skippedBecause,
    reason: record.reason,
    cachedFrom: record.cachedFrom,
    waiting: record.waiting,
    cluster: record.cluster
  };
}

/** Parameters are recorded typed ({type, value}); the UI shows them as the notebook writes them (Python). */
function parameterTexts(parameters: RunRecord['parameters']): Record<string, string> {
  return Object.fromEntries(Object.entries(parameters).map(([name, p]) => [name, formatParameter(p)]));
}

export function runView(record: RunRecord): RunView {
  return {
    id: record.id,
    status: record.status,
    started: record.started,
    finished: record.finished,
    parameters: parameterTexts(record.parameters),
    order: record.order,
    steps: Object.fromEntries(Object.entries(record.steps).map(([name, s]) => [name, stepView(s)])),
    metrics: record.metrics,
    target: record.target ?? 'local',
    cluster: record.cluster,
    snapshots: record.snapshots ?? [],
    lineage: record.lineage,
    notes: [
      ...(record.status !== 'succeeded' && record.reason ? [record.reason] : []),
      ...(record.orphan
        ? [`Its owner, ${record.orphan.owner}, is gone; cellpipe's server takes it over.`]
        : []),
      ...(record.warnings ?? []),
      ...(record.followError ? [record.followError] : [])
    ]
  };
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
