/**
 * cellpipe's commands (in the palette; Run and the graph also on the notebook toolbar, see
 * schema/settings/plugin.json). They act on the current notebook's pipeline; `open-panel` also takes
 * a notebook path, which the layout restorer uses to bring the pipeline panels back after a reload.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { ICommandPalette, WidgetTracker } from '@jupyterlab/apputils';
import type { INotebookTracker } from '@jupyterlab/notebook';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { LabIcon } from '@jupyterlab/ui-components';
import { PipelinePanel } from './panel/pipeline-panel';
import type { NotebookPipeline } from './pipeline/notebook-pipeline';
import type { PipelineTracker } from './pipeline/tracker';
import { downloadFile } from './services/download-file';
import type { ClusterModel } from './sidebar/cluster-model';
import type { RunSelection } from './tokens';

export enum CommandIDs {
  openSidebar = 'cellpipe:open-sidebar',
  openPanel = 'cellpipe:open-panel',
  run = 'cellpipe:run',
  runStep = 'cellpipe:run-step',
  runFrom = 'cellpipe:run-from',
  cancel = 'cellpipe:cancel',
  loadStepInputs = 'cellpipe:load-step-inputs',
  downloadKfp = 'cellpipe:download-kfp',
  downloadArgo = 'cellpipe:download-argo',
  uploadKfp = 'cellpipe:upload-kfp'
}

export interface CommandContext {
  pipelines: PipelineTracker;
  notebooks: INotebookTracker;
  panels: WidgetTracker<PipelinePanel>;
  cluster: ClusterModel;
  rendermime: IRenderMimeRegistry;
  trans: TranslationBundle;
  icon: LabIcon;
  sidebarId: string;
  checkServer: () => Promise<void>;
}

export function addCommands(
  app: JupyterFrontEnd,
  context: CommandContext,
  palette: ICommandPalette | null
): void {
  const { pipelines, notebooks, panels, trans } = context;
  const { commands, shell } = app;
  const current = () => pipelines.current;

  /** The pipeline panel of `pipeline`, opened split-right of its notebook when it is not open yet. */
  const openPanel = (pipeline: NotebookPipeline): PipelinePanel => {
    const existing = panels.find(w => w.session === pipeline);
    if (existing) {
      shell.activateById(existing.id);
      return existing;
    }
    const widget = new PipelinePanel(pipeline, context.rendermime, trans);
    void panels.add(widget);
    pipeline.panel.context.pathChanged.connect(() => void panels.save(widget));
    pipelines.watch(pipeline, widget);
    shell.add(widget, 'main', { mode: 'split-right', ref: pipeline.panel.id });
    return widget;
  };

  commands.addCommand(CommandIDs.openSidebar, {
    label: trans.__('Open the Pipeline Sidebar'),
    caption: trans.__('Show the cellpipe pipeline of the active notebook'),
    icon: context.icon,
    execute: () => {
      shell.activateById(context.sidebarId);
      void context.checkServer();
    }
  });

  commands.addCommand(CommandIDs.openPanel, {
    label: trans.__('Show the Pipeline Graph'),
    caption: trans.__("Open the notebook's step graph, logs and outputs beside it"),
    isEnabled: args => typeof args.path === 'string' || current() !== null,
    execute: async args => {
      if (typeof args.path !== 'string') {
        const pipeline = current();
        return pipeline ? openPanel(pipeline) : undefined;
      }
      // Restoring after a reload: the notebook comes back through its own tracker first.
      await notebooks.restored;
      const notebook = notebooks.find(panel => panel.context.path === args.path);
      return notebook ? openPanel(pipelines.add(notebook)) : undefined;
    }
  });

  const runCommand = (id: CommandIDs, label: string, mode: 'all' | 'one' | 'from') =>
    commands.addCommand(id, {
      label,
      icon: mode === 'all' ? context.icon : undefined,
      isEnabled: () => current() !== null && (mode === 'all' || !!current()?.selectedStep),
      execute: () => {
        const pipeline = current();
        if (!pipeline) {
          return;
        }
        const step = pipeline.selectedStep ?? undefined;
        const steps: RunSelection = mode === 'all' ? { mode } : { mode, step };
        shell.activateById(context.sidebarId);
        return pipeline.run(steps);
      }
    });
  runCommand(CommandIDs.run, trans.__('Run the Pipeline'), 'all');
  runCommand(CommandIDs.runStep, trans.__('Run the Selected Step'), 'one');
  runCommand(CommandIDs.runFrom, trans.__('Run from the Selected Step'), 'from');

  commands.addCommand(CommandIDs.cancel, {
    label: trans.__('Cancel the Pipeline Run'),
    isEnabled: () => current()?.runs.current?.status === 'running',
    execute: () => current()?.runs.cancel()
  });

  // Args `run` and `step`: by default the run shown and the selected step.
  commands.addCommand(CommandIDs.loadStepInputs, {
    label: trans.__("Load the Selected Step's Inputs into the Kernel"),
    caption: trans.__(
      'Put what the step received in the run (parameters, inputs) into the notebook’s kernel and go to where it failed'
    ),
    isEnabled: args => {
      const pipeline = current();
      const run = typeof args.run === 'string' ? args.run : pipeline?.runs.current?.id;
      const step = typeof args.step === 'string' ? args.step : pipeline?.selectedStep;
      return !!run && !!step;
    },
    execute: args => {
      const pipeline = current();
      const run = typeof args.run === 'string' ? args.run : pipeline?.runs.current?.id;
      const step = typeof args.step === 'string' ? args.step : pipeline?.selectedStep;
      if (!pipeline || !run || !step) {
        return;
      }
      shell.activateById(context.sidebarId);
      return pipeline.inputs.load(run, step);
    }
  });

  const download = (id: CommandIDs, target: 'kfp' | 'argo', label: string) =>
    commands.addCommand(id, {
      label,
      caption: trans.__('Compile the pipeline as `cellpipe compile` does and download the YAML'),
      isEnabled: () => current() !== null,
      execute: () => current()?.compiler.download(target, downloadFile)
    });
  download(CommandIDs.downloadKfp, 'kfp', trans.__('Download the Pipeline as KFP YAML'));
  download(CommandIDs.downloadArgo, 'argo', trans.__('Download the Pipeline as an Argo Workflow'));

  commands.addCommand(CommandIDs.uploadKfp, {
    label: trans.__('Upload the Pipeline to Kubeflow Pipelines'),
    caption: trans.__('Compile for KFP and upload it as a new version of the pipeline'),
    isEnabled: () => current() !== null,
    execute: args => {
      const version = typeof args.version === 'string' ? args.version : undefined;
      return current()?.compiler.upload(context.cluster.access, version);
    }
  });

  for (const command of Object.values(CommandIDs)) {
    palette?.addItem({ command, category: trans.__('Pipeline') });
  }
}
