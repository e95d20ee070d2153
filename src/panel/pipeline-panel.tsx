/**
 * The pipeline panel, opened beside its notebook: the step graph (live with
 * edits and runs) above the selected step's log, outputs and metrics. Step
 * outputs are rendered by JupyterLab's own renderers, as untrusted output: no
 * script from a step's HTML runs, whatever the notebook's trust. Tracked by a
 * WidgetTracker (by its notebook's path), so the layout restorer brings it
 * back after a reload.
 */
import * as React from 'react';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { OutputArea, OutputAreaModel } from '@jupyterlab/outputarea';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';
import { Panel, SplitPanel } from '@lumino/widgets';
import { layoutPipeline, TextMeasure } from '../graph/layout';
import { PipelineGraph } from '../graph/view';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { ClusterStepDetail } from '../sidebar/run-section';
import { formatMetric } from '../sidebar/runs-section';
import { CellRunOutputs } from './cell-run-outputs';

/** Text widths as the browser draws the graph's text (its UI font), for the layout. */
function browserMeasure(): TextMeasure {
  const context = document.createElement('canvas').getContext('2d');
  const family =
    getComputedStyle(document.body).getPropertyValue('--jp-ui-font-family').trim() || 'sans-serif';
  const cache = new Map<string, number>();
  return (text, fontSize, bold = false) => {
    const key = `${bold ? 'b' : 'n'}${fontSize}:${text}`;
    let width = cache.get(key);
    if (width === undefined) {
      if (!context) {
        return text.length * fontSize * 0.6;
      }
      context.font = `${bold ? '600 ' : ''}${fontSize}px ${family}`;
      // Rounded up with a pixel to spare: SVG text and canvas text may differ by a fraction.
      width = Math.ceil(context.measureText(text).width) + 1;
      cache.set(key, width);
    }
    return width;
  };
}

class GraphView extends ReactWidget {
  constructor(
    private readonly session: NotebookPipeline,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-cellpipe-GraphView');
    session.pipeline.changed.connect(this._relayout, this);
    this._relayout();
  }

  render(): JSX.Element {
    const session = this.session;
    return (
      <UseSignal signal={session.runs.changed}>
        {() => (
          <UseSignal signal={session.selectionChanged}>
            {() => {
              const run = session.runs.current;
              const number = run ? session.runs.runs.length - session.runs.runs.indexOf(run) : 0;
              return this._graph ? (
                <PipelineGraph
                  layout={this._graph}
                  states={run?.steps}
                  selected={session.selectedStep ?? undefined}
                  onSelect={step => {
                    session.selectStep(step);
                    session.revealStep(step);
                  }}
                  run={
                    run ? { label: this.trans.__('run #%1', number), parameters: run.parameters } : undefined
                  }
                  trans={this.trans}
                />
              ) : (
                <p className="jp-cellpipe-Hint">{this.trans.__('Analysing…')}</p>
              );
            }}
          </UseSignal>
        )}
      </UseSignal>
    );
  }

  private _relayout(): void {
    const analysis = this.session.pipeline.analysis;
    if (analysis) {
      const start = performance.now();
      this._measure ??= browserMeasure();
      this._graph = layoutPipeline(analysis, { measure: this._measure });
      // Visible in the browser's performance timeline (and to the browser benchmark).
      performance.measure('cellpipe:layout', { start, end: performance.now() });
      this.update();
    }
  }

  private _graph: ReturnType<typeof layoutPipeline> | null = null;
  private _measure: TextMeasure | null = null;
}

