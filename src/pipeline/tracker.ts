/**
 * The pipelines of the open notebooks (`IPipelineTracker`): one `NotebookPipeline` per notebook, created
 * when it opens, with the badges on its cells; which one is current (the notebook in focus, which the
 * sidebar shows); which are being looked at (only those are re-analysed as they are edited); and the
 * user's settings that apply to all of them.
 */
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { Message } from '@lumino/messaging';
import { MessageLoop } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';
import { BadgeDisplay, CellBadges } from '../badges/cell-badges';
import type { PythonAnalyser } from '../core/analysis';
import type { ClusterAccess } from '../core/runs/run-record';
import type { Target } from '../core/tags/settings';
import type { IPipelineTracker } from '../tokens';
import { NotebookPipeline } from './notebook-pipeline';
import type { ReferencedNotebooks } from './referenced-notebooks';

const VISIBILITY_MESSAGES = new Set(['after-show', 'after-hide', 'after-attach', 'after-detach']);

export class PipelineTracker implements IPipelineTracker {
  constructor(
    private readonly trans: TranslationBundle,
    /** A badge was clicked: its step should show in the sidebar. */
    private readonly onBadge: (pipeline: NotebookPipeline, step: string) => void,
    /** The Python analyser (the browser's: wasm files fetched from the extension). */
    private readonly analyser: () => Promise<PythonAnalyser>,
    /** The notebooks that notebook: steps run, read once for all open notebooks. */
    private readonly references?: ReferencedNotebooks,
    /** Opens a notebook by its path (JupyterLab's document manager), revealing it. */
    private readonly open?: (path: string) => Promise<NotebookPanel>
  ) {}

  get current(): NotebookPipeline | null {
    return this._current;
  }

  get currentChanged(): ISignal<this, NotebookPipeline | null> {
    return this._currentChanged;
  }

  get pipelineAdded(): ISignal<this, NotebookPipeline> {
    return this._pipelineAdded;
  }

  /** The notebook's pipeline, created on first use. */
  add(panel: NotebookPanel): NotebookPipeline {
    const existing = this._pipelines.get(panel);
    if (existing) {
      return existing;
    }
    const pipeline = new NotebookPipeline(panel, this.analyser(), this.references);
    pipeline.connection = this._connection;
    const open = this.open;
    pipeline.openNotebook = open
      ? async path => {
          const panel = await open(path);
          await panel.context.ready;
          return this.add(panel);
        }
      : null;
    this._pipelines.set(panel, pipeline);
    this.watch(pipeline, panel);
    void panel.context.ready.then(() => {
      if (pipeline.isDisposed) {
        return;
      }
      const badges = new CellBadges(pipeline, this.trans, step => this.onBadge(pipeline, step));
      badges.display = this._badgeDisplay;
      this._badges.set(pipeline, badges);
      pipeline.runs.parallel = this._parallelism;
      pipeline.pipeline.defaultTarget = this._defaultTarget;
      void pipeline.runs.refresh();
      void pipeline.sweeps.refresh();
      void pipeline.schedules.refresh();
    });
    panel.disposed.connect(() => {
      this._pipelines.delete(panel);
      if (this._current === pipeline) {
        this.setCurrent(null);
      }
    });
    this._pipelineAdded.emit(pipeline);
    return pipeline;
  }

  /** Makes `pipeline` the current one (the sidebar's). */
  setCurrent(pipeline: NotebookPipeline | null): void {
    if (pipeline === this._current) {
      return;
    }
    const old = this._current;
    this._current = pipeline;
    if (old && !old.isDisposed) {
      this._updateActive(old);
    }
    if (pipeline) {
      this._updateActive(pipeline);
    }
    this._currentChanged.emit(pipeline);
  }

  get(panel: NotebookPanel): NotebookPipeline | null {
    return this._pipelines.get(panel) ?? null;
  }

  find(path: string): NotebookPipeline | null {
    for (const pipeline of this._pipelines.values()) {
      if (pipeline.path === path) {
        return pipeline;
      }
    }
    return null;
  }

  forEach(fn: (pipeline: NotebookPipeline) => void): void {
    this._pipelines.forEach(fn);
  }

  /**
   * Follows a widget that shows `pipeline` (its notebook, its pipeline panel): while any of them is
   * visible, or the pipeline is the current one, its notebook is analysed as it is edited.
   */
  watch(pipeline: NotebookPipeline, widget: Widget): void {
    const viewers = this._viewers.get(pipeline) ?? new Set<Widget>();
    this._viewers.set(pipeline, viewers);
    viewers.add(widget);
    MessageLoop.installMessageHook(widget, (_: unknown, msg: Message) => {
      if (VISIBILITY_MESSAGES.has(msg.type)) {
        // After the message is handled the widget's visibility is final.
        requestAnimationFrame(() => !pipeline.isDisposed && this._updateActive(pipeline));
      }
      return true;
    });
    widget.disposed.connect(() => {
      viewers.delete(widget);
      if (!pipeline.isDisposed) {
        this._updateActive(pipeline);
      }
    });
    this._updateActive(pipeline);
  }

  set badgeDisplay(value: BadgeDisplay) {
    this._badgeDisplay = value;
    this._pipelines.forEach(p => {
      const badges = this._badges.get(p);
      if (badges) {
        badges.display = value;
      }
    });
  }

  set defaultTarget(value: Target) {
    this._defaultTarget = value;
    this._pipelines.forEach(p => (p.pipeline.defaultTarget = value));
  }

  set parallelism(value: number) {
    this._parallelism = value;
    this._pipelines.forEach(p => (p.runs.parallel = value));
  }

  /** How cluster runs reach the cluster (the user's settings). */
  get connection(): ClusterAccess {
    return this._connection;
  }

  set connection(value: ClusterAccess) {
    this._connection = value;
    this._pipelines.forEach(p => (p.connection = value));
  }

  private _updateActive(pipeline: NotebookPipeline): void {
    const viewers = this._viewers.get(pipeline) ?? new Set<Widget>();
    pipeline.pipeline.active = pipeline === this._current || [...viewers].some(w => w.isVisible);
  }

  private _badgeDisplay: BadgeDisplay = 'full';
  private _parallelism = 0;
  private _defaultTarget: Target = 'local';
  private _connection: ClusterAccess = {};
  private _current: NotebookPipeline | null = null;
  private readonly _pipelines = new Map<NotebookPanel, NotebookPipeline>();
  private readonly _badges = new WeakMap<NotebookPipeline, CellBadges>();
  private readonly _viewers = new WeakMap<NotebookPipeline, Set<Widget>>();
  private readonly _currentChanged = new Signal<this, NotebookPipeline | null>(this);
  private readonly _pipelineAdded = new Signal<this, NotebookPipeline>(this);
}
