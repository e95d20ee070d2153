/**
 * State of the cellpipe sidebar: the current notebook's pipeline, its active
 * cell, and how the server is. The selected step follows the active cell: the
 * step it belongs to, or none (a markdown, imports, parameters or metrics
 * cell). Re-emits the pipeline's and runs' changes so the view has one signal
 * to follow.
 */
import { ISignal, Signal } from '@lumino/signaling';
import { stepOfCell } from '../core/step-queries';
import { getHealth } from '../services/api';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import type { ClusterModel } from './cluster-model';

export type ServerState =
  { kind: 'unknown' } | { kind: 'ok'; version: string } | { kind: 'error'; message: string };

export class SidebarModel {
  constructor(readonly cluster: ClusterModel) {
    cluster.changed.connect(this._emit, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get session(): NotebookPipeline | null {
    return this._session;
  }

  set session(session: NotebookPipeline | null) {
    if (session === this._session) {
      return;
    }
    this._disconnect();
    this._session = session;
    if (session) {
      session.pipeline.changed.connect(this._onPipelineChanged, this);
      session.runs.changed.connect(this._emit, this);
      session.sweeps.changed.connect(this._emit, this);
      session.schedules.changed.connect(this._emit, this);
      session.inputs.changed.connect(this._emit, this);
      session.compiler.changed.connect(this._emit, this);
      session.selectionChanged.connect(this._emit, this);
      session.panel.content.activeCellChanged.connect(this._onActiveCell, this);
      this._onActiveCell();
    } else {
      this._activeCell = -1;
    }
    this._changed.emit();
  }

  /** Index of the notebook's active cell, or -1. */
  get activeCell(): number {
    return this._activeCell;
  }

  /** The step of the active cell, if it belongs to one. */
  get activeStep(): string | null {
    const analysis = this._session?.pipeline.analysis;
    return analysis ? (stepOfCell(analysis, this._activeCell)?.name ?? null) : null;
  }

  get server(): ServerState {
    return this._server;
  }

  /** Asks the server for its health; the first call also makes jupyter-server-proxy start it. */
  async checkServer(): Promise<void> {
    try {
      const health = await getHealth();
      this._server = { kind: 'ok', version: health.version };
    } catch (err) {
      this._server = { kind: 'error', message: err instanceof Error ? err.message : String(err) };
    }
    this._changed.emit();
  }

  private _onActiveCell(): void {
    const session = this._session;
    if (!session) {
      return;
    }
    this._activeCell = session.panel.content.activeCellIndex;
    // Following the cursor: the step of the active cell is the selected step, and no step when the
    // cell belongs to none (the sidebar then shows no step's data or settings).
    this._lastActiveStep = this.activeStep;
    session.selectStep(this._lastActiveStep);
    this._changed.emit();
  }

  /** A cell just tagged, renamed or untagged changes the step of the active cell, as moving to it would. */
  private _onPipelineChanged(): void {
    const step = this.activeStep;
    if (step !== this._lastActiveStep) {
      this._session?.selectStep(step);
    }
    this._lastActiveStep = step;
    this._changed.emit();
  }

  private _disconnect(): void {
    const old = this._session;
    if (old && !old.isDisposed) {
      old.pipeline.changed.disconnect(this._onPipelineChanged, this);
      old.runs.changed.disconnect(this._emit, this);
      old.sweeps.changed.disconnect(this._emit, this);
      old.schedules.changed.disconnect(this._emit, this);
      old.inputs.changed.disconnect(this._emit, this);
      old.compiler.changed.disconnect(this._emit, this);
      old.selectionChanged.disconnect(this._emit, this);
      old.panel.content.activeCellChanged.disconnect(this._onActiveCell, this);
    }
  }

  private _emit(): void {
    this._changed.emit();
  }

  private _session: NotebookPipeline | null = null;
  private _activeCell = -1;
  private _lastActiveStep: string | null = null;
  private _server: ServerState = { kind: 'unknown' };
  private readonly _changed = new Signal<this, void>(this);
}
