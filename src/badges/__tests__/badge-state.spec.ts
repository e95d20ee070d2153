import { PythonAnalyser } from '../../core/analysis';
import { analyzeNotebook } from '../../core/pipeline';
import { badgeStates } from '../badge-state';
import { codeNotebook, createAnalyser } from '../../core/__tests__/support';

let analyser: PythonAnalyser;
beforeAll(async () => {
  analyser = await createAnalyser();
});

describe('cell badges', () => {
  const nb = codeNotebook(
    [['imports'], 'import math'],
    [['step:load'], 'xs = [1, 2, 3]'],
    [[], 'ys = [x * 2 for x in xs]'],
    [['skip'], 'print(ys)'],
    [['step:total', 'prev:load'], 'total = sum(ys) + math.pi'],
    [['step:oops'], 'print(undefined_name)']
  );

  it('shows each cell its step, the step colour, its upstream steps and its role', () => {
    const states = badgeStates(analyzeNotebook(nb, analyser));
    expect(states.get(0)).toMatchObject({ role: 'imports' });
    expect(states.get(1)).toMatchObject({ step: 'load', role: 'step', first: true, prev: [] });
    expect(states.get(2)).toMatchObject({ step: 'load', role: 'continues', first: false });
    expect(states.get(3)).toMatchObject({ role: 'skip' });
    expect(states.get(0)!.step ?? states.get(3)!.step).toBeUndefined();
    expect(states.get(4)).toMatchObject({ step: 'total', prev: ['load'] });
    expect(states.get(1)!.color).toBe(states.get(2)!.color);
    expect(states.get(1)!.color).not.toBe(states.get(4)!.color);
  });

  it('counts the diagnostics of a cell and carries the run state of its step', () => {
    const states = badgeStates(analyzeNotebook(nb, analyser), { total: { state: 'running' } });
    expect(states.get(5)!.errors).toBe(1);
    expect(states.get(4)!.run).toEqual({ state: 'running' });
    expect(states.get(1)!.run).toBeUndefined();
  });
});
