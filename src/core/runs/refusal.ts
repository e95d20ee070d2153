/**
 * The one rule for refusing a run (or a compile) before anything starts: a pipeline with error
 * diagnostics, or without steps, does not run; on a cluster the whole pipeline runs; a selected step
 * must exist. The engines, the server, the CLI and the frontend all ask this function.
 */
import type { Diagnostic } from '../diagnostics';
import type { PipelineAnalysis } from '../pipeline';
import type { StartRunRequest } from './run-record';

export type RefusalCode = 'pipeline-has-errors' | 'no-steps' | 'cluster-runs-every-step' | 'no-such-step';

export interface Refusal {
  code: RefusalCode;
  /** What to do, in a sentence a user can act on. */
  message: string;
  /** For `pipeline-has-errors`: the error diagnostics, in notebook order. */
  errors: Diagnostic[];
}

/** The error diagnostics that stop a pipeline from running or compiling. */
export function blockingErrors(analysis: Pick<PipelineAnalysis, 'diagnostics'>): Diagnostic[] {
  return analysis.diagnostics.filter(d => d.severity === 'error');
}

/** Why `analysis` cannot be run as asked, or null when it can. */
export function runRefusal(
  analysis: Pick<PipelineAnalysis, 'diagnostics' | 'steps' | 'order'>,
  request: Pick<StartRunRequest, 'target' | 'steps'> = {}
): Refusal | null {
  const errors = blockingErrors(analysis);
  if (errors.length > 0) {
    const first = errors[0];
    const where =
      first.cell === null
        ? ''
        : first.line === null
          ? ` (cell ${first.cell + 1})`
          : ` (cell ${first.cell + 1}, line ${first.line})`;
    return {
      code: 'pipeline-has-errors',
      message:
        errors.length === 1
          ? `Fix the error first: ${first.message}${where}`
          : `Fix the ${errors.length} errors first; the first: ${first.message}${where}`,
      errors
    };
  }
  if (analysis.steps.length === 0) {
    return { code: 'no-steps', message: 'No cell is tagged as a step yet.', errors: [] };
  }
  const selection = request.steps ?? { mode: 'all' };
  const onCluster = request.target === 'kfp' || request.target === 'argo';
  if (onCluster && selection.mode !== 'all') {
    return {
      code: 'cluster-runs-every-step',
      message: 'On a cluster the whole pipeline runs: use Run, or set the target to Local.',
      errors: []
    };
  }
  if (selection.mode !== 'all' && !analysis.order.includes(selection.step ?? '')) {
    return {
      code: 'no-such-step',
      message: `The pipeline has no step "${selection.step ?? ''}".`,
      errors: []
    };
  }
  return null;
}
