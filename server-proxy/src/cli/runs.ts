/** `cellpipe runs NOTEBOOK` and `cellpipe logs RUN_ID STEP`: what earlier local runs did. */
import { readFile } from 'fs/promises';
import { join, resolve } from 'path';
import { isStepName, listRuns, runDir, runsDir } from '../engines/local/run-store';
import { UsageError } from './pipeline-input';

export async function runsCommand(notebookPath: string, options: { json?: boolean }): Promise<number> {
  const runs = await listRuns(resolve(notebookPath));
  if (options.json) {
    process.stdout.write(JSON.stringify(runs, null, 2) + '\n');
    return 0;
  }
  if (runs.length === 0) {
    process.stdout.write(`No runs of ${notebookPath} yet: start one with cellpipe run ${notebookPath}\n`);
    return 0;
  }
  for (const run of runs) {
    const seconds = run.finished ? (Date.parse(run.finished) - Date.parse(run.started)) / 1000 : null;
    const metrics = Object.entries(run.metrics).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    process.stdout.write(
      `${run.id}  ${run.status.padEnd(9)}  ${run.started}  ${seconds === null ? '' : `${seconds.toFixed(1)} s`}` +
        (metrics.length ? `  ${metrics.join(', ')}` : '') +
        '\n'
    );
  }
  return 0;
}

export async function logsCommand(
  runId: string,
  step: string,
  options: { notebook?: string }
): Promise<number> {
  // Without --notebook, any notebook in the current folder shares its runs folder.
  const notebook = resolve(options.notebook ?? 'notebook.ipynb');
  const dir = runDir(notebook, runId);
  if (!dir || !isStepName(step)) {
    throw new UsageError(`no run ${runId} with a step ${step}`);
  }
  try {
    process.stdout.write(await readFile(join(dir, 'logs', `${step}.log`)));
    return 0;
  } catch {
    throw new UsageError(
      `no log of step ${step} in run ${runId} under ${runsDir(notebook)}; ` +
        `run this from the notebook's folder or pass --notebook`
    );
  }
}
