/**
 * The CI report of a run, as Markdown for a pull-request comment: its steps with their states and
 * durations, its metrics against the previous run of the notebook, each failure with its cell, line and
 * the last lines of its traceback, and the plots its steps drew (as files the caller wrote beside the
 * report). Pure: the CLI reads the run's files and writes the result.
 *
 * A report is a title and sections; `renderReport` prints any list of them, so a command that runs many
 * pipelines (a sweep) adds its own section (its trials' table) to the sections of its runs.
 */
import { Diagnostic, formatDiagnostic } from '../diagnostics';
import { skipExplanation } from '../runs/lifecycle';
import type { RunRecord, StepRecord } from '../runs/run-record';
import { formatParameter } from '../tags/parameters';

export interface ReportSection {
  /** Printed as a level-3 heading; empty: the body follows the title directly. */
  heading: string;
  /** Markdown. */
  body: string;
}

export interface Report {
  title: string;
  sections: ReportSection[];
}

/** A plot a step drew, written by the caller as a file; `file` is relative to the report. */
export interface ReportPlot {
  step: string;
  /** 0-based notebook cell. */
  cell: number;
  file: string;
}

export interface RunReportInput {
  run: RunRecord;
  /** The notebook as the reader knows it (a path relative to the repository). */
  notebook: string;
  /** The newest earlier run of the same notebook that succeeded, to compare metrics with. */
  previous?: RunRecord;
  /** Per failed step: its traceback (or, without one, the last lines of its log), as lines. */
  tracebacks?: Record<string, string[]>;
  plots?: ReportPlot[];
  /** How many lines of each traceback to show (the last ones: where it failed and why). */
  tracebackLines?: number;
}

const STATE: Record<StepRecord['status'], string> = {
  queued: '… queued',
  running: '▶ running',
  succeeded: '✓ succeeded',
  failed: '✗ failed',
  skipped: '– skipped',
  cancelled: '■ cancelled'
};

const RUN_MARK: Record<RunRecord['status'], string> = {
  running: '⏳',
  succeeded: '✅',
  failed: '❌',
  cancelled: '⏹️'
};

/** The previous run to compare with: the newest run that succeeded and started before `run`. */
export function previousRun(run: RunRecord, runs: readonly RunRecord[]): RunRecord | undefined {
  return runs
    .filter(r => r.id !== run.id && r.status === 'succeeded' && r.started < run.started)
    .sort((a, b) => b.started.localeCompare(a.started))[0];
}

export function runReport(input: RunReportInput): Report {
  const { run } = input;
  const sections: ReportSection[] = [
    { heading: '', body: summaryLine(input) },
    { heading: 'Steps', body: stepsTable(run) }
  ];
  const metrics = metricsSection(run, input.previous);
  if (metrics) {
    sections.push(metrics);
  }
  const failures = failuresSection(input);
  if (failures) {
    sections.push(failures);
  }
  if (input.plots && input.plots.length > 0) {
    sections.push(plotsSection(input.plots));
  }
  return {
    title: `${RUN_MARK[run.status]} ${run.pipeline}: run ${run.id} ${run.status}`,
    sections
  };
}

export function renderReport(report: Report): string {
  const parts = [`## ${inline(report.title)}`];
  for (const section of report.sections) {
    parts.push(section.heading ? `### ${inline(section.heading)}\n\n${section.body}` : section.body);
  }
  return parts.join('\n\n') + '\n';
}

