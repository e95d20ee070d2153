/**
 * The one pending re-read of a model that follows the server (the schedules every minute, a running sweep
 * every second): at most one at a time, none once the model is disposed.
 */
export class RefreshTimer {
  constructor(private readonly _ms: number) {}

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Calls `tick` once after the interval, unless a call is already pending or the timer is disposed. */
  schedule(tick: () => void): void {
    if (this._disposed || this._timer !== null) {
      return;
    }
    this._timer = setTimeout(() => {
      this._timer = null;
      if (!this._disposed) {
        tick();
      }
    }, this._ms);
  }

  dispose(): void {
    this._disposed = true;
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _disposed = false;
}
