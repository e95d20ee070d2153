/**
 * What `cellpipe run` and `cellpipe runs` do first: close the CLI's orphans. A module of its own so that
 * `cellpipe run` loads none of the cluster code `cellpipe runs` needs.
 */
import { adoptOrphans } from '../runs/orphans';

/**
 * Closes the notebook's runs whose `cellpipe run` is gone and whose steps have all ended, as failed with
 * the reason (a command never waits here for a step that still runs without its owner; the server resumes
 * its own runs).
 */
export async function closeOrphans(notebookPath: string): Promise<void> {
  const closed = await adoptOrphans(notebookPath, {
    kind: 'cli',
    skipLive: true,
    python: process.env.CELLPIPE_PYTHON ?? 'python3',
    onlyOwnedBy: 'cli'
  });
  await Promise.all(closed.map(c => c.done));
}
