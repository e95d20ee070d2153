/**
 * Compiling one notebook for a cluster from JupyterLab: the KFP or Argo YAML of the notebook as the user
 * sees it (what `cellpipe compile` writes, compiled by the server with the same core), downloaded as a
 * file, or uploaded to Kubeflow Pipelines as a new version of the pipeline. Keeps the outcome of the
 * last of these for the sidebar.
 */
import { ISignal, Signal } from '@lumino/signaling';
import type { CompileResult, UploadResult } from '../core/cluster-api';
import type { ClusterAccess } from '../core/runs/run-record';
import { compilePipeline, uploadToKfp } from '../services/api';

export type CompileOutcome =
  | { kind: 'busy'; what: 'kfp' | 'argo' | 'upload' }
  | { kind: 'downloaded'; target: 'kfp' | 'argo'; filename: string; warnings: string[] }
  | { kind: 'uploaded'; result: UploadResult }
  | { kind: 'error'; message: string };

export class CompileModel {
  constructor(
    private readonly notebook: () => string,
    private readonly content: () => unknown,
    /** A refusal (error diagnostics) that stops compiling before the server is asked. */
    private readonly refusal: () => string | null
  ) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get outcome(): CompileOutcome | null {
    return this._outcome;
  }

  /** Compiles for `target`; the YAML is handed to `deliver` (the browser download). */
  async download(target: 'kfp' | 'argo', deliver: (result: CompileResult) => void): Promise<void> {
    if (this._refused()) {
      return;
    }
    this._set({ kind: 'busy', what: target });
    try {
      const result = await compilePipeline({ notebook: this.notebook(), content: this.content(), target });
      deliver(result);
      this._set({ kind: 'downloaded', target, filename: result.filename, warnings: result.warnings });
    } catch (err) {
      this._set({ kind: 'error', message: messageOf(err) });
    }
  }

  /** Compiles for KFP and uploads it as a pipeline version through the server. */
  async upload(connection: ClusterAccess, version?: string): Promise<void> {
    if (this._refused()) {
      return;
    }
    this._set({ kind: 'busy', what: 'upload' });
    try {
      const result = await uploadToKfp({
        notebook: this.notebook(),
        content: this.content(),
        connection,
        version: version || undefined
      });
      this._set({ kind: 'uploaded', result });
    } catch (err) {
      this._set({ kind: 'error', message: messageOf(err) });
    }
  }

  /** The outcome shown no longer holds (the notebook changed): forget it. */
  clear(): void {
    if (this._outcome && this._outcome.kind !== 'busy') {
      this._set(null);
    }
  }

  private _refused(): boolean {
    const refusal = this.refusal();
    if (refusal) {
      this._set({ kind: 'error', message: refusal });
    }
    return refusal !== null;
  }

  private _set(outcome: CompileOutcome | null): void {
    this._outcome = outcome;
    this._changed.emit();
  }

  private _outcome: CompileOutcome | null = null;
  private readonly _changed = new Signal<this, void>(this);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
