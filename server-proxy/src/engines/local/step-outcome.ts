/**
 * How a step ended, from its files and its process's exit: the one judgement for steps run here and steps
 * adopted from an owner that is gone. A step succeeded only when it wrote its completion record (the
 * runtime writes it last, after its data and outputs): a Python that exits 0 without it did not finish.
 */
import { readFile } from 'fs/promises';
import { join } from 'path';
import type { StepRecord } from '../../../../src/core/runs/run-record';
import type { StepExit } from './step-process';
import { fileExists } from '../../file-exists';

export type StepOutcome = Pick<StepRecord, 'status' | 'error' | 'exitCode' | 'signal'>;

const SIGNALS: Record<string, string> = {
  SIGKILL: 'was killed (SIGKILL): by someone, or by the system when memory ran out',
  SIGSEGV: 'crashed (SIGSEGV: a fault in native code, e.g. a library)',
  SIGBUS: 'crashed (SIGBUS: a fault in native code)',
  SIGABRT: 'aborted (SIGABRT)',
  SIGTERM: 'was stopped (SIGTERM)',
  SIGINT: 'was interrupted (SIGINT)'
};

async function recordedError(stepDir: string): Promise<StepRecord['error'] | null> {
  try {
    const e = JSON.parse(await readFile(join(stepDir, 'error.json'), 'utf8')) as {
      message?: string;
      cell?: number | null;
      line?: number | null;
    };
    return e.message ? { message: e.message, cell: e.cell ?? null, line: e.line ?? null } : null;
  } catch {
    return null;
  }
}

/** `exit` is null for a step adopted from another owner: only its files tell how it ended. */
export async function stepOutcome(runDir: string, step: string, exit: StepExit | null): Promise<StepOutcome> {
  const stepDir = join(runDir, 'steps', step);
  const log = `see logs/${step}.log`;
  const failed = (message: string, recorded?: StepRecord['error'] | null): StepOutcome => ({
    status: 'failed',
    ...(exit ? { exitCode: exit.code } : {}),
    ...(exit?.signal ? { signal: exit.signal } : {}),
    error: recorded ?? { message, cell: null, line: null }
  });
  if (exit?.startError) {
    return failed(`Could not start the step's Python: ${exit.startError}.`);
  }
  const complete = await fileExists(join(stepDir, 'complete.json'));
  if (complete && (exit === null || exit.code === 0)) {
    return { status: 'succeeded', ...(exit ? { exitCode: 0 } : {}) };
  }
  if (exit?.signal) {
    const what = SIGNALS[exit.signal] ?? `was killed by the signal ${exit.signal}`;
    return failed(`The step's Python ${what}; ${log}.`);
  }
  const recorded = await recordedError(stepDir);
  if (recorded) {
    return failed(recorded.message, recorded);
  }
  if (exit === null) {
    return failed(`The step's process ended while its run had no owner, without finishing the step; ${log}.`);
  }
  if (exit.code === 0) {
    return failed(
      "The step's Python exited (status 0) before the step finished: its outputs were not saved. A cell or a " +
        `library ended the process early (os._exit, sys.exit in a thread?); ${log}.`
    );
  }
  return failed(`The step's Python exited with status ${exit.code}; ${log}.`);
}
