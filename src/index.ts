/**
 * The cellpipe JupyterLab plugin: for every open notebook a live pipeline,
 * badges on its cells, a sidebar to tag cells and run, and a pipeline panel
 * (graph, logs, outputs) beside the notebook.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import type { BadgeDisplay } from './badges/cell-badges';
import type { Target } from './core/tags/settings';
import type { NotebookPipeline } from './pipeline/notebook-pipeline';
import { ReferencedNotebooks } from './pipeline/referenced-notebooks';
import { Sessions } from './pipeline/sessions';
import { createPipelinePanel } from './panel/pipeline-panel';
import { runEvents } from './services/api';
import { SidebarModel } from './sidebar/model';
import { runPipeline } from './sidebar/run-section';
import { SidebarWidget } from './sidebar/widget';
import pipelineSvg from '../style/icons/pipeline.svg';

export enum CommandIDs {
  openSidebar = 'cellpipe:open-sidebar',
  openPanel = 'cellpipe:open-panel',
  run = 'cellpipe:run',
  runStep = 'cellpipe:run-step',
  runFrom = 'cellpipe:run-from',
  cancel = 'cellpipe:cancel'
}

export const SIDEBAR_ID = 'cellpipe-sidebar';
const PLUGIN_ID = 'cellpipe:plugin';

const pipelineIcon = new LabIcon({ name: 'cellpipe:pipeline', svgstr: pipelineSvg });

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Turn a notebook into a pipeline: tag cells as steps and see the variables that flow between them.',
  autoStart: true,
  requires: [INotebookTracker, IRenderMimeRegistry],
  optional: [ICommandPalette, ILayoutRestorer, ITranslator, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    rendermime: IRenderMimeRegistry,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const trans = (translator ?? nullTranslator).load('cellpipe');
    const model = new SidebarModel();
    const sidebar = new SidebarWidget(model, trans);
    sidebar.id = SIDEBAR_ID;
    sidebar.title.icon = pipelineIcon;
    sidebar.title.caption = trans.__('Pipeline');
    app.shell.add(sidebar, 'right', { rank: 600 });
    restorer?.add(sidebar, SIDEBAR_ID);

    const sessions = new Sessions(
      trans,
      (session, step) => {
        session.selectStep(step);
        app.shell.activateById(SIDEBAR_ID);
      },
      new ReferencedNotebooks(app.serviceManager.contents, PageConfig.getOption('serverRoot'))
    );
    tracker.widgetAdded.connect((_, panel) => void sessions.add(panel));
    tracker.forEach(panel => void sessions.add(panel));
    const follow = (panel: NotebookPanel | null) => {
      // The tracker may announce a new current notebook before it announces the notebook as added.
      model.session = panel ? sessions.add(panel) : null;
    };
    tracker.currentChanged.connect((_, panel) => follow(panel));
    follow(tracker.currentWidget);

    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(settings => {
        const apply = () => {
          sessions.badgeDisplay = settings.get('badges').composite as BadgeDisplay;
          sessions.parallelism = settings.get('parallelism').composite as number;
          sessions.defaultTarget = settings.get('defaultTarget').composite as Target;
        };
        apply();
        settings.changed.connect(apply);
      });
    }

    // The first request starts the server through jupyter-server-proxy; do not block start-up on it.
    void app.restored.then(async () => {
      await model.checkServer();
      // Opened whatever the health check said: EventSource reconnects by itself once the server answers.
      runEvents(
        event => sessions.forEach(s => s.runs.handleEvent(event)),
        () => sessions.forEach(s => void s.runs.refresh())
      );
    });

    const current = () => (tracker.currentWidget ? sessions.get(tracker.currentWidget) : null);
    const hasSession = () => current() !== null;
    const openPanel = (session: NotebookPipeline) => {
      const existing = sessions.panelOf(session);
      if (existing) {
        app.shell.activateById(existing.id);
        return;
      }
      const widget = createPipelinePanel(session, rendermime, trans);
      widget.id = `cellpipe-panel-${session.panel.id}`;
      sessions.setPanel(session, widget);
      app.shell.add(widget, 'main', { mode: 'split-right', ref: session.panel.id });
    };

    app.commands.addCommand(CommandIDs.openSidebar, {
      label: trans.__('Open the Pipeline Sidebar'),
      caption: trans.__('Show the cellpipe pipeline of the active notebook'),
      icon: pipelineIcon,
      execute: () => {
        app.shell.activateById(SIDEBAR_ID);
        void model.checkServer();
      }
    });
    app.commands.addCommand(CommandIDs.openPanel, {
      label: trans.__('Show the Pipeline Graph'),
      caption: trans.__("Open the notebook's step graph, logs and outputs beside it"),
      isEnabled: hasSession,
      execute: () => {
        const session = current();
        if (session) {
          openPanel(session);
        }
      }
    });
    const runCommand = (id: string, label: string, mode: 'all' | 'one' | 'from') =>
      app.commands.addCommand(id, {
        label,
        icon: mode === 'all' ? pipelineIcon : undefined,
        isEnabled: () => hasSession() && (mode === 'all' || !!current()?.selectedStep),
        execute: () => {
          const session = current();
          if (!session) {
            return;
          }
          const step = session.selectedStep ?? undefined;
          app.shell.activateById(SIDEBAR_ID);
          return runPipeline(session, mode === 'all' ? { mode } : { mode, step }, trans);
        }
      });
    runCommand(CommandIDs.run, trans.__('Run the Pipeline'), 'all');
    runCommand(CommandIDs.runStep, trans.__('Run the Selected Step'), 'one');
    runCommand(CommandIDs.runFrom, trans.__('Run from the Selected Step'), 'from');
    app.commands.addCommand(CommandIDs.cancel, {
      label: trans.__('Cancel the Pipeline Run'),
      isEnabled: () => current()?.runs.current?.status === 'running',
      execute: () => current()?.runs.cancel()
    });
    for (const command of [
      CommandIDs.openSidebar,
      CommandIDs.openPanel,
      CommandIDs.run,
      CommandIDs.runStep,
      CommandIDs.runFrom,
      CommandIDs.cancel
    ]) {
      palette?.addItem({ command, category: trans.__('Pipeline') });
    }
  }
};

export default plugin;
