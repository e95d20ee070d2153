/**
 * A forked step is finished once it reports that it is done, not at its process's exit (which frees the
 * fork's memory, up to tenths of a second): what becomes of the process after the report changes nothing,
 * and a step that dies before reporting fails as before. The warm Python here is a stand-in speaking the
 * runtime's protocol, so that the step's process can be killed between its report and its exit.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { stepOutcome } from '../src/engines/local/step-outcome';
import { WarmPython } from '../src/engines/local/warm-python';

// Forks each requested step as a `sleep`, reports it done when its first argument says so, then kills it.
const STAND_IN = `
import json, os, subprocess, sys
def reply(message):
    os.write(4, (json.dumps(message) + "\\n").encode())
reply({"event": "ready", "pid": os.getpid()})
for line in os.fdopen(3):
    request = json.loads(line)
    child = subprocess.Popen(["sleep", "60"])
    reply({"event": "started", "id": request["id"], "pid": child.pid})
    if request["args"][0] == "report":
        reply({"event": "done", "pid": child.pid, "record": {"step": "s", "finished": 0}})
    child.kill()
    child.wait()
    reply({"event": "exit", "pid": child.pid, "code": None, "signal": "SIGKILL"})
`;

describe('a step forked from a warm Python', () => {
  const folder = mkdtempSync(join(tmpdir(), 'cellpipe-warm-'));
  const program = join(folder, 'warm.py');
  writeFileSync(program, STAND_IN);
  // The step wrote its completion record in both cases: only whether it said so before dying differs.
  mkdirSync(join(folder, 'run', 'steps', 's'), { recursive: true });
  writeFileSync(join(folder, 'run', 'steps', 's', 'complete.json'), '{"step": "s"}');
  const warm = new WarmPython({
    python: 'python3',
    program,
    cwd: folder,
    env: { PATH: process.env.PATH ?? '' },
    imports: [],
    log: join(folder, 'warm.log')
  });
  afterAll(() => warm.close());

  const fork = (how: string) =>
    warm.fork({
      program,
      args: [how],
      cwd: folder,
      log: join(folder, `${how}.log`),
      identity: join(folder, `${how}.process.json`)
    });

  it('succeeded once it reported done, though its process was then killed', async () => {
    expect((await warm.ready).ok).toBe(true);
    const step = await fork('report');
    const exit = await step.exited;
    expect(exit).toEqual({ code: 0, signal: null, reported: true });
    expect(await stepOutcome(join(folder, 'run'), 's', exit)).toEqual({ status: 'succeeded', exitCode: 0 });
    // Its process's end (after the lineage's hashes, for a real step) is known apart from its report.
    expect(await step.ended).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('failed when killed before reporting done, as before', async () => {
    const step = await fork('silent');
    const exit = await step.exited;
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await step.ended).toEqual(exit);
    const outcome = await stepOutcome(join(folder, 'run'), 's', exit);
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.message).toContain('killed (SIGKILL)');
  });

  it("is idle again once a reported step's process has ended", async () => {
    await (
      await fork('report')
    ).exited;
    for (let i = 0; i < 100 && !warm.idle; i++) {
      await new Promise(resolve => setTimeout(resolve, 20));
    }
    expect(warm.idle).toBe(true);
  });
});