function summaryLine(input: RunReportInput): string {
  const { run } = input;
  const counts = new Map<string, number>();
  for (const step of run.order) {
    const status = run.steps[step].status;
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  const states = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  const seconds = run.finished ? (Date.parse(run.finished) - Date.parse(run.started)) / 1000 : null;
  const parameters = Object.entries(run.parameters).map(([n, p]) => `${n}=${formatParameter(p)}`);
  const where = run.cluster
    ? `${run.target} (${run.cluster.name ?? run.cluster.id} in ${run.cluster.namespace})`
    : (run.target ?? 'local');
  const lines = [
    [
      code(input.notebook),
      where,
      `${run.order.length} step${run.order.length === 1 ? '' : 's'}: ${states}`,
      ...(seconds === null ? [] : [duration(seconds)])
    ].join(' · '),
    ...(parameters.length > 0 ? [`Parameters: ${parameters.map(code).join(', ')}`] : []),
    ...(run.cluster?.url ? [`On the cluster: ${run.cluster.url}`] : []),
    ...(run.status !== 'succeeded' && run.reason ? [`> ${inline(run.reason)}`] : [])
  ];
  return lines.join('  \n');
}

function stepsTable(run: RunRecord): string {
  const rows = run.order.map(step => {
    const s = run.steps[step];
    let state = STATE[s.status];
    if (s.status === 'succeeded' && s.cached) {
      state = `✓ cached${s.cachedFrom ? ` (run ${s.cachedFrom})` : ''}`;
    } else if (s.status === 'skipped') {
      state += ` (${skipExplanation(run, step)})`;
    } else if (s.status === 'failed' && s.error) {
      state += `: ${where(s.error)}`;
    }
    const time = s.cached ? '—' : s.seconds !== undefined ? duration(s.seconds) : '';
    return [code(step), inline(state), time];
  });
  return table(['Step', 'State', 'Duration'], rows, ['left', 'left', 'right']);
}

function metricsSection(run: RunRecord, previous: RunRecord | undefined): ReportSection | null {
  const names = [...new Set([...Object.keys(run.metrics), ...Object.keys(previous?.metrics ?? {})])].sort();
  if (names.length === 0) {
    return null;
  }
  if (!previous) {
    return {
      heading: 'Metrics',
      body:
        table(
          ['Metric', 'This run'],
          names.map(n => [code(n), metricText(run.metrics[n])]),
          ['left', 'right']
        ) + '\n\nNo earlier successful run of this notebook to compare with.'
    };
  }
  const rows = names.map(n => [
    code(n),
    metricText(run.metrics[n]),
    metricText(previous.metrics[n]),
    change(run.metrics[n], previous.metrics[n])
  ]);
  return {
    heading: `Metrics against run ${previous.id}`,
    body: table(['Metric', 'This run', 'Previous', 'Change'], rows, ['left', 'right', 'right', 'right'])
  };
}

function failuresSection(input: RunReportInput): ReportSection | null {
  const { run } = input;
  const failed = run.order.filter(step => run.steps[step].status === 'failed');
  if (failed.length === 0) {
    return null;
  }
  const keep = input.tracebackLines ?? 15;
  const blocks = failed.map(step => {
    const error = run.steps[step].error;
    const head = `**${inline(step)}** failed${error && error.cell !== null ? ` at ${where(error)}` : ''}:`;
    const lines = [
      ...(error ? [error.message] : []),
      ...(input.tracebacks?.[step] ?? []).slice(-keep).map(line => line.replace(/\s+$/, ''))
    ];
    return `${head}\n\n${fenced(lines.join('\n'))}`;
  });
  return { heading: 'Failures', body: blocks.join('\n\n') };
}

function plotsSection(plots: readonly ReportPlot[]): ReportSection {
  const byStep = new Map<string, ReportPlot[]>();
  for (const plot of plots) {
    byStep.set(plot.step, [...(byStep.get(plot.step) ?? []), plot]);
  }
  const blocks = [...byStep].map(
    ([step, list]) =>
      `**${inline(step)}**\n\n` +
      list.map(p => `![${inline(step)}, cell ${p.cell + 1}](${encodeURI(p.file)})`).join('\n')
  );
  return { heading: 'Plots', body: blocks.join('\n\n') };
}

/** `cell 3, line 2` (as a person counts cells), or `cell 3`. */
export function where(error: NonNullable<StepRecord['error']>): string {
  if (error.cell === null) {
    return 'its setup';
  }
  return `cell ${error.cell + 1}` + (error.line !== null ? `, line ${error.line}` : '');
}

export function duration(seconds: number): string {
  return seconds < 60
    ? `${seconds.toFixed(1)} s`
    : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

export function metricText(value: unknown): string {
  if (value === undefined) {
    return '—';
  }
  return code(typeof value === 'number' ? formatNumber(value) : JSON.stringify(value));
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

/** `+0.02 (+2.2 %)` for numbers, `changed`/`same` for other values, `new`/`gone` when one side lacks it. */
function change(now: unknown, before: unknown): string {
  if (now === undefined) {
    return 'gone';
  }
  if (before === undefined) {
    return 'new';
  }
  if (typeof now === 'number' && typeof before === 'number') {
    const delta = now - before;
    if (delta === 0) {
      return 'same';
    }
    const sign = delta > 0 ? '+' : '−';
    const relative = before !== 0 ? ` (${sign}${formatNumber(Math.abs((delta / before) * 100))} %)` : '';
    return `${sign}${formatNumber(Math.abs(delta))}${relative}`;
  }
  return JSON.stringify(now) === JSON.stringify(before) ? 'same' : 'changed';
}

export function table(head: string[], rows: string[][], align: Array<'left' | 'right'>): string {
  // A `|` in a code span still ends a table cell (GFM): escaped there, where it prints as `|`.
  const line = (cells: string[]) => `| ${cells.map(c => c.replace(/(?<!\\)\|/g, '\\|')).join(' | ')} |`;
  const rule = `| ${align.map(a => (a === 'right' ? '---:' : ':---')).join(' | ')} |`;
  return [line(head), rule, ...rows.map(line)].join('\n');
}

/**
 * Text inside a line of Markdown: characters GitHub would read as markup (emphasis, links, HTML tags,
 * table cells) are escaped, and line breaks become spaces.
 */
export function inline(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/[\\`*_[\]<>|#]/g, c => `\\${c}`);
}

/** A code span that holds any text (its fence is longer than any run of backticks inside). */
export function code(text: string): string {
  const flat = text.replace(/\s*\n\s*/g, ' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map(run => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** A fenced code block that holds any text; terminal colour codes are dropped. */
export function fenced(text: string): string {
  // eslint-disable-next-line no-control-regex
  const plain = text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
  const longest = Math.max(2, ...(plain.match(/`+/g) ?? []).map(run => run.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}text\n${plain}\n${fence}`;
}

/** The report of a pipeline that was not run: the reason and each error diagnostic with its cell and line. */
export function refusalReport(notebook: string, message: string, errors: readonly Diagnostic[]): Report {
  const file = notebook.split('/').pop() ?? notebook;
  const lines = errors.length > 0 ? errors.map(d => formatDiagnostic(file, d)) : [message];
  return {
    title: `❌ ${file}: not run`,
    sections: [
      { heading: '', body: `${code(notebook)} was not run: ${inline(message)}` },
      { heading: 'Errors', body: fenced(lines.join('\n')) }
    ]
  };
}
