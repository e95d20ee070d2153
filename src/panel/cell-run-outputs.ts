/**
 * A step's outputs shown under the cells that produced them, in the
 * notebook: an untrusted OutputArea inserted into each cell's own layout
 * (JupyterLab's API, not its DOM), with a header naming the run. The
 * notebook's own outputs are left as they are and nothing is saved.
 */
import type { Cell } from '@jupyterlab/cells';
import type * as nbformat from '@jupyterlab/nbformat';
import { OutputArea, OutputAreaModel } from '@jupyterlab/outputarea';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Panel, PanelLayout, Widget } from '@lumino/widgets';

class RunOutputs extends Panel {
  constructor(
    outputs: nbformat.IOutput[],
    title: string,
    rendermime: IRenderMimeRegistry,
    trans: TranslationBundle,
    onClose: () => void
  ) {
    super();
    this.addClass('jp-cellpipe-CellRunOutputs');
    const header = new Widget({ node: document.createElement('div') });
    header.addClass('jp-cellpipe-CellRunOutputs-header');
    const label = document.createElement('span');
    label.textContent = title;
    const close = document.createElement('button');
    close.className = 'jp-cellpipe-CellRunOutputs-close';
    close.textContent = '×';
    close.title = trans.__('Hide the run outputs');
    close.addEventListener('click', onClose);
    header.node.append(label, close);
    this.addWidget(header);
    const model = new OutputAreaModel({ trusted: false });
    outputs.forEach(output => model.add(output));
    this.addWidget(new OutputArea({ model, rendermime }));
  }
}

export class CellRunOutputs {
  constructor(
    private readonly rendermime: IRenderMimeRegistry,
    private readonly trans: TranslationBundle
  ) {}

  /**
   * Shows `outputs` (by cell index) under those cells of `cells`, replacing what an earlier call showed;
   * `onClose` runs when the user closes them.
   */
  show(
    cells: readonly Cell[],
    outputs: Record<string, nbformat.IOutput[]>,
    title: string,
    onClose: () => void = () => this.clear()
  ): void {
    this.clear();
    for (const [index, list] of Object.entries(outputs)) {
      const cell = cells[Number(index)];
      if (!cell || list.length === 0) {
        continue;
      }
      const widget = new RunOutputs(list, title, this.rendermime, this.trans, onClose);
      (cell.layout as PanelLayout).addWidget(widget);
      this._shown.push(widget);
    }
  }

  clear(): void {
    this._shown.forEach(w => w.dispose());
    this._shown = [];
  }

  private _shown: Widget[] = [];
}
