/** The one refusal rule, on real analyses: what every shell refuses before a run or compile starts. */
import { codeNotebook, createAnalyser } from '../../__tests__/support';
import type { PythonAnalyser } from '../../analysis';
import type { NotebookData } from '../../notebook/model';
import { analyzeNotebook } from '../../pipeline';
import { runRefusal } from '../refusal';

let analyser: PythonAnalyser;
beforeAll(async () => {
  analyser = await createAnalyser();
}, 60000);

const analyze = (nb: NotebookData) => analyzeNotebook(nb, analyser);

describe('runRefusal', () => {
  it('refuses a pipeline with errors, counting them and naming the first one with its notebook, cell and line', () => {
    const a = analyze(codeNotebook([['step:a'], 'x = 1'], [['step:b'], 'y = nope\nz = gone']));
    const refused = runRefusal(a, { file: 'nb.ipynb' })!;
    expect(refused.code).toBe('pipeline-has-errors');
    expect(refused.errors.map(d => [d.cell, d.line])).toEqual([
      [1, 1],
      [1, 2]
    ]);
    expect(refused.message).toMatch(
      /^The pipeline has 2 errors; fix them first: nb\.ipynb, cell 2, line 1: error/
    );
    // Errors win over everything else asked: they are what the user must fix first.
    expect(runRefusal(a, { target: 'argo', steps: { mode: 'one', step: 'a' } })?.code).toBe(
      'pipeline-has-errors'
    );
  });

  it('refuses a notebook without steps, naming it', () => {
    const refused = runRefusal(analyze(codeNotebook([[], 'x = 1'])), { file: 'empty.ipynb' });
    expect(refused).toMatchObject({ code: 'no-steps', errors: [] });
    expect(refused!.message).toContain('No cell is tagged as a step in empty.ipynb');
  });

  it('refuses one step (or from one) on a cluster, and a step the pipeline does not have', () => {
    const ok = analyze(codeNotebook([['step:a'], 'x = 1'], [['step:b', 'prev:a'], 'y = x']));
    expect(runRefusal(ok)).toBeNull();
    expect(runRefusal(ok, { target: 'kfp', steps: { mode: 'all' } })).toBeNull();
    expect(runRefusal(ok, { target: 'local', steps: { mode: 'from', step: 'b' } })).toBeNull();
    expect(runRefusal(ok, { target: 'argo', steps: { mode: 'one', step: 'a' } })?.code).toBe(
      'cluster-runs-every-step'
    );
    expect(runRefusal(ok, { target: 'local', steps: { mode: 'one', step: 'c' } })?.message).toBe(
      'The pipeline has no step "c" (it has a, b).'
    );
  });
});
