/**
 * `cellpipe sweep NOTEBOOK --param NAME=V1,V2 ... [--random N] [--max-parallel K] [--objective M:max]
 * [--target local|argo|kfp|katib]`: runs the pipeline once per trial (locally, as one Argo Workflow, as a
 * KFP run per trial, or as a Katib Experiment), the steps every trial shares only once, and prints the
 * trials as a table with the best one marked (`--report`/`--junit`: for CI). Exit status 0 only when every
 * trial succeeded.
 */
import { resolve } from 'path';
import type { SweepRecord } from '../../../src/core/sweeps/sweep-record';
import { ConnectionFlags, environmentConnection } from '../engines/cluster/connection';
import { loadNotebookFile } from '../notebook-file';
import { StartRunError } from '../runs/start-run';
import { startSweep } from '../sweeps/run-sweep';
import { reportNotStartedWithFiles, reportsWritten, writeSweepReports } from './ci-report';
import { UsageError } from './pipeline-input';
import { closeOrphans } from './close-orphans';

/** The connection flags: cluster targets only. */
export interface SweepCliOptions extends ConnectionFlags {
  param: string[];
  random?: string;
  seed?: string;
  maxParallel?: string;
  objective?: string;
  target?: string;
  mountVolumes?: boolean;
  image?: string;
  runStorageClass?: string;
  python?: string;
  parallel?: string;
  /** commander's negation of --no-cache */
  cache?: boolean;
  json?: boolean;
  report?: string;
  junit?: string;
}

export async function sweepCommand(path: string, options: SweepCliOptions): Promise<number> {
  const notebookPath = resolve(path);
  const notebook = await loadNotebookFile(notebookPath);
  const target = options.target ?? 'local';
  if (target !== 'local' && target !== 'argo' && target !== 'kfp' && target !== 'katib') {
    throw new UsageError(`--target ${options.target}: a sweep runs on local, argo, kfp or katib`);
  }
  const cancel = new AbortController();
  const onInterrupt = () => cancel.abort();
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);
  await closeOrphans(notebookPath);
  const said = new Map<string, string>();
  try {
    let started;
    try {
      started = await startSweep({
        notebookPath,
        notebook,
        axes: options.param,
        random: wholeNumber('--random', options.random),
        seed: wholeNumber('--seed', options.seed, 0),
        maxParallel: wholeNumber('--max-parallel', options.maxParallel),
        objective: options.objective,
        target,
        cluster: () => environmentConnection(options),
        volumes: options.mountVolumes ? 'mount' : undefined,
        image: options.image,
        runStorageClass: options.runStorageClass,
        pollMs: Number(process.env.CELLPIPE_POLL_MS ?? '') || undefined,
        cache: options.cache,
        parallel: wholeNumber('--parallel', options.parallel),
        python: options.python,
        jupyterPython: process.env.CELLPIPE_PYTHON ?? 'python3',
        owner: 'cli',
        signal: cancel.signal,
        onChange: sweep => {
          if (!options.json) {
            reportTrials(sweep, said);
          }
        }
      });
    } catch (err) {
      if (err instanceof StartRunError) {
        return reportNotStartedWithFiles(path, notebookPath, err, 'sweeping', options);
      }
      throw err;
    }
    if (!options.json) {
      const { record } = started;
      process.stderr.write(
        `sweep ${record.id}: ${record.trials.length} trials` +
          (record.shared.length ? `; run once for all of them: ${record.shared.join(', ')}` : '') +
          '\n'
      );
    }
    const record = await started.done;
    process.stdout.write(options.json ? JSON.stringify(record, null, 2) + '\n' : sweepTable(record));
    const reported = await reportsWritten(options, () => writeSweepReports(record, options));
    return record.status === 'succeeded' && reported ? 0 : 1;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}

function wholeNumber(flag: string, text: string | undefined, min = 1): number | undefined {
  if (text === undefined) {
    return undefined;
  }
  const n = Number(text);
  if (!(Number.isInteger(n) && n >= min)) {
    throw new UsageError(`${flag} ${text}: expected a whole number of at least ${min}`);
  }
  return n;
}

/** A line on stderr each time a trial starts or ends. */
function reportTrials(sweep: SweepRecord, said: Map<string, string>): void {
  sweep.trials.forEach((trial, i) => {
    const key = `${i}`;
    if (said.get(key) === trial.status || trial.status === 'queued') {
      return;
    }
    said.set(key, trial.status);
    const where = trial.run ? ` (run ${trial.run})` : '';
    const why = trial.reason ? `: ${trial.reason}` : '';
    process.stderr.write(`trial ${i + 1} ${trial.label} ${trial.status}${where}${why}\n`);
  });
}

/** The trials as a table: one column per swept parameter and per metric, the best trial marked with `*`. */
export function sweepTable(sweep: SweepRecord): string {
  const names = sweep.axes.map(a => a.name);
  const metrics = [...new Set(sweep.trials.flatMap(t => Object.keys(t.metrics ?? {})))];
  if (sweep.objective && !metrics.includes(sweep.objective.metric)) {
    metrics.unshift(sweep.objective.metric);
  }
  const header = ['', '#', ...names, 'status', ...metrics, 'run'];
  const rows = sweep.trials.map((t, i) => [
    sweep.best === i ? '*' : '',
    String(i + 1),
    ...names.map(n => cell(t.parameters[n]?.value)),
    t.status,
    ...metrics.map(m => cell(t.metrics?.[m])),
    t.run ?? t.clusterTrial ?? ''
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map(r => r[c].length)));
  const line = (r: string[]) =>
    r
      .map((v, c) => v.padEnd(widths[c]))
      .join('  ')
      .trimEnd() + '\n';
  const best =
    sweep.objective && sweep.best !== undefined
      ? `best: trial ${sweep.best + 1} (${sweep.trials[sweep.best].label}), ` +
        `${sweep.objective.metric} ${sweep.objective.goal === 'max' ? 'highest' : 'lowest'}\n`
      : sweep.objective
        ? `no trial recorded ${sweep.objective.metric} as a number\n`
        : '';
  return [line(header), ...rows.map(line)].join('') + `sweep ${sweep.id} ${sweep.status}\n` + best;
}

function cell(value: unknown): string {
  if (value === undefined) {
    return '';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}
