/** The sidebar view: renders SidebarModel and the active notebook's pipeline; holds no state of its own. */
import * as React from 'react';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import type { TranslationBundle } from '@jupyterlab/translation';
import { CellRoleSection } from './cell-role-section';
import { DiagnosticsSection } from './diagnostics-section';
import type { SidebarModel } from './model';
import { PipelineSection } from './pipeline-section';
import { RunSection } from './run-section';
import { RunsSection } from './runs-section';
import { StepSection } from './step-section';
import { ScheduleSection } from './schedule-section';
import { SweepSection } from './sweep-section';

function SidebarView(props: { model: SidebarModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const server = model.server;
  const session = model.session;
  const analysis = session?.pipeline.analysis;
  const step = session?.selectedStep ?? null;
  return (
    <div className="jp-cellpipe-Sidebar">
      <header className="jp-cellpipe-Sidebar-header">
        <h2 className="jp-cellpipe-Sidebar-title">{analysis?.pipeline.name ?? trans.__('Pipeline')}</h2>
        <p className="jp-cellpipe-Sidebar-notebook">
          {session ? session.panel.context.path : trans.__('Open a notebook to see its pipeline.')}
        </p>
        <p className="jp-cellpipe-Sidebar-server" data-state={server.kind}>
          {server.kind === 'ok'
            ? trans.__('Server: ok (%1)', server.version)
            : server.kind === 'error'
              ? trans.__('Server: unavailable (%1)', server.message)
              : trans.__('Server: connecting…')}
        </p>
        {session?.pipeline.error && <p className="jp-cellpipe-Error">{session.pipeline.error}</p>}
        {analysis && (
          <p className="jp-cellpipe-Summary">
            {trans.__(
              '%1 steps · %2 parameters · %3 metrics · analysed in %4 ms',
              analysis.steps.length,
              Object.keys(analysis.parameters).length,
              analysis.metrics.length,
              session!.pipeline.lastAnalysisMs.toFixed(1)
            )}
          </p>
        )}
      </header>
      {session && analysis && !session.pipeline.enabled && (
        <div className="jp-cellpipe-Enable">
          <p>
            {trans.__(
              'This notebook is not a pipeline yet. Enable it, then give code cells a role (a step, imports, functions, parameters or metrics) to see the variables that flow between steps.'
            )}
          </p>
          <button
            className="jp-mod-styled jp-mod-accept jp-Button"
            data-action="enable"
            onClick={() => session.pipeline.enable()}
          >
            {trans.__('Enable the pipeline')}
          </button>
        </div>
      )}
      {session && analysis && session.pipeline.enabled && (
        <>
          <RunSection session={session} step={step} trans={trans} />
          <CellRoleSection session={session} cell={model.activeCell} trans={trans} />
          {step && <StepSection session={session} step={step} trans={trans} />}
          <DiagnosticsSection session={session} trans={trans} />
          <PipelineSection session={session} cluster={model.cluster} trans={trans} />
          <RunsSection session={session} trans={trans} />
          <SweepSection session={session} trans={trans} />
          <ScheduleSection session={session} trans={trans} />
        </>
      )}
    </div>
  );
}

export class SidebarWidget extends ReactWidget {
  constructor(
    private readonly model: SidebarModel,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-cellpipe-SidebarPanel');
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <SidebarView model={this.model} trans={this.trans} />}
      </UseSignal>
    );
  }
}
