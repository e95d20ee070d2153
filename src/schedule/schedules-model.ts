/**
 * One notebook's recurring runs on the cluster: the list with each one's state (paused, next and last run),
 * making one from the live notebook, pausing, resuming, deleting. While the notebook has schedules the
 * list is read again every minute: the server then records the runs they started, which the runs model
 * hears of through the server's events like any cluster run.
 */
import { ISignal, Signal } from '@lumino/signaling';
import type { ScheduleView } from '../core/schedules/schedule';
import {
  createSchedule,
  CreateScheduleRequest,
  deleteSchedule,
  listSchedules,
  pauseSchedule,
  recordScheduledRuns
} from '../services/api';
import { RefreshTimer } from '../services/refresh-timer';

const POLL_MS = 60_000;

export class SchedulesModel {
  constructor(private readonly _path: () => string) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** By name. */
  get schedules(): readonly ScheduleView[] {
    return this._schedules;
  }

  /** A schedule being made, or the name of the one being paused, resumed or deleted. */
  get busy(): string | null {
    return this._busy;
  }

  /** The last error a user should see (a schedule refused, the cluster unreachable). */
  get error(): string | null {
    return this._error;
  }

  async refresh(): Promise<void> {
    try {
      if (this._schedules.length > 0 || !this._listed) {
        // The runs they started become runs of the notebook (the runs model hears of them).
        await recordScheduledRuns(this._path()).catch(() => undefined);
      }
      this._listed = true;
      const { schedules } = await listSchedules(this._path());
      this._schedules = schedules;
      this._error = null;
    } catch (err) {
      this._error = (err as Error).message;
    }
    if (this._schedules.length > 0) {
      this._refresh.schedule(() => void this.refresh());
    }
    this._changed.emit();
  }

  /** Makes a schedule; true when it was made (the form may then be cleared). */
  async create(request: Omit<CreateScheduleRequest, 'notebook'>): Promise<boolean> {
    return this._act('', async () => {
      await createSchedule({ ...request, notebook: this._path() });
    });
  }

  setPaused(name: string, paused: boolean): Promise<boolean> {
    return this._act(name, () => pauseSchedule(this._path(), name, paused));
  }

  remove(name: string): Promise<boolean> {
    return this._act(name, () => deleteSchedule(this._path(), name));
  }

  dispose(): void {
    this._refresh.dispose();
    Signal.clearData(this);
  }

  private async _act(busy: string, action: () => Promise<unknown>): Promise<boolean> {
    this._busy = busy;
    this._error = null;
    this._changed.emit();
    let ok = true;
    try {
      await action();
    } catch (err) {
      this._error = (err as Error).message;
      ok = false;
    }
    this._busy = null;
    const error = this._error;
    await this.refresh();
    // The action's error is the one to show, not the list's success.
    this._error ??= error;
    this._changed.emit();
    return ok;
  }

  private _schedules: ScheduleView[] = [];
  private _busy: string | null = null;
  private _error: string | null = null;
  private readonly _refresh = new RefreshTimer(POLL_MS);
  private _listed = false;
  private readonly _changed = new Signal<this, void>(this);
}
