/**
 * The local engine: each step as a subprocess of a Python, in topological order, independent steps in
 * parallel up to a bound. Everything a run makes lives in `.cellpipe/runs/RUN_ID/` beside the notebook;
 * the notebook itself is never touched. `prepare.ts` makes the run folder, `execute.ts` runs it.
 */
import type { RunRecord } from '../../../../src/core/runs/run-record';
import { RunJournal } from '../../runs/run-journal';
import { executeRun, ExecuteOptions } from './execute';
import type { PreparedRun } from './prepare';
import { dropChangedObjects } from './snapshot';

/**
 * Runs a prepared run to its end. Afterwards, workspace files a step changed in place leave the object
 * store (they no longer hold what their hash says) and the run records which.
 */
export async function runPrepared(
  prepared: PreparedRun,
  options: Omit<ExecuteOptions, 'mode' | 'reason'>
): Promise<RunRecord> {
  const done = await executeRun(prepared.dir, prepared.record, options);
  const changed = await dropChangedObjects(prepared.store, prepared.snapshot).catch(() => []);
  if (changed.length > 0) {
    done.snapshot = { ...done.snapshot!, changedInPlace: changed };
    await new RunJournal(prepared.dir, done).save();
  }
  return done;
}
