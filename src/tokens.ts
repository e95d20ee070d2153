/**
 * What cellpipe offers other JupyterLab extensions: the pipeline of each open notebook, its live
 * analysis and its runs, with signals. Require `IPipelineTracker` in a plugin to use it:
 *
 *     requires: [IPipelineTracker],
 *     activate: (app, pipelines: IPipelineTracker) => {
 *       pipelines.currentChanged.connect((_, p) => p?.analysisChanged.connect(...));
 *     }
 */
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';
import type { PipelineAnalysis } from './core/pipeline';
import type { StartRunRequest } from './core/runs/run-record';
import type { Target } from './core/tags/settings';
import type { RunView } from './run/run-state';

/** Which steps a run runs: all (default), one, or one and everything below it. */
export type RunSelection = StartRunRequest['steps'];

/** A notebook's live analysis. */
export interface IPipelineAnalysisModel {
  /** The latest analysis of the notebook as the user sees it (saved or not); null until the parser has loaded. */
  readonly analysis: PipelineAnalysis | null;
  /** Emitted when the analysis changed (not for edits that leave it as it was). */
  readonly changed: ISignal<IPipelineAnalysisModel, void>;
  /** Where Run sends the pipeline: the notebook's own target, else the user's default. */
  readonly target: Target;
}

/** A notebook's runs. */
export interface IPipelineRuns {
  /** Newest first. */
  readonly runs: readonly RunView[];
  /** The run shown (in the sidebar, the graph and the badges). */
  readonly current: RunView | null;
  /** Emitted when the runs or the shown run changed. */
  readonly changed: ISignal<IPipelineRuns, void>;
}

/** One open notebook's pipeline. */
export interface INotebookPipeline {
  /** The notebook. */
  readonly panel: NotebookPanel;
  /** The notebook's path relative to the Jupyter root. */
  readonly path: string;
  readonly pipeline: IPipelineAnalysisModel;
  readonly runs: IPipelineRuns;
  /** The step selected in the sidebar or the graph (the step of the active cell), or null. */
  readonly selectedStep: string | null;
  readonly selectionChanged: ISignal<INotebookPipeline, string | null>;
  selectStep(step: string | null): void;
  /** Why Run would be refused now (error diagnostics, no steps…), or null. */
  refusal(steps?: RunSelection): string | null;
  /** Runs the pipeline as the notebook is now; a refusal shows in the sidebar instead. */
  run(steps?: RunSelection): Promise<void>;
}

/** The pipelines of the open notebooks, and the current one (the notebook in focus). */
export interface IPipelineTracker {
  readonly current: INotebookPipeline | null;
  readonly currentChanged: ISignal<IPipelineTracker, INotebookPipeline | null>;
  /** Emitted for each notebook that opens (its pipeline is created then). */
  readonly pipelineAdded: ISignal<IPipelineTracker, INotebookPipeline>;
  /** The pipeline of the open notebook at `path`, if any. */
  find(path: string): INotebookPipeline | null;
  forEach(fn: (pipeline: INotebookPipeline) => void): void;
}

export const IPipelineTracker = new Token<IPipelineTracker>(
  'cellpipe:IPipelineTracker',
  'The cellpipe pipeline of each open notebook: its analysis and its runs, with signals.'
);
