/**
 * `cellpipe run NOTEBOOK [--param NAME=VALUE]... [--json]`: runs the pipeline
 * with the local engine. Exit status 0 only when the run succeeded.
 */
import { basename, resolve } from 'path';
import { analyzeNotebook } from '../../../src/core/pipeline';
import { runLocal } from '../engines/local/engine';
import { runnableSteps, selectSteps, stepAndDownstream } from '../../../src/core/targets/runnable-steps';
import type { StepRecord } from '../../../src/core/runs/run-record';
import { analysisOptions, loadNotebookFile } from '../notebook-file';
import { nodeAnalyser } from '../node-analyser';
import { parameterOverrides, reportErrors, UsageError } from './pipeline-input';
import { kernelPython } from '../kernel-python';

export interface RunOptions {
  param?: string[];
  json?: boolean;
  python?: string;
  parallel?: string;
  /** commander's negation of --no-cache */
  cache?: boolean;
  step?: string;
  from?: string;
}

const SYMBOL: Partial<Record<StepRecord['status'], string>> = {
  running: '▶',
  cancelled: '■',
  succeeded: '✓',
  failed: '✗',
  skipped: '–'
};

export async function runCommand(path: string, options: RunOptions): Promise<number> {
  const notebookPath = resolve(path);
  const notebook = await loadNotebookFile(notebookPath);
  const analysis = analyzeNotebook(
    notebook,
    await nodeAnalyser(),
    await analysisOptions(notebookPath, notebook)
  );
  const file = basename(path);
  if (
    reportErrors(
      file,
      analysis,
      process.stderr,
      () => `cellpipe: not running ${file}: fix the errors above first.`
    )
  ) {
    return 1;
  }
  const parameters = parameterOverrides(options.param ?? [], analysis.parameters);
  if (options.step && options.from) {
    throw new UsageError('give --step or --from, not both');
  }
  const selected = options.step ?? options.from;
  const runnable = runnableSteps(analysis, notebook);
  if (selected !== undefined && selectSteps(runnable, selected).length === 0) {
    const names = runnable.map(s => s.name).join(', ');
    throw new UsageError(`the pipeline has no step "${selected}" (it has ${names})`);
  }
  const only = options.step
    ? selectSteps(runnable, options.step)
    : options.from
      ? stepAndDownstream(runnable, options.from)
      : undefined;
  const parallel = options.parallel === undefined ? undefined : Number(options.parallel);
  if (parallel !== undefined && !(Number.isInteger(parallel) && parallel > 0)) {
    throw new UsageError(`--parallel ${options.parallel}: expected a whole number above 0`);
  }

  const python =
    options.python ?? (await kernelPython(notebook, process.env.CELLPIPE_PYTHON ?? 'python3')).python;
  // Ctrl-C cancels the run: its steps are stopped and the run is recorded as cancelled.
  const cancel = new AbortController();
  const onInterrupt = () => cancel.abort();
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);
  const record = await runLocal({
    signal: cancel.signal,
    cache: options.cache,
    only,
    notebookPath,
    notebook,
    analysis,
    parameters,
    python,
    parallel,
    onStep: (step, s) => {
      const symbol = SYMBOL[s.status];
      if (symbol && !options.json) {
        const detail =
          s.status === 'running'
            ? ''
            : s.status === 'skipped'
              ? ` (after ${s.skippedBecause} failed)`
              : s.cached
                ? ' (cached)'
                : ` ${s.seconds?.toFixed(1)} s`;
        process.stderr.write(`${symbol} ${step}${detail}\n`);
        if (s.error) {
          process.stderr.write(`    ${s.error.message}\n`);
        }
      }
    }
  });

  process.off('SIGINT', onInterrupt);
  process.off('SIGTERM', onInterrupt);
  if (options.json) {
    process.stdout.write(
      JSON.stringify(
        {
          run: record.id,
          status: record.status,
          steps: record.order.map(name => ({
            name,
            status: record.steps[name].status,
            cached: record.steps[name].cached,
            seconds: record.steps[name].seconds ?? null
          })),
          metrics: record.metrics
        },
        null,
        2
      ) + '\n'
    );
  } else {
    const metrics = Object.entries(record.metrics).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    process.stdout.write(
      `run ${record.id} ${record.status}` + (metrics.length ? `: ${metrics.join(', ')}` : '') + '\n'
    );
  }
  return record.status === 'succeeded' ? 0 : 1;
}
