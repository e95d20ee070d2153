/**
 * Fault suite, runs: real server and CLI processes and real step Pythons, killed with SIGKILL mid-step, with
 * their run folder made immutable mid-run, on a full disk, run many at once. In every case: the server
 * stays up, other runs are unaffected, no step runs twice, no finished step is recomputed, the run record
 * ends in a true final state with its reason, and the user reads one clear line, never a stack trace.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { StepGate } from '../step-gate';
import { until } from '../until';
import {
  checkPrerequisites,
  Cleanup,
  cli,
  counted,
  expectNoStackTrace,
  runRecord,
  ServerProcess,
  tempFolder,
  timesRun,
  writeNotebook
} from './harness';

jest.setTimeout(180000);

const cleanup = new Cleanup();
beforeAll(checkPrerequisites);
afterEach(() => cleanup.run());

/** s1 → s2 (counted, `seconds` long or held until the gate opens) → s3 → s4, metric w. */
function fourSteps(folder: string, counter: string, s2: number | StepGate): string {
  const wait = typeof s2 === 'number' ? `import time\ntime.sleep(${s2})\n` : s2.held;
  return writeNotebook(join(folder, 'four.ipynb'), [
    [['step:s1'], counted(`${counter}.s1`, 'x = 1')],
    [['step:s2', 'prev:s1'], counted(counter, `${wait}y = x + 1`)],
    [['step:s3', 'prev:s2'], 'z = y + 1'],
    [['step:s4', 'prev:s3'], 'w = z + 1'],
    [['pipeline-metrics'], 'print(w)']
  ]);
}

async function waitForRun(server: ServerProcess, notebook: string, run: string) {
  return until(
    `run ${run} to end`,
    async () => {
      const r = (await server.api('GET', `/api/runs/${run}?notebook=${notebook}`)).json();
      return r.status && r.status !== 'running' && r;
    },
    { timeoutMs: 120000, everyMs: 100 }
  );
}

const stepRunning = (folder: string, step: string) => () =>
  runRecord(folder)?.steps?.[step]?.status === 'running';
/** A counted step's Python is in its cell (it wrote its pid): seen from outside, whatever run.json says. */
const inItsCell = (counter: string) => () => timesRun(counter) === 1;

describe('kill -9 of the server mid-step (D2, S4)', () => {
  it('GET changes nothing; the next server adopts the orphan step, runs it once, and resumes the run', async () => {
    const a = tempFolder('d2a');
    const b = join(a, 'other');
    mkdirSync(b);
    const counts = tempFolder('d2count');
    // s2 runs until the checks of the orphan are done, however long the next server takes to start.
    const gate = new StepGate();
    cleanup.add(() => gate.open());
    fourSteps(a, join(counts, 'a'), gate);
    fourSteps(b, join(counts, 'b'), gate);
    const first = await new ServerProcess(a).start();
    cleanup.add(() => first.kill());
    const runA = (await first.api('POST', '/api/runs', { notebook: 'four.ipynb', cache: false })).json().run;
    const runB = (await first.api('POST', '/api/runs', { notebook: 'other/four.ipynb', cache: false })).json()
      .run;
    await until('s2 to run in both', () => inItsCell(join(counts, 'a'))() && inItsCell(join(counts, 'b'))(), {
      timeoutMs: 60000
    });
    const before = runRecord(a);
    await first.kill('SIGKILL');

    const second = await new ServerProcess(a).start();
    cleanup.add(() => second.kill());
    // Listing is a GET: it shows the orphan and starts nothing.
    const listed = (await second.api('GET', '/api/runs?notebook=four.ipynb')).json().runs[0];
    expect(listed).toMatchObject({
      id: runA,
      status: 'running',
      orphan: { kind: 'server', liveSteps: ['s2'] }
    });
    expect(runRecord(a).steps.s3.status).toBe('queued');
    expect(timesRun(join(counts, 'a'))).toBe(1);

    // A POST takes the orphans over: the step still running is waited for, never started again.
    expect((await second.api('POST', '/api/runs/adopt', { notebook: 'four.ipynb' })).json().adopted).toEqual([
      runA
    ]);
    expect(
      (await second.api('POST', '/api/runs/adopt', { notebook: 'other/four.ipynb' })).json().adopted
    ).toEqual([runB]);
    gate.open();
    for (const [folder, notebook, run, counter] of [
      [a, 'four.ipynb', runA, join(counts, 'a')],
      [b, 'other/four.ipynb', runB, join(counts, 'b')]
    ]) {
      const end = await waitForRun(second, notebook, run);
      expect(end).toMatchObject({ status: 'succeeded', resumed: 1, metrics: { w: 4 } });
      expect(timesRun(counter)).toBe(1); // s2 ran once
      expect(timesRun(`${counter}.s1`)).toBe(1); // s1 was not recomputed
      const steps = readdirSync(join(folder, '.cellpipe', 'runs', run, 'steps', 's2'));
      expect(steps).toContain('complete.json');
      expect(steps).not.toContain('error.json');
    }
    expect(runRecord(a).steps.s1.started).toBe(before.steps.s1.started);
    expect(second.alive).toBe(true);
  });
});

