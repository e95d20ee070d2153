/**
 * One notebook's runs: the list, the run being shown (live through the
 * server's events), starting and cancelling runs, and the selected step's
 * log (followed while it runs) and outputs.
 */
import { ISignal, Signal } from '@lumino/signaling';
import {
  adoptRuns,
  ApiError,
  cancelRun,
  followLog,
  getRun,
  getStep,
  listRuns,
  startRun,
  StepDetail
} from '../services/api';
import { applyRunEvent, mergeRun } from '../core/runs/run-order';
import type { RunRecord, StartRunRequest } from '../core/runs/run-record';
import type { Target } from '../core/tags/settings';
import type { IPipelineRuns, RunSelection } from '../tokens';
import { RunEvent, RunView, runView } from './run-state';

/** What a run is started with. */
export interface StartOptions {
  /** The live notebook (nbformat JSON). */
  content: unknown;
  steps: RunSelection;
  target: Target;
  /** Why the run is refused (shown instead of asking the server). */
  refusal?: string;
  volumes?: StartRunRequest['volumes'];
  connection?: StartRunRequest['connection'];
}

/** Where the error shown comes from: a run refused before asking the server, or the server. */
export type ErrorKind = 'refused' | 'server';
/** Which request the error answered (a listing error goes once listing works again). */
type ErrorSource = 'refused' | 'start' | 'list' | 'cancel';

export class RunsModel implements IPipelineRuns {
  constructor(
    /** Notebook path relative to the Jupyter root. */
    private _path: string
  ) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get path(): string {
    return this._path;
  }

  set path(value: string) {
    // The notebook was renamed: its runs are found under the new name from now on.
    this._path = value;
  }

  /** Newest first. */
  get runs(): readonly RunView[] {
    return this._runs;
  }

  /** The run the panel and badges show: the latest started, or one opened from the list. */
  get current(): RunView | null {
    return this._runs.find(r => r.id === this._currentId) ?? null;
  }

  get selectedStep(): string | null {
    return this._selectedStep;
  }

  /**
   * Emitted as the followed log grows. Apart from `changed`, so that what does not show the log (badges,
   * graph, sidebar) is not redrawn for every chunk of a step's output.
   */
  get logChanged(): ISignal<this, void> {
    return this._logChanged;
  }

  get log(): string {
    return this._log;
  }

  get detail(): StepDetail | null {
    return this._detail;
  }

  /** Steps a local run runs at once (the `parallelism` setting; 0: one per core). */
  parallel = 0;

  /** Parameter values typed for the next run (NAME → text, typed by the server as `--param` is). */
  get parameters(): Readonly<Record<string, string>> {
    return this._parameters;
  }

  setParameter(name: string, value: string): void {
    this._parameters = { ...this._parameters, [name]: value };
    this._changed.emit();
  }

  /** The next run uses the notebook's value of `name` again. */
  resetParameter(name: string): void {
    if (name in this._parameters) {
      const { [name]: _dropped, ...rest } = this._parameters;
      void _dropped;
      this._parameters = rest;
      this._changed.emit();
    }
  }

  /** The server's code for the last error (e.g. `no-snapshot-class`), when it gave one. */
  get errorCode(): string | null {
    return this._errorCode;
  }

  /** The last error a user should see (a refused run, an unreachable server). */
  get error(): string | null {
    return this._error;
  }

  get errorKind(): ErrorKind | null {
    return this._error === null ? null : this._errorSource === 'refused' ? 'refused' : 'server';
  }

  /** The refusal as it is now (a fix may have changed or ended it); null removes it. */
  setRefusal(message: string | null): void {
    if (this.errorKind === 'refused' && message !== this._error) {
      this._error = message;
      this._changed.emit();
    }
  }

  /** Forgets the error shown (what it was about changed). */
  clearError(): void {
    if (this._error !== null) {
      this._error = null;
      this._errorCode = null;
      this._changed.emit();
    }
  }

