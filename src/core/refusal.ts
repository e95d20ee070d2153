/**
 * The one rule "a pipeline with error diagnostics is not run, submitted or compiled", and "a pipeline
 * without steps has nothing to run". Every shell (CLI, server, frontend, the cluster compilers) asks here.
 */
import { Diagnostic, formatDiagnostic } from './diagnostics';
import type { PipelineAnalysis } from './pipeline';

export interface Refusal {
  code: 'pipeline-has-errors' | 'no-steps';
  /** One line: how many errors and the first one with its cell and line. */
  message: string;
  /** The error diagnostics, in reading order (each names its cell and line). */
  errors: Diagnostic[];
}

export function errorDiagnostics(analysis: Pick<PipelineAnalysis, 'diagnostics'>): Diagnostic[] {
  return analysis.diagnostics.filter(d => d.severity === 'error');
}

/** Why the pipeline cannot be run as it is, or null when it can. `file` names the notebook in the message. */
export function refusal(
  analysis: Pick<PipelineAnalysis, 'diagnostics' | 'steps'>,
  file = 'the notebook'
): Refusal | null {
  const errors = errorDiagnostics(analysis);
  if (errors.length > 0) {
    const count = errors.length === 1 ? '1 error' : `${errors.length} errors`;
    return {
      code: 'pipeline-has-errors',
      message: `The pipeline has ${count}; fix ${errors.length === 1 ? 'it' : 'them'} first: ${formatDiagnostic(file, errors[0])}`,
      errors
    };
  }
  if (analysis.steps.length === 0) {
    return {
      code: 'no-steps',
      message: `No cell is tagged as a step in ${file}, so there is no pipeline: tag a code cell step:NAME.`,
      errors: []
    };
  }
  return null;
}