/** A server started fourSteps (s2 held in its cell by a gate, run without the cache), then was killed -9. */
async function ownerKilledInS2(name: string) {
  const folder = tempFolder(name);
  const counter = join(tempFolder(`${name}count`), 'count');
  const gate = new StepGate();
  cleanup.add(() => gate.open());
  fourSteps(folder, counter, gate);
  const first = await new ServerProcess(folder).start();
  cleanup.add(() => first.kill());
  const run = (await first.api('POST', '/api/runs', { notebook: 'four.ipynb', cache: false })).json().run;
  await until('s2 to run', inItsCell(counter), { timeoutMs: 60000 });
  await first.kill('SIGKILL');
  return { folder, counter, gate, run };
}

describe('an owner killed between forking a step and recording its pid', () => {
  it('the next owner finds the forked step by the identity it wrote, waits for it, and it ran once', async () => {
    const { folder, counter, gate, run } = await ownerKilledInS2('forkpid');
    // As the record is when the owner dies right after the fork: s2 running, its pid not written yet. A
    // forked step's command line is its warm Python's, so it cannot be found by its program's path.
    const dir = join(folder, '.cellpipe', 'runs', run);
    const record = runRecord(folder);
    expect(record.processes.kind).toBe('forked');
    delete record.steps.s2.process;
    writeFileSync(join(dir, 'run.json'), JSON.stringify(record));

    const second = await new ServerProcess(folder).start();
    cleanup.add(() => second.kill());
    expect((await second.api('POST', '/api/runs/adopt', { notebook: 'four.ipynb' })).json().adopted).toEqual([
      run
    ]);
    gate.open();
    const end = await waitForRun(second, 'four.ipynb', run);
    expect(end).toMatchObject({ status: 'succeeded', resumed: 1, metrics: { w: 4 } });
    expect(timesRun(counter)).toBe(1);
    expect(readdirSync(join(dir, 'steps', 's2'))).toContain('complete.json');
  });
});

describe('an owner killed after a step succeeded, before its lineage hashes were noted', () => {
  it("the next owner notes them, and the inputs' hashes of the steps below", async () => {
    const { folder, counter, gate, run } = await ownerKilledInS2('hashlater');
    // As the record is when the owner dies while s1's process hashes what it saved (after its done report).
    const dir = join(folder, '.cellpipe', 'runs', run);
    const record = runRecord(folder);
    const hash = record.lineage.steps.s1.outputs.x;
    expect(hash).toMatch(/^sha256:/);
    delete record.lineage.steps.s1.outputs;
    delete record.lineage.steps.s2.inputs.x.hash;
    writeFileSync(join(dir, 'run.json'), JSON.stringify(record));

    const second = await new ServerProcess(folder).start();
    cleanup.add(() => second.kill());
    await second.api('POST', '/api/runs/adopt', { notebook: 'four.ipynb' });
    gate.open();
    const end = await waitForRun(second, 'four.ipynb', run);
    expect(end).toMatchObject({ status: 'succeeded', resumed: 1 });
    const lineage = runRecord(folder).lineage.steps;
    expect(lineage.s1.outputs).toEqual({ x: hash });
    expect(lineage.s2.inputs.x).toMatchObject({ step: 's1', hash });
    expect(timesRun(`${counter}.s1`)).toBe(1);
  });
});

