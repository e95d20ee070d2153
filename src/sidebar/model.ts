/** State of the cellpipe sidebar: which notebook it shows and how the server is. */
import { ISignal, Signal } from '@lumino/signaling';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { getHealth } from '../services/api';

export type ServerState =
  { kind: 'unknown' } | { kind: 'ok'; version: string } | { kind: 'error'; message: string };

export class SidebarModel {
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get notebook(): NotebookPanel | null {
    return this._notebook;
  }

  set notebook(panel: NotebookPanel | null) {
    if (panel !== this._notebook) {
      this._notebook = panel;
      this._changed.emit();
    }
  }

  get server(): ServerState {
    return this._server;
  }

  /** Asks the server for its health; the first call also makes jupyter-server-proxy start it. */
  async checkServer(): Promise<void> {
    try {
      const health = await getHealth();
      this._server = { kind: 'ok', version: health.version };
    } catch (err) {
      this._server = { kind: 'error', message: err instanceof Error ? err.message : String(err) };
    }
    this._changed.emit();
  }

  private _notebook: NotebookPanel | null = null;
  private _server: ServerState = { kind: 'unknown' };
  private readonly _changed = new Signal<this, void>(this);
}
