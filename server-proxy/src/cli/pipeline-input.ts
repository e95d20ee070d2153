/** What the commands that act on a pipeline (run, submit, compile) check and read the same way. */
import type { PipelineAnalysis } from '../../../src/core/pipeline';
import { parseParameterOverride, ParameterValue } from '../../../src/core/tags/parameters';
import { formatDiagnostic } from '../../../src/core/diagnostics';
import { errorDiagnostics } from '../../../src/core/runs/refusal';

/** A problem with the command line itself (exit status 2). */
export class UsageError extends Error {}

/**
 * Writes the analysis's errors, one line each naming file, cell and line, then `refusal(count)`; returns
 * whether there were any (the command then stops with exit status 1).
 */
export function reportErrors(
  file: string,
  analysis: PipelineAnalysis,
  err: NodeJS.WritableStream,
  refusal: (count: number) => string
): boolean {
  const errors = errorDiagnostics(analysis);
  for (const d of errors) {
    err.write(formatDiagnostic(file, d) + '\n');
  }
  if (errors.length > 0) {
    err.write(refusal(errors.length) + '\n');
  }
  return errors.length > 0;
}

/** `--param NAME=VALUE` texts, typed by the notebook's parameters; a bad one is a usage error. */
export function parameterOverrides(
  texts: readonly string[],
  declared: PipelineAnalysis['parameters']
): Record<string, ParameterValue> {
  const parameters: Record<string, ParameterValue> = {};
  for (const text of texts) {
    try {
      const { name, value } = parseParameterOverride(text, declared);
      parameters[name] = value;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return parameters;
}
