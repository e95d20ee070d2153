/**
 * RunsModel against the real cellpipe server and a real Python: a run of the live notebook followed to
 * its end through the server's events, its step's log and outputs, the cache and the run it came from,
 * refusals that never reach the server, the server's errors, and parameter overrides.
 */
import { RunsModel } from '../runs-model';
import { startTestServer, TestCell, TestServer, until } from '../../__tests__/frontend-harness';
import { notebookJson } from '../../__tests__/frontend-harness';

jest.setTimeout(120000);

const CELLS: TestCell[] = [
  [['pipeline-parameters'], 'n = 3\nlabel = "x"'],
  [['step:make'], 'xs = list(range(n))\nprint("made", len(xs))'],
  [['step:total', 'prev:make'], 'total = sum(xs)\nprint(f"total {total}")'],
  [['pipeline-metrics'], 'total']
];

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

function model(name: string): RunsModel {
  const path = server.notebook(name, CELLS);
  const runs = new RunsModel(path);
  server.onEvent(event => runs.handleEvent(event));
  return runs;
}

/**
 * The shown run has ended and its final record has been read. The run's end event alone only sets the
 * status: the steps' final states, the metrics and the finish time come with the record the model reads
 * after it, which may land later.
 */
const finished = (runs: RunsModel) => () =>
  !!runs.current && runs.current.status !== 'running' && runs.current.finished !== undefined;

describe('RunsModel', () => {
  it('runs the live notebook, follows it to its end, and shows a step’s log and outputs', async () => {
    const runs = model('live.ipynb');
    await runs.refresh();
    expect(runs.runs).toEqual([]);
    runs.selectStep('total');
    await runs.start({ content: notebookJson(CELLS), steps: { mode: 'all' }, target: 'local' });
    expect(runs.error).toBeNull();
    await until(finished(runs), 90000, 'the run to finish');
    // The metrics come with the record read again when the run finished.
    await until(() => runs.current?.metrics.total === 3, 10000, 'the metrics');
    expect(runs.current!.status).toBe('succeeded');
    expect(runs.current!.order).toEqual(['make', 'total']);
    expect(runs.current!.parameters).toEqual({ n: '3', label: '"x"' });
    await until(() => runs.detail !== null, 10000, 'the step outputs');
    expect(runs.log).toContain('total 3');
    expect(JSON.stringify(runs.detail!.outputs)).toContain('total 3');
  });

  it('takes unchanged steps from the cache, with the log of the run they came from', async () => {
    const runs = model('cache.ipynb');
    await runs.start({ content: notebookJson(CELLS), steps: { mode: 'all' }, target: 'local' });
    await until(finished(runs), 90000);
    const first = runs.current!.id;
    await runs.start({ content: notebookJson(CELLS), steps: { mode: 'all' }, target: 'local' });
    await until(() => runs.current?.id !== first && finished(runs)(), 90000);
    expect(runs.runs.map(r => r.id)[1]).toBe(first);
    expect(runs.current!.steps.make).toMatchObject({ state: 'cached', cachedFrom: first });
    runs.selectStep('make');
    await until(() => runs.detail !== null, 10000);
    expect(runs.log).toContain('made 3');
    // Opening the earlier run shows it again.
    runs.openRun(first);
    expect(runs.current!.id).toBe(first);
  });

  it('a changed parameter re-runs the steps that read it; back to the notebook’s value', async () => {
    const runs = model('params.ipynb');
    await runs.start({ content: notebookJson(CELLS), steps: { mode: 'all' }, target: 'local' });
    await until(finished(runs), 90000);
    const first = runs.current!.id;
    // Typed as --param takes it: a string as it is.
    runs.setParameter('label', 'y');
    expect(runs.parameters).toEqual({ label: 'y' });
    await runs.start({ content: notebookJson(CELLS), steps: { mode: 'all' }, target: 'local' });
    await until(() => runs.current?.id !== first && finished(runs)(), 90000);
    // No step reads label: everything comes from the cache.
    expect(Object.values(runs.current!.steps).map(s => s.state)).toEqual(['cached', 'cached']);
    expect(runs.current!.parameters.label).toBe('"y"');
    runs.resetParameter('label');
    expect(runs.parameters).toEqual({});
  });

  it('shows a refusal without asking the server, and the server’s errors with their code', async () => {
    const runs = model('errors.ipynb');
    await runs.start({
      content: notebookJson(CELLS),
      steps: { mode: 'all' },
      target: 'local',
      refusal: 'Fix the error first.'
    });
    expect([runs.error, runs.errorKind]).toEqual(['Fix the error first.', 'refused']);
    await runs.refresh();
    expect(runs.runs).toEqual([]);
    // Listing again keeps a refusal; the refusal as it is now replaces it, and goes once fixed.
    expect(runs.error).toBe('Fix the error first.');
    runs.setRefusal('Fix the 2 errors first.');
    expect(runs.error).toBe('Fix the 2 errors first.');
    runs.setRefusal(null);
    expect(runs.error).toBeNull();

    runs.setParameter('n', 'three');
    await runs.start({ content: notebookJson(CELLS), steps: { mode: 'all' }, target: 'local' });
    expect(runs.errorKind).toBe('server');
    expect(runs.errorCode).toBe('invalid-parameter');
    expect(runs.error).toMatch(/three/);
    runs.clearError();
    expect([runs.error, runs.errorCode]).toEqual([null, null]);
  });
});
