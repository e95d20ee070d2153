/**
 * The modules a run's steps import at module level, as the analysis saw them (`import a.b` imports `a.b`,
 * `from a import b` names `a.b`): the local engine's warm Python imports them once before it forks the steps (cellpipe/runtime.py,
 * `preimport`), so that a notebook without an imports cell does not import its libraries again in every
 * step. Only names: whether a module may be imported early (an installed library that prints, warns and
 * changes nothing on import) is decided by the runtime, where the module is.
 */
import type { RunnableStep } from './runnable-steps';

/**
 * A cell that may change the process environment: libraries read it when imported (MPLBACKEND,
 * CUDA_VISIBLE_DEVICES, OMP_NUM_THREADS...), so a module imported from that cell on must be imported where
 * the notebook imports it.
 */
const CHANGES_ENVIRONMENT = /\benviron\b|\bputenv\b|\bdotenv\b|^\s*%(?:env|set_env)\b/m;

/**
 * In the order of the steps and their cells, each module once, up to the first cell that may change the
 * environment; relative imports are the notebook's own code.
 */
export function runImports(steps: readonly RunnableStep[]): string[] {
  const modules = new Set<string>();
  for (const runnable of steps) {
    for (const cell of runnable.step.cells) {
      if (CHANGES_ENVIRONMENT.test(runnable.notebook.cells[cell]?.source ?? '')) {
        return [...modules];
      }
      for (const event of runnable.analysis.analyses.get(cell)?.events ?? []) {
        const module =
          event.kind === 'write' && event.isImport ? (event.imported ?? event.module) : undefined;
        if (module && !module.startsWith('.')) {
          modules.add(module);
        }
      }
    }
  }
  return [...modules];
}
