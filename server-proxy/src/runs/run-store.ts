/**
 * Reading the runs a notebook has under `.cellpipe/runs/` beside it, as they are: readers never change a
 * run. A run still marked running whose owner is gone is shown with `orphan` (who owned it, which of its
 * steps still run): only a process that may write takes such a run over (`orphans.ts`).
 */
import { readdir, readFile } from 'fs/promises';
import { basename, dirname, join } from 'path';
import type { RunRecord } from '../../../src/core/runs/run-record';
import { mergeRun } from '../../../src/core/runs/run-order';
import { stepNameProblem } from '../../../src/core/tags/grammar';
import { isRunning, processesWithArgument } from '../process-identity';
import { finalRecordPath } from './run-journal';
import { currentLease, leaseIsStale, ownerName } from './run-lease';

export function runsDir(notebookPath: string): string {
  return join(dirname(notebookPath), '.cellpipe', 'runs');
}

const RUN_ID = /^[\w.-]{1,100}$/;

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${Math.random().toString(16).slice(2, 6)}`;
}

/** Whether `id` can be one `newRunId` made (a run's or a sweep's): never a path separator, `.` or `..`. */
export function isRunId(id: string): boolean {
  return RUN_ID.test(id) && !/^\.+$/.test(id);
}

/** The folder of one run, or null when the id cannot be one. */
export function runDir(notebookPath: string, id: string): string | null {
  return isRunId(id) ? join(runsDir(notebookPath), id) : null;
}

/** A step, or a sub-pipeline's step `NOTEBOOK_STEP.STEP` (never a path: no `/`, no empty or `..` part). */
export function isStepName(name: string): boolean {
  return name.split('.').every(part => stepNameProblem(part) === null);
}

export async function readRun(notebookPath: string, id: string): Promise<RunRecord | null> {
  const dir = runDir(notebookPath, id);
  if (!dir) {
    return null;
  }
  // A run whose folder could not take its final record left it beside the folder: of the two, the later
  // (the core's one rule: an ended run is never shown running again, else the higher count). Only a run
  // the folder shows unended can have one, so a listing of ended runs reads one file each.
  const inFolder = await readRecord(join(dir, 'run.json'));
  const beside = !inFolder || inFolder.status === 'running' ? await readRecord(finalRecordPath(dir)) : null;
  const record = inFolder && beside ? mergeRun(inFolder, beside) : (beside ?? inFolder);
  if (!record) {
    return null;
  }
  // Notebooks in one folder share its runs folder; a run belongs to the one of its name (the folder may be
  // reached through another path, a symlink, than when the run was recorded).
  return basename(record.notebook ?? '') === basename(notebookPath) ? withOrphanState(dir, record) : null;
}

async function readRecord(path: string): Promise<RunRecord | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as RunRecord;
  } catch {
    return null;
  }
}

/** The notebook's runs, newest first (notebooks in one folder share its runs folder). */
export async function listRuns(notebookPath: string): Promise<RunRecord[]> {
  let ids: string[];
  try {
    ids = await readdir(runsDir(notebookPath));
  } catch {
    return [];
  }
  const records = await Promise.all(ids.map(id => readRun(notebookPath, id)));
  return records
    .filter((r): r is RunRecord => r !== null)
    .sort((a, b) => (b.started ?? '').localeCompare(a.started ?? ''));
}

/** Whether a run marked running has lost its owner (its lease, or for older runs its recorded pid). */
export async function ownerIsGone(dir: string, record: RunRecord): Promise<boolean> {
  if (record.status !== 'running') {
    return false;
  }
  const lease = await currentLease(dir);
  if (lease) {
    return leaseIsStale(lease);
  }
  const legacy = record.owner as unknown;
  return typeof legacy === 'number' ? !isRunning({ pid: legacy }) : true;
}

async function withOrphanState(dir: string, record: RunRecord): Promise<RunRecord> {
  if (!(await ownerIsGone(dir, record))) {
    return record;
  }
  const lease = await currentLease(dir);
  const owner = lease?.owner ?? (typeof record.owner === 'object' ? record.owner : undefined);
  const local = !record.target || record.target === 'local';
  const liveSteps = local
    ? record.order.filter(
        step =>
          record.steps[step]?.status === 'running' &&
          (isRunning(record.steps[step].process) ||
            processesWithArgument(join(dir, 'programs', `${step}.py`)).length > 0)
      )
    : [];
  return {
    ...record,
    orphan: {
      owner: owner ? ownerName(owner) : 'the process that started it',
      kind: owner?.kind ?? 'cli',
      liveSteps
    }
  };
}
