import { PythonAnalyser } from '../../analysis';
import { analyzeNotebook } from '../../pipeline';
import { codeNotebook, createAnalyser } from '../../__tests__/support';
import { runRefusal } from '../refusal';

let analyser: PythonAnalyser;
beforeAll(async () => {
  analyser = await createAnalyser();
});

describe('runRefusal', () => {
  it('refuses a pipeline with error diagnostics, naming the first with its cell and line', () => {
    const a = analyzeNotebook(codeNotebook([['step:a'], 'x = 1'], [['step:b'], 'y = x\nz = w']), analyser);
    const refusal = runRefusal(a)!;
    expect(refusal.code).toBe('pipeline-has-errors');
    expect(refusal.errors.map(e => e.code)).toEqual(['missing-upstream', 'undefined-name']);
    expect(refusal.message).toMatch(
      /^Fix the 2 errors first; the first: Step b reads "x".*\(cell 2, line 1\)$/
    );
  });

  it('refuses a notebook without steps, a step run on a cluster, and an unknown step', () => {
    const none = analyzeNotebook(codeNotebook([[], 'x = 1']), analyser);
    expect(runRefusal(none)?.code).toBe('no-steps');
    const ok = analyzeNotebook(codeNotebook([['step:a'], 'x = 1']), analyser);
    expect(runRefusal(ok)).toBeNull();
    expect(runRefusal(ok, { target: 'argo', steps: { mode: 'one', step: 'a' } })?.code).toBe(
      'cluster-runs-every-step'
    );
    expect(runRefusal(ok, { target: 'local', steps: { mode: 'one', step: 'b' } })?.message).toBe(
      'The pipeline has no step "b".'
    );
    expect(runRefusal(ok, { target: 'kfp', steps: { mode: 'all' } })).toBeNull();
  });
});
