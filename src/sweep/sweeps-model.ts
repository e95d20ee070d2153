/**
 * One notebook's parameter sweeps: the list (newest first), the sweep shown, starting and cancelling one.
 * A running sweep is read again every second until it ends (its trials are runs, which the runs model
 * follows live through the server's events).
 */
import { ISignal, Signal } from '@lumino/signaling';
import type { SweepRecord } from '../core/sweeps/sweep-record';
import { cancelSweep, getSweep, listSweeps, startSweep, StartSweepRequest } from '../services/api';
import { RefreshTimer } from '../services/refresh-timer';

const POLL_MS = 1000;

export class SweepsModel {
  constructor(private readonly _path: () => string) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Newest first. */
  get sweeps(): readonly SweepRecord[] {
    return this._sweeps;
  }

  /** The sweep shown: the latest started, or one picked from the list. */
  get current(): SweepRecord | null {
    return this._sweeps.find(s => s.id === this._currentId) ?? null;
  }

  get starting(): boolean {
    return this._starting;
  }

  /** The last error a user should see (a sweep refused, the server unreachable). */
  get error(): string | null {
    return this._error;
  }

  async refresh(): Promise<void> {
    try {
      const { sweeps } = await listSweeps(this._path());
      this._sweeps = [...sweeps].sort((a, b) => b.started.localeCompare(a.started));
      this._currentId ??= this._sweeps[0]?.id ?? null;
      this._error = null;
    } catch (err) {
      this._error = (err as Error).message;
    }
    this._follow();
    this._changed.emit();
  }

  async start(request: Omit<StartSweepRequest, 'notebook'>): Promise<void> {
    this._starting = true;
    this._error = null;
    this._changed.emit();
    try {
      const { record } = await startSweep({ ...request, notebook: this._path() });
      this._upsert(record);
      this._currentId = record.id;
    } catch (err) {
      this._error = (err as Error).message;
    } finally {
      this._starting = false;
    }
    this._follow();
    this._changed.emit();
  }

  async cancel(): Promise<void> {
    const current = this.current;
    if (current?.status === 'running') {
      try {
        await cancelSweep(current.id);
      } catch (err) {
        this._error = (err as Error).message;
        this._changed.emit();
      }
    }
  }

  open(id: string): void {
    if (id !== this._currentId) {
      this._currentId = id;
      this._changed.emit();
    }
  }

  dispose(): void {
    this._refresh.dispose();
    Signal.clearData(this);
  }

  /** While a sweep runs, reads it again every second. */
  private _follow(): void {
    const running = this._sweeps.filter(s => s.status === 'running');
    if (running.length === 0) {
      return;
    }
    this._refresh.schedule(async () => {
      await Promise.all(
        running.map(s =>
          getSweep(this._path(), s.id).then(
            record => this._upsert(record),
            () => undefined
          )
        )
      );
      if (!this._refresh.isDisposed) {
        this._changed.emit();
        this._follow();
      }
    });
  }

  private _upsert(record: SweepRecord): void {
    const others = this._sweeps.filter(s => s.id !== record.id);
    this._sweeps = [record, ...others].sort((a, b) => b.started.localeCompare(a.started));
  }

  private _sweeps: SweepRecord[] = [];
  private _currentId: string | null = null;
  private _starting = false;
  private _error: string | null = null;
  private readonly _refresh = new RefreshTimer(POLL_MS);
  private readonly _changed = new Signal<this, void>(this);
}
