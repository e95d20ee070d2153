/**
 * Holds a step in its cell until the test opens the gate: a test that kills a step's owner mid-step
 * waits on this, not on a sleep that a slow successor (a loaded machine) can outlast. The step says when
 * it is in its cell: a record saying "running" comes before the step's process has started.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

export class StepGate {
  private readonly folder = mkdtempSync(join(tmpdir(), 'cellpipe-gate-'));
  private readonly opened = join(this.folder, 'open');
  private readonly inside = join(this.folder, 'entered');

  /**
   * Python for the top of a step's cell: says it has entered, then waits until the gate is open, or at
   * most five minutes (longer than any test runs), so that a test that failed before opening it leaves
   * no step behind for long.
   */
  get held(): string {
    return (
      `import os, time\nopen(${JSON.stringify(this.inside)}, 'w').close()\n_until = time.time() + 300\n` +
      `while not os.path.exists(${JSON.stringify(this.opened)}) and time.time() < _until:\n    time.sleep(0.05)\n`
    );
  }

  /** The step's Python is in its cell. */
  get entered(): boolean {
    return existsSync(this.inside);
  }

  open(): void {
    writeFileSync(this.opened, '');
  }
}
