/**
 * The run lifecycle, once, for every engine: the local engine drives it from its step processes, the
 * cluster follow loop from what the cluster reports. Pure (no I/O): it changes a `RunRecord` and tells a
 * listener which step changed.
 *
 * The rules:
 * - a step moves forward only: queued → running → finished (succeeded, failed, skipped, cancelled), or
 *   queued → finished; a late or repeated report of an earlier state is ignored;
 * - every change is counted (`seq` of the run, and of the step it changed; never below the clock in ms, so
 *   a later owner counts on above an earlier one), so that a reader holding two states of the run knows the
 *   later one (`run-order.ts`);
 * - a queued step whose upstream step failed or was skipped is skipped, naming that upstream step (on its
 *   own branch, never an unrelated failure);
 * - a step is ready when every upstream step succeeded;
 * - the end of a run is decided by `finish`: steps still unfinished are settled (skipped below a failure,
 *   cancelled on cancel, otherwise stopped for the run's reason), then the run's status and reason follow
 *   from its steps: succeeded only when every step succeeded.
 */
import type { RunRecord, RunStatus, StepRecord, StepStatus } from './run-record';
import { stage } from './run-order';

export const FINISHED: ReadonlySet<StepStatus> = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

export type StepListener = (step: string, record: StepRecord) => void;

/** How a run ends when it does not end by itself (every step finished). */
export interface RunOutcome {
  /** The user asked to stop it. */
  cancelled?: boolean;
  /** The run cannot go on (its folder cannot be written, the cluster run failed or vanished…). */
  failure?: string;
  /** ISO time of the end. */
  now: string;
}

export class RunLifecycle {
  constructor(
    readonly record: RunRecord,
    private readonly listener: StepListener = () => undefined,
    /** Milliseconds now: the count never falls below it (see `count`). */
    private readonly clock: () => number = Date.now
  ) {}

  status(step: string): StepStatus {
    return this.record.steps[step].status;
  }

  /** Upstream steps: the plan's (prev: edges and data providers). */
  deps(step: string): string[] {
    return this.record.plan.deps[step] ?? [];
  }

  /**
   * Moves a step to a later state (fields of the old record that still apply are kept); returns false, and
   * changes nothing, when the change would move it back or repeat its state.
   */
  move(step: string, next: Partial<StepRecord> & { status: StepStatus }): boolean {
    const old = this.record.steps[step];
    if (!old || stage(next.status) <= stage(old.status)) {
      return false;
    }
    const kept: StepRecord = { status: next.status, cached: old.cached };
    if (old.started) {
      kept.started = old.started;
    }
    this.record.steps[step] = { ...kept, ...next, seq: this.count() };
    this.listener(step, this.record.steps[step]);
    return true;
  }

  /** Adds facts to a step without changing its state (its process; why it waits); `announce`: tell the listener. */
  annotate(step: string, fields: Partial<Omit<StepRecord, 'status'>>, announce = false): void {
    this.record.steps[step] = { ...this.record.steps[step], ...fields, seq: this.count() };
    if (announce) {
      this.listener(step, this.record.steps[step]);
    }
  }

  /**
   * Puts a step recorded running back in the queue: a correction, when a new owner finds it never
   * started (no process, no log), not a step moving back; counted like any change, so readers take it.
   */
  requeue(step: string): void {
    this.record.steps[step] = { status: 'queued', cached: false, seq: this.count() };
    this.listener(step, this.record.steps[step]);
  }

  /** The upstream step that keeps `step` from running: a failed one first, else a skipped one. */
  blocker(step: string): string | undefined {
    const deps = this.deps(step);
    return (
      deps.find(d => this.record.steps[d]?.status === 'failed') ??
      deps.find(d => this.record.steps[d]?.status === 'skipped')
    );
  }

  /** Skips every queued step below a failed or skipped one, in order (so skips reach down); returns them. */
  skipBlocked(): string[] {
    const skipped: string[] = [];
    for (const step of this.record.order) {
      if (this.status(step) === 'queued') {
        const blocker = this.blocker(step);
        if (blocker && this.move(step, { status: 'skipped', cached: false, skippedBecause: blocker })) {
          skipped.push(step);
        }
      }
    }
    return skipped;
  }

