/** One owner per run: the lease in the run folder, and processes told apart from later ones with their pid. */
import { spawn } from 'child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { isRunning, processRef, selfRef } from '../src/process-identity';
import { createLease, currentLease, leaseIsStale, ownerOfThisProcess, takeOver } from '../src/runs/run-lease';

const folder = () => mkdtempSync(join(tmpdir(), 'cellpipe-lease-'));

/** A process that exits at once: its pid names a process that is gone. */
async function gonePid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise(resolve => child.once('exit', resolve));
  return child.pid!;
}

describe('process identity', () => {
  it('tells this process from a later one that got the same pid (a different start)', () => {
    const me = selfRef();
    expect(isRunning(me)).toBe(true);
    expect(me.start).toMatch(/^[0-9a-f-]+:\d+$/);
    expect(isRunning({ pid: me.pid, start: `${me.start}0` })).toBe(false);
    expect(processRef(me.pid)).toEqual(me);
  });

  it('a process that ended is not running', async () => {
    expect(isRunning({ pid: await gonePid() })).toBe(false);
    expect(isRunning(undefined)).toBe(false);
  });
});

describe('the run lease', () => {
  it('is created once; it is not taken over while its owner runs', async () => {
    const dir = folder();
    await createLease(dir, ownerOfThisProcess('cli'));
    await expect(createLease(dir, ownerOfThisProcess('cli'))).rejects.toThrow(/already has an owner/);
    expect(await takeOver(dir, ownerOfThisProcess('server'))).toBeNull();
    expect((await currentLease(dir))?.generation).toBe(1);
  });

  it('is taken over by exactly one of many processes when its owner is gone', async () => {
    const dir = folder();
    const dead = { pid: await gonePid(), kind: 'server' as const, host: ownerOfThisProcess('cli').host };
    writeFileSync(join(dir, 'owner-1.json'), JSON.stringify(dead));
    expect(leaseIsStale((await currentLease(dir))!)).toBe(true);
    const tries = await Promise.all(
      Array.from({ length: 12 }, () => takeOver(dir, ownerOfThisProcess('server')))
    );
    expect(tries.filter(t => t !== null)).toHaveLength(1);
    expect(tries.find(t => t !== null)!.generation).toBe(2);
    expect(readdirSync(dir).filter(n => n.startsWith('owner-'))).toEqual(['owner-2.json']);
    expect(leaseIsStale((await currentLease(dir))!)).toBe(false);
  });

  it('a lease of another host is never taken over (its process cannot be checked from here)', async () => {
    const dir = folder();
    writeFileSync(
      join(dir, 'owner-1.json'),
      JSON.stringify({ pid: await gonePid(), kind: 'cli', host: 'elsewhere' })
    );
    expect(await takeOver(dir, ownerOfThisProcess('server'))).toBeNull();
  });
});
