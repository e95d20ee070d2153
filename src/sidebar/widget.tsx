/** The sidebar view: renders SidebarModel; holds no state of its own. */
import * as React from 'react';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { SidebarModel } from './model';

function SidebarView(props: { model: SidebarModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const server = model.server;
  return (
    <div className="jp-cellpipe-Sidebar">
      <h2 className="jp-cellpipe-Sidebar-title">{trans.__('Pipeline')}</h2>
      <p className="jp-cellpipe-Sidebar-notebook">
        {model.notebook ? model.notebook.context.path : trans.__('Open a notebook to see its pipeline.')}
      </p>
      <p className="jp-cellpipe-Sidebar-server" data-state={server.kind}>
        {server.kind === 'ok'
          ? trans.__('Server: ok (%1)', server.version)
          : server.kind === 'error'
            ? trans.__('Server: unavailable (%1)', server.message)
            : trans.__('Server: connecting…')}
      </p>
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
