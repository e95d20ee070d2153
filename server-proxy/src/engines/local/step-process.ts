/**
 * Starting a step and learning how it ended: the one seam between the local engine and step processes
 * (`warm-python.ts` forks steps from a warm Python behind the same `StepProcess`).
 *
 * A step's output goes straight to its log file (no pipe through this process), and the step runs in a
 * session of its own: it does not die with the process that started it, so a server or CLI killed
 * mid-step loses nothing. The next owner of the run finds the process again (`adoptStep`) and waits for
 * its end instead of starting the step a second time; the step's own files then say how it ended.
 */
import { spawn } from 'child_process';
import { closeSync, openSync } from 'fs';
import type { ProcessRef } from '../../../../src/core/runs/run-record';
import { isRunning, processRef } from '../../process-identity';

/** How a step process ended; null fields when it was adopted (only its parent learns its exit status). */
export interface StepExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The process could not be started (no such Python…). */
  startError?: string;
  /** Its exit status was lost (the warm Python it was forked from ended first): judged by its files only. */
  lost?: boolean;
  /**
   * It reported that it is done (its completion record written) before its process ended: the step is
   * finished from then on, whatever becomes of the process (a forked step, `warm-python.ts`).
   */
  reported?: boolean;
}

export interface StepProcess {
  ref: ProcessRef;
  /** Resolves when the process has ended, or reported that its step is done (`StepExit.reported`). */
  exited: Promise<StepExit>;
  /**
   * Resolves when the process has ended: after `exited` for a step that reported it is done and then
   * hashed what it saved for the run's lineage.
   */
  ended: Promise<StepExit>;
  /** Asks it to stop (SIGTERM to its process group), then kills it after `graceMs`. */
  stop(graceMs?: number): void;
}

export interface StepLaunch {
  python: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** The log file (truncated): stdout and stderr of the step. */
  log: string;
}

/** Starts a step; throws (with the file-system error) when its log cannot be opened. */
export function launchStep(launch: StepLaunch): StepProcess {
  const fd = openSync(launch.log, 'w');
  let child;
  try {
    child = spawn(launch.python, launch.args, {
      cwd: launch.cwd,
      env: launch.env,
      stdio: ['ignore', fd, fd],
      detached: true
    });
  } finally {
    closeSync(fd); // the child has its own copy
  }
  const pid = child.pid;
  const ref = (pid !== undefined && processRef(pid)) || { pid: pid ?? 0 };
  const exited = new Promise<StepExit>(resolve => {
    child.once('error', err => resolve({ code: null, signal: null, startError: err.message }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { ref, exited, ended: exited, stop: graceMs => stopGroup(ref, exited, graceMs) };
}

/** A step process another owner started: its end is seen by polling (it is not our child). */
export function adoptStep(ref: ProcessRef, pollMs = 200): StepProcess {
  const exited = new Promise<StepExit>(resolve => {
    const check = () => (isRunning(ref) ? setTimeout(check, pollMs) : resolve({ code: null, signal: null }));
    check();
  });
  return { ref, exited, ended: exited, stop: graceMs => stopGroup(ref, exited, graceMs) };
}

/** How a step that reported it is done ended, whatever its process does next. */
const REPORTED: StepExit = { code: 0, signal: null, reported: true };

/** A step process whose end is told by calls (a forked step): `report()` when it says it is done, `end`. */
export interface FollowedStep {
  process: StepProcess;
  report(): void;
  end(exit: StepExit): void;
}

export function followStep(ref: ProcessRef): FollowedStep {
  let report: (exit: StepExit) => void = () => undefined;
  let end: (exit: StepExit) => void = () => undefined;
  const exited = new Promise<StepExit>(resolve => (report = resolve));
  const ended = new Promise<StepExit>(resolve => (end = resolve));
  return {
    process: { ref, exited, ended, stop: graceMs => stopGroup(ref, ended, graceMs) },
    report: () => report(REPORTED),
    end: exit => {
      report(exit); // no-op once it reported
      end(exit);
    }
  };
}

/** Stops a step: SIGTERM to its process group (its own session), SIGKILL after `graceMs`. */
export function stopGroup(ref: ProcessRef, exited: Promise<StepExit>, graceMs = 5000): void {
  const signal = (name: NodeJS.Signals) => {
    if (!isRunning(ref)) {
      return;
    }
    try {
      process.kill(-ref.pid, name); // the step and what it started (its own session and group)
    } catch {
      try {
        process.kill(ref.pid, name);
      } catch {
        // gone meanwhile
      }
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  timer.unref();
  void exited.then(() => clearTimeout(timer));
}
