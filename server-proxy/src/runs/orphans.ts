/**
 * Runs whose owner is gone (a server or CLI killed, a machine that went down): who takes them over, and
 * what happens to them. The rules:
 *
 * - Reading never changes a run (listing runs, `GET` requests): readers show the orphan as it is.
 * - A process that may change runs takes an orphan over with the next lease (`run-lease.ts`: exactly one
 *   process wins), then adopts the steps recorded as running: their processes outlive their owner, so they
 *   are waited for, and judged by their completion record, never started a second time.
 * - A local run the cellpipe server owned is resumed by a server (the server is not the user's choice to
 *   stop: Jupyter restarts it), so it goes on with its remaining steps.
 * - A local run a `cellpipe run` owned is closed as failed, saying that its CLI stopped: the user killed
 *   it, and nothing is run behind their back. Its finished steps keep their results (and are in the
 *   cache, so running the notebook again computes only the rest).
 * - A cluster run keeps running on the cluster: a server follows it again; `cellpipe runs` reads its state
 *   once, so that a run no server follows (a schedule's) is not shown running after its end.
 *
 * Who calls this: the server, before it starts a run of a notebook and on `POST /api/runs/adopt` (the
 * frontend sends it when it lists a notebook's runs and sees an orphan); `cellpipe runs` and `cellpipe
 * run`, which close the CLI's orphans whose steps have all ended (they do not wait for live ones), and
 * `cellpipe runs`, which brings cluster orphans up to date.
 */
import { readdir, readFile, rm } from 'fs/promises';
import { join } from 'path';
import type { RunOwner, RunRecord } from '../../../src/core/runs/run-record';
import { writeFileAtomic } from '../atomic-file';
import { executeRun, ExecuteOptions } from '../engines/local/execute';
import { finalRecordPath } from './run-journal';
import { ownerOfThisProcess, takeOver } from './run-lease';
import { ownerIsGone, readRun, runsDir } from './run-store';

export interface AdoptOptions extends Omit<ExecuteOptions, 'mode' | 'reason' | 'onRecorded'> {
  /** The adopting process. */
  kind: RunOwner['kind'];
  /** Leave runs with live step processes alone (for commands that must not wait). */
  skipLive?: boolean;
  /** Take over only local runs whose gone owner was of this kind (a cluster run, whoever owned it). */
  onlyOwnedBy?: RunOwner['kind'];
  /** Only this run of the notebook. */
  run?: string;
  /**
   * Follows a cluster run again (a server: to its end; `cellpipe runs`: one read of its state); without it
   * cluster orphans are left alone.
   */
  refollow?: (dir: string, record: RunRecord, signal?: AbortSignal) => Promise<RunRecord>;
  /** The signal that cancels one adopted run (default: `signal`, for all of them). */
  signalFor?: (id: string) => AbortSignal;
}

export interface Adopted {
  id: string;
  /** Resolves when the run has ended (resumed, closed or followed to its end). */
  done: Promise<RunRecord>;
  record: RunRecord;
}

/** Takes over the notebook's orphaned runs; returns those it took (each goes on in the background). */
export async function adoptOrphans(notebookPath: string, options: AdoptOptions): Promise<Adopted[]> {
  let ids: string[];
  try {
    ids = await readdir(runsDir(notebookPath));
  } catch {
    return [];
  }
  const adopted: Adopted[] = [];
  for (const id of ids.filter(i => options.run === undefined || i === options.run)) {
    const dir = join(runsDir(notebookPath), id);
    await settleFinalRecord(dir);
    const seen = await readRun(notebookPath, id);
    if (!seen?.orphan || !(await ownerIsGone(dir, seen))) {
      continue;
    }
    const cluster = seen.target !== undefined && seen.target !== 'local';
    if (
      (cluster && !options.refollow) ||
      (options.skipLive && seen.orphan.liveSteps.length > 0) ||
      (!cluster && options.onlyOwnedBy && seen.orphan.kind !== options.onlyOwnedBy)
    ) {
      continue;
    }
    const { orphan, ...record } = seen;
    const legacy = typeof record.owner === 'number' ? (record.owner as number) : undefined;
    const owner = ownerOfThisProcess(options.kind);
    let lease;
    try {
      lease = await takeOver(dir, owner, legacy);
    } catch {
      continue; // the folder cannot be written: readers keep showing it as an orphan
    }
    if (!lease) {
      continue;
    }
    record.owner = owner;
    record.resumed = (record.resumed ?? 0) + 1;
    const resume = orphan.kind === 'server' && options.kind === 'server';
    const signal = options.signalFor?.(id) ?? options.signal;
    const done = cluster
      ? options.refollow!(dir, record, signal)
      : executeRun(dir, record, {
          ...options,
          // The Python it was started with, so its remaining steps see the same libraries.
          python: record.python ?? options.python,
          signal,
          mode: resume ? 'run' : 'close',
          reason:
            `Interrupted: ${orphan.owner} stopped before the run finished. Steps that had finished keep ` +
            'their results; run the notebook again to compute the rest (finished steps come from the cache).'
        });
    adopted.push({ id, done, record });
  }
  return adopted;
}

/**
 * A final record left beside a run folder that could not take it: moved into the folder once the folder
 * can be written again (by whoever may write; readers already show it).
 */
async function settleFinalRecord(dir: string): Promise<void> {
  const beside = finalRecordPath(dir);
  let text: string;
  try {
    text = await readFile(beside, 'utf8');
  } catch {
    return;
  }
  try {
    await writeFileAtomic(join(dir, 'run.json'), text);
    await rm(beside, { force: true });
  } catch {
    // still not writable: readers keep taking the record from beside the folder
  }
}
