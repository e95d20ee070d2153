/**
 * The warm Pythons of one process: a `cellpipe run` keeps them for its run, the server across the runs of
 * the notebooks open in JupyterLab (Run again forks at once). A warm Python is shared by the steps whose
 * prelude would give the same process: the same Python, runtime and imports/functions cells (the run's
 * prelude key), the same environment (a step's `env` and secrets) and the same workspace content (a
 * prelude may import a module of the notebook's folder or read a file). A notebook keeps its latest warm
 * Python only; an idle one ends after `idleMs`.
 *
 * The setting: warm Pythons are on unless `--no-warm` (CLI and server) or `CELLPIPE_WARM=0` says otherwise.
 */
import { createHash } from 'crypto';
import { WarmPython, WarmStart } from './warm-python';

/** Why a run's steps start as fresh processes when the setting says so (in run.json). */
export const WARM_OFF = 'warm Pythons are turned off (--no-warm or CELLPIPE_WARM=0)';

/** The environment variable that turns warm Pythons off (`0`, `false`, `no`, `off`). */
export const WARM_ENV = 'CELLPIPE_WARM';

/** Whether steps are forked from warm Pythons: the flag (`--no-warm` gives false) wins, then CELLPIPE_WARM. */
export function warmEnabled(flag?: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag !== undefined) {
    return flag;
  }
  return !['0', 'false', 'no', 'off'].includes((env[WARM_ENV] ?? '').trim().toLowerCase());
}

/** What a warm Python's prelude depends on, as one key. */
export function warmKey(parts: {
  python: string;
  prelude: string;
  env: Record<string, string>;
  workspace: string;
  /** The modules it imports before forking (the steps' imports). */
  imports: readonly string[];
}): string {
  const env = Object.keys(parts.env)
    .sort()
    .map(name => [name, parts.env[name]]);
  return createHash('sha256')
    .update(JSON.stringify([parts.python, parts.prelude, env, parts.workspace, parts.imports]))
    .digest('hex');
}

interface Entry {
  warm: WarmPython;
  scope: string;
  users: number;
  timer?: NodeJS.Timeout;
}

export class WarmPool {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: { idleMs?: number } = {}) {}

  /**
   * The warm Python for `key` (started with `start()` when there is none, or the one there ended): release
   * it once the run is done with it. `scope` (the notebook) keeps one warm Python: an idle one of the same
   * scope with another key (its prelude changed) ends. A warm Python that refused (its prelude failed or a
   * fork would break it) is kept as the answer for its key, so the next run does not start it again.
   */
  acquire(key: string, scope: string, start: () => WarmStart): WarmPython {
    let entry = this.entries.get(key);
    if (entry && !entry.warm.alive && entry.warm.refusal === null) {
      this.drop(key);
      entry = undefined;
    }
    if (!entry) {
      for (const [other, e] of this.entries) {
        if (e.scope === scope && e.users === 0) {
          this.drop(other);
        }
      }
      entry = { warm: new WarmPython(start()), scope, users: 0 };
      this.entries.set(key, entry);
    }
    clearTimeout(entry.timer);
    entry.users++;
    return entry.warm;
  }

  release(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) {
      return;
    }
    entry.users = Math.max(0, entry.users - 1);
    if (entry.users === 0) {
      entry.timer = setTimeout(() => this.drop(key), this.options.idleMs ?? 10 * 60_000);
      entry.timer.unref();
    }
  }

  /** Ends every warm Python (steps forked from them go on). */
  close(): void {
    for (const key of [...this.entries.keys()]) {
      this.drop(key);
    }
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (entry) {
      clearTimeout(entry.timer);
      entry.warm.close();
      this.entries.delete(key);
    }
  }
}
