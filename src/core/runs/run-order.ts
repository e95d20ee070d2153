/**
 * Which of two states of a run, or of one of its steps, is the later: the one rule for every shell that
 * holds a run while newer news of it may already have come (the frontend's listings, reads and events; the
 * server's and CLI's `readRun`, between run.json and the final record beside the run's folder). Answers land
 * out of order: a listing that left the server before a step event arrived must not take the step back.
 *
 * The order:
 * - a finished state (a finished step, an ended run) never gives way to an unfinished one;
 * - otherwise the higher `seq` is the later (the owner counts every change it makes, `RunLifecycle`), so
 *   a correction the owner records (a step it found never started, queued again) is shown too;
 * - a state without `seq` (a record from before runs were counted) is later when its stage is not earlier
 *   (queued, then running, then finished);
 * - of two equally late states the one heard last is kept: it may say more of the same state.
 */
import type { RunEvent, RunRecord, RunStatus, StepRecord, StepStatus } from './run-record';

const STAGE: Record<StepStatus, number> = {
  queued: 0,
  running: 1,
  succeeded: 2,
  failed: 2,
  skipped: 2,
  cancelled: 2
};

const RUN_STATUSES: ReadonlySet<string> = new Set<RunStatus>(['running', 'succeeded', 'failed', 'cancelled']);

/** Where a step is on its way (queued 0, running 1, finished 2); a step moves forward only. */
export function stage(status: StepStatus | RunStatus): number {
  return STAGE[status];
}

/** A state of a step or run, as some answer or event showed it. */
export interface Stamped {
  status: StepStatus | RunStatus;
  seq?: number;
}

/** Whether `next` may replace `shown` (see the order above). */
export function supersedes(shown: Stamped | undefined, next: Stamped): boolean {
  if (!shown) {
    return true;
  }
  if (stage(shown.status) === 2 && stage(next.status) < 2) {
    return false;
  }
  if (shown.seq !== undefined && next.seq !== undefined) {
    return next.seq >= shown.seq;
  }
  return stage(next.status) >= stage(shown.status);
}

/**
 * The run as known from `shown` and a record of it read since (`next`): the run's own fields from the
 * later of the two, each step from whichever of the two has it later. `shown` itself when `next` adds
 * nothing newer.
 */
export function mergeRun(shown: RunRecord, next: RunRecord): RunRecord {
  const base = supersedes(shown, next) ? next : shown;
  const steps: Record<string, StepRecord> = { ...base.steps };
  for (const [name, step] of Object.entries(shown.steps)) {
    const other = next.steps[name];
    steps[name] = other && supersedes(step, other) ? other : step;
  }
  for (const [name, step] of Object.entries(next.steps)) {
    steps[name] ??= step;
  }
  const same = base === shown && Object.entries(steps).every(([name, s]) => shown.steps[name] === s);
  return same ? shown : { ...base, steps };
}

/** The run after one of the server's events; `record` itself when the event is of another run or older. */
export function applyRunEvent(record: RunRecord, event: RunEvent): RunRecord {
  if (event.run !== record.id) {
    return record;
  }
  if (event.step !== undefined) {
    const next = event.record;
    if (!next || !supersedes(record.steps[event.step], next)) {
      return record;
    }
    return { ...record, steps: { ...record.steps, [event.step]: next } };
  }
  const status = event.status as RunStatus;
  if (
    !RUN_STATUSES.has(status) ||
    status === record.status ||
    !supersedes(record, { status, seq: event.seq })
  ) {
    return record;
  }
  // Only the status: the rest of the ended run (its reason, metrics, finish) comes with its record.
  return { ...record, status, ...(event.seq !== undefined ? { seq: event.seq } : {}) };
}
