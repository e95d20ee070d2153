/**
 * The CI report of a sweep (`cellpipe sweep --report --junit`): a section of its own for the trials (their
 * parameters, state, objective and other metrics, the best one marked) and, for each failed trial, the
 * step that failed with its cell, line and the last lines of its traceback. Built from the sweep record
 * and its trials' run records; pure, like the run report it extends.
 */
import type { RunRecord } from '../runs/run-record';
import type { SweepRecord, TrialRecord } from '../sweeps/sweep-record';
import { formatParameter } from '../tags/parameters';
import { exceptionName, JUnitCase, JUnitSuite } from './junit';
import {
  code,
  duration,
  fenced,
  inline,
  metricText,
  Report,
  ReportSection,
  table,
  where
} from './run-report';

export interface SweepReportInput {
  sweep: SweepRecord;
  /** The notebook as the reader knows it (a path relative to the repository). */
  notebook: string;
  /** The trials' runs, by run id (a trial that never started has none). */
  runs: Record<string, RunRecord>;
  /** Per run id, per failed step: its traceback lines. */
  tracebacks?: Record<string, Record<string, string[]>>;
  tracebackLines?: number;
}

const MARK: Record<SweepRecord['status'], string> = {
  running: '⏳',
  succeeded: '✅',
  failed: '❌',
  cancelled: '⏹️'
};

const TRIAL_STATE: Record<TrialRecord['status'], string> = {
  queued: '… queued',
  running: '▶ running',
  succeeded: '✓ succeeded',
  failed: '✗ failed',
  cancelled: '■ cancelled',
  'not-run': '– not run'
};

export function sweepReport(input: SweepReportInput): Report {
  const { sweep } = input;
  const sections: ReportSection[] = [{ heading: '', body: summary(input) }, trialsSection(sweep, input.runs)];
  const failures = failuresSection(input);
  if (failures) {
    sections.push(failures);
  }
  return {
    title: `${MARK[sweep.status]} ${pipelineName(input)}: sweep ${sweep.id} ${sweep.status}`,
    sections
  };
}

function pipelineName(input: SweepReportInput): string {
  const run = Object.values(input.runs)[0];
  return run?.pipeline ?? input.notebook.split('/').pop() ?? input.notebook;
}

function summary(input: SweepReportInput): string {
  const { sweep } = input;
  const counts = new Map<string, number>();
  for (const t of sweep.trials) {
    counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  }
  const states = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  const search = sweep.random
    ? `random search (${sweep.random.trials} draws, seed ${sweep.random.seed})`
    : 'grid';
  const seconds = sweep.finished ? (Date.parse(sweep.finished) - Date.parse(sweep.started)) / 1000 : null;
  const lines = [
    [
      code(input.notebook),
      search,
      `${sweep.trials.length} trial${sweep.trials.length === 1 ? '' : 's'}: ${states}`,
      ...(seconds === null ? [] : [duration(seconds)])
    ].join(' · '),
    `Swept: ${sweep.axes.map(a => code(a.name)).join(', ')}`,
    ...(sweep.shared.length > 0 ? [`Run once for every trial: ${sweep.shared.map(code).join(', ')}`] : []),
    ...(sweep.objective
      ? [
          sweep.best !== undefined
            ? `Best: trial ${sweep.best + 1} (${code(sweep.trials[sweep.best].label)}), ` +
              `${code(sweep.objective.metric)} ${sweep.objective.goal === 'max' ? 'highest' : 'lowest'}`
            : `No trial recorded ${code(sweep.objective.metric)} as a number.`
        ]
      : [])
  ];
  return lines.join('  \n');
}

