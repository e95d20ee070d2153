/** The live JupyterLab notebook as the core's plain NotebookData (read on each analysis, never cached). */
import type { ISharedNotebook } from '@jupyter/ydoc';
import type { CellData, NotebookData } from '../core/notebook/model';

export function liveNotebookData(shared: ISharedNotebook, name: string): NotebookData {
  const cells: CellData[] = shared.cells.map((cell, index) => {
    const tags = cell.getMetadata('tags');
    const notebookPath = cell.getMetadata('notebook_path');
    const data: CellData = {
      index,
      type: cell.cell_type === 'code' || cell.cell_type === 'markdown' ? cell.cell_type : 'raw',
      source: cell.getSource(),
      tags: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [],
      id: cell.id
    };
    if (typeof notebookPath === 'string') {
      data.notebookPath = notebookPath;
    }
    return data;
  });
  return { name, cells, metadata: shared.getMetadata() as Record<string, unknown> };
}
