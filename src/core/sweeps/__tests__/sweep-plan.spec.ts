import type { ParameterValue } from '../../tags/parameters';
import type { RunnableStep } from '../../targets/runnable-steps';
import {
  bestTrial,
  parseObjective,
  parseSweepAxis,
  sharedSteps,
  SweepSpecError,
  sweepTrials,
  trialLabel
} from '../sweep-plan';

const declared: Record<string, ParameterValue> = {
  gamma: { type: 'float', value: 0.1 },
  C: { type: 'int', value: 1 },
  kernel: { type: 'str', value: 'rbf' },
  layers: { type: 'list', value: [8] },
  scale: { type: 'bool', value: true }
};

describe('parseSweepAxis', () => {
  it('types each value as --param would, and keeps commas inside brackets and quotes', () => {
    expect(parseSweepAxis('gamma=0.001,0.01,1', declared)).toEqual({
      name: 'gamma',
      kind: 'values',
      values: [
        { type: 'float', value: 0.001 },
        { type: 'float', value: 0.01 },
        { type: 'float', value: 1 }
      ]
    });
    const layers = parseSweepAxis('layers=[8,8],[16]', declared);
    expect(layers.kind === 'values' && layers.values.map(v => v.value)).toEqual([[8, 8], [16]]);
    const kernel = parseSweepAxis('kernel=rbf,"poly, degree 3"', declared);
    expect(kernel.kind === 'values' && kernel.values.map(v => v.value)).toEqual(['rbf', 'poly, degree 3']);
  });

  it('reads a numeric range, linear or log, and refuses one backwards', () => {
    expect(parseSweepAxis('C=1..100', declared)).toEqual({
      name: 'C',
      kind: 'range',
      type: 'int',
      min: 1,
      max: 100,
      log: false
    });
    expect(parseSweepAxis('gamma=0.0001..0.1:log', declared)).toMatchObject({
      min: 0.0001,
      max: 0.1,
      log: true
    });
    expect(() => parseSweepAxis('C=10..1', declared)).toThrow(/first end must be below/);
    expect(() => parseSweepAxis('gamma=0..1:log', declared)).toThrow(/log range needs ends above 0/);
  });

  it('names what is wrong with a value or a name', () => {
    expect(() => parseSweepAxis('C=1,two', declared)).toThrow('--param C=two: expected an int');
    expect(() => parseSweepAxis('alpha=1,2', declared)).toThrow(/no pipeline parameter "alpha"/);
    expect(() => parseSweepAxis('gamma', declared)).toThrow(SweepSpecError);
  });
});

describe('sweepTrials', () => {
  const axes = [parseSweepAxis('gamma=0.001,0.01,0.1', declared), parseSweepAxis('C=1,10', declared)];

  it('makes the grid, first axis slowest', () => {
    const trials = sweepTrials(axes);
    expect(trials.map(trialLabel)).toEqual([
      'gamma=0.001 C=1',
      'gamma=0.001 C=10',
      'gamma=0.01 C=1',
      'gamma=0.01 C=10',
      'gamma=0.1 C=1',
      'gamma=0.1 C=10'
    ]);
  });

  it('draws distinct trials for random search, the same ones for the same seed', () => {
    const four = sweepTrials(axes, 4, 3);
    expect(new Set(four.map(trialLabel)).size).toBe(4);
    expect(sweepTrials(axes, 4, 3)).toEqual(four);
    expect(sweepTrials(axes, 4, 4).map(trialLabel)).not.toEqual(four.map(trialLabel));
    expect(sweepTrials(axes, 50)).toHaveLength(6); // no more than the grid holds
  });

  it('draws ranges within their ends, of the parameter type', () => {
    const ranged = [parseSweepAxis('C=1..3', declared), parseSweepAxis('gamma=0.0001..1:log', declared)];
    const trials = sweepTrials(ranged, 20, 1);
    expect(trials).toHaveLength(20);
    for (const t of trials) {
      expect(Number.isInteger(t.C.value) && (t.C.value as number) >= 1 && (t.C.value as number) <= 3).toBe(
        true
      );
      expect(t.gamma.type).toBe('float');
      expect(t.gamma.value as number).toBeGreaterThanOrEqual(0.0001);
      expect(t.gamma.value as number).toBeLessThanOrEqual(1);
    }
    // A log range spreads over its decades: some draws fall below 0.01.
    expect(trials.some(t => (t.gamma.value as number) < 0.01)).toBe(true);
    expect(sweepTrials([parseSweepAxis('C=1..3', declared)], 10)).toHaveLength(3);
  });

  it('refuses a range without --random, an axis given twice, and no axis', () => {
    expect(() => sweepTrials([parseSweepAxis('C=1..3', declared)])).toThrow(/add --random N/);
    expect(() => sweepTrials([axes[0], axes[0]])).toThrow(/given twice/);
    expect(() => sweepTrials([])).toThrow(/at least one --param/);
  });
});

describe('sharedSteps', () => {
  const step = (name: string, runParameters: string[], deps: string[] = [], sources = {}): RunnableStep =>
    ({ name, runParameters, deps, sources, stateFrom: deps }) as unknown as RunnableStep;

  it('shares the steps that read no swept parameter, and none below a step that does', () => {
    const runnable = [
      step('load', []),
      step('features', ['n_features'], ['load']),
      step('split', ['seed'], ['features']),
      step('fit', ['C'], ['split']),
      step('report', [], ['fit'])
    ];
    expect(sharedSteps(runnable, ['C'])).toEqual(['load', 'features', 'split']);
    expect(sharedSteps(runnable, ['n_features'])).toEqual(['load']);
  });

  it('does not share a step that loads a value from a trial step', () => {
    const runnable = [step('a', ['C']), step('b', []), step('c', [], ['b'], { x: 'a' })];
    expect(sharedSteps(runnable, ['C'])).toEqual(['b']);
  });
});

describe('objective', () => {
  it('reads METRIC:goal and finds the best trial among those that recorded a number', () => {
    expect(parseObjective('accuracy')).toEqual({ metric: 'accuracy', goal: 'max' });
    const loss = parseObjective('loss:min');
    const trials = [{ metrics: { loss: 0.3 } }, { metrics: { loss: 'n/a' } }, {}, { metrics: { loss: 0.1 } }];
    expect(bestTrial(trials, loss)).toBe(3);
    expect(bestTrial(trials, { metric: 'loss', goal: 'max' })).toBe(0);
    expect(bestTrial(trials, parseObjective('accuracy:max'))).toBeNull();
  });
});
