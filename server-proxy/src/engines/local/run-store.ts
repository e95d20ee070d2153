/** Reading the runs a notebook has under `.cellpipe/runs/` beside it. */
import { readdir, readFile } from 'fs/promises';
import { dirname, join } from 'path';
import type { RunRecord } from '../../../../src/core/runs/run-record';

export function runsDir(notebookPath: string): string {
  return join(dirname(notebookPath), '.cellpipe', 'runs');
}

const RUN_ID = /^[\w.-]+$/;
/** A step, or a sub-pipeline's step `NOTEBOOK_STEP.STEP` (never a path: no `/`, no empty or `..` part). */
const STEP_NAME = /^\w+(\.\w+)*$/;

/** The folder of one run, or null when the id cannot be one (ids never contain path separators). */
export function runDir(notebookPath: string, id: string): string | null {
  return RUN_ID.test(id) ? join(runsDir(notebookPath), id) : null;
}

export function isStepName(name: string): boolean {
  return STEP_NAME.test(name);
}

export async function readRun(notebookPath: string, id: string): Promise<RunRecord | null> {
  const dir = runDir(notebookPath, id);
  if (!dir) {
    return null;
  }
  try {
    return JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as RunRecord;
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
    .filter((r): r is RunRecord => r !== null && r.notebook === notebookPath)
    .sort((a, b) => b.started.localeCompare(a.started));
}
