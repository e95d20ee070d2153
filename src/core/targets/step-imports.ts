/**
 * The modules a run's steps import at module level, as the analysis saw them (`import a.b`, `from a import
 * b`): the local engine's warm Python imports them once before it forks the steps (cellpipe/runtime.py,
 * `preimport`), so that a notebook without an imports cell does not import its libraries again in every
 * step. Only names: whether a module may be imported early (an installed library that prints, warns and
 * changes nothing on import) is decided by the runtime, where the module is.
 */
import type { RunnableStep } from './runnable-steps';

/** In the order of the steps and their cells, each module once; relative imports are the notebook's own code. */
export function runImports(steps: readonly RunnableStep[]): string[] {
  const modules = new Set<string>();
  for (const runnable of steps) {
    for (const cell of runnable.step.cells) {
      for (const event of runnable.analysis.analyses.get(cell)?.events ?? []) {
        if (event.kind === 'write' && event.isImport && event.module && !event.module.startsWith('.')) {
          modules.add(event.module);
        }
      }
    }
  }
  return [...modules];
}
