/**
 * The notebook as plain data: what the rest of the core reads. Produced from
 * nbformat JSON (read.ts) or, in the frontend, from the live JupyterLab model.
 */

export type CellType = 'code' | 'markdown' | 'raw';

export interface CellData {
  /** Position in the notebook, counting every cell (markdown included). */
  index: number;
  type: CellType;
  /** The cell's source as one string ("\n" line ends). */
  source: string;
  /** `metadata.tags`, in order; empty when absent. */
  tags: string[];
  /** nbformat 4.5 cell id when present (stable across edits in JupyterLab). */
  id?: string;
  /** Kale 2.x: `metadata.notebook_path` of a `notebook:` cell, the notebook it runs. */
  notebookPath?: string;
}

export interface NotebookData {
  /** The file name, when known (the default pipeline name comes from it). */
  name?: string;
  cells: CellData[];
  /** The notebook-level `metadata` object, untouched. */
  metadata: Record<string, unknown>;
}
