import { renderReport } from '../run-report';
import { sweepJUnitSuite, sweepReport } from '../sweep-report';
import type { RunRecord } from '../../runs/run-record';
import type { SweepRecord } from '../../sweeps/sweep-record';

const failedRun: RunRecord = {
  id: 'r2',
  notebook: '/repo/tune.ipynb',
  pipeline: 'tune',
  status: 'failed',
  started: '2026-01-01T00:00:10.000Z',
  parameters: {},
  order: ['prep', 'fit'],
  plan: { deps: {}, cacheKeys: {}, reuse: {} },
  steps: {
    prep: { status: 'succeeded', cached: true },
    fit: {
      status: 'failed',
      cached: false,
      error: { message: 'cell 3, line 2 raised ZeroDivisionError: division by zero', cell: 2, line: 2 }
    }
  },
  metrics: {}
};

const sweep: SweepRecord = {
  id: 's1',
  notebook: '/repo/tune.ipynb',
  status: 'failed',
  started: '2026-01-01T00:00:00.000Z',
  finished: '2026-01-01T00:01:05.000Z',
  axes: [{ name: 'lr', kind: 'range', type: 'float', min: 0.001, max: 0.1, log: true }],
  random: { trials: 3, seed: 7 },
  objective: { metric: 'loss', goal: 'min' },
  shared: ['prep'],
  maxParallel: 1,
  trials: [
    {
      label: 'lr=0.01',
      parameters: { lr: { type: 'float', value: 0.01 } },
      run: 'r1',
      status: 'succeeded',
      metrics: { loss: 0.25, epochs: 3 },
      seconds: 4
    },
    { label: 'lr=0.1', parameters: { lr: { type: 'float', value: 0.1 } }, run: 'r2', status: 'failed' },
    {
      label: 'lr=0.001',
      parameters: { lr: { type: 'float', value: 0.001 } },
      status: 'not-run',
      reason: 'the sweep stopped'
    }
  ],
  best: 0
};

const input = {
  sweep,
  notebook: 'tune.ipynb',
  runs: { r2: failedRun },
  tracebacks: { r2: { fit: ['Traceback (most recent call last):', 'ZeroDivisionError: division by zero'] } }
};

describe('the CI report of a sweep', () => {
  it('tables the trials with the objective first, marks the best and shows the failed trial', () => {
    const text = renderReport(sweepReport(input));
    expect(text).toContain('## ❌ tune: sweep s1 failed\n');
    expect(text).toContain(
      '`tune.ipynb` · random search (3 draws, seed 7) · 3 trials: 1 succeeded, 1 failed, 1 not-run · 1 min 5 s'
    );
    expect(text).toContain('Best: trial 1 (`lr=0.01`), `loss` lowest');
    expect(text).toContain('| Trial | `lr` | State | `loss` (min) | `epochs` | Run |');
    expect(text).toContain('| **1** ★ | `0.01` | ✓ succeeded | `0.25` | `3` | `r1` |');
    expect(text).toContain('| 2 | `0.1` | ✗ failed: fit, cell 3, line 2 | — | — | `r2` |');
    expect(text).toContain('| 3 | `0.001` | – not run (the sweep stopped) | — | — |  |');
    expect(text).toContain('**Trial 2** (`lr=0.1`, run `r2`): **fit** failed at cell 3, line 2:');
    expect(text).toContain('ZeroDivisionError: division by zero\n```');
  });

  it('makes a test case per trial: a failure naming the step, cell and line; a trial not run is skipped', () => {
    const suite = sweepJUnitSuite(input);
    expect([suite.tests, suite.failures, suite.skipped]).toEqual([3, 1, 1]);
    expect(suite.cases[1].failure).toMatchObject({
      type: 'ZeroDivisionError',
      message: 'step fit failed at cell 3, line 2: cell 3, line 2 raised ZeroDivisionError: division by zero'
    });
    expect(suite.cases[2].skipped).toEqual({ message: 'not-run: the sweep stopped' });
    expect(suite.properties).toContainEqual({ name: 'best', value: 'lr=0.01' });
  });
});
