/**
 * A step's inputs for the notebook's kernel through the server over real HTTP, with real runs of the
 * project's Python: the code the server gives, run in an IPython shell, sets what the failed step
 * received; a step whose provider failed, a run whose files are gone and a cluster run each say why.
 */
import { execFileSync } from 'child_process';
import type { Server } from 'http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { App } from '../src/server/app';
import { startServer } from '../src/server/main';
import { call, PYTHON, writeNotebook } from './faults/harness';
import { until } from './until';

jest.setTimeout(120000);

describe("a step's inputs for the kernel", () => {
  let root: string;
  let server: Server;
  let app: App;
  let port: number;
  const api = (method: string, path: string, body?: unknown) => call(port, method, path, body);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cellpipe-inputs-'));
    writeNotebook(join(root, 'fit.ipynb'), [
      [['pipeline-parameters'], 'rate = 2'],
      [['step:load'], 'xs = [1, 2, 3]\ndef scaled(v):\n    return [x * rate for x in v]'],
      [['step:fit', 'prev:load'], 'ys = scaled(xs)\nassert sum(ys) < 5, sum(ys)'],
      [['step:after', 'prev:fit'], 'print(ys)']
    ]);
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
    await new Promise(resolve => server.close(resolve));
  });

  const failedRun = async () => {
    const started = await api('POST', '/api/runs', { notebook: 'fit.ipynb', parameters: { rate: '3' } });
    expect(started.status).toBe(201);
    const id = started.json().run;
    await until(
      `run ${id} to end`,
      async () => (await api('GET', `/api/runs/${id}?notebook=fit.ipynb`)).json().status === 'failed',
      { timeoutMs: 90000, everyMs: 200 }
    );
    // The end is served from memory until the final record is on disk; the tests change that file.
    await until(`run ${id}'s final record to be on disk`, () => app.runs.record(id) === undefined);
    return id as string;
  };
  const inputs = (run: string, step: string) =>
    api('POST', `/api/runs/${run}/steps/${step}/inputs?notebook=fit.ipynb`, {});

  it('gives code that sets what the failed step received, and where it failed', async () => {
    const run = await failedRun();
    const reply = await inputs(run, 'fit');
    expect(reply.status).toBe(200);
    const body = reply.json();
    expect(body).toMatchObject({
      run,
      step: 'fit',
      inputs: ['scaled', 'xs'],
      parameters: ['rate'],
      error: { cell: 2, line: 2 }
    });
    // Run in an IPython shell as a kernel runs it: the run's parameter value, the input, and a function
    // that reads its globals from the shell's namespace.
    const check = [
      'from IPython.core.interactiveshell import InteractiveShell',
      'import sys',
      'shell = InteractiveShell.instance()',
      'result = shell.run_cell(sys.stdin.read())',
      'result.raise_error()',
      'ns = shell.user_ns',
      'print(ns["rate"], ns["xs"], ns["scaled"]([1]), "ys" in ns)'
    ].join('\n');
    const out = execFileSync(PYTHON, ['-c', check], { input: body.code, encoding: 'utf8' });
    expect(out.trim()).toBe('3 [1, 2, 3] [3] False');
  });

  it('says why when there is nothing to load', async () => {
    const run = await failedRun();
    const after = await inputs(run, 'after');
    expect([after.status, after.json().error.code]).toEqual([409, 'inputs-missing']);
    expect(after.json().error.message).toBe(
      `Step after has no inputs to load: step fit, which gives it ys, is failed in run ${run}. Load the inputs of fit instead.`
    );
    expect((await inputs(run, 'nope')).status).toBe(404);

    rmSync(join(root, '.cellpipe', 'runs', run, 'data', 'load'), { recursive: true, force: true });
    const gone = await inputs(run, 'fit');
    expect([gone.status, gone.json().error.code]).toEqual([410, 'inputs-gone']);
    expect(gone.json().error.message).toContain(`The data step load saved for fit (`);

    // A cluster run: its data is on the cluster, and the message says what to do.
    const file = join(root, '.cellpipe', 'runs', run, 'run.json');
    const record = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(
      file,
      JSON.stringify({ ...record, cluster: { kind: 'argo', namespace: 'team-a', id: 'w' } })
    );
    const cluster = await inputs(run, 'fit');
    expect([cluster.status, cluster.json().error.code]).toEqual([409, 'inputs-on-cluster']);
    expect(cluster.json().error.message).toContain('ran on the cluster, and this process cannot reach it');
  });

  it("names the notebook a sub-pipeline step's cells are in, where its inputs go and it failed", async () => {
    const cell = (tags: string[], source: string, metadata: Record<string, unknown> = {}) => ({
      cell_type: 'code',
      execution_count: null,
      metadata: { tags, ...metadata },
      outputs: [],
      source
    });
    const notebook = (cells: unknown[]) => ({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      cells
    });
    mkdirSync(join(root, 'lib'), { recursive: true });
    writeFileSync(
      join(root, 'lib', 'child.ipynb'),
      JSON.stringify(
        notebook([
          cell(['step:prep'], 'xs = [1, 2]'),
          cell(['step:check', 'prev:prep'], 'y = sum(xs)\nassert y > 5, y')
        ])
      )
    );
    writeFileSync(
      join(root, 'nest.ipynb'),
      JSON.stringify(notebook([cell(['notebook:sub'], '', { notebook_path: 'lib/child.ipynb' })]))
    );
    const started = await api('POST', '/api/runs', { notebook: 'nest.ipynb' });
    expect(started.status).toBe(201);
    const id = started.json().run as string;
    await until(
      `run ${id} to end`,
      async () => (await api('GET', `/api/runs/${id}?notebook=nest.ipynb`)).json().status === 'failed',
      { timeoutMs: 90000, everyMs: 200 }
    );
    const reply = await api('POST', `/api/runs/${id}/steps/sub.check/inputs?notebook=nest.ipynb`, {});
    expect(reply.status).toBe(200);
    // The cell and line are the child's: the frontend opens it and loads the inputs into its kernel.
    expect(reply.json()).toMatchObject({
      step: 'sub.check',
      inputs: ['xs'],
      error: { cell: 1, line: 2 },
      notebook: 'lib/child.ipynb'
    });
    // The parent's own steps have no other notebook.
    expect((await inputs(await failedRun(), 'fit')).json().notebook).toBeNull();
  });
});
