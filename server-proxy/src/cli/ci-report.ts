/**
 * `--report FILE.md` and `--junit FILE.xml` of `cellpipe run`, `submit` and `sweep`: reads what the core's report
 * needs from the run's folder (the previous run, each failed step's traceback, each step's log and the
 * plots in its outputs), writes the plots as files beside the report, then the report and the JUnit XML,
 * each atomically.
 */
import { readFile, rm } from 'fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'path';
import type { Diagnostic } from '../../../src/core/diagnostics';
import { junitSuite, JUnitSuite, refusalSuite } from '../../../src/core/report/junit';
import {
  previousRun,
  refusalReport,
  renderReport,
  ReportPlot,
  runReport
} from '../../../src/core/report/run-report';
import { sweepJUnitSuite, sweepReport } from '../../../src/core/report/sweep-report';
import type { RunRecord } from '../../../src/core/runs/run-record';
import type { SweepRecord } from '../../../src/core/sweeps/sweep-record';
import { writeFileAtomic } from '../atomic-file';
import { fileProblem } from '../runs/file-problem';
import { listRuns, readRun, runDir } from '../runs/run-store';
import type { StartRunError } from '../runs/start-run';
import { reportNotStarted } from './pipeline-input';

export interface ReportFiles {
  /** The Markdown report. */
  report?: string;
  /** The JUnit XML. */
  junit?: string;
}

/** Lines of a step's log kept in the JUnit XML (the end: where it failed). */
const LOG_LINES = 200;
/** Lines of a step's log shown in the report when it left no traceback (a cluster step, a killed one). */
const LOG_TAIL = 15;

const IMAGE_TYPES: Record<string, string> = {
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/gif': '.gif',
  'image/svg+xml': '.svg'
};

export async function writeReports(record: RunRecord, files: ReportFiles): Promise<void> {
  if (!files.report && !files.junit) {
    return;
  }
  const dir = runDir(record.notebook, record.id)!;
  const notebook = relative(process.cwd(), record.notebook) || basename(record.notebook);
  const logs: Record<string, string> = {};
  const tracebacks: Record<string, string[]> = {};
  for (const step of record.order) {
    const log = await readFile(join(dir, 'logs', `${step}.log`), 'utf8').catch(() => '');
    logs[step] = lastLines(log, LOG_LINES);
    if (record.steps[step].status === 'failed') {
      tracebacks[step] = (await recordedTraceback(dir, step)) ?? lastLines(log, LOG_TAIL).split('\n');
    }
  }
  if (files.junit) {
    const suite = junitSuite({ run: record, notebook, tracebacks, logs });
    await writeFileAtomic(files.junit, await junitXml(suite));
  }
  if (files.report) {
    const plots = await writePlots(dir, record, files.report);
    const previous = previousRun(record, await listRuns(record.notebook));
    const report = runReport({ run: record, notebook, previous, tracebacks, plots });
    await writeFileAtomic(files.report, renderReport(report));
  }
}

/** `cellpipe sweep --report --junit`: the trials' table and failures, and a JUnit test case per trial. */
export async function writeSweepReports(sweep: SweepRecord, files: ReportFiles): Promise<void> {
  if (!files.report && !files.junit) {
    return;
  }
  const notebook = relative(process.cwd(), sweep.notebook) || basename(sweep.notebook);
  const runs: Record<string, RunRecord> = {};
  const tracebacks: Record<string, Record<string, string[]>> = {};
  for (const trial of sweep.trials) {
    const run = trial.run ? await readRun(sweep.notebook, trial.run) : null;
    if (!run) {
      continue;
    }
    runs[run.id] = run;
    const dir = runDir(run.notebook, run.id)!;
    for (const step of run.order.filter(s => run.steps[s].status === 'failed')) {
      const traceback = await recordedTraceback(dir, step);
      if (traceback) {
        (tracebacks[run.id] ??= {})[step] = traceback;
      }
    }
  }
  const input = { sweep, notebook, runs, tracebacks };
  if (files.junit) {
    await writeFileAtomic(files.junit, await junitXml(sweepJUnitSuite(input)));
  }
  if (files.report) {
    await writeFileAtomic(files.report, renderReport(sweepReport(input)));
  }
}

/** The traceback the step runtime recorded in `error.json`, as lines. */
async function recordedTraceback(dir: string, step: string): Promise<string[] | null> {
  try {
    const error = JSON.parse(await readFile(join(dir, 'steps', step, 'error.json'), 'utf8')) as {
      traceback?: unknown;
    };
    if (!Array.isArray(error.traceback) || error.traceback.length === 0) {
      return null;
    }
    return error.traceback.join('').replace(/\n$/, '').split('\n');
  } catch {
    return null;
  }
}

/**
 * The images in each step's outputs as files in `REPORT-plots/` beside the report (the folder is made
 * anew, so a plot of an earlier report is never shown for this run), named by step, cell and number.
 */
