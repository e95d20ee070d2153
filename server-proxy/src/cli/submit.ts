/**
 * `cellpipe submit NOTEBOOK --target kfp|argo [--param NAME=VALUE]... [--watch] [--timeout SECONDS]`:
 * snapshots the workspace volumes, submits the pipeline to the cluster, and with --watch follows it.
 *
 * Exit status: 0 submitted (without --watch) or succeeded, 1 failed (or refused by the cluster, or error
 * diagnostics), 124 still running at --timeout (as timeout(1)), 2 usage errors.
 */
import { resolve } from 'path';
import { ConnectionFlags, environmentConnection } from '../engines/cluster/connection';
import { loadNotebookFile } from '../notebook-file';
import { startRun, StartRunError } from '../runs/start-run';
import { UsageError } from './pipeline-input';
import { RunPrinter } from './run-printer';
import { reportNotStartedWithFiles, reportsWritten, writeReports } from './ci-report';
import { findRun } from './lineage';

export interface SubmitOptions extends ConnectionFlags {
  target?: string;
  param: string[];
  watch?: boolean;
  timeout?: string;
  mountVolumes?: boolean;
  image?: string;
  runStorageClass?: string;
  /** Submit again with that run's parameters. */
  like?: string;
  json?: boolean;
  /** Write a Markdown report of the run (and its plots beside it). */
  report?: string;
  /** Write the run as JUnit XML. */
  junit?: string;
}

export const TIMED_OUT = 124;

export async function submitCommand(path: string, options: SubmitOptions): Promise<number> {
  const notebookPath = resolve(path);
  const notebook = await loadNotebookFile(notebookPath);
  if (options.target !== undefined && options.target !== 'kfp' && options.target !== 'argo') {
    throw new UsageError(`${path}: say where to submit: --target kfp or --target argo`);
  }
  const timeout = options.timeout === undefined ? undefined : Number(options.timeout);
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) {
    throw new UsageError(`--timeout ${options.timeout}: expected a number of seconds above 0`);
  }
  const pollMs = Number(process.env.CELLPIPE_POLL_MS ?? '') || undefined;
  const like = options.like ? await findRun(options.like, notebookPath) : undefined;
  let started;
  try {
    started = await startRun({
      notebookPath,
      notebook,
      parameters: options.param,
      like: like && { run: like.id, parameters: like.parameters, snapshots: like.snapshots },
      target: options.target as 'kfp' | 'argo' | undefined,
      // Without the flag, the notebook's snapshot setting (snapshots by default).
      volumes: options.mountVolumes ? 'mount' : undefined,
      image: options.image,
      runStorageClass: options.runStorageClass,
      pollMs,
      jupyterPython: 'python3',
      owner: 'cli',
      requireCluster: true,
      cluster: () => environmentConnection(options)
    });
  } catch (err) {
    if (err instanceof StartRunError) {
      return reportNotStartedWithFiles(path, notebookPath, err, 'submitting', options);
    }
    throw err;
  }
  if (started.kind !== 'cluster') {
    throw new UsageError(`${path}: say where to submit: --target kfp or --target argo`);
  }
  const printer = new RunPrinter(process.stderr, process.stdout, options.json);
  const submitted = started.record;
  const where = submitted.cluster!;
  if (!options.json) {
    for (const warning of submitted.warnings ?? []) {
      process.stderr.write(`cellpipe: warning: ${warning}\n`);
    }
    process.stderr.write(
      `submitted run ${submitted.id} to ${submitted.target} (${where.name ?? where.id} in ${where.namespace})` +
        (where.url ? `: ${where.url}` : '') +
        '\n'
    );
  }
  if (!options.watch) {
    printer.end(submitted);
    return (await reportsWritten(options, () => writeReports(submitted, options))) ? 0 : 1;
  }
  const cancel = new AbortController();
  const onInterrupt = () => cancel.abort();
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);
  try {
    const { record, timedOut } = await started.follow({
      signal: cancel.signal,
      timeoutMs: timeout === undefined ? undefined : timeout * 1000,
      pollMs,
      onStep: step => printer.step(submitted, step)
    });
    printer.end(record, timedOut);
    const reported = await reportsWritten(options, () => writeReports(record, options));
    return timedOut ? TIMED_OUT : record.status === 'succeeded' && reported ? 0 : 1;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}
