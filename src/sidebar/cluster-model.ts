/**
 * The cluster connection of the user (a kubeconfig context or the pod's service account, a KFP token
 * file: JupyterLab settings, since they belong to the machine, not to the notebook) and what the server
 * reports with it: the notebook's pod (image, volumes), the default namespace, whether the volumes can
 * be snapshotted, and what is wrong with the connection. The sidebar shows the report as the defaults
 * of the pipeline's cluster settings.
 */
import { ISignal, Signal } from '@lumino/signaling';
import type { ClusterReport } from '../core/cluster-api';
import type { ClusterAccess } from '../core/runs/run-record';
import { getClusterReport } from '../services/api';

export class ClusterModel {
  constructor(
    /** Saves the connection (the plugin writes it to the user's settings). */
    private readonly save: (access: ClusterAccess) => Promise<void> | void = () => undefined
  ) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get access(): ClusterAccess {
    return this._access;
  }

  /** The connection as the settings say (at start and when the user edits them elsewhere). */
  setAccess(access: ClusterAccess): void {
    if (JSON.stringify(access) !== JSON.stringify(this._access)) {
      this._access = access;
      this._report = null;
      this._changed.emit();
    }
  }

  /** The user changed the connection in the sidebar: save it (the sidebar then reads the report again). */
  async update(patch: ClusterAccess): Promise<void> {
    const next: ClusterAccess = { ...this._access, ...patch };
    for (const key of Object.keys(next) as Array<keyof ClusterAccess>) {
      if (!next[key]) {
        delete next[key];
      }
    }
    this.setAccess(next);
    await this.save(next);
  }

  /** The latest report, or null before the first (or after a change of connection). */
  get report(): ClusterReport | null {
    return this._report;
  }

  get loading(): boolean {
    return this._loading;
  }

  /** Why the report could not be read (the server is down…). */
  get error(): string | null {
    return this._error;
  }

  /** Asks the server what it can reach with the connection (for `namespace`, the pipeline's). */
  async refresh(namespace?: string): Promise<void> {
    const asked = JSON.stringify([this._access, namespace]);
    this._asked = asked;
    this._loading = true;
    this._changed.emit();
    try {
      const report = await getClusterReport(this._access, namespace);
      if (this._asked === asked) {
        this._report = report;
        this._error = null;
      }
    } catch (err) {
      if (this._asked === asked) {
        this._error = err instanceof Error ? err.message : String(err);
      }
    }
    if (this._asked === asked) {
      this._loading = false;
      this._changed.emit();
    }
  }

  /** The server's problem with a field of the connection, if any. */
  problem(field: 'context' | 'tokenFile' | 'cluster'): string | undefined {
    return this._report?.problems.find(p => p.field === field)?.message;
  }

  private _access: ClusterAccess = {};
  private _report: ClusterReport | null = null;
  private _loading = false;
  private _error: string | null = null;
  private _asked = '';
  private readonly _changed = new Signal<this, void>(this);
}
