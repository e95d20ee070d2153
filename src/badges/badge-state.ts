/**
 * What each code cell's badge shows: its step (with a colour per step), the
 * step's upstream steps, its role, the step's run state, and whether the
 * cell carries diagnostics. Pure: computed from the analysis and a run.
 */
import type { PipelineAnalysis } from '../core/pipeline';
import { notebookStepView, StepView } from '../run/run-state';

/** Step colours cycle through this many CSS classes (jp-cellpipe-color-N). */
export const STEP_COLORS = 8;

export interface BadgeState {
  /** Step the cell belongs to, if any. */
  step?: string;
  /** Index into the step colours. */
  color?: number;
  /** Declared upstream steps of the cell's step (shown on the step's first cell). */
  prev: string[];
  /**
   * The cell's role label: step, notebook, continues, skip, imports, functions, pipeline-parameters,
   * pipeline-metrics, or none.
   */
  role: string;
  /** The first cell of a step gets the full badge; the others a compact one. */
  first: boolean;
  run?: StepView;
  errors: number;
  warnings: number;
}

export function badgeStates(
  analysis: PipelineAnalysis,
  runSteps: Record<string, StepView> = {}
): Map<number, BadgeState> {
  const states = new Map<number, BadgeState>();
  // Counted in one pass: this runs for every cell after each analysis and run event.
  const counts = new Map<number, { errors: number; warnings: number }>();
  for (const d of analysis.diagnostics) {
    if (d.cell !== null && d.severity !== 'info') {
      const c = counts.get(d.cell) ?? { errors: 0, warnings: 0 };
      c[d.severity === 'error' ? 'errors' : 'warnings']++;
      counts.set(d.cell, c);
    }
  }
  const diagnosticsOf = (cell: number) => ({ ...(counts.get(cell) ?? { errors: 0, warnings: 0 }) });
  for (const [cell, role] of analysis.roles) {
    states.set(cell, {
      prev: [],
      role: role.kind === 'continue' ? 'none' : role.kind,
      first: role.kind !== 'continue',
      ...diagnosticsOf(cell)
    });
  }
  analysis.steps.forEach((step, i) => {
    step.cells.forEach((cell, position) => {
      const first = position === 0;
      states.set(cell, {
        step: step.name,
        color: i % STEP_COLORS,
        prev: first ? step.deps : [],
        role:
          analysis.roles.get(cell)?.kind === 'step'
            ? 'step'
            : step.notebook !== undefined
              ? 'notebook'
              : 'continues',
        first,
        // A notebook step's state is that of the steps of its sub-pipeline.
        run: runSteps[step.name] ?? notebookStepView(runSteps, step.name),
        ...diagnosticsOf(cell)
      });
    });
  });
  // Untagged cells after imports/functions/parameters cells join them.
  for (const index of analysis.prelude) {
    const state = states.get(index);
    if (state && state.role === 'none') {
      state.role = 'continues';
    }
  }
  return states;
}