describe('an owner killed between recording a step as running and starting it', () => {
  it('the step never started: a resumed run starts it, once', async () => {
    const folder = tempFolder('never');
    const counter = join(tempFolder('nevercount'), 'count');
    const notebook = fourSteps(folder, counter, 0);
    expect((await cli(['run', notebook, '--no-cache'], folder)).code).toBe(0);
    expect(timesRun(counter)).toBe(1);
    // The record as an owner leaves it when killed right after marking s2 running: no process, no log yet.
    const id = runRecord(folder).id;
    const dir = join(folder, '.cellpipe', 'runs', id);
    const record = runRecord(folder);
    record.status = 'running';
    delete record.finished;
    record.metrics = {};
    record.steps.s2 = { status: 'running', cached: false, started: record.steps.s2.started };
    record.steps.s3 = { status: 'queued', cached: false };
    record.steps.s4 = { status: 'queued', cached: false };
    for (const gone of [
      'steps/s2',
      'steps/s3',
      'steps/s4',
      'data/s2',
      'data/s3',
      'logs/s2.log',
      'logs/s3.log',
      'logs/s4.log'
    ]) {
      rmSync(join(dir, gone), { recursive: true, force: true });
    }
    writeFileSync(join(dir, 'run.json'), JSON.stringify(record));
    const dead = JSON.parse(
      readFileSync(
        join(
          dir,
          readdirSync(dir).find(n => n.startsWith('owner-'))!
        ),
        'utf8'
      )
    );
    for (const n of readdirSync(dir).filter(n => n.startsWith('owner-'))) {
      rmSync(join(dir, n));
    }
    writeFileSync(join(dir, 'owner-1.json'), JSON.stringify({ ...dead, kind: 'server' }));

    const server = await new ServerProcess(folder).start();
    cleanup.add(() => server.kill());
    expect((await server.api('POST', '/api/runs/adopt', { notebook: 'four.ipynb' })).json().adopted).toEqual([
      id
    ]);
    const end = await waitForRun(server, 'four.ipynb', id);
    expect(end).toMatchObject({ status: 'succeeded', metrics: { w: 4 } });
    expect(timesRun(counter)).toBe(2); // the first run, and now the attempt that had never started
  });
});

describe('kill -9 of the CLI mid-step (D4)', () => {
  it('the next reader shows the orphan, then closes the run as failed with the reason once its step ended', async () => {
    const folder = tempFolder('d4');
    const counter = join(tempFolder('d4count'), 'count');
    // s2 runs until the orphan has been seen, however long a CLI takes to start.
    const gate = new StepGate();
    cleanup.add(() => gate.open());
    const notebook = fourSteps(folder, counter, gate);
    let child: import('child_process').ChildProcess | undefined;
    const ran = cli(['run', notebook, '--no-cache'], folder, c => (child = c));
    await until('s2 to run', inItsCell(counter), { timeoutMs: 60000 });
    child!.kill('SIGKILL');
    await ran;

    const during = await cli(['runs', notebook], folder);
    expect(during.code).toBe(0);
    expect(during.stdout).toMatch(
      /running .*\n\s+its owner, cellpipe run \(pid \d+\), is gone; still running without it: s2/
    );
    expect(runRecord(folder).status).toBe('running'); // nothing closed while its step runs

    gate.open();
    await until(
      'the orphan step to end',
      () =>
        existsSync(join(folder, '.cellpipe', 'runs', runRecord(folder).id, 'steps', 's2', 'complete.json')),
      { timeoutMs: 30000 }
    );
    await until(
      'the step process to be gone',
      async () => !(await cli(['runs', notebook], folder)).stdout.includes('still running')
    );
    const after = await cli(['runs', notebook], folder);
    expect(after.stdout).toMatch(
      /failed .*\n\s+Interrupted: cellpipe run \(pid \d+\) stopped before the run finished/
    );
    expectNoStackTrace(after.stdout + after.stderr);
    const record = runRecord(folder);
    expect(record.status).toBe('failed');
    expect(record.steps.s2.status).toBe('succeeded'); // its result is kept
    expect([record.steps.s3.status, record.steps.s4.status]).toEqual(['skipped', 'skipped']);
    expect(timesRun(counter)).toBe(1);

    // Running again computes only what is left: s1 and s2 come from the cache.
    const again = JSON.parse((await cli(['run', notebook, '--json'], folder)).stdout);
    expect(again.status).toBe('succeeded');
    expect(again.steps.map((s: { cached: boolean }) => s.cached)).toEqual([true, true, false, false]);
    expect(timesRun(counter)).toBe(1);
  });
});

