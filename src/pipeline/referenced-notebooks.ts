/**
 * The notebooks that `notebook:` steps run, read through the Jupyter contents API for the core's
 * analysis (which does no I/O). A notebook is read the first time an analysis asks for it (the answer is
 * "pending" until then, and `changed` says when to analyse again) and read again after the contents
 * manager reports it saved, renamed or deleted. The saved file is what a run uses, so that is what the
 * analysis sees, not the unsaved edits of a copy open in another tab.
 */
import type { Contents } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';
import type { NotebookResolver, ResolvedNotebook } from '../core/composition/references';
import { readNotebook } from '../core/notebook/read';

export class ReferencedNotebooks implements NotebookResolver {
  constructor(
    private readonly contents: Pick<Contents.IManager, 'get' | 'fileChanged'>,
    /** The Jupyter root on the server's disk (an absolute `notebook_path` inside it is read through it). */
    private readonly serverRoot = ''
  ) {
    contents.fileChanged.connect(this._onFileChanged, this);
  }

  /** A notebook finished reading, or one read before changed on disk. */
  get changed(): ISignal<this, string> {
    return this._changed;
  }

  get(path: string): ResolvedNotebook {
    const known = this._cache.get(path);
    if (known) {
      return known;
    }
    this._cache.set(path, { pending: true });
    void this._read(path);
    return { pending: true };
  }

  dispose(): void {
    this.contents.fileChanged.disconnect(this._onFileChanged, this);
    Signal.clearData(this);
  }

  private async _read(path: string): Promise<void> {
    let resolved: ResolvedNotebook;
    try {
      const model = await this.contents.get(this._contentsPath(path), { type: 'notebook', content: true });
      resolved = { notebook: readNotebook(model.content, model.name) };
    } catch (err) {
      const status = (err as { response?: { status?: number } }).response?.status;
      resolved = {
        error: status === 404 ? 'there is no such file' : err instanceof Error ? err.message : String(err)
      };
    }
    // A change while it was being read has dropped the entry: that read will answer.
    if (this._cache.get(path) && 'pending' in this._cache.get(path)!) {
      this._cache.set(path, resolved);
      this._changed.emit(path);
    }
  }

  /** The contents API names files from the Jupyter root; an absolute path is one on the server's disk. */
  private _contentsPath(path: string): string {
    if (!path.startsWith('/')) {
      return path;
    }
    const root = this.serverRoot.replace(/\/+$/, '');
    if (root.startsWith('/') && path.startsWith(`${root}/`)) {
      return path.slice(root.length + 1);
    }
    throw new Error('it is outside the Jupyter root directory (give its path relative to this notebook)');
  }

  private _onFileChanged(_: unknown, change: Contents.IChangedArgs): void {
    for (const model of [change.oldValue, change.newValue]) {
      const path = model?.path;
      if (path && this._cache.has(path)) {
        this._cache.delete(path);
        this._changed.emit(path);
      }
    }
  }

  private readonly _cache = new Map<string, ResolvedNotebook>();
  private readonly _changed = new Signal<this, string>(this);
}
