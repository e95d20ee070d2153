/** The one run lifecycle: steps move forward only, skips follow dependencies, one rule for the end. */
import { RunLifecycle, skipExplanation } from '../lifecycle';
import type { RunRecord, StepRecord } from '../run-record';

/** s1 → s2 → s3 → s4, and s1 → side: two branches below s1. */
function record(): RunRecord {
  const deps: Record<string, string[]> = { s1: [], s2: ['s1'], s3: ['s2'], s4: ['s3'], side: ['s1'] };
  return {
    id: 'r',
    notebook: '/n.ipynb',
    pipeline: 'p',
    status: 'running',
    started: 't0',
    parameters: {},
    order: ['s1', 's2', 'side', 's3', 's4'],
    plan: { deps, cacheKeys: {}, reuse: {} },
    steps: Object.fromEntries(Object.keys(deps).map(s => [s, { status: 'queued', cached: false }])),
    metrics: {}
  };
}

const failure = (message: string): Partial<StepRecord> => ({ error: { message, cell: 1, line: 2 } });

describe('RunLifecycle', () => {
  it('moves a step forward only, and tells the listener each change once', () => {
    const changes: string[] = [];
    // A clock at 0: the changes are counted 1, 2, ...
    const run = new RunLifecycle(
      record(),
      (step, r) => changes.push(`${step} ${r.status}`),
      () => 0
    );
    expect(run.move('s1', { status: 'running', started: 't1' })).toBe(true);
    expect(run.move('s1', { status: 'running' })).toBe(false); // a repeated report
    expect(run.move('s1', { status: 'succeeded', finished: 't2' })).toBe(true);
    expect(run.move('s1', { status: 'running' })).toBe(false); // a late report of an earlier state
    expect(run.move('s1', { status: 'failed' })).toBe(false); // finished is final
    expect(run.record.steps.s1).toEqual({
      status: 'succeeded',
      cached: false,
      started: 't1',
      finished: 't2',
      seq: 2
    });
    expect(changes).toEqual(['s1 running', 's1 succeeded']);
  });

  it('is ready when every upstream step succeeded', () => {
    const run = new RunLifecycle(record());
    expect(run.ready()).toEqual(['s1']);
    run.move('s1', { status: 'succeeded' });
    expect(run.ready()).toEqual(['s2', 'side']);
  });

  it('knows the steps that wait only for a running step (those a fork of it may start)', () => {
    const r = record();
    r.plan.deps.join = ['s2', 'side'];
    r.order.push('join');
    r.steps.join = { status: 'queued', cached: false };
    const run = new RunLifecycle(r);
    run.move('s1', { status: 'succeeded' });
    run.move('s2', { status: 'running' });
    expect(run.readyAfter('s2')).toEqual(['s3']); // join waits for side too
    run.move('side', { status: 'succeeded' });
    expect(run.readyAfter('s2')).toEqual(['s3', 'join']);
  });

  it('skips along dependencies, naming the upstream step on the branch: failed, then skipped', () => {
    const run = new RunLifecycle(record());
    run.move('s1', { status: 'succeeded' });
    run.move('s2', { status: 'failed', ...failure('cell 2, line 2 raised ZeroDivisionError') });
    expect(run.skipBlocked()).toEqual(['s3', 's4']);
    expect(run.record.steps.s3.skippedBecause).toBe('s2');
    expect(run.record.steps.s4.skippedBecause).toBe('s3');
    expect(run.record.steps.side.status).toBe('queued'); // another branch goes on
    expect(skipExplanation(run.record, 's3')).toBe('s2 failed');
    expect(skipExplanation(run.record, 's4')).toBe('s3 was skipped');
  });

  it('ends succeeded only when every step succeeded, with no reason', () => {
    const run = new RunLifecycle(record());
    for (const s of run.record.order) {
      run.move(s, { status: 'succeeded' });
    }
    expect(run.finish({ now: 't9' })).toMatchObject({ status: 'succeeded', finished: 't9' });
    expect(run.record.reason).toBeUndefined();
  });

  it('ends failed with the first failed step and its error as the reason', () => {
    const run = new RunLifecycle(record());
    run.move('s1', { status: 'succeeded' });
    run.move('s2', {
      status: 'failed',
      ...failure('cell 2, line 2 raised ZeroDivisionError: division by zero')
    });
    run.move('side', { status: 'failed', ...failure('boom') });
    const end = run.finish({ now: 't9' });
    expect(end.status).toBe('failed');
    expect(end.reason).toBe(
      'Step s2 failed: cell 2, line 2 raised ZeroDivisionError: division by zero (and 1 more step)'
    );
    expect(end.steps.s4).toMatchObject({ status: 'skipped', skippedBecause: 's3' });
  });

  it('on cancel, cancels what did not finish', () => {
    const run = new RunLifecycle(record(), undefined, () => 0);
    run.move('s1', { status: 'succeeded' });
    run.move('s2', { status: 'running', started: 't1' });
    const end = run.finish({ cancelled: true, now: 't9' });
    expect([end.status, end.reason]).toEqual(['cancelled', 'Cancelled.']);
    expect(end.order.map(s => end.steps[s].status)).toEqual([
      'succeeded',
      'cancelled',
      'cancelled',
      'cancelled',
      'cancelled'
    ]);
    expect(end.steps.s2).toEqual({
      status: 'cancelled',
      cached: false,
      started: 't1',
      finished: 't9',
      seq: 3
    });
  });

  it('when the run itself cannot go on, fails the running step and skips the queued ones for that reason', () => {
    const run = new RunLifecycle(record());
    run.move('s1', { status: 'succeeded' });
    run.move('s2', { status: 'running' });
    const why = 'Cannot write the run folder .cellpipe/runs/r: operation not permitted.';
    const end = run.finish({ failure: why, now: 't9' });
    expect([end.status, end.reason]).toEqual(['failed', why]);
    expect(end.steps.s2).toMatchObject({ status: 'failed', error: { message: why } });
    expect(end.steps.s3).toMatchObject({ status: 'skipped', skippedBecause: 's2' });
    expect(end.steps.side).toMatchObject({ status: 'skipped', reason: why });
    expect(skipExplanation(end, 'side')).toBe(why);
  });

  it('a run-level failure fails the run even when every step succeeded', () => {
    const run = new RunLifecycle(record());
    for (const s of run.record.order) {
      run.move(s, { status: 'succeeded' });
    }
    expect(run.finish({ failure: 'The workflow was deleted.', now: 't' }).status).toBe('failed');
  });
});