describe('kill -9 of a step (U1)', () => {
  it('names the signal, skips what is below on its branch only, and the other branch goes on', async () => {
    const folder = tempFolder('u1');
    const counter = join(tempFolder('u1count'), 'count');
    const notebook = writeNotebook(join(folder, 'branches.ipynb'), [
      [['step:s1'], 'x = 1'],
      [['step:s2', 'prev:s1'], counted(counter, 'import time\ntime.sleep(60)\ny = x')],
      [['step:s3', 'prev:s2'], 'z = y'],
      [['step:side', 'prev:s1'], 'import time\ntime.sleep(2)\nq = x']
    ]);
    const ran = cli(['run', notebook, '--no-cache', '--parallel', '2'], folder);
    await until('s2 to be in its cell', inItsCell(counter), { timeoutMs: 60000 });
    process.kill(Number(readFileSync(counter, 'utf8').trim()), 'SIGKILL'); // the pid the step wrote
    const result = await ran;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('✗ s2');
    expect(result.stderr).toContain("branches.ipynb: The step's Python was killed (SIGKILL)");
    expect(result.stderr).toContain('– s3 (skipped: s2 failed)');
    expect(result.stderr).toMatch(/✓ side \d/);
    expectNoStackTrace(result.stderr);
    const record = runRecord(folder);
    expect(record.steps.s2).toMatchObject({ status: 'failed', signal: 'SIGKILL' });
    expect(record.steps.side.status).toBe('succeeded');
    expect(record.reason).toMatch(/^Step s2 failed: The step's Python was killed \(SIGKILL\)/);
  });

  it('says "skipped" below a skipped step, "failed" only below a failed one', async () => {
    const folder = tempFolder('u1b');
    const notebook = writeNotebook(join(folder, 'chain.ipynb'), [
      [['step:s1'], 'x = 1'],
      [['step:s2', 'prev:s1'], 'y = 1 / 0'],
      [['step:s3', 'prev:s2'], 'z = y'],
      [['step:s4', 'prev:s3'], 'w = z']
    ]);
    const result = await cli(['run', notebook], folder);
    expect(result.stderr).toContain('chain.ipynb, cell 2, line 1 raised ZeroDivisionError: division by zero');
    expect(result.stderr).toContain('– s3 (skipped: s2 failed)');
    expect(result.stderr).toContain('– s4 (skipped: s3 was skipped)');
    expect(result.stderr).not.toContain('s3 failed');
  });
});

describe('a step that exits 0 without finishing (D3)', () => {
  it('is failed, not cached, and runs again next time', async () => {
    const folder = tempFolder('d3');
    const counter = join(tempFolder('d3count'), 'count');
    const notebook = writeNotebook(join(folder, 'exit0.ipynb'), [
      [['step:s1'], counted(counter, 'import os\nx = 1\nos._exit(0)')],
      [['step:s2', 'prev:s1'], 'y = x']
    ]);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const result = await cli(['run', notebook], folder);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        "exit0.ipynb: The step's Python exited (status 0) before the step finished"
      );
      expect(result.stderr).toContain('– s2 (skipped: s1 failed)');
      expectNoStackTrace(result.stderr);
      expect(timesRun(counter)).toBe(attempt);
    }
  });
});

