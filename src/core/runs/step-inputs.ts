/** What the server answers for "load this step's inputs into the kernel", as the frontend reads it. */
export interface StepInputs {
  run: string;
  step: string;
  /** Python for the notebook's kernel (raises StepDataError, saying why, when a value cannot be loaded). */
  code: string;
  /** The input variables and parameters the code sets. */
  inputs: string[];
  parameters: string[];
  /** Where the step failed (notebook cell 0-based, line 1-based), or null. */
  error: { cell: number | null; line: number | null; message: string } | null;
  /**
   * A sub-pipeline step: the notebook its cells (and so its error's cell and line) are in, relative to the
   * run's notebook's folder; null for the notebook's own steps.
   */
  notebook: string | null;
}
