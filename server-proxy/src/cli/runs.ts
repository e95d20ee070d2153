/** `cellpipe runs NOTEBOOK` and `cellpipe logs RUN_ID STEP`: what earlier local runs did. */
import { readdir, readFile } from 'fs/promises';
import { join, resolve } from 'path';
import { runsDir } from '../engines/local/engine';
import type { RunRecord } from '../engines/local/run-record';
import { UsageError } from './run';

export async function listRuns(notebookPath: string): Promise<RunRecord[]> {
  const dir = runsDir(resolve(notebookPath));
  let ids: string[];
  try {
    ids = await readdir(dir);
  } catch {
    return [];
  }
  const records: RunRecord[] = [];
  for (const id of ids) {
    try {
      records.push(JSON.parse(await readFile(join(dir, id, 'run.json'), 'utf8')) as RunRecord);
    } catch {
      // a run directory without a readable record is not a run
    }
  }
  return records.sort((a, b) => b.started.localeCompare(a.started));
}

export async function runsCommand(notebookPath: string, options: { json?: boolean }): Promise<number> {
  const runs = await listRuns(notebookPath);
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
  const dir = options.notebook
    ? runsDir(resolve(options.notebook))
    : join(process.cwd(), '.cellpipe', 'runs');
  if (!/^[\w.-]+$/.test(runId) || !/^[\w]+$/.test(step)) {
    throw new UsageError(`no run ${runId} with a step ${step}`);
  }
  try {
    process.stdout.write(await readFile(join(dir, runId, 'logs', `${step}.log`)));
    return 0;
  } catch {
    throw new UsageError(
      `no log of step ${step} in run ${runId} under ${dir}; run this from the notebook's folder or pass --notebook`
    );
  }
}
