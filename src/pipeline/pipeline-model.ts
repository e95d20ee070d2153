/**
 * One notebook's pipeline, live: re-analysed after edits (debounced, off the
 * typing path: the analysis runs in a later task, and the analyser parses only
 * cells whose source changed), and edited through the notebook's shared model
 * (tag edits are undoable in the cell, like its source).
 */
import type { ISharedNotebook } from '@jupyter/ydoc';
import type { INotebookModel } from '@jupyterlab/notebook';
import type { PartialJSONObject } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';
import type { PythonAnalyser } from '../core/analysis';
import type { NotebookData } from '../core/notebook/model';
import { analyzeNotebook, PipelineAnalysis } from '../core/pipeline';
import type { EdgeSuggestion } from '../core/flow/flow';
import { CellRole, isPipelineTag, parseCellTags, printCellTags } from '../core/tags/grammar';
import { defaultPipelineName } from '../core/tags/settings';
import type { PipelineSettings, StepSettings, Target } from '../core/tags/settings';
import { liveNotebookData } from './notebook-data';
import type { ReferencedNotebooks } from './referenced-notebooks';

/** Pipeline settings a user edits (the rest is derived). */
export type EditablePipelineSettings = Pick<
  PipelineSettings,
  'name' | 'description' | 'image' | 'target' | 'endpoint' | 'namespace' | 'snapshot' | 'caching'
>;

export interface PipelineModelOptions {
  model: INotebookModel;
  /** The notebook's file name (the default pipeline name comes from it). */
  name: () => string;
  /** Its path in the Jupyter root (`notebook_path`s are relative to its folder); default: the name. */
  path?: () => string;
  /** Reads the notebooks its `notebook:` steps run; without it they cannot be read. */
  references?: ReferencedNotebooks;
  analyser: Promise<PythonAnalyser>;
  /** Milliseconds of quiet after an edit before re-analysing. */
  debounce?: number;
}

export class PipelineModel {
  constructor(options: PipelineModelOptions) {
    this._model = options.model;
    this._name = options.name;
    this._path = options.path ?? options.name;
    this._references = options.references ?? null;
    this._debounce = options.debounce ?? 150;
    this._model.contentChanged.connect(this._schedule, this);
    this._model.metadataChanged.connect(this._schedule, this);
    this._references?.changed.connect(this._onReferenceChanged, this);
    options.analyser.then(
      analyser => {
        this._analyser = analyser;
        this._analyse();
      },
      (err: unknown) => {
        this._error = err instanceof Error ? err.message : String(err);
        this._changed.emit();
      }
    );
  }

  /** Emitted after each analysis. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The latest analysis; null until the parser has loaded. */
  get analysis(): PipelineAnalysis | null {
    return this._analysis;
  }

  /** The notebook as the latest analysis saw it. */
  get notebook(): NotebookData | null {
    return this._notebook;
  }

  /** Why there is no analysis (the parser failed to load). */
  get error(): string | null {
    return this._error;
  }

  /** Milliseconds the latest analysis took (shown in the sidebar and used by the browser benchmark). */
  get lastAnalysisMs(): number {
    return this._lastMs;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    clearTimeout(this._timer);
    this._model.contentChanged.disconnect(this._schedule, this);
    this._model.metadataChanged.disconnect(this._schedule, this);
    this._references?.changed.disconnect(this._onReferenceChanged, this);
    Signal.clearData(this);
  }

  /** Re-analyse now (tests and the Run button use it to be sure the analysis matches the notebook). */
  refresh(): PipelineAnalysis | null {
    clearTimeout(this._timer);
    this._analyse();
    return this._analysis;
  }

  /**
   * Whether the notebook is a pipeline yet: it has cellpipe or Kale settings, or a cell has a pipeline
   * tag. Until then the sidebar offers to enable it rather than showing empty sections.
   */
  get enabled(): boolean {
    const notebook = this._notebook;
    if (!notebook) {
      return false;
    }
    return (
      'cellpipe' in notebook.metadata ||
      'kubeflow_notebook' in notebook.metadata ||
      notebook.cells.some(c => c.tags.some(isPipelineTag))
    );
  }

  /** The user's default target (the `defaultTarget` setting), for notebooks that do not name one. */
  defaultTarget: Target = 'local';

  /** Where a run goes: the notebook's own target when its cellpipe settings name one, else the default. */
  get target(): Target {
    const own = this._notebook?.metadata.cellpipe as { target?: unknown } | undefined;
    return own?.target !== undefined && this._analysis ? this._analysis.pipeline.target : this.defaultTarget;
  }

  /** Makes the notebook a pipeline: cellpipe settings with the default name. */
  enable(): void {
    if (!this.enabled) {
      this._writeOwnMetadata(own => ({ name: defaultPipelineName(this._name()), ...own }));
    }
  }

  // --- edits ---------------------------------------------------------------

  /** The role of a code cell, as its tags say. */
  roleOf(cell: number): CellRole {
    return parseCellTags(this._tags(cell), cell).role;
  }

