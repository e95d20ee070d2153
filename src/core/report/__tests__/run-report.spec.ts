import { junitSuite } from '../junit';
import { inline, previousRun, renderReport, runReport } from '../run-report';
import type { RunRecord, StepRecord } from '../../runs/run-record';

function run(
  id: string,
  started: string,
  steps: Record<string, Partial<StepRecord>>,
  extra: Partial<RunRecord> = {}
): RunRecord {
  return {
    id,
    notebook: '/repo/nb.ipynb',
    pipeline: 'nb',
    status: 'succeeded',
    started,
    finished: new Date(Date.parse(started) + 90_500).toISOString(),
    parameters: { n: { type: 'int', value: 3 } },
    order: Object.keys(steps),
    plan: { deps: { b: ['a'], c: ['b'] }, cacheKeys: {}, reuse: {} },
    steps: Object.fromEntries(
      Object.entries(steps).map(([name, s]) => [
        name,
        { status: 'succeeded', cached: false, ...s } as StepRecord
      ])
    ),
    metrics: {},
    ...extra
  };
}

describe('the CI report of a run', () => {
  const failed = run(
    'r2',
    '2026-01-02T00:00:00.000Z',
    {
      a: { cached: true, cachedFrom: 'r1' },
      b: {
        status: 'failed',
        seconds: 1.25,
        error: { message: 'cell 2, line 4 raised KeyError: `x`', cell: 1, line: 4 }
      },
      c: { status: 'skipped', skippedBecause: 'b' }
    },
    { status: 'failed', metrics: { acc: 0.5, label: 'a', extra: 1 } }
  );
  const before = run(
    'r1',
    '2026-01-01T00:00:00.000Z',
    { a: { seconds: 2 } },
    { metrics: { acc: 0.4, label: 'a', old: 2 } }
  );

  it('compares metrics with the newest earlier run that succeeded', () => {
    const older = run('r0', '2025-12-31T00:00:00.000Z', {});
    const failedBefore = run('rx', '2026-01-01T12:00:00.000Z', {}, { status: 'failed' });
    expect(previousRun(failed, [older, failedBefore, before, failed])?.id).toBe('r1');
    expect(previousRun(before, [failed, before])).toBeUndefined();
    const text = renderReport(runReport({ run: failed, notebook: 'nb.ipynb', previous: before }));
    expect(text).toContain('### Metrics against run r1');
    expect(text).toContain('| `acc` | `0.5` | `0.4` | +0.1 (+25 %) |');
    expect(text).toContain('| `label` | `"a"` | `"a"` | same |');
    expect(text).toContain('| `extra` | `1` | — | new |');
    expect(text).toContain('| `old` | — | `2` | gone |');
  });

  it('lists steps with state and duration, cached steps with their run, a skip with its reason', () => {
    const text = renderReport(runReport({ run: failed, notebook: 'nb.ipynb' }));
    expect(text.startsWith('## ❌ nb: run r2 failed\n')).toBe(true);
    expect(text).toContain('`nb.ipynb` · local · 3 steps: 1 succeeded, 1 failed, 1 skipped · 1 min 31 s');
    expect(text).toContain('| `a` | ✓ cached (run r1) | — |');
    expect(text).toContain('| `b` | ✗ failed: cell 2, line 4 | 1.3 s |');
    expect(text).toContain('| `c` | – skipped (b failed) |  |');
  });

  it('shows the last lines of a traceback in a code block that its backticks cannot close', () => {
    const traceback = Array.from({ length: 30 }, (_, i) => `line ${i}`).concat(['``` KeyError: `x`']);
    const text = renderReport(
      runReport({ run: failed, notebook: 'nb.ipynb', tracebacks: { b: traceback }, tracebackLines: 3 })
    );
    const block = text.split('### Failures\n\n')[1];
    expect(block).toBe(
      '**b** failed at cell 2, line 4:\n\n````text\ncell 2, line 4 raised KeyError: `x`\nline 28\nline 29\n``` KeyError: `x`\n````\n'
    );
  });

  it('escapes what GitHub would read as markup in a line of text', () => {
    expect(inline('a <b> | *c* [d](e)\nf')).toBe('a \\<b\\> \\| \\*c\\* \\[d\\](e) f');
  });
});

describe('a run as JUnit', () => {
  it('has a test case per step: failure with the exception, skipped with the reason', () => {
    const r = run(
      'r',
      '2026-01-01T00:00:00.000Z',
      {
        a: { seconds: 2 },
        b: {
          status: 'failed',
          seconds: 1,
          error: { message: 'cell 2, line 1 raised np.linalg.LinAlgError: x', cell: 1, line: 1 }
        },
        c: { status: 'skipped', skippedBecause: 'b' },
        d: { status: 'cancelled' }
      },
      { status: 'failed' }
    );
    const suite = junitSuite({
      run: r,
      notebook: 'nb.ipynb',
      tracebacks: { b: ['Traceback', 'LinAlgError: x'] }
    });
    expect([suite.tests, suite.failures, suite.skipped]).toEqual([4, 1, 2]);
    expect(suite.cases.map(c => [c.name, c.time])).toEqual([
      ['a', 2],
      ['b', 1],
      ['c', 0],
      ['d', 0]
    ]);
    expect(suite.cases[1].failure).toEqual({
      message: 'cell 2, line 1 raised np.linalg.LinAlgError: x',
      type: 'np.linalg.LinAlgError',
      text: 'cell 2, line 1 raised np.linalg.LinAlgError: x\nTraceback\nLinAlgError: x'
    });
    expect(suite.cases[2].skipped).toEqual({ message: 'skipped: b failed' });
    expect(suite.cases[3].skipped).toEqual({ message: 'cancelled' });
    expect(suite.properties).toContainEqual({ name: 'parameter.n', value: '3' });
  });
});
