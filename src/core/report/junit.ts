/**
 * A run as a JUnit test suite, for CI test views (GitHub, GitLab, Jenkins): one test case per step; a
 * failed step is a `failure` with its error (cell and line) and traceback, a skipped, cancelled or
 * unfinished step is `skipped` with the reason. Pure data: the CLI serialises it as XML.
 */
import { Diagnostic, formatDiagnostic } from '../diagnostics';
import { skipExplanation } from '../runs/lifecycle';
import type { RunRecord } from '../runs/run-record';

export interface JUnitCase {
  name: string;
  classname: string;
  /** Seconds. */
  time: number;
  failure?: { message: string; type: string; text: string };
  skipped?: { message: string };
  /** The step's log (its last lines). */
  systemOut?: string;
}

export interface JUnitSuite {
  name: string;
  timestamp: string;
  time: number;
  tests: number;
  failures: number;
  skipped: number;
  /** The run's parameters and where it is, as JUnit properties. */
  properties: Array<{ name: string; value: string }>;
  cases: JUnitCase[];
}

export interface JUnitInput {
  run: RunRecord;
  /** The notebook as the reader knows it; the test cases' class name. */
  notebook: string;
  /** Per failed step: its traceback lines. */
  tracebacks?: Record<string, string[]>;
  /** Per step: its log, as text. */
  logs?: Record<string, string>;
}

/** The exception's name when the message says it (`cell 3, line 2 raised ValueError: …`). */
export function exceptionName(message: string): string {
  return /\braised (\w+(?:\.\w+)*)/.exec(message)?.[1] ?? 'StepFailed';
}

export function junitSuite(input: JUnitInput): JUnitSuite {
  const { run } = input;
  const cases = run.order.map((step): JUnitCase => {
    const s = run.steps[step];
    const base: JUnitCase = {
      name: step,
      classname: input.notebook,
      time: s.cached ? 0 : (s.seconds ?? 0),
      ...(input.logs?.[step] ? { systemOut: input.logs[step] } : {})
    };
    switch (s.status) {
      case 'failed': {
        const message = s.error?.message ?? run.reason ?? `Step ${step} failed.`;
        const text = [message, ...(input.tracebacks?.[step] ?? [])].join('\n');
        return { ...base, failure: { message, type: exceptionName(message), text } };
      }
      case 'skipped':
        return { ...base, skipped: { message: `skipped: ${skipExplanation(run, step)}` } };
      case 'cancelled':
        return { ...base, skipped: { message: `cancelled${s.reason ? `: ${s.reason}` : ''}` } };
      case 'queued':
      case 'running':
        return { ...base, skipped: { message: `still ${s.status} when the report was written` } };
      default:
        return base;
    }
  });
  const seconds = run.finished
    ? (Date.parse(run.finished) - Date.parse(run.started)) / 1000
    : cases.reduce((sum, c) => sum + c.time, 0);
  return {
    name: `${input.notebook} (${run.pipeline})`,
    timestamp: run.started,
    time: seconds,
    tests: cases.length,
    failures: cases.filter(c => c.failure).length,
    skipped: cases.filter(c => c.skipped).length,
    properties: [
      { name: 'run', value: run.id },
      { name: 'status', value: run.status },
      { name: 'target', value: run.target ?? 'local' },
      ...Object.entries(run.parameters).map(([name, p]) => ({
        name: `parameter.${name}`,
        value: JSON.stringify(p.value)
      })),
      ...Object.entries(run.metrics).map(([name, v]) => ({
        name: `metric.${name}`,
        value: JSON.stringify(v)
      }))
    ],
    cases
  };
}

/** A pipeline that was not run: one failed test case, `analysis`, listing its error diagnostics. */
export function refusalSuite(
  notebook: string,
  message: string,
  errors: readonly Diagnostic[],
  now: string
): JUnitSuite {
  const file = notebook.split('/').pop() ?? notebook;
  const text = errors.length > 0 ? errors.map(d => formatDiagnostic(file, d)).join('\n') : message;
  return {
    name: notebook,
    timestamp: now,
    time: 0,
    tests: 1,
    failures: 1,
    skipped: 0,
    properties: [],
    cases: [
      { name: 'analysis', classname: notebook, time: 0, failure: { message, type: 'PipelineRefused', text } }
    ]
  };
}
