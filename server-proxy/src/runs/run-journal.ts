/**
 * Writing a run's record (`run.json`): atomically, one write after another, so the file never goes back in
 * time and a reader never sees half of it. A write that fails (folder not writable, disk full) does not
 * throw at the caller's feet: the journal remembers the first failure, as a sentence a user can act on,
 * and the owner ends the run for that reason (it keeps the record in memory meanwhile).
 */
import { join } from 'path';
import type { RunRecord } from '../../../src/core/runs/run-record';
import { writeJsonAtomic } from '../atomic-file';
import { fileProblem } from './file-problem';

export class RunJournal {
  private queue: Promise<void> = Promise.resolve();
  /** Why the record could not be written, once it could not. */
  failure: string | null = null;

  constructor(
    readonly dir: string,
    readonly record: RunRecord
  ) {}

  /** Writes the record as it is now; resolves true when it is on disk. Never rejects. */
  save(): Promise<boolean> {
    const snapshot = JSON.stringify(this.record, null, 1) + '\n';
    let ok = false;
    this.queue = this.queue.then(async () => {
      try {
        await writeJsonAtomic(join(this.dir, 'run.json'), JSON.parse(snapshot) as unknown);
        ok = true;
      } catch (err) {
        this.failure ??= fileProblem(err, 'write the run record', this.dir);
      }
    });
    return this.queue.then(() => ok);
  }

  /** Waits for the writes asked for so far. */
  settled(): Promise<void> {
    return this.queue;
  }
}
