/**
 * What `cellpipe run` and `cellpipe runs` do first: close the CLI's orphans. A module of its own so that
 * `cellpipe run` loads none of the cluster code `cellpipe runs` needs.
 */
import type { RunRecord } from '../../../src/core/runs/run-record';
import { adoptOrphans } from '../runs/orphans';

/**
 * Closes the notebook's runs whose `cellpipe run` is gone and whose steps have all ended, as failed with
 * the reason (a command never waits here for a step that still runs without its owner; the server resumes
 * its own runs). With `cluster`, its cluster runs that no process follows are brought up to date by
 * `cluster.refollow` too (of them, only `cluster.run` when given): `cellpipe runs` passes the cluster code in.
 */
export async function closeOrphans(
  notebookPath: string,
  cluster?: { run?: string; refollow: (dir: string, record: RunRecord) => Promise<RunRecord> }
): Promise<void> {
  const closed = await adoptOrphans(notebookPath, {
    kind: 'cli',
    skipLive: true,
    python: process.env.CELLPIPE_PYTHON ?? 'python3',
    onlyOwnedBy: 'cli',
    ...(cluster ? { run: cluster.run, refollow: cluster.refollow } : {})
  });
  await Promise.all(closed.map(c => c.done));
}
