/**
 * Writing a run's record (`run.json`): atomically, one write after another, so the file never goes back in
 * time and a reader never sees half of it. A write that fails (folder not writable, disk full) does not
 * throw at the caller's feet: the journal remembers the first failure, as a sentence a user can act on,
 * and the owner ends the run for that reason (it keeps the record in memory meanwhile).
 *
 * The final record of such a run goes beside its folder, as `RUN_ID.final.json` in the runs folder, when
 * only the run's own folder cannot be written (made read-only or immutable): readers take it as the run's
 * record, and the next owner moves it into place. So the run still ends in its true state, with its reason.
 */
import { rm } from 'fs/promises';
import { join } from 'path';
import type { RunRecord } from '../../../src/core/runs/run-record';
import { writeJsonAtomic } from '../atomic-file';
import { fileProblem } from './file-problem';

export class RunJournal {
  private queue: Promise<void> = Promise.resolve();
  /**
   * The write asked for that has not started yet: a later save takes its place (the record only moves
   * forward, so the later record holds what the earlier one said), and both resolve when it is written.
   * A step that ends and the step it lets start are then one write, not two after one another.
   */
  private waiting: { snapshot: unknown; final: boolean; written: Promise<boolean> } | null = null;
  /** Why the record could not be written, once it could not. */
  failure: string | null = null;

  constructor(
    readonly dir: string,
    readonly record: RunRecord
  ) {}

  /**
   * Writes the record as it is now; resolves true when it is on disk. Never rejects. `final`: the run has
   * ended, so when its folder cannot take the record, it goes beside the folder.
   */
  save(final = false): Promise<boolean> {
    const snapshot = JSON.parse(JSON.stringify(this.record)) as unknown;
    if (this.waiting) {
      this.waiting.snapshot = snapshot;
      this.waiting.final ||= final;
      return this.waiting.written;
    }
    const write = { snapshot, final, written: Promise.resolve(false) };
    this.waiting = write;
    let ok = false;
    this.queue = this.queue.then(async () => {
      this.waiting = null; // from now on a save is a write of its own
      try {
        await writeJsonAtomic(join(this.dir, 'run.json'), write.snapshot);
        ok = true;
        if (write.final) {
          await rm(finalRecordPath(this.dir), { force: true }).catch(() => undefined);
        }
      } catch (err) {
        this.failure ??= fileProblem(err, 'write the run record', this.dir);
        if (write.final) {
          await writeJsonAtomic(finalRecordPath(this.dir), write.snapshot).catch(() => undefined);
        }
      }
    });
    write.written = this.queue.then(() => ok);
    return write.written;
  }

  /** Waits for the writes asked for so far. */
  settled(): Promise<void> {
    return this.queue;
  }
}

/** Where the final record of a run whose folder could not be written goes: beside the folder. */
export function finalRecordPath(dir: string): string {
  return `${dir}.final.json`;
}
