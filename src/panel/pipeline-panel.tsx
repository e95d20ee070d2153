/**
 * The pipeline panel, opened beside its notebook: the step graph (live with
 * edits and runs) above the selected step's log, outputs and metrics. Step
 * outputs are rendered by JupyterLab's own renderers, as untrusted output: no
 * script from a step's HTML runs, whatever the notebook's trust.
 */
import * as React from 'react';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { OutputArea, OutputAreaModel } from '@jupyterlab/outputarea';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import { Panel, SplitPanel } from '@lumino/widgets';
import { layoutPipeline } from '../graph/layout';
import { PipelineGraph } from '../graph/view';
import type { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { CellRunOutputs } from './cell-run-outputs';
import { formatMetric } from '../sidebar/runs-section';

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
            {() =>
              this._graph ? (
                <PipelineGraph
                  layout={this._graph}
                  states={session.runs.current?.steps}
                  selected={session.selectedStep ?? undefined}
                  onSelect={step => {
                    session.selectStep(step);
                    session.revealStep(step);
                  }}
                  trans={this.trans}
                />
              ) : (
                <p className="jp-cellpipe-Hint">{this.trans.__('Analysing…')}</p>
              )
            }
          </UseSignal>
        )}
      </UseSignal>
    );
  }

  private _relayout(): void {
    const analysis = this.session.pipeline.analysis;
    if (analysis) {
      const start = performance.now();
      this._graph = layoutPipeline(analysis);
      // Visible in the browser's performance timeline (and to the browser benchmark).
      performance.measure('cellpipe:layout', { start, end: performance.now() });
      this.update();
    }
  }

  private _graph: ReturnType<typeof layoutPipeline> | null = null;
}

/** The selected step's state, error, metrics and live log. */
function StepHeader(props: {
  session: NotebookPipeline;
  trans: TranslationBundle;
  onShowInCells: () => void;
}): JSX.Element {
  const { session, trans, onShowInCells } = props;
  const step = session.selectedStep;
  const run = session.runs.current;
  if (!step) {
    return (
      <p className="jp-cellpipe-Hint">{trans.__('Select a step in the graph to see its log and outputs.')}</p>
    );
  }
  const state = run?.steps[step];
  const metrics = Object.entries(session.runs.detail?.metrics ?? {});
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
      {/* A sub-pipeline's step ran cells of its own notebook, not of this one. */}
      {session.runs.detail?.outputs &&
        Object.keys(session.runs.detail.outputs).length > 0 &&
        session.pipeline.analysis?.steps.some(s => s.name === step && s.notebook === undefined) && (
          <button className="jp-mod-styled jp-Button" data-action="show-in-cells" onClick={onShowInCells}>
            {trans.__('Show under the cells')}
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

class StepDetailView extends Panel {
  constructor(
    private readonly session: NotebookPipeline,
    rendermime: IRenderMimeRegistry,
    trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-cellpipe-StepDetailPanel');
    const inCells = new CellRunOutputs(rendermime, trans);
    const showInCells = () => {
      const { detail, current, selectedStep } = session.runs;
      if (detail?.outputs && current && selectedStep) {
        inCells.show(
          session.panel.content.widgets,
          detail.outputs,
          trans.__('Step %1, run %2', selectedStep, current.id)
        );
      }
    };
    this.disposed.connect(() => inCells.clear());
    const header = ReactWidget.create(
      <UseSignal signal={session.runs.changed}>
        {() => <StepHeader session={session} trans={trans} onShowInCells={showInCells} />}
      </UseSignal>
    );
    this.addWidget(header);
    this._outputs = new OutputArea({ model: new OutputAreaModel({ trusted: false }), rendermime });
    this._outputs.addClass('jp-cellpipe-StepOutputs');
    this.addWidget(this._outputs);
    session.runs.changed.connect(this._showOutputs, this);
    // The step's outputs may have loaded before the panel opened.
    this._showOutputs();
  }

  private _showOutputs(): void {
    const detail = this.session.runs.detail;
    if (detail === this._shown) {
      return;
    }
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

  private readonly _outputs: OutputArea;
  private _shown: unknown = null;
}

export function createPipelinePanel(
  session: NotebookPipeline,
  rendermime: IRenderMimeRegistry,
  trans: TranslationBundle
): MainAreaWidget<SplitPanel> {
  const split = new SplitPanel({ orientation: 'vertical' });
  split.addClass('jp-cellpipe-PipelinePanel');
  split.addWidget(new GraphView(session, trans));
  split.addWidget(new StepDetailView(session, rendermime, trans));
  split.setRelativeSizes([3, 2]);
  const widget = new MainAreaWidget({ content: split });
  const setTitle = () => (widget.title.label = trans.__('Pipeline: %1', session.panel.title.label));
  setTitle();
  session.panel.title.changed.connect(setTitle);
  widget.title.closable = true;
  session.panel.disposed.connect(() => widget.dispose());
  return widget;
}
