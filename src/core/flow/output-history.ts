/**
 * IPython's output and input history (`_`, `__`, `Out[3]`, `_i2`, `In`): kept per kernel, so in a step it
 * holds only what that step's own cells ran and showed. A read of it is the notebook's value only when the
 * cells it refers to run in the same step before it.
 */

const RECENT = /^(_{1,3}|_i{1,3})$/;
const NUMBERED = /^(_i?\d+|Out|In|_oh|_ih)$/;

/**
 * How many code cells before the read the name refers to (`_` one, `__` two, `_iii` three), `Infinity` for
 * the numbered history (execution counts start again in every step), or 0 when it is not history.
 */
export function historyReach(name: string): number {
  if (RECENT.test(name)) {
    return name.startsWith('_i') ? name.length - 1 : name.length;
  }
  return NUMBERED.test(name) ? Infinity : 0;
}

/** The warning's message: which cell ran elsewhere and what to do. */
export function historyMessage(name: string, step: string, cell: number, elsewhere?: number): string {
  const where =
    elsewhere === undefined
      ? 'execution counts start again in every step'
      : `cell ${elsewhere + 1}, which it refers to, is not a cell of step ${step} before it`;
  return (
    `Step ${step} reads "${name}", IPython's output or input history, in cell ${cell + 1}; in the pipeline ` +
    `it holds only what step ${step}'s own cells ran (${where}). Assign the value to a name in the cell ` +
    `that makes it and read that name.`
  );
}