  /** Queued steps whose upstream steps all succeeded, in order. */
  ready(): string[] {
    return this.record.order.filter(
      step => this.status(step) === 'queued' && this.deps(step).every(d => this.status(d) === 'succeeded')
    );
  }

  /** Queued steps waiting only for `step` (their other upstream steps succeeded), in order. */
  readyAfter(step: string): string[] {
    return this.record.order.filter(
      s =>
        this.status(s) === 'queued' &&
        this.deps(s).includes(step) &&
        this.deps(s).every(d => d === step || this.status(d) === 'succeeded')
    );
  }

  running(): string[] {
    return this.record.order.filter(step => this.status(step) === 'running');
  }

  /** Every step has finished. */
  settled(): boolean {
    return this.record.order.every(step => FINISHED.has(this.status(step)));
  }

  /**
   * Ends the run: the one rule for its final state. Unfinished steps are settled first: below a failure
   * they are skipped; on cancel they are cancelled; otherwise a running step failed and a queued one is
   * skipped, both for `outcome.failure`.
   */
  finish(outcome: RunOutcome): RunRecord {
    this.skipBlocked();
    const why = outcome.failure ?? 'The run stopped before this step finished.';
    for (const step of this.record.order) {
      const status = this.status(step);
      if (FINISHED.has(status)) {
        continue;
      }
      if (outcome.cancelled) {
        this.move(
          step,
          status === 'running' ? { status: 'cancelled', finished: outcome.now } : { status: 'cancelled' }
        );
      } else if (status === 'running') {
        this.move(step, {
          status: 'failed',
          finished: outcome.now,
          error: { message: why, cell: null, line: null }
        });
      } else {
        this.move(step, { status: 'skipped', reason: why });
      }
      this.skipBlocked();
    }
    const record = this.record;
    record.status = finalStatus(record, outcome);
    const reason = runReason(record, outcome);
    if (reason) {
      record.reason = reason;
    } else {
      delete record.reason;
    }
    record.finished = outcome.now;
    this.count();
    return record;
  }

  /**
   * Counts one more change of the run; its number: one above the last, and never below the clock (ms). An
   * owner announces a change before the journal has written it, so one that dies may have announced more
   * than run.json says; the next owner, going on from run.json later, still counts above all of them.
   */
  private count(): number {
    this.record.seq = Math.max((this.record.seq ?? 0) + 1, this.clock());
    return this.record.seq;
  }
}

function finalStatus(record: RunRecord, outcome: RunOutcome): RunStatus {
  const all = record.order.every(step => record.steps[step].status === 'succeeded');
  if (all && !outcome.failure) {
    return 'succeeded';
  }
  return outcome.cancelled ? 'cancelled' : 'failed';
}

/** The run's reason in one line: what the user reads first. */
function runReason(record: RunRecord, outcome: RunOutcome): string | undefined {
  if (record.status === 'succeeded') {
    return undefined;
  }
  if (outcome.failure) {
    return outcome.failure;
  }
  if (record.status === 'cancelled') {
    return 'Cancelled.';
  }
  const failed = record.order.filter(step => record.steps[step].status === 'failed');
  if (failed.length === 0) {
    return undefined;
  }
  const first = record.steps[failed[0]].error?.message ?? 'it failed';
  const more =
    failed.length > 1 ? ` (and ${failed.length - 1} more step${failed.length > 2 ? 's' : ''})` : '';
  return `Step ${failed[0]} failed: ${first}${more}`;
}

/** Why a skipped step was skipped, as a person reads it: "s3 failed", "s3 was skipped", or the run's reason. */
export function skipExplanation(record: RunRecord, step: string): string {
  const s = record.steps[step];
  const upstream = s?.skippedBecause;
  if (upstream) {
    const status = record.steps[upstream]?.status;
    return status === 'failed' ? `${upstream} failed` : `${upstream} was skipped`;
  }
  return s?.reason ?? 'skipped';
}