  async refresh(): Promise<void> {
    const sent = ++this._reads;
    try {
      const { runs } = await listRuns(this._path);
      // A run read since this listing was sent stays as that read showed it, whether listed or not yet;
      // what events said since is kept where it is later than the listing (`mergeRun`).
      const newer = this._runs.filter(r => this._newerThan(r.id, sent));
      const listed = runs.filter(r => this._shows(r.id, sent)).map(r => this._merge(r));
      const views = [...newer, ...listed].sort((a, b) => b.started.localeCompare(a.started));
      this._runs = views;
      this._records = new Map(views.map(v => [v.id, this._records.get(v.id)!]));
      this._currentId ??= views[0]?.id ?? null;
      if (this._errorSource === 'list') {
        this._error = null;
      }
      if (runs.some(r => r.orphan) && !this._adopting) {
        // Runs whose server or CLI is gone: the server takes them over (resumes its own, closes a CLI's);
        // the listing itself never changes a run.
        this._adopting = true;
        void adoptRuns(this._path)
          .then(({ adopted }) => (adopted.length > 0 ? this.refresh() : undefined))
          .catch(() => undefined)
          .finally(() => (this._adopting = false));
      }
    } catch (err) {
      this._error = message(err);
      this._errorSource = 'list';
    }
    this._changed.emit();
  }

  /** Starts a run of the live notebook with the typed parameters; a refusal is shown without asking the server. */
  async start(options: StartOptions): Promise<void> {
    this._errorCode = null;
    if (options.refusal) {
      this._error = options.refusal;
      this._errorSource = 'refused';
      this._changed.emit();
      return;
    }
    const parameters = this._parameters;
    this._error = null;
    this._starting = true;
    this._changed.emit();
    try {
      const { run } = await startRun({
        notebook: this._path,
        content: options.content,
        parameters,
        steps: options.steps,
        target: options.target,
        volumes: options.volumes,
        connection: options.connection,
        parallel: this.parallel
      });
      this._currentId = run;
      await this._read(run);
      if (this._selectedStep) {
        this.selectStep(this._selectedStep);
      }
      // Events may have come before the run could be read: read it again, now that they will apply.
      void this._reload(run);
    } catch (err) {
      this._error = message(err);
      this._errorSource = 'start';
      this._errorCode = err instanceof ApiError ? (err.code ?? null) : null;
    }
    this._starting = false;
    this._changed.emit();
  }

  /** A run is being submitted (the server has not answered yet). */
  get starting(): boolean {
    return this._starting;
  }

  async cancel(): Promise<void> {
    const run = this.current;
    if (run?.status === 'running') {
      try {
        await cancelRun(run.id);
      } catch (err) {
        this._error = message(err);
        this._errorSource = 'cancel';
        this._changed.emit();
      }
    }
  }

  openRun(id: string): void {
    this._currentId = id;
    this._changed.emit();
    if (this._selectedStep) {
      this.selectStep(this._selectedStep);
    }
  }

  /** Shows a step's log (followed while the step runs) and, once it has finished, its outputs. */
  selectStep(step: string | null): void {
    this._logAbort?.abort();
    this._following = null;
    this._selectedStep = step;
    this._log = '';
    this._detail = null;
    this._changed.emit();
    const run = this.current;
    if (!step || !run || !run.steps[step]) {
      return;
    }
    const abort = new AbortController();
    this._logAbort = abort;
    const state = run.steps[step].state;
    if (state !== 'queued') {
      this._following = { run: run.id, step };
      void followLog(
        this._path,
        run.id,
        step,
        text => {
          this._log += text;
          this._logChanged.emit();
        },
        abort.signal
      )
        .then(() => this._loadDetail(run.id, step, abort.signal))
        .catch(() => {
          // aborted by a newer selection, or the log is gone: the view keeps what it has
        });
    }
  }

