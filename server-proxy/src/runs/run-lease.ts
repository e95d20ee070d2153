/**
 * One owner per run. The owner of a run holds its lease: the file `owner-N.json` with the highest N in the
 * run folder, naming its process (pid and start, so a reused pid is not taken for it), its kind and host.
 *
 * The first owner creates `owner-1.json`. Another process takes a run over only when the owner's process
 * is gone, by creating `owner-(N+1).json`, with `link()`, which fails when the file exists: of two
 * processes that try at once, exactly one becomes the owner, so no step is ever started by two of them.
 * A lease of another host is never taken over (its process cannot be checked from here).
 */
import { randomBytes } from 'crypto';
import { link, readdir, readFile, rm, writeFile } from 'fs/promises';
import { join } from 'path';
import type { RunOwner } from '../../../src/core/runs/run-record';
import { isRunning, selfRef, thisHost } from '../process-identity';

const LEASE = /^owner-(\d+)\.json$/;

export interface Lease {
  generation: number;
  owner: RunOwner;
}

/** How a person reads an owner: `the cellpipe server (pid 12)`, `cellpipe run (pid 34)`. */
export function ownerName(owner: Pick<RunOwner, 'kind' | 'pid'>): string {
  return `${owner.kind === 'server' ? 'the cellpipe server' : 'cellpipe run'} (pid ${owner.pid})`;
}

export function ownerOfThisProcess(kind: RunOwner['kind']): RunOwner {
  return { ...selfRef(), kind, host: thisHost() };
}

/** The current lease of a run folder, or null when it has none (a run written before leases existed). */
export async function currentLease(dir: string): Promise<Lease | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  const generations = names.map(n => LEASE.exec(n)).filter((m): m is RegExpExecArray => m !== null);
  if (generations.length === 0) {
    return null;
  }
  const generation = Math.max(...generations.map(m => Number(m[1])));
  try {
    const owner = JSON.parse(await readFile(join(dir, `owner-${generation}.json`), 'utf8')) as RunOwner;
    return { generation, owner };
  } catch {
    // Being written this instant (link makes it whole at once, so this is a read error): an owner exists.
    return { generation, owner: { pid: 0, kind: 'cli', host: '?' } };
  }
}

/** Whether the lease's owner is gone for sure (never for another host's lease). */
export function leaseIsStale(lease: Lease): boolean {
  return lease.owner.host === thisHost() && lease.owner.pid !== 0 && !isRunning(lease.owner);
}

/** Takes generation `generation` of the lease; false when another process has it. */
async function take(dir: string, generation: number, owner: RunOwner): Promise<boolean> {
  const tmp = join(dir, `.owner-${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(tmp, JSON.stringify(owner) + '\n');
  try {
    await link(tmp, join(dir, `owner-${generation}.json`));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      return false;
    }
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** The first lease of a new run. */
export async function createLease(dir: string, owner: RunOwner): Promise<Lease> {
  if (!(await take(dir, 1, owner))) {
    throw new Error(`The run folder ${dir} already has an owner.`);
  }
  return { generation: 1, owner };
}

/**
 * Takes a run over from an owner that is gone: the new lease, or null when the owner still runs or another
 * process took the run first. `legacyOwner`: the pid a run.json from before leases names.
 */
export async function takeOver(dir: string, owner: RunOwner, legacyOwner?: number): Promise<Lease | null> {
  const lease = await currentLease(dir);
  if (lease ? !leaseIsStale(lease) : legacyOwner !== undefined && isRunning({ pid: legacyOwner })) {
    return null;
  }
  const generation = (lease?.generation ?? 0) + 1;
  if (!(await take(dir, generation, owner))) {
    return null;
  }
  // Older leases say nothing any more.
  for (let g = 1; g < generation; g++) {
    await rm(join(dir, `owner-${g}.json`), { force: true });
  }
  return { generation, owner };
}
