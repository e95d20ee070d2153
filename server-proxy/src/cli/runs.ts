/** `cellpipe runs NOTEBOOK` and `cellpipe logs RUN_ID STEP`: what earlier local runs did. */
import { readFile } from 'fs/promises';
import { join, resolve } from 'path';
import type { RunRecord } from '../../../src/core/runs/run-record';
import { recordedBackend, refollowClusterRun } from '../engines/cluster/cluster-submit';
import { environmentConnection } from '../engines/cluster/connection';
import { isStepName, listRuns, readRun, runDir, runsDir } from '../runs/run-store';
import { stepInputs, StepInputsError } from '../runs/step-inputs';
import type { AccessFlags } from './connection-options';
import { UsageError } from './pipeline-input';
import { recordRunsOfSchedules } from './schedule';
import { closeOrphans } from './close-orphans';
import { lastSeen, RunPrinter } from './run-printer';

/**
 * A cluster run no process follows (one a schedule started, or `cellpipe submit` without --watch): its
 * state read once from the cluster, through the follow code a server follows it with. When the cluster
 * cannot be read it stays as it was last seen, and stderr says why.
 */
export async function readClusterRunOnce(dir: string, record: RunRecord): Promise<RunRecord> {
  try {
    const { context, tokenFile } = record.access ?? {};
    const connection = environmentConnection({ context, tokenFile });
    const following = refollowClusterRun(dir, record, connection, { once: true });
    return following ? (await following).record : record;
  } catch (err) {
    process.stderr.write(
      `cellpipe: run ${record.id} is shown ${lastSeen(record)}: the cluster could not be read ` +
        `(${(err as Error).message})\n`
    );
    return record;
  }
}

export async function runsCommand(notebookPath: string, options: { json?: boolean }): Promise<number> {
  const path = resolve(notebookPath);
  await closeOrphans(path, { refollow: readClusterRunOnce }).catch(() => undefined);
  // The runs the notebook's schedules started on the cluster since last asked.
  await recordRunsOfSchedules(path).catch(() => undefined);
  const runs = await listRuns(path);
  if (!options.json && runs.length === 0) {
    process.stdout.write(`No runs of ${notebookPath} yet: start one with cellpipe run ${notebookPath}\n`);
    return 0;
  }
  new RunPrinter(process.stderr, process.stdout, options.json).list(runs);
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

/**
 * `cellpipe inputs RUN STEP`: prints the Python that loads what the step received into a kernel (paste it
 * into a cell of the notebook, or run it in IPython), as "Load this step's inputs" in the sidebar does.
 */
export interface InputsCliOptions extends AccessFlags {
  notebook?: string;
}

export async function inputsCommand(runId: string, step: string, options: InputsCliOptions): Promise<number> {
  const notebook = resolve(options.notebook ?? 'notebook.ipynb');
  const dir = runDir(notebook, runId);
  const record = dir ? await readRun(notebook, runId) : null;
  if (!dir || !record) {
    throw new UsageError(
      `no run ${runId} under ${runsDir(notebook)}; run this from the notebook's folder or pass --notebook`
    );
  }
  if (!isStepName(step) || !record.steps[step]) {
    throw new UsageError(`run ${runId} has no step ${step} (it has ${record.order.join(', ')})`);
  }
  try {
    const inputs = await stepInputs(record, dir, step, () => {
      const { kubeconfig, context, tokenFile } = options;
      return recordedBackend(record, environmentConnection({ kubeconfig, context, tokenFile })).backend;
    });
    if (inputs.notebook) {
      process.stderr.write(
        `cellpipe: step ${step} runs the cells of ${inputs.notebook}: run the code in its kernel.\n`
      );
    }
    process.stdout.write(inputs.code);
    return 0;
  } catch (err) {
    if (err instanceof StepInputsError) {
      process.stderr.write(`cellpipe: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
