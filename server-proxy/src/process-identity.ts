/**
 * Processes told apart robustly: a pid is reused once its process is gone, so a process is named by its
 * pid and its start (the kernel's boot id and the process's start time in clock ticks since boot, from
 * /proc). Without /proc (not Linux) only the pid is known, and a live pid counts as the same process.
 */
import { readdirSync, readFileSync } from 'fs';
import { hostname } from 'os';
import type { ProcessRef } from '../../src/core/runs/run-record';

let bootId: string | null | undefined;

function boot(): string | null {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = null;
    }
  }
  return bootId;
}

/** The start of a process (`BOOT:TICKS`), null without /proc, undefined when the process is gone or a zombie. */
function startOf(pid: number): string | null | undefined {
  const id = boot();
  if (id === null) {
    return null;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold anything: count fields after the last ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') {
    return undefined; // it has ended: only its exit status is left for its parent
  }
  return `${id}:${fields[19]}`;
}

export function processRef(pid: number): ProcessRef | null {
  const start = startOf(pid);
  if (start === undefined) {
    return null;
  }
  return start === null ? { pid } : { pid, start };
}

/** This process. */
export function selfRef(): ProcessRef {
  return processRef(process.pid) ?? { pid: process.pid };
}

export function thisHost(): string {
  return hostname();
}

/** Whether the process still runs (the same one: not a later process that got its pid). */
export function isRunning(ref: ProcessRef | undefined | null): boolean {
  if (!ref?.pid) {
    return false;
  }
  try {
    process.kill(ref.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') {
      return false; // ESRCH: no such process
    }
  }
  const start = startOf(ref.pid);
  if (start === undefined) {
    return false;
  }
  return !ref.start || start === null || start === ref.start;
}

/**
 * The live processes whose command line holds `argument` (a step program's path, unique to its run and
 * step): how a new owner finds a step process whose pid never reached run.json. Empty without /proc.
 */
export function processesWithArgument(argument: string): ProcessRef[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter(name => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const found: ProcessRef[] = [];
  for (const pid of pids) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv.includes(argument)) {
      const ref = processRef(Number(pid));
      if (ref) {
        found.push(ref);
      }
    }
  }
  return found;
}
