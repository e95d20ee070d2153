/**
 * The one rule for refusing a run (or a compile) before anything starts: a pipeline with error
 * diagnostics is not run, submitted or compiled; a pipeline without steps has nothing to run; on a cluster
 * the whole pipeline runs; a selected step must exist. Every shell (CLI, server, frontend, the cluster
 * compilers) asks here and only words the answer its own way.
 */
import { Diagnostic, formatDiagnostic } from '../diagnostics';
import type { PipelineAnalysis } from '../pipeline';
import { runnableSteps, selectSteps } from '../targets/runnable-steps';
import type { StartRunRequest } from './run-record';

export type RefusalCode = 'pipeline-has-errors' | 'no-steps' | 'cluster-runs-every-step' | 'no-such-step';

export interface Refusal {
  code: RefusalCode;
  /** One line a user can act on (for errors: how many, and the first with its notebook, cell and line). */
  message: string;
  /** For `pipeline-has-errors`: the error diagnostics, in reading order (each names its cell and line). */
  errors: Diagnostic[];
}

/** What is asked: where and which steps (default: every step, wherever), and the notebook's file name. */
export interface RefusalRequest extends Pick<StartRunRequest, 'target' | 'steps'> {
  /** Names the notebook in the message; default "the notebook". */
  file?: string;
}

/** The diagnostics that stop a pipeline from running or compiling. */
export function errorDiagnostics(analysis: Pick<PipelineAnalysis, 'diagnostics'>): Diagnostic[] {
  return analysis.diagnostics.filter(d => d.severity === 'error');
}

/** Why `analysis` cannot be run (or compiled) as asked, or null when it can. */
export function runRefusal(analysis: PipelineAnalysis, request: RefusalRequest = {}): Refusal | null {
  const file = request.file ?? 'the notebook';
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
  const selection = request.steps ?? { mode: 'all' };
  if (selection.mode === 'all') {
    return null;
  }
  if (request.target === 'kfp' || request.target === 'argo') {
    return {
      code: 'cluster-runs-every-step',
      message: 'On a cluster the whole pipeline runs: run every step, or set the target to local.',
      errors: []
    };
  }
  // A name selects a step, or every step of a notebook step's sub-pipeline (`train` or `train.fit`).
  const runnable = runnableSteps(analysis);
  if (selectSteps(runnable, selection.step ?? '').length === 0) {
    return {
      code: 'no-such-step',
      message: `The pipeline has no step "${selection.step ?? ''}" (it has ${runnable.map(s => s.name).join(', ')}).`,
      errors: []
    };
  }
  return null;
}