async function writePlots(dir: string, record: RunRecord, reportPath: string): Promise<ReportPlot[]> {
  const folderName = `${basename(reportPath, extname(reportPath))}-plots`;
  const folder = join(dirname(reportPath), folderName);
  await rm(folder, { recursive: true, force: true });
  const plots: ReportPlot[] = [];
  for (const step of record.order) {
    let outputs: Record<string, Array<{ data?: Record<string, unknown> }>>;
    try {
      outputs = JSON.parse(await readFile(join(dir, 'steps', step, 'outputs.json'), 'utf8'));
    } catch {
      continue; // a step that drew nothing, or never ran
    }
    for (const [cellText, cellOutputs] of Object.entries(outputs)) {
      const cell = Number(cellText);
      let n = 0;
      for (const output of Array.isArray(cellOutputs) ? cellOutputs : []) {
        const type = Object.keys(IMAGE_TYPES).find(t => typeof output.data?.[t] === 'string');
        if (!type) {
          continue;
        }
        const value = output.data![type] as string;
        const name = `${step}-cell${cell + 1}-${++n}${IMAGE_TYPES[type]}`;
        const bytes = type === 'image/svg+xml' ? value : Buffer.from(value, 'base64');
        await writeFileAtomic(join(folder, name), bytes);
        plots.push({ step, cell, file: `${folderName}/${name}` });
      }
    }
  }
  return plots;
}

function lastLines(text: string, count: number): string {
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.slice(-count).join('\n');
}

export async function junitXml(suite: JUnitSuite): Promise<string> {
  // Loaded when a report is asked for: a command that writes none does not pay for its start.
  const { create } = await import('xmlbuilder2');
  // Characters XML 1.0 cannot hold (terminal colour codes in a log) become U+FFFD instead of failing.
  const doc = create({ version: '1.0', encoding: 'UTF-8', invalidCharReplacement: '\uFFFD' });
  const counts = { tests: suite.tests, failures: suite.failures, errors: 0, skipped: suite.skipped };
  const suites = doc.ele('testsuites', { name: suite.name, ...counts, time: seconds(suite.time) });
  const xmlSuite = suites.ele('testsuite', {
    name: suite.name,
    ...counts,
    time: seconds(suite.time),
    timestamp: suite.timestamp
  });
  const properties = xmlSuite.ele('properties');
  for (const p of suite.properties) {
    properties.ele('property', { name: p.name, value: p.value });
  }
  for (const c of suite.cases) {
    const testcase = xmlSuite.ele('testcase', {
      name: c.name,
      classname: c.classname,
      time: seconds(c.time)
    });
    if (c.failure) {
      testcase.ele('failure', { message: c.failure.message, type: c.failure.type }).txt(c.failure.text);
    }
    if (c.skipped) {
      testcase.ele('skipped', { message: c.skipped.message });
    }
    if (c.systemOut) {
      testcase.ele('system-out').txt(c.systemOut);
    }
  }
  return doc.end({ prettyPrint: true }) + '\n';
}

function seconds(value: number): string {
  return value.toFixed(3);
}

/** The reports of a pipeline that was refused before running (error diagnostics, no steps). */
export async function writeRefusalReports(
  notebookPath: string,
  message: string,
  errors: readonly Diagnostic[],
  files: ReportFiles
): Promise<void> {
  const notebook = relative(process.cwd(), notebookPath) || basename(notebookPath);
  if (files.junit) {
    await writeFileAtomic(
      files.junit,
      await junitXml(refusalSuite(notebook, message, errors, new Date().toISOString()))
    );
  }
  if (files.report) {
    await writeFileAtomic(files.report, renderReport(refusalReport(notebook, message, errors)));
  }
}

/**
 * A run, submit or sweep that was not started: said as reportNotStarted says it, and in the reports CI
 * asked for. Returns the exit status.
 */
export async function reportNotStartedWithFiles(
  path: string,
  notebookPath: string,
  error: StartRunError,
  verb: string,
  options: ReportFiles & { json?: boolean }
): Promise<number> {
  const status = reportNotStarted(path, error, verb, options.json);
  await reportsWritten(options, () =>
    writeRefusalReports(notebookPath, error.message, error.diagnostics, options)
  );
  return status;
}

/**
 * Writes the reports through `write`; a report that cannot be written is said on stderr, in a sentence
 * naming the file and why, and makes the command fail (CI would otherwise post nothing without a word).
 * Returns whether they were written.
 */
export async function reportsWritten(files: ReportFiles, write: () => Promise<void>): Promise<boolean> {
  if (!files.report && !files.junit) {
    return true;
  }
  try {
    await write();
    return true;
  } catch (err) {
    const target = [files.report, files.junit].filter(Boolean).join(' and ');
    process.stderr.write(
      `cellpipe: ${fileProblem(err, `write ${target}`, dirname(resolve(files.report ?? files.junit!)))}\n`
    );
    return false;
  }
}