  /** Rewrites the cell's pipeline tags for a role; the user's own tags keep their places. */
  setRole(cell: number, role: CellRole): void {
    const shared = this._shared.cells[cell];
    if (!shared) {
      return;
    }
    const tags = printCellTags(this._tags(cell), role);
    // JupyterLab writes metadata outside the undo history; an undoable transaction around it puts the
    // tag edit into the cell's history, so Ctrl+Z takes it back like a source edit.
    shared.transact(() => {
      if (tags.length === 0) {
        shared.deleteMetadata('tags');
      } else {
        shared.setMetadata('tags', tags);
      }
      // The notebook a notebook: cell ran means nothing once the cell has another role.
      if (role.kind !== 'notebook' && shared.getMetadata('notebook_path') !== undefined) {
        shared.deleteMetadata('notebook_path');
      }
    }, true);
  }

  /** The `notebook_path` of a `notebook:` cell ('' when it has none). */
  notebookPathOf(cell: number): string {
    const path = this._shared.cells[cell]?.getMetadata('notebook_path');
    return typeof path === 'string' ? path : '';
  }

  /** Sets the notebook a `notebook:` cell runs (Kale 2.x keeps it in the cell's `notebook_path`). */
  setNotebookPath(cell: number, path: string): void {
    const shared = this._shared.cells[cell];
    if (!shared) {
      return;
    }
    shared.transact(() => {
      if (path === '') {
        shared.deleteMetadata('notebook_path');
      } else {
        shared.setMetadata('notebook_path', path);
      }
    }, true);
  }

  /** The one-click fix for a suggested edge: add `prev:FROM` to the step's first cell. */
  applySuggestion(suggestion: EdgeSuggestion): void {
    const role = this.roleOf(suggestion.cell);
    if (role.kind === 'step' && !role.prev.includes(suggestion.from)) {
      this.setRole(suggestion.cell, { ...role, prev: [...role.prev, suggestion.from] });
    }
  }

  setPipelineSettings(patch: Partial<EditablePipelineSettings>): void {
    this._writeOwnMetadata(own => ({ ...own, ...patch }));
  }

  /** Replaces the step's own settings (`metadata.cellpipe.steps.NAME`); empty settings remove the entry. */
  setStepSettings(step: string, settings: StepSettings): void {
    this._writeOwnMetadata(own => {
      const steps = { ...((own.steps as Record<string, unknown> | undefined) ?? {}) };
      if (Object.keys(settings).length === 0) {
        delete steps[step];
      } else {
        steps[step] = settings;
      }
      return { ...own, steps };
    });
  }

  /** The step's own settings as stored (not merged with defaults and tags). */
  ownStepSettings(step: string): StepSettings {
    const own = this._shared.getMetadata('cellpipe') as { steps?: Record<string, StepSettings> } | undefined;
    return own?.steps?.[step] ?? {};
  }

  // --- internals -----------------------------------------------------------

  private get _shared(): ISharedNotebook {
    return this._model.sharedModel;
  }

  private _tags(cell: number): string[] {
    const tags = this._shared.cells[cell]?.getMetadata('tags');
    return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
  }

  /**
   * cellpipe writes its own metadata; a Kale notebook's settings are carried over the first time, so
   * nothing the user set in Kale is lost (Kale's own metadata is left as it was).
   */
  private _writeOwnMetadata(update: (own: Record<string, unknown>) => Record<string, unknown>): void {
    const current = this._shared.getMetadata('cellpipe') as Record<string, unknown> | undefined;
    let own = current ?? {};
    if (!current && this._analysis?.pipeline.source === 'kale') {
      const p = this._analysis.pipeline;
      own = {
        name: p.name,
        description: p.description,
        image: p.image,
        snapshot: p.snapshot,
        caching: p.caching,
        volumes: p.volumes
      };
    }
    this._shared.setMetadata('cellpipe', update(own) as PartialJSONObject);
  }

  /** A notebook was read or changed: analyse again when this notebook asked for it. */
  private _onReferenceChanged(_: unknown, path: string): void {
    if (this._asked.has(path)) {
      this._schedule();
    }
  }

  private _schedule(): void {
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this._analyse(), this._debounce);
  }

  private _analyse(): void {
    if (!this._analyser || this._disposed) {
      return;
    }
    const start = performance.now();
    this._notebook = liveNotebookData(this._shared, this._name());
    const asked = new Set<string>();
    const references = this._references;
    this._analysis = analyzeNotebook(this._notebook, this._analyser, {
      path: this._path(),
      resolver: references
        ? {
            get: path => {
              asked.add(path);
              return references.get(path);
            }
          }
        : undefined
    });
    this._asked = asked;
    const end = performance.now();
    this._lastMs = end - start;
    // Visible in the browser's performance timeline (and to the browser benchmark); jsdom has no measure().
    performance.measure?.('cellpipe:analysis', { start, end });
    this._error = null;
    this._changed.emit();
  }

  private readonly _model: INotebookModel;
  private readonly _name: () => string;
  private readonly _path: () => string;
  private readonly _references: ReferencedNotebooks | null;
  /** The notebooks the latest analysis read. */
  private _asked = new Set<string>();
  private readonly _debounce: number;
  private _analyser: PythonAnalyser | null = null;
  private _analysis: PipelineAnalysis | null = null;
  private _notebook: NotebookData | null = null;
  private _error: string | null = null;
  private _lastMs = 0;
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _disposed = false;
  private readonly _changed = new Signal<this, void>(this);
}