describe('a run folder made immutable mid-run (D1)', () => {
  it('server: that run fails with the reason, a run beside it goes on, the final record reaches the disk', async () => {
    const root = tempFolder('d1');
    const other = join(root, 'other');
    mkdirSync(other);
    const counter = join(tempFolder('d1count'), 'count');
    fourSteps(root, counter, 2);
    writeNotebook(join(other, 'fine.ipynb'), [
      [['step:a'], 'import time\ntime.sleep(3)\nv = 1'],
      [['step:b', 'prev:a'], 'u = v + 1'],
      [['pipeline-metrics'], 'print(u)']
    ]);
    const server = await new ServerProcess(root).start();
    cleanup.add(() => server.kill());
    const run = (await server.api('POST', '/api/runs', { notebook: 'four.ipynb', cache: false })).json().run;
    const fine = (
      await server.api('POST', '/api/runs', { notebook: 'other/fine.ipynb', cache: false })
    ).json().run;
    await until('s2 to run', stepRunning(root, 's2'), { timeoutMs: 60000 });
    const dir = join(root, '.cellpipe', 'runs', run);
    const writable = cleanup.immutable(dir);

    const end = await waitForRun(server, 'four.ipynb', run);
    expect(end.status).toBe('failed');
    expect(end.reason).toMatch(
      /^Could not write the run record in \.cellpipe\/runs\/[\w-]+: the folder or file may not be changed .*\(EPERM\)\.$/
    );
    expect(['queued', 'running']).not.toContain(end.steps.s3.status);
    expect((await waitForRun(server, 'other/fine.ipynb', fine)).status).toBe('succeeded');
    expect(server.alive).toBe(true);
    // Beside the immutable folder, the final record is already what readers see.
    expect(JSON.parse(readFileSync(`${dir}.final.json`, 'utf8')).status).toBe('failed');

    writable();
    await until('the final record to reach the folder', () => runRecord(root, run)?.status === 'failed', {
      timeoutMs: 20000
    });
    expect(runRecord(root, run).reason).toBe(end.reason);
    expect(timesRun(counter)).toBeLessThanOrEqual(1); // s2 may not have reached its cell before the folder froze
  });

  it('CLI: exit 1 with one line naming the problem, and the run reads failed with that reason', async () => {
    const folder = tempFolder('d1cli');
    const notebook = fourSteps(folder, join(tempFolder('d1clicount'), 'count'), 2);
    const ran = cli(['run', notebook, '--no-cache'], folder);
    await until('s2 to run', stepRunning(folder, 's2'), { timeoutMs: 60000 });
    const dir = join(folder, '.cellpipe', 'runs', runRecord(folder).id);
    const writable = cleanup.immutable(dir);
    const result = await ran;
    expect(result.code).toBe(1);
    expectNoStackTrace(result.stderr);
    const lines = result.stderr.split('\n').filter(l => l.startsWith('cellpipe:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^cellpipe: four\.ipynb: Could not write the run record in \.cellpipe\/runs\/[\w-]+: .*\(EPERM\)\.$/
    );
    const listed = await cli(['runs', notebook], folder);
    expect(listed.stdout).toMatch(/failed .*\n\s+Could not write the run record/);
    writable();
    expect((await cli(['runs', notebook], folder)).stdout).toMatch(
      /failed .*\n\s+Could not write the run record/
    );
    expect(runRecord(folder).status).toBe('failed'); // moved into the folder once it could be written
  });
});

describe('a full disk', () => {
  it('a step that fills the disk fails its run with the reason; the server and a run elsewhere go on', async () => {
    const disk = cleanup.tmpfs(8 * 1024);
    const elsewhere = tempFolder('disk-elsewhere');
    writeNotebook(join(disk, 'fill.ipynb'), [
      [
        ['step:fill'],
        "with open('big.bin', 'wb') as f:\n    for _ in range(64):\n        f.write(b'x' * 1024 * 1024)\nx = 1"
      ],
      [['step:after', 'prev:fill'], 'y = x']
    ]);
    writeNotebook(join(elsewhere, 'fine.ipynb'), [
      [['step:a'], 'v = 1'],
      [['pipeline-metrics'], 'print(v)']
    ]);
    const server = await new ServerProcess(disk).start();
    cleanup.add(() => server.kill());
    const other = await new ServerProcess(elsewhere).start();
    cleanup.add(() => other.kill());
    const run = (await server.api('POST', '/api/runs', { notebook: 'fill.ipynb' })).json().run;
    const fine = (await other.api('POST', '/api/runs', { notebook: 'fine.ipynb' })).json().run;
    const end = await waitForRun(server, 'fill.ipynb', run);
    expect(end.status).toBe('failed');
    expect(end.steps.fill.status).toBe('failed');
    expect(end.steps.after.status).toBe('skipped');
    expect(`${end.reason}`).toMatch(/No space left on device|the disk is full/);
    expect(server.alive).toBe(true);
    expect((await waitForRun(other, 'fine.ipynb', fine)).metrics).toEqual({ v: 1 });
    // Space again: the final record reaches the disk, and a new run works.
    rmSync(join(disk, '.cellpipe', 'runs', run, 'workspace', 'big.bin'), { force: true });
    await until('the final record on disk', () => runRecord(disk, run)?.status === 'failed', {
      timeoutMs: 20000
    });
  });

  it('a run that cannot be prepared on a full disk leaves no half run folder and says why', async () => {
    const disk = cleanup.tmpfs(4 * 1024);
    const notebook = writeNotebook(join(disk, 'nb.ipynb'), [[['step:a'], 'v = 1']]);
    // A data file that fits once, not twice (the snapshot copies it into the object store).
    writeFileSync(join(disk, 'data.bin'), Buffer.alloc(3 * 1024 * 1024, 1));
    const result = await cli(['run', notebook], disk);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^cellpipe: Could not prepare the run in .*: the disk is full \(ENOSPC\)\.$/
    );
    expectNoStackTrace(result.stderr);
    const runs = join(disk, '.cellpipe', 'runs');
    expect(existsSync(runs) ? readdirSync(runs) : []).toEqual([]);
    const objects = join(disk, '.cellpipe', 'objects');
    expect((existsSync(objects) ? readdirSync(objects) : []).filter(n => n.startsWith('.tmp-'))).toEqual([]);
  });
});

