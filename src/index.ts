/**
 * The cellpipe JupyterLab plugin: for every open notebook a live pipeline
 * (offered to other extensions as `IPipelineTracker`), badges on its cells, a
 * sidebar to tag cells and run, and a pipeline panel (graph, logs, outputs)
 * beside the notebook, restored after a reload.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, WidgetTracker } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { browserAnalyser } from './analysis/browser-analyser';
import type { BadgeDisplay } from './badges/cell-badges';
import { addCommands, CommandIDs } from './commands';
import type { ClusterAccess } from './core/runs/run-record';
import type { Target } from './core/tags/settings';
import { PipelinePanel } from './panel/pipeline-panel';
import { ReferencedNotebooks } from './pipeline/referenced-notebooks';
import { PipelineTracker } from './pipeline/tracker';
import { runEvents } from './services/api';
import { ClusterModel } from './sidebar/cluster-model';
import { SidebarModel } from './sidebar/model';
import { SidebarWidget } from './sidebar/widget';
import { IPipelineTracker } from './tokens';
import pipelineSvg from '../style/icons/pipeline.svg';

export { CommandIDs } from './commands';
export * from './tokens';

export const SIDEBAR_ID = 'cellpipe-sidebar';
const PLUGIN_ID = 'cellpipe:plugin';

const pipelineIcon = new LabIcon({ name: 'cellpipe:pipeline', svgstr: pipelineSvg });

const plugin: JupyterFrontEndPlugin<IPipelineTracker> = {
  id: PLUGIN_ID,
  description:
    'Turn a notebook into a pipeline: tag cells as steps and see the variables that flow between them.',
  autoStart: true,
  provides: IPipelineTracker,
  requires: [INotebookTracker, IRenderMimeRegistry],
  optional: [ICommandPalette, ILayoutRestorer, ITranslator, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    rendermime: IRenderMimeRegistry,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null
  ): IPipelineTracker => {
    const trans = (translator ?? nullTranslator).load('cellpipe');
    let saveConnection: (access: ClusterAccess) => Promise<void> = async () => undefined;
    const cluster = new ClusterModel(access => saveConnection(access));
    const model = new SidebarModel(cluster);
    const sidebar = new SidebarWidget(model, trans);
    sidebar.id = SIDEBAR_ID;
    sidebar.title.icon = pipelineIcon;
    sidebar.title.caption = trans.__('Pipeline');
    app.shell.add(sidebar, 'right', { rank: 600 });
    restorer?.add(sidebar, SIDEBAR_ID);

    const pipelines = new PipelineTracker(
      trans,
      (pipeline, step) => {
        pipeline.selectStep(step);
        pipeline.revealStep(step);
        app.shell.activateById(SIDEBAR_ID);
      },
      browserAnalyser,
      new ReferencedNotebooks(app.serviceManager.contents, PageConfig.getOption('serverRoot')),
      async path => {
        const widget = (await app.commands.execute('docmanager:open', { path })) as unknown;
        if (!(widget instanceof NotebookPanel)) {
          throw new Error(`${path} did not open as a notebook.`);
        }
        return widget;
      }
    );
    notebooks.widgetAdded.connect((_, panel) => void pipelines.add(panel));
    notebooks.forEach(panel => void pipelines.add(panel));
    const follow = (panel: NotebookPanel | null) => {
      // The tracker may announce a new current notebook before it announces the notebook as added.
      const pipeline = panel ? pipelines.add(panel) : null;
      pipelines.setCurrent(pipeline);
      model.session = pipeline;
    };
    notebooks.currentChanged.connect((_, panel) => follow(panel));
    follow(notebooks.currentWidget);
    cluster.changed.connect(() => (pipelines.connection = cluster.access));

    const panels = new WidgetTracker<PipelinePanel>({ namespace: 'cellpipe-pipeline' });
    void restorer?.restore(panels, {
      command: CommandIDs.openPanel,
      args: panel => ({ path: panel.session.path }),
      name: panel => panel.session.path
    });

    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(settings => {
        const apply = () => {
          pipelines.badgeDisplay = settings.get('badges').composite as BadgeDisplay;
          pipelines.parallelism = settings.get('parallelism').composite as number;
          pipelines.defaultTarget = settings.get('defaultTarget').composite as Target;
          cluster.setAccess((settings.get('cluster').composite as ClusterAccess | undefined) ?? {});
        };
        saveConnection = async access => {
          await settings.set('cluster', { ...access });
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
        event => pipelines.forEach(p => p.runs.handleEvent(event)),
        () => pipelines.forEach(p => void p.runs.refresh())
      );
    });

    addCommands(
      app,
      {
        pipelines,
        notebooks,
        panels,
        cluster,
        rendermime,
        trans,
        icon: pipelineIcon,
        sidebarId: SIDEBAR_ID,
        checkServer: () => model.checkServer()
      },
      palette
    );
    return pipelines;
  }
};

export default plugin;
