/**
 * Who runs a run (its owner) and whether that process is still alive. A pid alone is not enough: after a
 * notebook pod restarts, its new cellpipe server often gets the very pid the old one had (a container's
 * pids start again from 1, in the same order), so the start time of the process is recorded with it.
 */
import { readFileSync } from 'fs';

/** When a process started (Linux: /proc/PID/stat field 22, clock ticks since boot); undefined elsewhere. */
export function processStarted(pid: number | 'self'): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (in parentheses, which may hold spaces) start at field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
  } catch {
    return undefined;
  }
}

const STARTED = processStarted('self');

/** The owner fields a run gets when this process runs or follows it. */
export function thisOwner(): { owner: number; ownerStarted?: string } {
  return STARTED === undefined ? { owner: process.pid } : { owner: process.pid, ownerStarted: STARTED };
}

/** Whether the process that owns a run is alive: its pid answers signal 0 and, when its start was recorded, started then. */
export function ownerAlive(record: { owner?: number; ownerStarted?: string }): boolean {
  const pid = record.owner;
  if (!pid) {
    return false;
  }
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return record.ownerStarted === undefined || processStarted(pid) === record.ownerStarted;
}
