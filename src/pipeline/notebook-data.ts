/** The live JupyterLab notebook as the core's plain NotebookData (read on each analysis, never cached). */
import type { ISharedNotebook } from '@jupyter/ydoc';
import type { CellData, NotebookData } from '../core/notebook/model';
import { readCellTags } from '../core/notebook/read';

export function liveNotebookData(shared: ISharedNotebook, name: string): NotebookData {
  const cells: CellData[] = shared.cells.map((cell, index) => {
    const { tags, problem } = readCellTags(cell.getMetadata('tags'));
    const notebookPath = cell.getMetadata('notebook_path');
    const data: CellData = {
      index,
      type: cell.cell_type === 'code' || cell.cell_type === 'markdown' ? cell.cell_type : 'raw',
      source: cell.getSource(),
      tags,
      id: cell.id
    };
    if (problem) {
      data.tagsProblem = problem;
    }
    if (typeof notebookPath === 'string') {
      data.notebookPath = notebookPath;
    }
    return data;
  });
  return { name, cells, metadata: shared.getMetadata() as Record<string, unknown> };
}
