/**
 * `cellpipe submit NOTEBOOK --target kfp|argo [--param NAME=VALUE]... [--watch] [--timeout SECONDS]`:
 * snapshots the workspace volumes, submits the pipeline to the cluster, and with --watch follows it.
 *
 * Exit status: 0 submitted (without --watch) or succeeded, 1 failed (or refused by the cluster, or error
 * diagnostics), 124 still running at --timeout (as timeout(1)), 2 usage errors.
 */
import { basename, resolve } from 'path';
import { analyzeNotebook } from '../../../src/core/pipeline';
import { submitClusterRun } from '../engines/cluster/cluster-run';
import { ClusterError } from '../engines/cluster/cluster-errors';
import { environmentConnection } from '../engines/cluster/connection';
import type { RunRecord } from '../../../src/core/runs/run-record';
import { analysisOptions, loadNotebookFile } from '../notebook-file';
import { nodeAnalyser } from '../node-analyser';
import { parameterOverrides, reportErrors, UsageError } from './pipeline-input';

export interface SubmitOptions {
  target?: string;
  param: string[];
  watch?: boolean;
  timeout?: string;
  endpoint?: string;
  namespace?: string;
  tokenFile?: string;
  kubeconfig?: string;
  mountVolumes?: boolean;
  image?: string;
  runStorageClass?: string;
  json?: boolean;
}

export const TIMED_OUT = 124;

export async function submitCommand(path: string, options: SubmitOptions): Promise<number> {
  const notebookPath = resolve(path);
  const notebook = await loadNotebookFile(notebookPath);
  const analysis = analyzeNotebook(
    notebook,
    await nodeAnalyser(),
    await analysisOptions(notebookPath, notebook)
  );
  const target = options.target ?? analysis.pipeline.target;
  if (target !== 'kfp' && target !== 'argo') {
    throw new UsageError(`${path}: say where to submit: --target kfp or --target argo`);
  }
  const timeout = options.timeout === undefined ? undefined : Number(options.timeout);
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) {
    throw new UsageError(`--timeout ${options.timeout}: expected a number of seconds above 0`);
  }
  const file = basename(path);
  const refusal = () => `cellpipe: not submitting ${file}: fix the errors above first.`;
  if (reportErrors(file, analysis, process.stderr, refusal)) {
    return 1;
  }
  const parameters = parameterOverrides(options.param, analysis.parameters);
  let connection;
  try {
    connection = environmentConnection(options);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const pollMs = Number(process.env.CELLPIPE_POLL_MS ?? '') || undefined;
  let submitted;
  try {
    submitted = await submitClusterRun({
      ...connection,
      target,
      notebookPath,
      notebook,
      analysis,
      parameters,
      volumes: options.mountVolumes ? 'mount' : 'snapshot',
      image: options.image,
      runStorageClass: options.runStorageClass,
      pollMs
    });
  } catch (err) {
    if (err instanceof ClusterError) {
      process.stderr.write(`cellpipe: ${err.message}\n`);
      if (options.json) {
        process.stdout.write(
          JSON.stringify({ error: { code: err.code, message: err.message } }, null, 2) + '\n'
        );
      }
      return 1;
    }
    throw err;
  }
  const where = submitted.record.cluster!;
  if (!options.json) {
    for (const warning of submitted.record.warnings ?? []) {
      process.stderr.write(`cellpipe: warning: ${warning}\n`);
    }
    process.stderr.write(
      `submitted run ${submitted.record.id} to ${target} (${where.name ?? where.id} in ${where.namespace})` +
        (where.url ? `: ${where.url}` : '') +
        '\n'
    );
  }
  if (!options.watch) {
    print(submitted.record, options.json, false);
    return 0;
  }
  const cancel = new AbortController();
  const onInterrupt = () => cancel.abort();
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);
  const { record, timedOut } = await submitted.follow({
    signal: cancel.signal,
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
    pollMs,
    onStep: (step, s) => {
      if (!options.json) {
        const why = s.error?.message ?? s.waiting;
        process.stderr.write(`${step} ${s.status}${why ? `: ${why}` : ''}\n`);
      }
    }
  });
  process.off('SIGINT', onInterrupt);
  process.off('SIGTERM', onInterrupt);
  print(record, options.json, timedOut);
  if (options.json) {
    // stdout is for programs; what went wrong is still said to the person on stderr, one line per step.
    for (const step of record.order) {
      const message = record.steps[step].error?.message;
      if (record.steps[step].status === 'failed' && message) {
        process.stderr.write(`cellpipe: ${message}\n`);
      }
    }
  }
  if (record.followError) {
    process.stderr.write(`cellpipe: stopped following: ${record.followError}\n`);
  }
  return timedOut ? TIMED_OUT : record.status === 'succeeded' ? 0 : 1;
}

function print(record: RunRecord, json: boolean | undefined, timedOut: boolean): void {
  if (json) {
    process.stdout.write(
      JSON.stringify(
        {
          run: record.id,
          status: record.status,
          timedOut,
          target: record.target,
          cluster: record.cluster,
          snapshots: record.snapshots,
          steps: record.order.map(name => {
            const { status, error } = record.steps[name];
            return { name, status, ...(error ? { error: error.message } : {}) };
          }),
          metrics: record.metrics
        },
        null,
        2
      ) + '\n'
    );
  } else {
    const state = timedOut ? `still ${record.status} (stopped following at --timeout)` : record.status;
    process.stdout.write(`run ${record.id} ${state}\n`);
  }
}
