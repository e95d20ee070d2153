/**
 * Everything cellpipe keeps for one open notebook: its live pipeline, its
 * runs, the step selected in the sidebar and the graph, and the run rules
 * (when Run is refused, which errors are still true). Created when the
 * notebook opens, disposed with it.
 */
import type { NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';
import type { PythonAnalyser } from '../core/analysis';
import type { Diagnostic } from '../core/diagnostics';
import type { PipelineAnalysis } from '../core/pipeline';
import { runRefusal } from '../core/runs/refusal';
import type { ClusterAccess } from '../core/runs/run-record';
import { RunsModel } from '../run/runs-model';
import { StepInputsModel } from '../run/step-inputs';
import { SchedulesModel } from '../schedule/schedules-model';
import { SweepsModel } from '../sweep/sweeps-model';
import type { INotebookPipeline, RunSelection } from '../tokens';
import { CompileModel } from './compile-model';
import { PipelineModel } from './pipeline-model';
import type { ReferencedNotebooks } from './referenced-notebooks';

export class NotebookPipeline implements INotebookPipeline {
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
    this.inputs = new StepInputsModel(this);
    this.sweeps = new SweepsModel(() => this.path);
    this.schedules = new SchedulesModel(() => this.path);
    this.compiler = new CompileModel(
      () => this.path,
      () => this.content(),
      () => this.refusal()
    );
    context.pathChanged.connect((_, path) => (this.runs.path = path));
    this.pipeline.changed.connect(this._onAnalysis, this);
    panel.disposed.connect(() => this.dispose());
  }

  readonly pipeline: PipelineModel;
  readonly runs: RunsModel;
  /** Loading a run step's inputs into the notebook's kernel. */
  readonly inputs: StepInputsModel;
  /** The notebook's parameter sweeps. */
  readonly sweeps: SweepsModel;
  /** The notebook's recurring runs on the cluster. */
  readonly schedules: SchedulesModel;
  /** Downloading the cluster YAML and uploading it to KFP. */
  readonly compiler: CompileModel;

  get path(): string {
    return this.panel.context.path;
  }

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

  /** Opens another notebook's pipeline (the tracker sets it: a sub-pipeline step's cells are in another notebook). */
  openNotebook: ((path: string) => Promise<NotebookPipeline>) | null = null;

  /** How cluster runs reach the cluster (the user's settings); the plugin keeps it current. */
  connection: ClusterAccess = {};

  /** Why Run (of `steps`) would be refused now, or null. */
  refusal(
    steps: RunSelection = { mode: 'all' },
    analysis: PipelineAnalysis | null = this.pipeline.analysis
  ): string | null {
    if (!analysis) {
      return 'The pipeline is still being analysed; try again in a moment.';
    }
    const file = this.panel.context.path.split('/').pop();
    return runRefusal(analysis, { file, target: this.pipeline.target, steps })?.message ?? null;
  }

  /** Runs the live notebook (as the user sees it, saved or not); a refusal is shown instead of asking the server. */
  run(steps: RunSelection = { mode: 'all' }, volumes?: 'snapshot' | 'mount'): Promise<void> {
    const analysis = this.pipeline.refresh();
    const refusal = this.refusal(steps, analysis);
    this._refusedFor = refusal ? steps : null;
    return this.runs.start({
      content: this.content(),
      steps,
      target: this.pipeline.target,
      refusal: refusal ?? undefined,
      volumes,
      connection: this.pipeline.target === 'local' ? undefined : this.connection
    });
  }

  /** Makes the cells of a step the notebook's selection, its first cell active and scrolled to. */
  revealStep(step: string): void {
    const cells = this.pipeline.analysis?.steps.find(s => s.name === step)?.cells ?? [];
    if (cells.length > 0) {
      this.revealCell(cells[0], cells[cells.length - 1]);
    }
  }

  /** Activates `cell` (the selection reaching to `last`, the active cell staying `cell`), scrolling it into view. */
  revealCell(cell: number, last: number = cell): void {
    const notebook = this.panel.content;
    notebook.deselectAll();
    if (last !== cell) {
      // Extending the selection moves the active cell to where it ends: start from the last cell.
      notebook.activeCellIndex = last;
      notebook.extendContiguousSelectionTo(cell);
    } else {
      notebook.activeCellIndex = cell;
    }
    void notebook.scrollToItem(cell, 'smart');
  }

  /**
   * Goes to where a diagnostic points: its cell, in edit mode with the cursor at its line and the range
   * it is about (the name at its column, else the line) selected.
   */
  async revealDiagnostic(d: Pick<Diagnostic, 'cell' | 'line' | 'column' | 'name'>): Promise<void> {
    if (d.cell === null) {
      return;
    }
    this.revealCell(d.cell);
    const notebook = this.panel.content;
    const cell = notebook.widgets[d.cell];
    if (!cell || d.line === null) {
      return;
    }
    await cell.ready;
    const editor = cell.editor;
    if (!editor) {
      return;
    }
    const line = Math.min(Math.max(d.line - 1, 0), editor.lineCount - 1);
    const text = editor.getLine(line) ?? '';
    const column = d.column ?? 0;
    const named = d.name !== undefined && text.startsWith(d.name, column);
    const start = named ? column : text.length - text.trimStart().length;
    const end = named ? column + d.name!.length : text.length;
    notebook.mode = 'edit';
    editor.setSelection({ start: { line, column: start }, end: { line, column: end } });
    editor.revealPosition({ line, column: start });
    editor.focus();
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
      this.sweeps.dispose();
      this.schedules.dispose();
      this.inputs.dispose();
      Signal.clearData(this);
    }
  }

  /**
   * A new analysis: a refusal shown for the old one is said again as it is now (or goes, once fixed),
   * and a server's error goes once the pipeline settings it was about changed (another target…).
   */
  private _onAnalysis(): void {
    const analysis = this.pipeline.analysis;
    if (!analysis) {
      return;
    }
    if (this._refusedFor && this.runs.errorKind === 'refused') {
      const refusal = this.refusal(this._refusedFor, analysis);
      this.runs.setRefusal(refusal);
      if (!refusal) {
        this._refusedFor = null;
      }
    }
    const settings = JSON.stringify([analysis.pipeline, this.pipeline.target]);
    if (this.runs.errorKind === 'server' && this._settings !== null && settings !== this._settings) {
      this.runs.clearError();
    }
    this._settings = settings;
    // What the last compile or upload said was about the notebook as it was.
    this.compiler.clear();
  }

  private _selected: string | null = null;
  private _disposed = false;
  /** The selection a shown refusal was for. */
  private _refusedFor: RunSelection | null = null;
  /** The pipeline settings and target as of the last analysis. */
  private _settings: string | null = null;
  private readonly _selectionChanged = new Signal<this, string | null>(this);
}
