/** What the commands that act on a pipeline (run, submit, compile) report the same way. */
import { basename } from 'path';
import { formatDiagnostic } from '../../../src/core/diagnostics';
import type { Refusal } from '../../../src/core/runs/refusal';
import { StartRunError } from '../runs/start-run';

/** A problem with the command line itself (exit status 2). */
export class UsageError extends Error {}

/** Writes a refused pipeline's errors, one line each naming file, cell and line, then `closing`. */
export function reportRefusal(
  path: string,
  refused: Pick<Refusal, 'errors' | 'message'>,
  err: NodeJS.WritableStream,
  closing: string
): void {
  const file = basename(path);
  for (const d of refused.errors) {
    err.write(formatDiagnostic(file, d) + '\n');
  }
  err.write(`${refused.errors.length > 0 ? closing : `cellpipe: ${refused.message}`}\n`);
}

/**
 * A run that was not started, as the CLI says it: usage errors throw (exit 2), a refused pipeline lists
 * its errors, anything else is one line. Returns the exit status (1).
 */
export function reportNotStarted(
  path: string,
  error: StartRunError,
  verb: string,
  json: boolean | undefined
): number {
  if (error.usage) {
    throw new UsageError(error.message);
  }
  if (error.code === 'pipeline-has-errors' || error.code === 'no-steps') {
    reportRefusal(
      path,
      { errors: error.diagnostics, message: error.message },
      process.stderr,
      `cellpipe: not ${verb} ${basename(path)}: fix the errors above first.`
    );
  } else {
    process.stderr.write(`cellpipe: ${error.message}\n`);
  }
  if (json) {
    process.stdout.write(
      JSON.stringify({ error: { code: error.code, message: error.message } }, null, 2) + '\n'
    );
  }
  return 1;
}