function trialsSection(sweep: SweepRecord, runs: Record<string, RunRecord>): ReportSection {
  const names = sweep.axes.map(a => a.name);
  const objective = sweep.objective?.metric;
  const metrics = [...new Set(sweep.trials.flatMap(t => Object.keys(t.metrics ?? {})))]
    .filter(m => m !== objective)
    .sort();
  const columns = [...(objective ? [objective] : []), ...metrics];
  const rows = sweep.trials.map((t, i) => {
    let state = TRIAL_STATE[t.status];
    const failed = t.run ? failedStep(runs[t.run]) : null;
    if (failed) {
      state += `: ${failed.step}, ${where(failed.error)}`;
    } else if (t.reason) {
      state += ` (${t.reason})`;
    }
    return [
      sweep.best === i ? `**${i + 1}** ★` : String(i + 1),
      ...names.map(n => (t.parameters[n] ? code(formatParameter(t.parameters[n])) : '')),
      inline(state),
      ...columns.map(m => metricText(t.metrics?.[m])),
      t.run ? code(t.run) : ''
    ];
  });
  const head = [
    'Trial',
    ...names.map(code),
    'State',
    ...columns.map(m => (m === objective ? `${code(m)} (${sweep.objective!.goal})` : code(m))),
    'Run'
  ];
  const align = head.map(
    (_, c) => (c > names.length + 1 && c < head.length - 1 ? 'right' : 'left') as 'left' | 'right'
  );
  return {
    heading: 'Trials',
    body: table(head, rows, align) + (sweep.best !== undefined ? '\n\n★ the best trial' : '')
  };
}

/** The first failed step of a run, with its error. */
function failedStep(run: RunRecord | undefined) {
  if (!run) {
    return null;
  }
  const step = run.order.find(s => run.steps[s].status === 'failed' && run.steps[s].error);
  return step ? { step, error: run.steps[step].error! } : null;
}

function failuresSection(input: SweepReportInput): ReportSection | null {
  const keep = input.tracebackLines ?? 10;
  const blocks: string[] = [];
  input.sweep.trials.forEach((t, i) => {
    const run = t.run ? input.runs[t.run] : undefined;
    const failed = failedStep(run);
    if (!failed) {
      return;
    }
    const lines = [
      failed.error.message,
      ...(input.tracebacks?.[run!.id]?.[failed.step] ?? []).slice(-keep).map(l => l.replace(/\s+$/, ''))
    ];
    blocks.push(
      `**Trial ${i + 1}** (${code(t.label)}, run ${code(run!.id)}): **${inline(failed.step)}** failed at ` +
        `${where(failed.error)}:\n\n${fenced(lines.join('\n'))}`
    );
  });
  return blocks.length > 0 ? { heading: 'Failed trials', body: blocks.join('\n\n') } : null;
}

/** The sweep as a JUnit suite: one test case per trial, a failed trial's failure naming its step, cell and line. */
export function sweepJUnitSuite(input: SweepReportInput): JUnitSuite {
  const { sweep } = input;
  const cases = sweep.trials.map((t, i): JUnitCase => {
    const run = t.run ? input.runs[t.run] : undefined;
    const base: JUnitCase = {
      name: `trial ${i + 1}: ${t.label}`,
      classname: input.notebook,
      time: t.seconds ?? 0
    };
    const failed = failedStep(run);
    if (t.status === 'failed') {
      const message = failed
        ? `step ${failed.step} failed at ${where(failed.error)}: ${failed.error.message}`
        : (run?.reason ?? t.reason ?? `Trial ${i + 1} failed.`);
      const traceback = failed ? (input.tracebacks?.[run!.id]?.[failed.step] ?? []) : [];
      const type = failed ? exceptionName(failed.error.message) : 'TrialFailed';
      return { ...base, failure: { message, type, text: [message, ...traceback].join('\n') } };
    }
    if (t.status !== 'succeeded') {
      return { ...base, skipped: { message: `${t.status}${t.reason ? `: ${t.reason}` : ''}` } };
    }
    return base;
  });
  const seconds = sweep.finished
    ? (Date.parse(sweep.finished) - Date.parse(sweep.started)) / 1000
    : cases.reduce((sum, c) => sum + c.time, 0);
  return {
    name: `${input.notebook} (sweep ${sweep.id})`,
    timestamp: sweep.started,
    time: seconds,
    tests: cases.length,
    failures: cases.filter(c => c.failure).length,
    skipped: cases.filter(c => c.skipped).length,
    properties: [
      { name: 'sweep', value: sweep.id },
      { name: 'status', value: sweep.status },
      ...(sweep.objective
        ? [{ name: 'objective', value: `${sweep.objective.metric}:${sweep.objective.goal}` }]
        : []),
      ...(sweep.best !== undefined ? [{ name: 'best', value: sweep.trials[sweep.best].label }] : [])
    ],
    cases
  };
}
