/**
 * `cellpipe run NOTEBOOK [--param NAME=VALUE]... [--json]`: runs the pipeline with the local engine.
 * Exit status 0 only when the run succeeded.
 */
import { resolve } from 'path';
import { loadNotebookFile } from '../notebook-file';
import { closeOrphans } from './close-orphans';
import { startRun, StartRunError } from '../runs/start-run';
import { UsageError } from './pipeline-input';
import { RunPrinter } from './run-printer';
import { reportNotStartedWithFiles, reportsWritten, writeReports } from './ci-report';
import { findRun } from './lineage';

export interface RunOptions {
  param?: string[];
  json?: boolean;
  python?: string;
  parallel?: string;
  /** commander's negation of --no-cache */
  cache?: boolean;
  /** commander's negation of --no-warm (false: fresh step processes) */
  warm?: boolean;
  step?: string;
  from?: string;
  /** Run again with that run's parameters and, when it is still there, its workspace snapshot. */
  like?: string;
  /** Write a Markdown report of the run (and its plots beside it). */
  report?: string;
  /** Write the run as JUnit XML. */
  junit?: string;
}

export async function runCommand(path: string, options: RunOptions): Promise<number> {
  const notebookPath = resolve(path);
  const notebook = await loadNotebookFile(notebookPath);
  if (options.step && options.from) {
    throw new UsageError('give --step or --from, not both');
  }
  const parallel = options.parallel === undefined ? undefined : Number(options.parallel);
  if (parallel !== undefined && !(Number.isInteger(parallel) && parallel > 0)) {
    throw new UsageError(`--parallel ${options.parallel}: expected a whole number above 0`);
  }
  const selected = options.step ?? options.from;
  const like = options.like ? await findRun(options.like, notebookPath) : undefined;
  const printer = new RunPrinter(process.stderr, process.stdout, options.json);
  await closeOrphans(notebookPath);
  // Ctrl-C cancels the run: its steps are stopped and the run is recorded as cancelled.
  const cancel = new AbortController();
  const onInterrupt = () => cancel.abort();
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);
  try {
    let started;
    try {
      started = await startRun({
        notebookPath,
        notebook,
        parameters: options.param,
        steps: selected === undefined ? undefined : { mode: options.step ? 'one' : 'from', step: selected },
        target: 'local',
        cache: options.cache,
        warm: options.warm === false ? false : undefined,
        parallel,
        like: like && { run: like.id, parameters: like.parameters },
        python: options.python,
        jupyterPython: process.env.CELLPIPE_PYTHON ?? 'python3',
        owner: 'cli',
        signal: cancel.signal,
        onStep: (step, run) => printer.step(run, step)
      });
    } catch (err) {
      if (err instanceof StartRunError) {
        return reportNotStartedWithFiles(path, notebookPath, err, 'running', options);
      }
      throw err;
    }
    if (started.kind !== 'local') {
      throw new UsageError('cellpipe run runs locally; use cellpipe submit for a cluster');
    }
    if (!options.json) {
      for (const warning of started.record.warnings ?? []) {
        process.stderr.write(`cellpipe: warning: ${warning}\n`);
      }
    }
    const record = await started.done;
    printer.end(record);
    const reported = await reportsWritten(options, () => writeReports(record, options));
    return record.status === 'succeeded' && reported ? 0 : 1;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}