describe('concurrent runs', () => {
  it('eight runs of one notebook at once: each its own record, all succeed, no cross-talk', async () => {
    const folder = tempFolder('many');
    writeNotebook(join(folder, 'p.ipynb'), [
      [['pipeline-parameters'], 'n = 1'],
      [['step:a'], 'import time\ntime.sleep(0.5)\nv = n * 10'],
      [['step:b', 'prev:a'], 'u = v + 1'],
      [['pipeline-metrics'], 'print(u)']
    ]);
    const server = await new ServerProcess(folder).start();
    cleanup.add(() => server.kill());
    const runs = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const res = await server.api('POST', '/api/runs', {
          notebook: 'p.ipynb',
          parameters: { n: String(i) }
        });
        expect(res.status).toBe(201);
        return { i, run: res.json().run };
      })
    );
    for (const { i, run } of runs) {
      const end = await waitForRun(server, 'p.ipynb', run);
      expect([end.status, end.metrics]).toEqual(['succeeded', { u: i * 10 + 1 }]);
    }
    expect(new Set(runs.map(r => r.run)).size).toBe(8);
  });
});

describe('what a step sees of the environment', () => {
  it('the basics, its own env settings and its secrets, never the rest of the server environment', async () => {
    const folder = tempFolder('env');
    const secrets = tempFolder('secrets');
    mkdirSync(join(secrets, 'db'));
    writeFileSync(join(secrets, 'db', 'password'), 'hunter2');
    writeNotebook(
      join(folder, 'env.ipynb'),
      [
        [
          ['step:look'],
          "import os, json\nseen = sorted(k for k in os.environ if not k.startswith('LC_'))\nvalues = {k: os.environ.get(k) for k in ['MY_SETTING', 'DB_PASSWORD', 'API_TOKEN']}"
        ],
        [['pipeline-metrics'], 'print(seen)\nprint(values)']
      ],
      {
        cellpipe: {
          steps: {
            look: {
              env: { MY_SETTING: 'on' },
              secrets: [{ env: 'DB_PASSWORD', secret: 'db', key: 'password' }]
            }
          }
        }
      }
    );
    const server = await new ServerProcess(folder, {
      API_TOKEN: 'do-not-leak',
      CELLPIPE_SECRETS_DIR: secrets
    }).start();
    cleanup.add(() => server.kill());
    const run = (await server.api('POST', '/api/runs', { notebook: 'env.ipynb' })).json().run;
    const end = await waitForRun(server, 'env.ipynb', run);
    expect(end.status).toBe('succeeded');
    const values = end.metrics.values as string;
    expect(values).toContain("'MY_SETTING': 'on'");
    expect(values).toContain("'DB_PASSWORD': 'hunter2'");
    expect(values).toContain("'API_TOKEN': None");
    const seen = end.metrics.seen as string;
    expect(seen).not.toContain('API_TOKEN');
    expect(seen).not.toContain('CELLPIPE_SECRETS_DIR');
    expect(seen).toContain("'PATH'");

    // A secret found nowhere fails the step before it starts, saying where to put it.
    writeNotebook(join(folder, 'missing.ipynb'), [[['step:look'], 'x = 1']], {
      cellpipe: { steps: { look: { secrets: [{ env: 'NOPE', secret: 'absent', key: 'k' }] } } }
    });
    const missing = await waitForRun(
      server,
      'missing.ipynb',
      (await server.api('POST', '/api/runs', { notebook: 'missing.ipynb' })).json().run
    );
    expect(missing.steps.look.error.message).toContain('needs the secret absent (key k) as $NOPE');
  });
});

