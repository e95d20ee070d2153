/**
 * How the CLI shows runs, for `run`, `submit` and `runs` alike: a line per step change, the run's end in
 * one line (with its reason on stderr), the JSON object of `--json`, and the listing of earlier runs.
 * Errors name the notebook, the cell and the line when the step knows them.
 */
import { basename } from 'path';
import { skipExplanation } from '../../../src/core/runs/lifecycle';
import type { RunRecord, StepRecord } from '../../../src/core/runs/run-record';
import { WARM_OFF } from '../engines/local/warm-pool';

const SYMBOL: Partial<Record<StepRecord['status'], string>> = {
  running: '▶',
  cancelled: '■',
  succeeded: '✓',
  failed: '✗',
  skipped: '–'
};

export class RunPrinter {
  /** Steps whose error was printed as they failed: the run's end does not say it again. */
  private readonly shown = new Set<string>();

  constructor(
    private readonly err: NodeJS.WritableStream,
    private readonly out: NodeJS.WritableStream,
    private readonly json = false
  ) {}

  /** A step changed: `✓ train 2.1 s`, `– report (skipped: train failed)`, `✗ train 0.4 s` and its error. */
  step(record: RunRecord, step: string): void {
    const s = record.steps[step];
    if (this.json) {
      return;
    }
    if (s.status === 'queued' && s.waiting) {
      // A cluster step that does not start yet: why, and what to do.
      this.err.write(`… ${step} waiting: ${s.waiting}\n`);
      return;
    }
    const symbol = SYMBOL[s.status];
    if (!symbol) {
      return;
    }
    const detail =
      s.status === 'running'
        ? ''
        : s.status === 'skipped'
          ? ` (skipped: ${skipExplanation(record, step)})`
          : s.cached
            ? ' (cached)'
            : s.seconds !== undefined
              ? ` ${s.seconds.toFixed(1)} s`
              : '';
    this.err.write(`${symbol} ${step}${detail}\n`);
    if (s.status === 'failed' && s.error) {
      this.err.write(`    ${stepError(record, s.error)}\n`);
      this.shown.add(step);
    }
  }

  /** The end (or where following stopped): one line on stdout, the reason on stderr; or the JSON object. */
  end(record: RunRecord, timedOut = false): void {
    if (this.json) {
      this.out.write(JSON.stringify(runJson(record, timedOut), null, 2) + '\n');
      // stdout is for programs; what went wrong is still said to the person on stderr, a line per step.
      for (const step of record.order) {
        const error = record.steps[step].error;
        if (record.steps[step].status === 'failed' && error) {
          this.err.write(`cellpipe: ${stepError(record, error)}\n`);
        }
      }
      return;
    }
    const metrics = Object.entries(record.metrics).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    const state = timedOut ? `still ${record.status} (stopped following at --timeout)` : record.status;
    this.out.write(`run ${record.id} ${state}` + (metrics.length ? `: ${metrics.join(', ')}` : '') + '\n');
    const firstFailed = record.order.find(step => record.steps[step].status === 'failed');
    const said =
      firstFailed !== undefined &&
      this.shown.has(firstFailed) &&
      record.reason?.startsWith(`Step ${firstFailed} failed`);
    if (record.reason && record.status !== 'succeeded' && !timedOut && !said) {
      this.err.write(`cellpipe: ${basename(record.notebook)}: ${record.reason}\n`);
    }
    if (record.followError) {
      this.err.write(`cellpipe: stopped following: ${record.followError}\n`);
    }
    const processes = record.processes;
    if (processes?.kind === 'fresh' && processes.reason && processes.reason !== WARM_OFF) {
      this.err.write(`cellpipe: steps started as fresh Pythons, not forked: ${processes.reason}\n`);
    }
  }

  /** `cellpipe runs`: one line per run, newest first. */
  list(runs: RunRecord[]): void {
    if (this.json) {
      this.out.write(JSON.stringify(runs, null, 2) + '\n');
      return;
    }
    for (const run of runs) {
      const seconds = run.finished ? (Date.parse(run.finished) - Date.parse(run.started)) / 1000 : null;
      const metrics = Object.entries(run.metrics).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
      this.out.write(
        `${run.id}  ${run.status.padEnd(9)}  ${run.started}  ${seconds === null ? '' : `${seconds.toFixed(1)} s`}` +
          (metrics.length ? `  ${metrics.join(', ')}` : '') +
          '\n'
      );
      if (run.status !== 'succeeded' && run.reason) {
        this.out.write(`    ${run.reason}\n`);
      }
      if (run.orphan) {
        const live = run.orphan.liveSteps;
        this.out.write(
          `    its owner, ${run.orphan.owner}, is gone` +
            (live.length > 0 ? `; still running without it: ${live.join(', ')}` : '') +
            (run.orphan.kind === 'server'
              ? '; the cellpipe server resumes it when the notebook is opened'
              : '') +
            '\n'
        );
      }
      if (run.cluster && run.status === 'running') {
        this.out.write(`    ${lastSeen(run)}\n`);
      }
    }
  }
}

/** When the state a cluster run's record shows, still running, was read from the cluster. */
export function lastSeen(record: Pick<RunRecord, 'seen' | 'started'>): string {
  return `as last seen on the cluster, at ${record.seen ?? `${record.started} (when it was submitted)`}`;
}

/** `nb.ipynb, cell 2, line 3: …` when the error has a place (the runtime's message already says it). */
function stepError(record: RunRecord, error: NonNullable<StepRecord['error']>): string {
  const file = basename(record.notebook);
  return error.cell === null ? `${file}: ${error.message}` : `${file}, ${error.message}`;
}

/** The `--json` object of `run` and `submit`: a stable contract for scripts. */
export function runJson(record: RunRecord, timedOut = false): Record<string, unknown> {
  return {
    run: record.id,
    status: record.status,
    ...(record.reason ? { reason: record.reason } : {}),
    timedOut,
    target: record.target ?? 'local',
    ...(record.cluster ? { cluster: record.cluster } : {}),
    ...(record.snapshots ? { snapshots: record.snapshots } : {}),
    ...(record.processes ? { processes: record.processes } : {}),
    // What the person reads on stderr without --json (a file written while it was snapshotted, ...).
    ...(record.warnings?.length ? { warnings: record.warnings } : {}),
    steps: record.order.map(name => {
      const s = record.steps[name];
      return {
        name,
        status: s.status,
        cached: s.cached,
        seconds: s.seconds ?? null,
        ...(s.error ? { error: s.error } : {}),
        ...(s.skippedBecause ? { skippedBecause: s.skippedBecause } : {})
      };
    }),
    metrics: record.metrics
  };
}
