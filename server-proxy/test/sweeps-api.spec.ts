/**
 * Sweeps through the server over real HTTP, running real pipelines with the project's Python: each trial is
 * a run the server owns (listed and read like any other), the steps every trial shares run once, and a
 * sweep can be cancelled.
 */
import type { Server } from 'http';
import { existsSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { App } from '../src/server/app';
import { startServer } from '../src/server/main';
import { call } from './faults/harness';
import { until } from './until';

const REPO = join(__dirname, '..', '..');
const VENV_PYTHON = join(REPO, '.venv', 'bin', 'python');
const PYTHON = existsSync(VENV_PYTHON) ? VENV_PYTHON : 'python3';

function notebook(cells: Array<[string, string[]]>) {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: cells.map(([source, tags]) => ({
      cell_type: 'code',
      metadata: { tags },
      source,
      outputs: [],
      execution_count: null
    }))
  });
}

describe('sweeps through the server', () => {
  let root: string;
  let server: Server;
  let app: App;
  let port: number;
  const api = (method: string, path: string, body?: unknown) => call(port, method, path, body);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cellpipe-sweeps-'));
    writeFileSync(
      join(root, 'grid.ipynb'),
      notebook([
        ['k = 2\nslow = 0', ['pipeline-parameters']],
        ['import time\ntime.sleep(slow)\nbase = 10', ['step:base']],
        ['value = base * k', ['step:scale', 'prev:base']],
        ['print(value)', ['pipeline-metrics']]
      ])
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
    await new Promise(resolve => server.close(resolve));
  });

  const finished = (id: string) =>
    until(
      `sweep ${id} to finish`,
      async () => {
        const record = (await api('GET', `/api/sweeps/${id}?notebook=grid.ipynb`)).json();
        return record.status !== 'running' && record;
      },
      { timeoutMs: 120000, everyMs: 200 }
    );

  it('runs a trial per value as runs of the server, the shared step once, and finds the best', async () => {
    const started = await api('POST', '/api/sweeps', {
      notebook: 'grid.ipynb',
      params: ['k=1,3,2'],
      objective: 'value:max',
      maxParallel: 2
    });
    expect(started.status).toBe(201);
    expect(started.json().record.shared).toEqual(['base']);
    const sweep = await finished(started.json().sweep);
    expect(sweep.status).toBe('succeeded');
    expect(sweep.trials.map((t: { metrics: { value: number } }) => t.metrics.value)).toEqual([10, 30, 20]);
    expect(sweep.best).toBe(1);
    const runs = (await api('GET', '/api/runs?notebook=grid.ipynb')).json().runs;
    const trialRuns = runs.filter((r: { id: string }) =>
      sweep.trials.some((t: { run: string }) => t.run === r.id)
    );
    expect(trialRuns).toHaveLength(3);
    expect(
      trialRuns.filter((r: { steps: { base: { cached: boolean } } }) => !r.steps.base.cached)
    ).toHaveLength(1);
    const listed = (await api('GET', '/api/sweeps?notebook=grid.ipynb')).json().sweeps;
    expect(listed.map((s: { id: string }) => s.id)).toContain(sweep.id);
  });

  it('cancels a sweep: the running trial is cancelled and the others never start', async () => {
    const started = await api('POST', '/api/sweeps', {
      notebook: 'grid.ipynb',
      params: ['slow=30', 'k=5,6']
    });
    const id = started.json().sweep;
    await until(
      'the first trial to run',
      async () => {
        const record = (await api('GET', `/api/sweeps/${id}?notebook=grid.ipynb`)).json();
        const run = record.trials[0].run;
        return (
          run &&
          (await api('GET', `/api/runs/${run}?notebook=grid.ipynb`)).json().steps.base.status === 'running'
        );
      },
      { timeoutMs: 60000, everyMs: 200 }
    );
    expect((await api('POST', `/api/sweeps/${id}/cancel`)).status).toBe(202);
    const sweep = await finished(id);
    expect(sweep.status).toBe('cancelled');
    expect(sweep.trials.map((t: { status: string }) => t.status)).toEqual(['cancelled', 'cancelled']);
    expect(sweep.trials[1].run).toBeUndefined();
    expect((await api('POST', `/api/sweeps/${id}/cancel`)).status).toBe(409);
  });

  it('refuses what cannot be swept, saying why', async () => {
    const noAxes = await api('POST', '/api/sweeps', { notebook: 'grid.ipynb', params: [] });
    expect(noAxes.status).toBe(400);
    const bad = await api('POST', '/api/sweeps', { notebook: 'grid.ipynb', params: ['k=1..3'] });
    expect([bad.status, bad.json().error.message]).toEqual([
      400,
      'grid.ipynb: --param k: a range is for random search; add --random N'
    ]);
    expect((await api('GET', '/api/sweeps/nope?notebook=grid.ipynb')).status).toBe(404);
  });
});
