/** The cellpipe JupyterLab plugin: a pipeline sidebar that follows the active notebook. */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { SidebarModel } from './sidebar/model';
import { SidebarWidget } from './sidebar/widget';
import pipelineSvg from '../style/icons/pipeline.svg';

export namespace CommandIDs {
  export const openSidebar = 'cellpipe:open-sidebar';
}

export const SIDEBAR_ID = 'cellpipe-sidebar';

const pipelineIcon = new LabIcon({ name: 'cellpipe:pipeline', svgstr: pipelineSvg });

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'cellpipe:plugin',
  description:
    'Turn a notebook into a pipeline: tag cells as steps and see the variables that flow between them.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ILayoutRestorer, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('cellpipe');
    const model = new SidebarModel();
    const sidebar = new SidebarWidget(model, trans);
    sidebar.id = SIDEBAR_ID;
    sidebar.title.icon = pipelineIcon;
    sidebar.title.caption = trans.__('Pipeline');
    app.shell.add(sidebar, 'right', { rank: 600 });
    restorer?.add(sidebar, SIDEBAR_ID);

    model.notebook = tracker.currentWidget;
    tracker.currentChanged.connect((_, panel) => {
      model.notebook = panel;
    });
    // The first request starts the server through jupyter-server-proxy; do not block start-up on it.
    void app.restored.then(() => model.checkServer());

    app.commands.addCommand(CommandIDs.openSidebar, {
      label: trans.__('Open the Pipeline Sidebar'),
      caption: trans.__('Show the cellpipe pipeline of the active notebook'),
      icon: pipelineIcon,
      execute: () => {
        app.shell.activateById(SIDEBAR_ID);
        void model.checkServer();
      }
    });
    palette?.addItem({ command: CommandIDs.openSidebar, category: trans.__('Pipeline') });
  }
};

export default plugin;
