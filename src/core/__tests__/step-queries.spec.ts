/**
 * Which parameters a step reads, which metrics it records and who reads its outputs, on real Python:
 * the answers the step programs, the cache keys, the cluster targets and the frontend all rely on.
 */
import { PythonAnalyser } from '../analysis';
import type { NotebookData } from '../notebook/model';
import { analyzeNotebook } from '../pipeline';
import { diagnosticsByStep, outputReaders, stepMetrics, stepOfCell, stepParameters } from '../step-queries';
import { codeNotebook, createAnalyser } from './support';

let analyser: PythonAnalyser;
beforeAll(async () => {
  analyser = await createAnalyser();
});

const analyze = (nb: NotebookData) => analyzeNotebook(nb, analyser);

describe('stepParameters', () => {
  const notebook = () =>
    codeNotebook(
      [['imports'], 'import math'],
      [['pipeline-parameters'], 'gamma = 0.5\ntest_size = 0.2\nseed = 7\nunused = 1'],
      [['functions'], 'def scaled(x):\n    return x * gamma\n\ndef indirect(x):\n    return scaled(x) + 1'],
      [['step:load'], 'import random\nrandom.seed(seed)\ndata = [random.random() for _ in range(10)]'],
      [
        ['step:split', 'prev:load'],
        'cut = int(len(data) * (1 - test_size))\ntrain, test = data[:cut], data[cut:]'
      ],
      [['step:fit', 'prev:split'], 'model = [indirect(x) for x in train]'],
      [['step:report', 'prev:fit'], 'seed = 3\nscore = sum(model) + seed'],
      [['pipeline-metrics'], 'score\ntest_size']
    );

  it('holds what a step reads directly, through functions it calls (transitively), and as metrics', () => {
    const a = analyze(notebook());
    expect(a.diagnostics.filter(d => d.severity === 'error')).toEqual([]);
    expect(Object.keys(stepParameters(a, 'load'))).toEqual(['seed']);
    expect(Object.keys(stepParameters(a, 'split'))).toEqual(['test_size']);
    // fit calls indirect, which calls scaled, which reads gamma.
    expect(Object.keys(stepParameters(a, 'fit'))).toEqual(['gamma']);
    // report binds seed before reading it (its own variable), and records test_size as a metric.
    expect(Object.keys(stepParameters(a, 'report'))).toEqual(['test_size']);
  });

  it('gives the values, with overrides where given', () => {
    const a = analyze(notebook());
    expect(stepParameters(a, 'load')).toEqual({ seed: { type: 'int', value: 7 } });
    expect(
      stepParameters(a, 'load', { seed: { type: 'int', value: 9 }, gamma: { type: 'float', value: 1 } })
    ).toEqual({
      seed: { type: 'int', value: 9 }
    });
    expect(stepParameters(a, 'nope')).toEqual({});
  });

  it('holds every parameter for a step that reaches into the namespace dynamically', () => {
    const a = analyze(
      codeNotebook(
        [['pipeline-parameters'], 'a = 1\nb = 2'],
        [['step:one'], 'x = globals()["a"]'],
        [['step:two', 'prev:one'], 'y = x + 1']
      )
    );
    expect(Object.keys(stepParameters(a, 'one'))).toEqual(['a', 'b']);
    expect(Object.keys(stepParameters(a, 'two'))).toEqual([]);
  });
});

describe('the other step queries', () => {
  const a = () =>
    analyze(
      codeNotebook(
        [['step:load'], 'data = [1, 2, 3]\nlabels = ["a"]'],
        [['step:train', 'prev:load'], 'model = sum(data)\nacc = 0.9'],
        [['step:report', 'prev:train'], 'print(model, data, labels, undefined_name)'],
        [['pipeline-metrics'], 'acc']
      )
    );

  it('say which steps read each output', () => {
    expect(outputReaders(a(), 'load')).toEqual({ data: ['train', 'report'], labels: ['report'] });
    expect(outputReaders(a(), 'train')).toEqual({ model: ['report'] });
  });

  it('say which metrics a step records and which step a cell belongs to', () => {
    expect(stepMetrics(a(), 'train')).toEqual(['acc']);
    expect(stepMetrics(a(), 'load')).toEqual([]);
    expect(stepOfCell(a(), 1)?.name).toBe('train');
    expect(stepOfCell(a(), 3)).toBeNull();
  });

  it('give each step its errors and warnings', () => {
    const byStep = diagnosticsByStep(a());
    expect(byStep.get('report')?.map(d => d.code)).toEqual(['undefined-name']);
    expect(byStep.has('load')).toBe(false);
  });
});
