/**
 * The whole core on real Python: notebooks built from cells (tags + source),
 * and the example and Kale notebooks from disk.
 */
import { readdirSync, readFileSync, statSync } from 'fs';
import { dirname, join, relative } from 'path';
import { PythonAnalyser } from '../analysis';
import type { NotebookData } from '../notebook/model';
import { readNotebook } from '../notebook/read';
import { analyzeNotebook, PipelineAnalysis } from '../pipeline';
import { analysisOptions } from '../../../server-proxy/src/notebook-file';
import { compositionParts } from '../targets/__tests__/helpers';
import { codeNotebook, createAnalyser } from './support';

let analyser: PythonAnalyser;
beforeAll(async () => {
  analyser = await createAnalyser();
});

const analyze = (nb: NotebookData) => analyzeNotebook(nb, analyser);
const step = (a: PipelineAnalysis, name: string) => a.steps.find(s => s.name === name)!;
const codes = (a: PipelineAnalysis) => a.diagnostics.map(d => `${d.code}@${d.cell}:${d.line}`);

function notebooksUnder(dir: string): string[] {
  return readdirSync(dir).flatMap(entry => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? notebooksUnder(path) : entry.endsWith('.ipynb') ? [path] : [];
  });
}

describe('analyzeNotebook', () => {
  it('passes a mutated DataFrame from the mutating step, not the creating one', () => {
    const a = analyze(
      codeNotebook(
        [['imports'], 'import pandas as pd'],
        [['step:load'], "df = pd.DataFrame({'a': [1, None]})"],
        [['step:clean', 'prev:load'], "df.dropna(inplace=True)\ndf['b'] = df['a'] * 2"],
        [['step:report', 'prev:clean'], 'total = df.b.sum()']
      )
    );
    expect(a.diagnostics).toEqual([]);
    expect(step(a, 'report').sources).toEqual({ df: 'clean' });
    expect(step(a, 'clean')).toMatchObject({ ins: ['df'], outs: ['df'] });
  });

  it('handles the IPython syntax Kale cannot: ! lines, %%capture, display', () => {
    const a = analyze(
      codeNotebook(
        [['step:setup'], '!pip install --quiet numpy\nimport numpy as np\nxs = np.arange(5)'],
        [['step:work', 'prev:setup'], '%%capture log\nys = xs * 2\ndisplay(ys)'],
        [['step:show', 'prev:work'], 'print(log.stdout, ys)']
      )
    );
    expect(a.diagnostics).toEqual([]);
    expect(step(a, 'show').ins).toEqual(['log', 'ys']);
    expect(step(a, 'work').ins).toEqual(['xs']);
  });

  it('does not make a step that deletes a name its provider (Kale does)', () => {
    const a = analyze(
      codeNotebook(
        [['step:a'], 'x = 1\ntmp = 2'],
        [['step:b', 'prev:a'], 'del tmp\ny = x + 1'],
        [['step:c', 'prev:b'], 'print(x, y)']
      )
    );
    expect(step(a, 'c').sources).toEqual({ x: 'a', y: 'b' });
    expect(a.diagnostics).toEqual([]);
  });

  it('points a missing prev: at the cell and line of the read, with the edge to add', () => {
    const a = analyze(codeNotebook([['step:a'], 'data = [1]'], [['step:b'], 'n = 0\nn = len(data)']));
    expect(codes(a)).toEqual(['missing-upstream@1:2']);
    expect(a.suggestions).toEqual([{ from: 'a', to: 'b', names: ['data'], cell: 1 }]);
  });

  it('follows function calls to the globals they read', () => {
    const a = analyze(
      codeNotebook(
        [['functions'], 'def scaled(v):\n    return v * factor'],
        [['step:a'], 'factor = 3'],
        [['step:b', 'prev:a'], 'out = [scaled(v) for v in range(3)]']
      )
    );
    expect(step(a, 'b').ins).toEqual(['factor']);
  });

  it('turns analysis findings into diagnostics at their cell', () => {
    const a = analyze(
      codeNotebook([['step:a'], 'from os.path import *\nx = (1 +'], [['step:b', 'prev:a'], 'exec("y = 1")'])
    );
    expect(a.diagnostics.map(d => `${d.severity}:${d.code}@${d.cell}`)).toEqual([
      'warning:star-import@0',
      'error:syntax-error@0',
      'warning:dynamic-namespace@1'
    ]);
  });

  it('reports tag errors, unknown steps and cycles', () => {
    const a = analyze(
      codeNotebook(
        [['step:a', 'prev:c'], 'x = 1'],
        [['step:b', 'prev:a'], 'y = 1'],
        [['step:c', 'prev:b'], 'z = 1'],
        [['step:d', 'prev:nope'], 'w = 1']
      )
    );
    expect(a.diagnostics.map(d => d.code)).toEqual(['cycle', 'cycle', 'cycle', 'unknown-step']);
  });

  it('says so when nothing is tagged', () => {
    expect(analyze(codeNotebook([[], 'x = 1'])).diagnostics.map(d => d.code)).toEqual(['no-steps']);
  });

  it('re-analyses after an edit without parsing unchanged cells again', () => {
    const nb = codeNotebook([['step:a'], 'x = 1'], [['step:b', 'prev:a'], 'y = x']);
    const first = analyze(nb);
    nb.cells[1] = { ...nb.cells[1], source: 'y = x + 1\nz = y' };
    const second = analyze(nb);
    expect(second.analyses.get(0)).toBe(first.analyses.get(0));
    expect(second.analyses.get(1)).not.toBe(first.analyses.get(1));
  });
});

const ROOT = join(__dirname, '../../..');
const ALL = [
  ...notebooksUnder(join(ROOT, 'examples')),
  ...notebooksUnder(join(ROOT, '../shared/kale-examples'))
];
// A notebook another one runs as a notebook: step reads variables it does not define: it is checked within.
const PARTS = compositionParts(ALL);
const NOTEBOOKS = ALL.filter(p => !PARTS.has(p));

// Named relative to the folder above the checkout (`CHECKOUT/examples/x.ipynb`, `shared/kale-examples/…`),
// whatever the checkout's folder is called.
const ABOVE = dirname(ROOT);
describe.each(NOTEBOOKS.map(p => [relative(ABOVE, p)]))('%s', path => {
  const full = join(ABOVE, path);
  it('analyses without an error and with the edges its tags say', async () => {
    const nb = readNotebook(JSON.parse(readFileSync(full, 'utf8')), path);
    const a = analyzeNotebook(nb, analyser, await analysisOptions(full, nb, dirname(full)));
    expect(a.diagnostics.filter(d => d.severity === 'error')).toEqual([]);
    const tagged = new Set<string>();
    for (const cell of nb.cells) {
      const stepTag = cell.tags.find(t => /^(step|block):./.test(t));
      if (stepTag && !cell.tags.includes('skip')) {
        cell.tags
          .filter(t => t.startsWith('prev:'))
          .forEach(t => tagged.add(`${t.slice(5)}→${stepTag.split(':')[1]}`));
      }
    }
    // A composition's edges are also those its data and reading order imply (Kale 2.x).
    const notebookSteps = new Set(a.steps.filter(s => s.notebook !== undefined).map(s => s.name));
    const hasPrev = (s: PipelineAnalysis['steps'][number]) =>
      s.cells.some(c => nb.cells[c].tags.some(t => t.startsWith('prev:')));
    const declared = a.steps
      .filter(s => notebookSteps.size === 0 || hasPrev(s))
      .flatMap(s => s.deps.map(d => `${d}→${s.name}`));
    expect(new Set(declared)).toEqual(tagged);
  });
});