describe('bad notebooks: one line per problem at its cell and line, no run folder', () => {
  it.each([
    [
      '5000-deep parentheses in a step',
      [[['step:s1'], `x = ${'('.repeat(5000)}1${')'.repeat(5000)}`]],
      'cell 1, line 1: error [syntax-error] SyntaxError: too many nested parentheses'
    ],
    [
      'a 3000-deep list in the parameters cell',
      [
        [['pipeline-parameters'], `p = ${'['.repeat(3000)}${']'.repeat(3000)}`],
        [['step:s1'], 'x = 1']
      ],
      'cell 1, line 1: error [syntax-error] SyntaxError: too many nested parentheses'
    ],
    [
      'a 1000-term sum',
      [[['step:s1'], `a = 1\nx = ${Array(1000).fill('a').join(' + ')}`]],
      'cell 1, line 2: error [syntax-error] The cell is nested 1001 levels deep'
    ],
    ['a 240-letter step name', [[[`step:${'a'.repeat(240)}`], 'x = 1']], 'cell 1: error [invalid-step-name]'],
    [
      'tags written as a string',
      [['step:s1', 'x = 1']],
      'cell 1: error [invalid-tags] metadata.tags is the string "step:s1", not a list'
    ]
  ] as Array<[string, Array<[string[] | string, string]>, string]>)('%s', async (_what, cells, expected) => {
    const folder = tempFolder('bad');
    const notebook = writeNotebook(join(folder, 'bad.ipynb'), cells);
    for (const command of ['run', 'analyze']) {
      const result = await cli([command, notebook], folder);
      expect(result.code).toBe(1);
      expect(result.stdout + result.stderr).toContain(`bad.ipynb, ${expected}`);
      expectNoStackTrace(result.stdout + result.stderr);
    }
    expect(existsSync(join(folder, '.cellpipe'))).toBe(false);
  });
});