  /** Applies a server event; reloads the run when it finishes (metrics arrive with the record). */
  handleEvent(event: RunEvent): void {
    const index = this._runs.findIndex(r => r.id === event.run);
    if (index < 0) {
      if (event.notebook === this._path && event.step === undefined) {
        void this._reload(event.run);
      }
      return;
    }
    const shown = this._records.get(event.run)!;
    const updated = applyRunEvent(shown, event);
    if (updated !== shown) {
      this._records.set(event.run, updated);
      const view = runView(updated);
      this._runs = this._runs.map((r, i) => (i === index ? view : r));
      this._changed.emit();
    }
    if (event.step === undefined && event.status !== 'running') {
      void this._reload(event.run);
    }
    if (event.run === this._currentId) {
      this._followSelected();
    }
  }

  dispose(): void {
    this._logAbort?.abort();
    Signal.clearData(this);
  }

  /**
   * Once the selected step of the shown run has started (or finished, when its first events came before
   * the run could be read), follow its log and then load its outputs, once.
   */
  private _followSelected(): void {
    const step = this._selectedStep;
    const run = this.current;
    const state = step ? run?.steps[step]?.state : undefined;
    if (step && run && state && state !== 'queued') {
      if (!(this._following?.run === run.id && this._following.step === step)) {
        this.selectStep(step);
      }
    }
  }

  private async _reload(id: string): Promise<void> {
    try {
      if (!(await this._read(id))) {
        return;
      }
      this._changed.emit();
      if (id === this._currentId) {
        this._followSelected();
      }
    } catch {
      // the next list refresh shows it
    }
  }

  /** Reads a run and shows it; false when a read or listing sent later shows it already (`_shows`). */
  private async _read(id: string): Promise<boolean> {
    const sent = ++this._reads;
    const record = await getRun(this._path, id);
    if (!this._shows(id, sent)) {
      return false;
    }
    this._upsert(this._merge(record));
    return true;
  }

  /**
   * Whether the answer of request `sent` (a read of the run, or a listing) is shown for run `id`, and if
   * so, noted: answers can land out of order, and an earlier one would show the run as it was, say still
   * running after its end.
   */
  private _shows(id: string, sent: number): boolean {
    if (this._newerThan(id, sent)) {
      return false;
    }
    this._shownRead.set(id, sent);
    return true;
  }

  /** The run is shown from an answer to a request sent after `sent`. */
  private _newerThan(id: string, sent: number): boolean {
    return (this._shownRead.get(id) ?? 0) > sent;
  }

  private async _loadDetail(run: string, step: string, signal: AbortSignal): Promise<void> {
    const detail = await getStep(this._path, run, step);
    if (!signal.aborted) {
      this._detail = detail;
      this._changed.emit();
    }
  }

  /** The run as `record` shows it, with what was heard of it since that is later (the core's one rule). */
  private _merge(record: RunRecord): RunView {
    const shown = this._records.get(record.id);
    const merged = shown ? mergeRun(shown, record) : record;
    this._records.set(record.id, merged);
    return runView(merged);
  }

  private _upsert(view: RunView): void {
    const others = this._runs.filter(r => r.id !== view.id);
    this._runs = [view, ...others].sort((a, b) => b.started.localeCompare(a.started));
  }

  private _adopting = false;
  /** Requests sent whose answers show runs (reads of one run, listings), counted in the order sent. */
  private _reads = 0;
  /** The latest of them shown for each run. */
  private readonly _shownRead = new Map<string, number>();
  private _parameters: Record<string, string> = {};
  private _runs: RunView[] = [];
  /** What each run shown is made from: the records read and the events applied to them. */
  private _records = new Map<string, RunRecord>();
  private _currentId: string | null = null;
  private _selectedStep: string | null = null;
  private _log = '';
  private _detail: StepDetail | null = null;
  private _logAbort: AbortController | null = null;
  /** The step whose log is being followed (or was, to its end). */
  private _following: { run: string; step: string } | null = null;
  private _error: string | null = null;
  private _errorSource: ErrorSource = 'start';
  private _errorCode: string | null = null;
  private _starting = false;
  private readonly _changed = new Signal<this, void>(this);
  private readonly _logChanged = new Signal<this, void>(this);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
