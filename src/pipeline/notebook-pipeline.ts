/**
 * Everything cellpipe keeps for one open notebook: its live pipeline, its
 * runs, and the step selected in the sidebar and the graph. Created when the
 * notebook opens, disposed with it.
 */
import type { NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';
import type { PythonAnalyser } from '../core/analysis';
import { RunsModel } from '../run/runs-model';
import { PipelineModel } from './pipeline-model';
import type { ReferencedNotebooks } from './referenced-notebooks';

export class NotebookPipeline {
  constructor(
    readonly panel: NotebookPanel,
    analyser: Promise<PythonAnalyser>,
    references?: ReferencedNotebooks
  ) {
    const context = panel.context;
    this.pipeline = new PipelineModel({
      model: context.model,
      name: () => context.path.split('/').pop() ?? context.path,
      // The contents manager's path, without a drive prefix.
      path: () => context.localPath,
      references,
      analyser
    });
    this.runs = new RunsModel(context.path);
    context.pathChanged.connect((_, path) => (this.runs.path = path));
    panel.disposed.connect(() => this.dispose());
  }

  readonly pipeline: PipelineModel;
  readonly runs: RunsModel;

  get selectionChanged(): ISignal<this, string | null> {
    return this._selectionChanged;
  }

  /** The step selected in the sidebar or the graph. */
  get selectedStep(): string | null {
    return this._selected;
  }

  selectStep(step: string | null): void {
    if (step !== this._selected) {
      this._selected = step;
      this._selectionChanged.emit(step);
      this.runs.selectStep(step);
    }
  }

  /** Makes the cells of a step the notebook's selection, scrolling to its first cell. */
  revealStep(step: string): void {
    const cells = this.pipeline.analysis?.steps.find(s => s.name === step)?.cells ?? [];
    if (cells.length > 0) {
      this.revealCell(cells[0], cells[cells.length - 1]);
    }
  }

  /** Activates a cell (and extends the selection to `last`), scrolling it into view. */
  revealCell(cell: number, last: number = cell): void {
    const notebook = this.panel.content;
    notebook.deselectAll();
    notebook.activeCellIndex = cell;
    if (last !== cell) {
      notebook.extendContiguousSelectionTo(last);
    }
    void notebook.scrollToItem(cell, 'smart');
  }

  /** The live notebook as nbformat JSON: runs use what the user sees, saved or not. */
  content(): unknown {
    return this.panel.context.model.toJSON();
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (!this._disposed) {
      this._disposed = true;
      this.pipeline.dispose();
      this.runs.dispose();
      Signal.clearData(this);
    }
  }

  private _selected: string | null = null;
  private _disposed = false;
  private readonly _selectionChanged = new Signal<this, string | null>(this);
}