/** The selected step's state, error, metrics and live log. */
function StepHeader(props: {
  session: NotebookPipeline;
  trans: TranslationBundle;
  showingInCells: boolean;
  onShowInCells: () => void;
}): JSX.Element {
  const { session, trans, showingInCells, onShowInCells } = props;
  const step = session.selectedStep;
  const run = session.runs.current;
  if (!step) {
    return (
      <p className="jp-cellpipe-Hint">{trans.__('Select a step in the graph to see its log and outputs.')}</p>
    );
  }
  const state = run?.steps[step];
  const detail = session.runs.detail;
  const metrics = Object.entries(detail?.metrics ?? {});
  return (
    <div className="jp-cellpipe-StepDetail" data-step={step} data-state={state?.state ?? ''}>
      <h3>
        {trans.__('Step %1', step)}
        {state && (
          <span className="jp-cellpipe-StepDetail-state">
            {' '}
            {trans.__(state.state)}
            {state.seconds !== undefined ? ` · ${state.seconds.toFixed(1)} s` : ''}
          </span>
        )}
      </h3>
      {!run && <p className="jp-cellpipe-Hint">{trans.__('Not run yet.')}</p>}
      {run && !state && (
        <p className="jp-cellpipe-Hint">{trans.__('Not part of the run shown (%1).', run.id)}</p>
      )}
      {state?.state === 'cached' && (
        <p className="jp-cellpipe-Hint" data-cached-from={state.cachedFrom ?? ''}>
          {state.cachedFrom
            ? trans.__(
                'Nothing it depends on changed: its results, outputs and log are those of run %1.',
                state.cachedFrom
              )
            : trans.__('Nothing it depends on changed: its results come from the cache.')}
        </p>
      )}
      {state && <ClusterStepDetail step={state} trans={trans} />}
      {/* A sub-pipeline's step ran cells of its own notebook, not of this one. */}
      {detail?.outputs &&
        Object.keys(detail.outputs).length > 0 &&
        session.pipeline.analysis?.steps.some(s => s.name === step && s.notebook === undefined) && (
          <button
            className="jp-mod-styled jp-Button"
            data-action="show-in-cells"
            aria-pressed={showingInCells}
            onClick={onShowInCells}
          >
            {showingInCells ? trans.__('Hide from the cells') : trans.__('Show under the cells')}
          </button>
        )}
      {state?.error && <p className="jp-cellpipe-Error">{state.error.message}</p>}
      {metrics.length > 0 && (
        <table className="jp-cellpipe-Metrics">
          <tbody>
            {metrics.map(([name, value]) => (
              <tr key={name}>
                <th>{name}</th>
                <td>{formatMetric(value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {run && state && state.state !== 'queued' && (
        <details className="jp-cellpipe-Log" open>
          <summary>{trans.__('Log')}</summary>
          <UseSignal signal={session.runs.logChanged}>
            {() => (
              <pre className="jp-cellpipe-Log-text">{stripAnsi(session.runs.log) || trans.__('(empty)')}</pre>
            )}
          </UseSignal>
        </details>
      )}
    </div>
  );
}

/** IPython tracebacks in the log carry terminal colours; the panel shows plain text. */
function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

/**
 * The selected step's header and outputs; and, when the user asked, its outputs under the notebook's
 * cells, kept to the run shown: another run shown (a new one, or one opened from the list) replaces
 * them with that run's outputs of the step, or removes them until those have loaded.
 */
class StepDetailView extends Panel {
  constructor(
    private readonly session: NotebookPipeline,
    rendermime: IRenderMimeRegistry,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-cellpipe-StepDetailPanel');
    this._inCells = new CellRunOutputs(rendermime, trans);
    this.disposed.connect(() => this._inCells.clear());
    const header = ReactWidget.create(
      <UseSignal signal={this._changed}>
        {() => (
          <StepHeader
            session={session}
            trans={trans}
            showingInCells={this._showInCells}
            onShowInCells={() => {
              this._showInCells = !this._showInCells;
              this._syncInCells();
              this._changed.emit();
            }}
          />
        )}
      </UseSignal>
    );
    this.addWidget(header);
    this._outputs = new OutputArea({ model: new OutputAreaModel({ trusted: false }), rendermime });
    this._outputs.addClass('jp-cellpipe-StepOutputs');
    this.addWidget(this._outputs);
    session.runs.changed.connect(this._onRunsChanged, this);
    // The step's outputs may have loaded before the panel opened.
    this._onRunsChanged();
  }

  private _onRunsChanged(): void {
    const detail = this.session.runs.detail;
    if (detail !== this._shown) {
      this._shown = detail;
      const model = this._outputs.model;
      model.clear();
      const byCell = detail?.outputs ?? {};
      for (const cell of Object.keys(byCell).sort((a, b) => Number(a) - Number(b))) {
        for (const output of byCell[cell]) {
          model.add(output);
        }
      }
    }
    this._syncInCells();
    this._changed.emit();
  }

  /** The outputs under the cells are those of the run and step shown, or none. */
  private _syncInCells(): void {
    const { detail, current, selectedStep } = this.session.runs;
    const key = current && selectedStep && detail?.outputs ? `${current.id}\u0000${selectedStep}` : null;
    if (!this._showInCells || !key) {
      this._inCells.clear();
      this._inCellsKey = null;
      return;
    }
    if (key !== this._inCellsKey) {
      this._inCellsKey = key;
      this._inCells.show(
        this.session.panel.content.widgets,
        detail!.outputs!,
        this.trans.__('Step %1, run %2', selectedStep!, current!.id),
        () => {
          this._showInCells = false;
          this._syncInCells();
          this._changed.emit();
        }
      );
    }
  }

  private readonly _outputs: OutputArea;
  private readonly _inCells: CellRunOutputs;
  private _shown: unknown = null;
  private _showInCells = false;
  private _inCellsKey: string | null = null;
  /** The header's view changed (the runs, or the outputs shown under the cells). */
  private readonly _changed = new Signal<this, void>(this);
}

/** The pipeline panel of one notebook. */
export class PipelinePanel extends MainAreaWidget<SplitPanel> {
  constructor(
    readonly session: NotebookPipeline,
    rendermime: IRenderMimeRegistry,
    trans: TranslationBundle
  ) {
    const split = new SplitPanel({ orientation: 'vertical' });
    split.addClass('jp-cellpipe-PipelinePanel');
    split.addWidget(new GraphView(session, trans));
    split.addWidget(new StepDetailView(session, rendermime, trans));
    split.setRelativeSizes([3, 2]);
    super({ content: split });
    this.id = `cellpipe-panel-${session.panel.id}`;
    const setTitle = () => (this.title.label = trans.__('Pipeline: %1', session.panel.title.label));
    setTitle();
    session.panel.title.changed.connect(setTitle);
    this.title.closable = true;
    session.panel.disposed.connect(() => this.dispose());
  }
}
