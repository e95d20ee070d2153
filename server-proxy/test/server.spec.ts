/**
 * The server over real HTTP, on a unix socket (as behind jupyter-server-proxy)
 * and on loopback, running real pipelines with the project's Python.
 */
import { request, Server } from 'http';
import { spawn } from 'child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { App } from '../src/server/app';
import { startServer } from '../src/server/main';
import { StepGate } from './step-gate';
import { until } from './until';

const REPO = join(__dirname, '..', '..');
const VENV_PYTHON = join(REPO, '.venv', 'bin', 'python');
const PYTHON = existsSync(VENV_PYTHON) ? VENV_PYTHON : 'python3';

interface Response {
  status: number;
  text: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test-side JSON of any shape
}

function call(
  target: { socketPath?: string; port?: number },
  method: string,
  path: string,
  body?: unknown
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', ...target, method, path, headers: { 'Content-Type': 'application/json' } },
      res => {
        let text = '';
        res.on('data', chunk => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, json: () => JSON.parse(text) }));
      }
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function close(server: Server): Promise<void> {
  return new Promise(resolve => server.close(() => resolve()));
}

describe('cellpipe server', () => {
  it('answers the health route on a unix socket and removes a stale socket file first', async () => {
    const socketPath = join(mkdtempSync(join(tmpdir(), 'cellpipe-')), 'server.sock');
    const options = { listen: { socket: socketPath }, root: tmpdir(), python: PYTHON, version: '1.2.3' };
    const first = await startServer(options);
    // A server killed without cleanup leaves its socket file; the next start must still work.
    first.server.close();
    const { server } = await startServer(options);
    try {
      const res = await call({ socketPath }, 'GET', '/api/health');
      expect([res.status, res.json()]).toEqual([
        200,
        { status: 'ok', version: '1.2.3', node: process.version }
      ]);
      expect((await call({ socketPath }, 'GET', '/')).status).toBe(200);
    } finally {
      await close(server);
    }
    expect(existsSync(socketPath)).toBe(false);
  });

  describe('runs', () => {
    let root: string;
    let server: Server;
    let app: App;
    let port: number;
    const api = (method: string, path: string, body?: unknown) => call({ port }, method, path, body);

    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), 'cellpipe-root-'));
      copyFileSync(join(REPO, 'examples', 'numpy-montecarlo.ipynb'), join(root, 'mc.ipynb'));
      writeFileSync(
        join(root, 'slow.ipynb'),
        JSON.stringify({
          nbformat: 4,
          nbformat_minor: 5,
          metadata: {},
          cells: [
            {
              cell_type: 'code',
              metadata: { tags: ['step:wait'] },
              source: 'import time\nprint("waiting", flush=True)\ntime.sleep(60)\nx = 1',
              outputs: [],
              execution_count: null
            }
          ]
        })
      );
      ({ server, app } = await startServer({
        listen: { port: 0, host: '127.0.0.1' },
        root,
        python: PYTHON,
        version: 'dev'
      }));
      port = (server.address() as { port: number }).port;
    });

    afterAll(async () => {
      await app.runs.settle();
      await close(server);
    });

    async function finished(notebook: string, run: string) {
      return until(
        `run ${run} to finish`,
        async () => {
          const record = (await api('GET', `/api/runs/${run}?notebook=${notebook}`)).json();
          return record.status && record.status !== 'running' && record;
        },
        { timeoutMs: 30000, everyMs: 100 }
      );
    }

    it('starts a run, streams its events, and serves its record, outputs and logs', async () => {
      const events: string[] = [];
      // Subscribed once the server has answered the stream's request.
      const stream = request({ host: '127.0.0.1', port, path: '/api/events' });
      await new Promise<void>(resolve => {
        stream.on('response', res => {
          res.on('data', chunk => events.push(String(chunk)));
          resolve();
        });
        stream.end();
      });

      const started = await api('POST', '/api/runs', {
        notebook: 'mc.ipynb',
        parameters: { points_per_batch: '1000' }
      });
      expect(started.status).toBe(201);
      const { run } = started.json();
      const record = await finished('mc.ipynb', run);
      expect(record.status).toBe('succeeded');
      expect(record.parameters.points_per_batch).toEqual({ type: 'int', value: 1000 });
      expect(Object.keys(record.metrics).sort()).toEqual(['error', 'pi_estimate']);

      const list = (await api('GET', '/api/runs?notebook=mc.ipynb')).json();
      expect(list.runs.map((r: { id: string }) => r.id)).toContain(run);

      const step = (await api('GET', `/api/runs/${run}/steps/estimate?notebook=mc.ipynb`)).json();
      expect(step.status).toBe('succeeded');
      expect(step.outputs['8'][0].text).toMatch(/^pi is about 3\.\d+/);

      const log = await api('GET', `/api/runs/${run}/logs/estimate?notebook=mc.ipynb`);
      expect(log.text).toMatch(/pi is about/);

      stream.destroy();
      const ofRun = events
        .join('')
        .split('\n')
        .filter(l => l.startsWith('data: '))
        .map(l => JSON.parse(l.slice(6)))
        .filter(e => e.run === run);
      // Events name the notebook as requests do (under the root), so a page can tell whose run it is.
      expect(new Set(ofRun.map(e => e.notebook))).toEqual(new Set(['mc.ipynb']));
      const statuses = ofRun.map(e => `${e.step ?? 'run'}:${e.status}`);
      expect(statuses[0]).toBe('run:running');
      expect(statuses).toContain('estimate:succeeded');
      expect(statuses[statuses.length - 1]).toBe('run:succeeded');
    }, 60000);

    it("runs a notebook's notebook: steps, read relative to it inside the Jupyter root, and serves their steps", async () => {
      cpSync(join(REPO, 'examples', 'composition'), join(root, 'comp'), { recursive: true });
      const { run } = (await api('POST', '/api/runs', { notebook: 'comp/forecast.ipynb' })).json();
      const record = await finished('comp/forecast.ipynb', run);
      expect(record.status).toBe('succeeded');
      expect(record.order).toEqual(['data.generate', 'data.split', 'model.fit', 'model.predict', 'summary']);
      expect(Object.keys(record.metrics).sort()).toEqual(['forecast_total', 'mae', 'series_mean']);
      const step = (
        await api('GET', `/api/runs/${run}/steps/model.predict?notebook=comp/forecast.ipynb`)
      ).json();
      expect(step.metrics.mae).toBe(record.metrics.mae);
      const log = await api('GET', `/api/runs/${run}/logs/data.generate?notebook=comp/forecast.ipynb`);
      expect(log.text).toMatch(/^365 days/);
      expect((await api('GET', `/api/runs/${run}/logs/..%2Fx?notebook=comp/forecast.ipynb`)).status).toBe(
        404
      );

      // A notebook cannot run one outside the Jupyter root through the server.
      const outside = mkdtempSync(join(tmpdir(), 'cellpipe-outside-'));
      copyFileSync(join(REPO, 'examples', 'composition', 'make_series.ipynb'), join(outside, 'series.ipynb'));
      const escape = JSON.parse(readFileSync(join(root, 'comp', 'forecast.ipynb'), 'utf8'));
      escape.cells[3].metadata.notebook_path = join(outside, 'series.ipynb');
      writeFileSync(join(root, 'escape.ipynb'), JSON.stringify(escape));
      const refused = await api('POST', '/api/runs', { notebook: 'escape.ipynb' });
      expect([refused.status, refused.json().error.code]).toEqual([422, 'pipeline-has-errors']);
    }, 90000);

    it('runs one step, taking the steps above it from the cache', async () => {
      const { run } = (
        await api('POST', '/api/runs', { notebook: 'mc.ipynb', steps: { mode: 'one', step: 'count' } })
      ).json();
      const record = await finished('mc.ipynb', run);
      expect(record.order).toEqual(['sample_a', 'sample_b', 'count']);
      expect(record.steps.count.cached).toBe(false);
    }, 60000);

    it('runs the live content sent with the request, not the file', async () => {
      const live = {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: [
          {
            cell_type: 'code',
            metadata: { tags: ['step:only'] },
            source: 'answer = 6 * 7',
            outputs: [],
            execution_count: null
          },
          {
            cell_type: 'code',
            metadata: { tags: ['pipeline-metrics'] },
            source: 'print(answer)',
            outputs: [],
            execution_count: null
          }
        ]
      };
      const { run } = (await api('POST', '/api/runs', { notebook: 'mc.ipynb', content: live })).json();
      expect((await finished('mc.ipynb', run)).metrics).toEqual({ answer: 42 });
    }, 60000);

    it("keeps a notebook's warm Python between its runs: the imports cell runs once until it changes", async () => {
      const counter = join(mkdtempSync(join(tmpdir(), 'cellpipe-warm-')), 'prelude-runs');
      const notebook = (imports: string) => ({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: [
          [`${imports}\nwith open(${JSON.stringify(counter)}, 'a') as f:\n    f.write('x')`, ['imports']],
          ['a = 20', ['step:first']],
          ['b = a + 22', ['step:second', 'prev:first']],
          ['print(b)', ['pipeline-metrics']]
        ].map(([source, tags]) => ({
          cell_type: 'code',
          metadata: { tags },
          source,
          outputs: [],
          execution_count: null
        }))
      });
      writeFileSync(join(root, 'warm.ipynb'), JSON.stringify(notebook('import math')));
      const runWith = async (imports: string) => {
        const body = { notebook: 'warm.ipynb', content: notebook(imports), cache: false };
        const { run } = (await api('POST', '/api/runs', body)).json();
        return finished('warm.ipynb', run);
      };
      for (const imports of ['import math', 'import math', 'import math, json']) {
        const record = await runWith(imports);
        expect([record.status, record.metrics, record.processes]).toEqual([
          'succeeded',
          { b: 42 },
          { kind: 'forked' }
        ]);
      }
      // Two runs with one imports cell, then a changed one: two warm Pythons for three runs of four steps.
      expect(readFileSync(counter, 'utf8')).toBe('xx');
    }, 90000);

    it('follows a running step log and cancels the run', async () => {
      const { run } = (await api('POST', '/api/runs', { notebook: 'slow.ipynb' })).json();
      let text = '';
      const follow = new Promise<string>(resolve => {
        request(
          { host: '127.0.0.1', port, path: `/api/runs/${run}/logs/wait?notebook=slow.ipynb&follow=1` },
          res => {
            res.on('data', chunk => (text += chunk));
            res.on('end', () => resolve(text));
          }
        ).end();
      });
      // Cancelled while the step runs: it has printed, and the followed log has it.
      await until('the running step to print', () => text.includes('waiting'), { timeoutMs: 30000 });
      expect((await api('POST', `/api/runs/${run}/cancel`)).status).toBe(202);
      const record = await finished('slow.ipynb', run);
      expect(record.status).toBe('cancelled');
      expect(await follow).toContain('waiting');
      expect((await api('POST', `/api/runs/${run}/cancel`)).status).toBe(409);
    }, 60000);

    it('shows a run whose CLI was killed as an orphan on GET, changing nothing; a POST closes it with the reason', async () => {
      // The second step runs until the orphan has been seen and taken over, however slow the machine.
      const gate = new StepGate();
      const cell = (tags: string[], source: string) => ({
        cell_type: 'code',
        metadata: { tags },
        source,
        outputs: [],
        execution_count: null
      });
      writeFileSync(
        join(root, 'resume.ipynb'),
        JSON.stringify({
          nbformat: 4,
          nbformat_minor: 5,
          metadata: {},
          cells: [
            cell(['step:first'], 'x = 20'),
            cell(['step:second', 'prev:first'], `${gate.held}y = x + 1`),
            cell(['step:third', 'prev:second'], 'z = y'),
            cell(['pipeline-metrics'], 'print(y)')
          ]
        })
      );
      const cli = spawn(
        process.execPath,
        [join(REPO, 'cellpipe', 'js', 'cli.js'), 'run', join(root, 'resume.ipynb'), '--no-cache'],
        {
          env: { ...process.env, CELLPIPE_PYTHON: PYTHON },
          stdio: 'ignore'
        }
      );
      const runsDir = join(root, '.cellpipe', 'runs');
      let before: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- run.json as written
      await until(
        'the CLI run to reach its second step',
        () => {
          const records = (existsSync(runsDir) ? readdirSync(runsDir) : [])
            .map(id => join(runsDir, id, 'run.json'))
            .filter(path => existsSync(path))
            .map(path => JSON.parse(readFileSync(path, 'utf8')));
          before = records.find(r => r.notebook === join(root, 'resume.ipynb'));
          return before?.steps?.second?.status === 'running';
        },
        { timeoutMs: 30000, everyMs: 100 }
      );
      // Killed before the step's Python started, the run would have no live step to wait for.
      await until('the second step to be in its cell', () => gate.entered, { timeoutMs: 30000 });
      expect(before.steps.first.status).toBe('succeeded');
      const gone = new Promise(resolve => cli.once('exit', resolve));
      cli.kill('SIGKILL'); // the process that owned the run dies mid-run; its step runs on
      await gone;
      // After a pod restart the new server often has the dead owner's pid: a live process with that pid
      // (here this test's) that started at another time is not the owner.
      const runFolder = join(runsDir, before.id);
      const lease = readdirSync(runFolder)
        .filter(f => /^owner-\d+\.json$/.test(f))
        .sort((x, y) => Number(/\d+/.exec(x)![0]) - Number(/\d+/.exec(y)![0]))
        .pop()!;
      const owner = JSON.parse(readFileSync(join(runFolder, lease), 'utf8'));
      expect(owner.start).toEqual(expect.anything());
      writeFileSync(join(runFolder, lease), JSON.stringify({ ...owner, pid: process.pid }));

      const listed = (await api('GET', '/api/runs?notebook=resume.ipynb')).json();
      expect(listed.runs[0]).toMatchObject({ id: before.id, status: 'running', orphan: { kind: 'cli' } });
      expect(listed.runs[0].orphan.owner).toMatch(/^cellpipe run \(pid \d+\)$/);
      const onDisk = () => JSON.parse(readFileSync(join(runsDir, before.id, 'run.json'), 'utf8'));
      expect(onDisk().status).toBe('running'); // the GET changed nothing

      expect((await api('POST', '/api/runs/adopt', { notebook: 'resume.ipynb' })).json()).toEqual({
        adopted: [before.id]
      });
      gate.open();
      const after = await finished('resume.ipynb', before.id);
      // The orphaned step ran to its end once and kept its result; nothing else ran; the reason says why.
      expect(after.status).toBe('failed');
      expect(after.reason).toMatch(/^Interrupted: cellpipe run \(pid \d+\) stopped before the run finished/);
      expect(after.steps.first.started).toBe(before.steps.first.started);
      expect(after.steps.second).toMatchObject({ status: 'succeeded', started: before.steps.second.started });
      expect(after.steps.third).toMatchObject({ status: 'skipped' });
      // The ended record is served from memory until its write lands: the file follows shortly.
      await until('run.json to say failed', async () => onDisk().status === 'failed', { timeoutMs: 10000 });
    }, 60000);

    it.each([
      [{ notebook: '../etc/passwd.ipynb' }, 403, 'outside-root'],
      [{ notebook: '/etc/hosts' }, 400, 'not-a-notebook'],
      [{ notebook: 'missing.ipynb' }, 404, 'no-such-notebook'],
      [{}, 400, 'invalid-request'],
      [{ notebook: 'mc.ipynb', parameters: { seed: 'x' } }, 400, 'invalid-parameter'],
      [{ notebook: 'mc.ipynb', content: { cells: 'no' } }, 400, 'not-a-notebook'],
      [{ notebook: 'mc.ipynb', steps: { mode: 'one', step: 'nope' } }, 400, 'no-such-step'],
      [{ notebook: 'mc.ipynb', steps: { mode: 'some' } }, 400, 'invalid-request']
    ])('refuses %j with %d %s', async (body, status, code) => {
      const res = await api('POST', '/api/runs', body);
      expect([res.status, res.json().error.code]).toEqual([status, code]);
    });

    it('refuses a state-changing request that is not JSON (a cross-site form post)', async () => {
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/api/runs',
            headers: { 'Content-Type': 'text/plain' }
          },
          r => {
            let body = '';
            r.on('data', c => (body += c));
            r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
          }
        );
        req.on('error', reject);
        req.end(JSON.stringify({ notebook: 'mc.ipynb' }));
      });
      expect([res.status, JSON.parse(res.body).error.code]).toEqual([415, 'json-required']);
    });

    it('answers JSON errors for unknown routes, methods and runs', async () => {
      expect((await api('GET', '/api/nope')).json()).toEqual({
        error: { code: 'not-found', message: 'No route /api/nope' }
      });
      expect((await api('DELETE', '/api/health')).status).toBe(405);
      expect((await api('GET', '/api/runs/nope?notebook=mc.ipynb')).status).toBe(404);
      expect((await api('GET', '/api/runs/..%2F..?notebook=mc.ipynb')).status).toBe(404);
    });
  });
});
