/** A run's owner: its pid and when it started, so that a reused pid is not taken for the owner. */
import { spawnSync } from 'child_process';
import { ownerAlive, processStarted, thisOwner } from '../src/process-alive';

describe('the owner of a run', () => {
  it('is this process while it runs', () => {
    const me = thisOwner();
    expect(me.owner).toBe(process.pid);
    expect(me.ownerStarted).toMatch(/^\d+$/);
    expect(ownerAlive(me)).toBe(true);
  });

  it('is gone when its pid is now another process (started at another time), or no process', () => {
    expect(ownerAlive({ owner: process.pid, ownerStarted: String(Number(processStarted('self')) + 1) })).toBe(
      false
    );
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    expect(ownerAlive({ owner: Number(child.stdout.toString()) })).toBe(false);
    expect(ownerAlive({})).toBe(false);
  });

  it('is judged by its pid alone in a record written before start times were kept', () => {
    expect(ownerAlive({ owner: process.pid })).toBe(true);
  });
});
