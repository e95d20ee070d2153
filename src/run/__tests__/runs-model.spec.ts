/**
 * RunsModel's answers landing out of order: the run list and per-run reads, each answer sent earlier than
 * one already shown is not shown over it. The server is a stand-in here, so the test says which answer
 * lands when.
 */
import { getRun, listRuns } from '../../services/api';
import type { RunRecord } from '../run-state';
import { RunsModel } from '../runs-model';

jest.mock('../../services/api', () => ({
  ApiError: class extends Error {},
  adoptRuns: jest.fn(),
  cancelRun: jest.fn(),
  followLog: jest.fn(),
  getRun: jest.fn(),
  getStep: jest.fn(),
  listRuns: jest.fn(),
  startRun: jest.fn()
}));

const record = (id: string, over: Partial<RunRecord> = {}): RunRecord => ({
  id,
  notebook: 'a.ipynb',
  pipeline: 'a',
  status: 'running',
  started: `2026-11-30T10:00:0${id.slice(1)}.000Z`,
  parameters: {},
  order: ['load'],
  plan: { deps: { load: [] }, cacheKeys: {}, reuse: {} },
  steps: { load: { status: 'running', cached: false } },
  metrics: {},
  ...over
});

const ended = (id: string) =>
  record(id, {
    status: 'succeeded',
    finished: '2026-11-30T10:01:00.000Z',
    steps: { load: { status: 'succeeded', cached: false, seconds: 1 } }
  });

/** An answer the test lets land when it wants. */
function later<T>(): { promise: Promise<T>; land: (value: T) => Promise<void> } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>(r => (resolve = r));
  // Landed once the model's awaits after it have run.
  return { promise, land: value => (resolve(value), new Promise(r => setTimeout(r, 0))) };
}

/** The run's end as the server sends it: the model reads the run again. */
const endEvent = (run: string) => ({ run, notebook: 'a.ipynb', status: 'succeeded' as const });

/** A step of run `id` changed, as the server sends it. */
const stepEvent = (run: string, step: RunRecord['steps'][string]) => ({
  run,
  notebook: 'a.ipynb',
  step: 'load',
  status: step.status,
  record: step
});

/** The next listing answers at once with these runs. */
const listsNext = (...runs: RunRecord[]) =>
  jest.mocked(listRuns).mockResolvedValueOnce({ runs } as Awaited<ReturnType<typeof listRuns>>);

/** A model that has listed r1 with its step queued, the run's first change. */
async function listedQueued(): Promise<RunsModel> {
  const runs = new RunsModel('a.ipynb');
  listsNext(record('r1', { seq: 1, steps: { load: { status: 'queued', cached: false, seq: 1 } } }));
  await runs.refresh();
  return runs;
}

const status = (runs: RunsModel) => Object.fromEntries(runs.runs.map(r => [r.id, r.status]));

describe('RunsModel answers out of order', () => {
  beforeEach(() => jest.resetAllMocks());

  it('a listing sent before a read of a run, landing after it, does not show the run as it was', async () => {
    const runs = new RunsModel('a.ipynb');
    const list = later<{ runs: RunRecord[] }>();
    jest.mocked(listRuns).mockReturnValueOnce(list.promise as ReturnType<typeof listRuns>);
    const refreshed = runs.refresh();
    const read = later<RunRecord>();
    jest.mocked(getRun).mockReturnValueOnce(read.promise as ReturnType<typeof getRun>);
    // r1 ended after the listing left; r2 started after it (the listing has not heard of it).
    runs.handleEvent(endEvent('r1'));
    await read.land(ended('r1'));
    const read2 = later<RunRecord>();
    jest.mocked(getRun).mockReturnValueOnce(read2.promise as ReturnType<typeof getRun>);
    runs.handleEvent({ run: 'r2', notebook: 'a.ipynb', status: 'running' });
    await read2.land(record('r2'));
    expect(status(runs)).toEqual({ r1: 'succeeded', r2: 'running' });

    await list.land({ runs: [record('r0', { status: 'failed' }), record('r1')] });
    await refreshed;
    expect(status(runs)).toEqual({ r0: 'failed', r1: 'succeeded', r2: 'running' });
    expect(runs.runs.map(r => r.id)).toEqual(['r2', 'r1', 'r0']);
  });

  it('a listing sent before a step event, landing after it, does not take the step back', async () => {
    const runs = await listedQueued();
    const list = later<{ runs: RunRecord[] }>();
    jest.mocked(listRuns).mockReturnValueOnce(list.promise as ReturnType<typeof listRuns>);
    const refreshed = runs.refresh();
    // The step starts, then finishes, after the listing left the server.
    runs.handleEvent(stepEvent('r1', { status: 'running', cached: false, seq: 2 }));
    runs.handleEvent(stepEvent('r1', { status: 'succeeded', cached: false, seconds: 2, seq: 3 }));
    const waiting = { status: 'queued' as const, cached: false, waiting: 'no node has 4 GPUs', seq: 1 };
    await list.land({ runs: [record('r1', { seq: 1, steps: { load: waiting } })] });
    await refreshed;
    expect(runs.current!.steps.load).toMatchObject({ state: 'succeeded', seconds: 2 });
    expect(runs.current!.steps.load.waiting).toBeUndefined();
  });

  it('a step corrected back to the queue by a later record is shown queued', async () => {
    // A new owner found the step never started (its process and log are not there): the record says so
    // with a later sequence, and that is shown, though the step had been heard of as running.
    const runs = await listedQueued();
    runs.handleEvent(stepEvent('r1', { status: 'running', cached: false, seq: 2 }));
    listsNext(record('r1', { seq: 3, steps: { load: { status: 'queued', cached: false, seq: 3 } } }));
    await runs.refresh();
    expect(runs.current!.steps.load.state).toBe('queued');
  });

  it('a run heard of as ended is not shown running again by an earlier listing', async () => {
    const runs = new RunsModel('a.ipynb');
    listsNext(record('r1', { seq: 1 }));
    await runs.refresh();
    const list = later<{ runs: RunRecord[] }>();
    jest.mocked(listRuns).mockReturnValueOnce(list.promise as ReturnType<typeof listRuns>);
    const refreshed = runs.refresh();
    const read = later<RunRecord>();
    jest.mocked(getRun).mockReturnValueOnce(read.promise as ReturnType<typeof getRun>);
    runs.handleEvent({ ...endEvent('r1'), seq: 4 });
    expect(status(runs)).toEqual({ r1: 'succeeded' });
    await list.land({ runs: [record('r1', { seq: 2 })] });
    await refreshed;
    expect(status(runs)).toEqual({ r1: 'succeeded' });
    await read.land({ ...ended('r1'), seq: 4 });
    expect(runs.current!.finished).toBe('2026-11-30T10:01:00.000Z');
  });

  it('a read sent before a listing, landing after it, does not show the run as it was', async () => {
    const runs = new RunsModel('a.ipynb');
    const read = later<RunRecord>();
    jest.mocked(getRun).mockReturnValueOnce(read.promise as ReturnType<typeof getRun>);
    runs.handleEvent(endEvent('r1'));
    listsNext(ended('r1'));
    await runs.refresh();
    await read.land(record('r1'));
    expect(status(runs)).toEqual({ r1: 'succeeded' });
  });
});
