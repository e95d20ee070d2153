import { RunLifecycle } from '../lifecycle';
import type { StepRecord } from '../run-record';
import { applyRunEvent, mergeRun, supersedes } from '../run-order';
import { runRecord as record } from './run-fixture';

const event = (step: string, s: StepRecord) => ({
  run: 'r1',
  notebook: 'a.ipynb',
  step,
  status: s.status,
  record: s
});

describe('the order of a run’s states', () => {
  it('follows step events through running to succeeded or failed, then the run’s end', () => {
    let run = record();
    run = applyRunEvent(run, event('load', { status: 'running', cached: false }));
    expect(run.steps.load.status).toBe('running');
    run = applyRunEvent(run, event('load', { status: 'succeeded', cached: false, seconds: 1.25 }));
    run = applyRunEvent(
      run,
      event('train', {
        status: 'failed',
        cached: false,
        error: { message: 'cell 2 raised ValueError', cell: 1, line: 1 }
      })
    );
    run = applyRunEvent(run, { run: 'r1', notebook: 'a.ipynb', status: 'failed' });
    expect(run.steps.load).toMatchObject({ status: 'succeeded', seconds: 1.25 });
    expect(run.steps.train.error?.message).toBe('cell 2 raised ValueError');
    expect(run.status).toBe('failed');
  });

  it('ignores events of other runs, and step states older than the one it has', () => {
    const run = record({ steps: { ...record().steps, load: { status: 'running', cached: false, seq: 4 } } });
    expect(applyRunEvent(run, { run: 'r2', notebook: 'a.ipynb', status: 'succeeded' })).toBe(run);
    expect(applyRunEvent(run, event('load', { status: 'running', cached: false, seq: 3 }))).toBe(run);
    // A run that ended is not running again.
    const ended = { ...run, status: 'succeeded' as const };
    expect(applyRunEvent(ended, { run: 'r1', notebook: 'a.ipynb', status: 'running' })).toBe(ended);
  });

  it('a finished state never gives way to an unfinished one; else the later count, else the stage', () => {
    expect(supersedes({ status: 'succeeded', seq: 3 }, { status: 'running', seq: 9 })).toBe(false);
    expect(supersedes({ status: 'running', seq: 5 }, { status: 'queued', seq: 6 })).toBe(true);
    expect(supersedes({ status: 'running', seq: 5 }, { status: 'succeeded', seq: 4 })).toBe(false);
    expect(supersedes({ status: 'running', seq: 5 }, { status: 'running', seq: 5 })).toBe(true);
    expect(supersedes({ status: 'running' }, { status: 'queued' })).toBe(false);
    expect(supersedes({ status: 'running' }, { status: 'failed' })).toBe(true);
    expect(supersedes(undefined, { status: 'queued' })).toBe(true);
  });

  it('merges a record read earlier into a run heard of since: each step from the later of the two', () => {
    const shown = record({
      seq: 2,
      steps: {
        load: { status: 'succeeded', cached: false, seconds: 2, seq: 5 },
        train: { status: 'queued', cached: false, seq: 1 }
      }
    });
    const listed = record({
      seq: 3,
      metrics: { rows: 10 },
      steps: {
        load: { status: 'running', cached: false, seq: 3 },
        train: { status: 'queued', cached: false, waiting: 'no node has 4 GPUs', seq: 2 }
      }
    });
    const merged = mergeRun(shown, listed);
    expect(merged.steps.load).toEqual(shown.steps.load);
    expect(merged.steps.train).toEqual(listed.steps.train);
    expect([merged.seq, merged.metrics]).toEqual([3, { rows: 10 }]);
    // An older record of the whole run adds nothing.
    expect(
      mergeRun(merged, record({ seq: 1, steps: { load: { status: 'queued', cached: false, seq: 1 } } }))
    ).toBe(merged);
  });

  it('the lifecycle counts each change of the run, and of the step it changed', () => {
    const run = record();
    const life = new RunLifecycle(run, undefined, () => 0);
    life.move('load', { status: 'running' });
    life.annotate('load', { process: { pid: 7 } });
    life.move('load', { status: 'succeeded', cached: false });
    expect([run.seq, run.steps.load.seq, run.steps.train.seq]).toEqual([3, 3, undefined]);
    life.finish({ now: '2026-11-30T10:01:00.000Z' });
    // train is skipped at the end (4); the run's end is a change of its own (5).
    expect([run.steps.train.seq, run.seq]).toEqual([4, 5]);
  });

  it('a new owner counts on above what the one before it may have announced but not written', () => {
    // run.json says 5 changes; the owner that died had announced more. The clock has moved on since.
    const run = record({ seq: 5 });
    const life = new RunLifecycle(run, undefined, () => 1_000);
    life.move('load', { status: 'running' });
    life.move('load', { status: 'succeeded', cached: false });
    expect([run.steps.load.seq, run.seq]).toEqual([1_001, 1_001]);
    // What it says now is later than anything said before the takeover, whatever that was.
    expect(supersedes({ status: 'running', seq: 999 }, run.steps.load)).toBe(true);
  });
});
