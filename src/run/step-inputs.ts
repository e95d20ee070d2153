/**
 * "Load this step's inputs into the kernel": asks the server for the code that loads what a run's step
 * received (server-proxy/src/runs/step-inputs.ts), runs it in the notebook's live kernel, and goes to
 * where the step failed (its cell and line), else to the step's first cell. The user then fixes and runs
 * the cell there, and runs the pipeline from that step. A sub-pipeline step's cells are in the notebook
 * its `notebook:` step runs: that notebook is opened, and loaded and shown there.
 */
import { Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';
import { getStepInputs } from '../services/api';

export interface StepInputsState {
  run: string;
  step: string;
  status: 'loading' | 'loaded' | 'failed';
  /** What was loaded and where the step failed, or why nothing was. */
  message: string;
}

/** What the model needs of the notebook's pipeline. */
export interface StepInputsHost {
  readonly path: string;
  readonly panel: NotebookPanel;
  revealStep(step: string): void;
  revealDiagnostic(at: { cell: number | null; line: number | null; column: null }): Promise<void>;
  /** Opens another notebook (at a path under the root), or says why not; null where notebooks cannot be opened. */
  openNotebook: ((path: string) => Promise<StepInputsHost>) | null;
}

export class StepInputsModel {
  constructor(private readonly _host: StepInputsHost) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The last load asked for, or null. */
  get state(): StepInputsState | null {
    return this._state;
  }

  async load(run: string, step: string): Promise<void> {
    const host = this._host;
    this._set({ run, step, status: 'loading', message: `Loading the inputs of step ${step}…` });
    try {
      const inputs = await getStepInputs(host.path, run, step);
      // A sub-pipeline step runs the cells of the notebook it is in: its inputs go into that notebook's
      // kernel, where its failing cell is (its program runs the outer notebooks' imports there first).
      const child = inputs.notebook
        ? PathExt.normalize(PathExt.join(PathExt.dirname(host.path), inputs.notebook))
        : null;
      if (child && !host.openNotebook) {
        throw new Error(`Step ${step} runs the cells of ${child}: open it and load the inputs there.`);
      }
      const target = child ? await host.openNotebook!(child) : host;
      const context = target.panel.sessionContext;
      await context.ready;
      const kernel = context.session?.kernel;
      if (!kernel) {
        throw new Error('The notebook has no kernel: choose one (Kernel › Change Kernel) and try again.');
      }
      // Silent: the notebook's execution count and history stay the user's.
      const reply = await kernel.requestExecute({ code: inputs.code, silent: true, store_history: false })
        .done;
      const content = reply.content;
      if (content.status === 'error') {
        throw new Error(`The kernel could not load them: ${content.ename}: ${content.evalue}`);
      }
      if (content.status !== 'ok') {
        throw new Error(`The kernel did not load them (${content.status}).`);
      }
      const names = [
        inputs.parameters.length > 0 ? `parameters ${inputs.parameters.join(', ')}` : '',
        inputs.inputs.length > 0 ? `inputs ${inputs.inputs.join(', ')}` : ''
      ].filter(Boolean);
      const where = inputs.error?.cell !== null && inputs.error?.cell !== undefined ? inputs.error : null;
      const failedAt = where
        ? ` It failed at cell ${where.cell! + 1}${where.line ? `, line ${where.line}` : ''}` +
          `${child ? ` of ${child}` : ''}: fix it there, then Run from here.`
        : '';
      this._set({
        run,
        step,
        status: 'loaded',
        message:
          `The kernel${child ? ` of ${child}` : ''} has what step ${step} of run ${run} received` +
          (names.length > 0 ? ` (${names.join('; ')}).` : '.') +
          failedAt
      });
      if (where) {
        await target.revealDiagnostic({ cell: where.cell, line: where.line, column: null });
      } else if (!child) {
        host.revealStep(step);
      }
      if (child) {
        // The sidebar now shows the child notebook, so the run's note is out of view: say it where it is
        // seen, briefly (a notification shows about 140 characters).
        const failed = where
          ? `; it failed at cell ${where.cell! + 1}${where.line ? `, line ${where.line}` : ''}`
          : '';
        Notification.info(`${PathExt.basename(child)}'s kernel has the inputs of step ${step}${failed}.`, {
          autoClose: 10_000
        });
      }
    } catch (err) {
      this._set({ run, step, status: 'failed', message: err instanceof Error ? err.message : String(err) });
    }
  }

  dispose(): void {
    Signal.clearData(this);
  }

  private _set(state: StepInputsState): void {
    this._state = state;
    this._changed.emit();
  }

  private _state: StepInputsState | null = null;
  private readonly _changed = new Signal<this, void>(this);
}
