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
}, 60000); // loading the wasm parser takes seconds on a busy machine

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
  it('reports tags written as a string at their cell, instead of a pipeline without that step', () => {
    const nb = readNotebook(
      {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: [{ cell_type: 'code', source: 'x = 1', metadata: { tags: 'step:load' } }]
      },
      'n.ipynb'
    );
    const a = analyze(nb);
    expect(codes(a)).toEqual(['no-steps@null:null', 'invalid-tags@0:null']);
    expect(a.diagnostics[1]).toMatchObject({ severity: 'error' });
    expect(a.diagnostics[1].message).toContain('write it as ["step:load"]');
  });

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

describe('state outside plain variables (issue 10)', () => {
  it('makes a step that calls a function stored in a container read what the function reads', () => {
    const a = analyze(
      codeNotebook(
        [['step:a'], 'x = 1'],
        [['step:b', 'prev:a'], "fns = {'f': lambda: x + 1}"],
        [['step:c', 'prev:b'], "print(fns['f']())"]
      )
    );
    expect(a.diagnostics).toEqual([]);
    expect(step(a, 'c').sources).toEqual({ fns: 'b', x: 'a' });
  });

  it('passes an object a method call may change from the step that called it, fingerprinted', () => {
    const a = analyze(
      codeNotebook(
        [['step:a'], 'import numpy as np\nrng = np.random.default_rng(0)'],
        [['step:b', 'prev:a'], 'x = rng.normal()'],
        [['step:c', 'prev:b'], 'print(rng.normal())']
      )
    );
    expect(a.diagnostics).toEqual([]);
    expect(step(a, 'c').sources).toEqual({ rng: 'b' });
    expect(step(a, 'b').fingerprint).toEqual(['rng']);
    expect(step(a, 'a').fingerprint).toEqual([]);
  });

  it('follows changes through a function parameter and through an alias', () => {
    const a = analyze(
      codeNotebook(
        [
          ['step:a'],
          "def add_column(frame):\n    frame['c'] = 1\ndata = {'items': [1]}\nimport pandas as pd\ndf = pd.DataFrame()"
        ],
        [['step:b', 'prev:a'], "add_column(df)\nitems = data['items']\nitems.append(2)"],
        [['step:c', 'prev:b'], 'print(df, data)']
      )
    );
    expect(a.diagnostics).toEqual([]);
    expect(step(a, 'c').sources).toEqual({ data: 'b', df: 'b' });
  });

  it('does not warn about a method call in a parallel branch, and has the runtime check it instead', () => {
    const a = analyze(
      codeNotebook(
        [['step:make'], 'counter = Counter()'],
        [['step:left', 'prev:make'], 'counter.bump()'],
        [['step:right', 'prev:make'], 'print(counter.n)']
      )
    );
    expect(a.diagnostics.filter(d => d.code !== 'undefined-name')).toEqual([]);
    expect(step(a, 'right').sources).toEqual({ counter: 'make' });
    expect(step(a, 'left').guards.map(g => g.name)).toEqual(['counter']);
    expect(step(a, 'left').fingerprint).toEqual(['counter']);
  });

  it('warns at a draw from a global generator that a parallel step advanced first', () => {
    const a = analyze(
      codeNotebook(
        [['imports'], 'import numpy as np\nimport random'],
        [['step:seed'], 'np.random.seed(0)'],
        [['step:left', 'prev:seed'], 'a = np.random.rand()'],
        [['step:right', 'prev:seed'], 'b = random.random()\nc = np.random.normal()'],
        [['step:after', 'prev:left', 'prev:right'], 'd = np.random.rand()']
      )
    );
    expect(codes(a)).toEqual(['random-state-order@3:2']);
    expect(a.diagnostics[0].message).toContain('Add prev:left to right');
  });

  it('passes on a closure or callable object a call may have changed, not a function a def made', () => {
    const a = analyze(
      codeNotebook(
        [
          ['step:a'],
          'def make():\n    n = [0]\n    def inc():\n        n[0] += 1\n        return n[0]\n    return inc\ninc = make()\ndef plain():\n    return 1'
        ],
        [['step:b', 'prev:a'], 'inc()\nplain()'],
        [['step:c', 'prev:b'], 'print(inc(), plain())']
      )
    );
    expect(a.diagnostics).toEqual([]);
    expect(step(a, 'c').sources.inc).toEqual('b');
    expect(step(a, 'b').fingerprint).toEqual(['inc']);
  });

  it('says an open file cannot be passed on, also after a method call on it', () => {
    const a = analyze(
      codeNotebook(
        [['step:a'], "f = open('out.txt', 'w')\nf.write('x')"],
        [['step:b', 'prev:a'], 'f.close()']
      )
    );
    expect(codes(a)).toEqual(['unserialisable@0:2']); // at the last change before it is passed
  });

  it("warns at a read of IPython's output history that another step's cell made", () => {
    const a = analyze(
      codeNotebook(
        [['step:a'], '1 + 1'],
        [['step:b', 'prev:a'], 'print(_)\n2 * 2'],
        [[], 'x = _ + 1\nprint(Out[2], _i)'],
        [['step:c', 'prev:b'], '_ = 5'],
        [[], 'print(_)']
      )
    );
    // `_` in cell 2 is cell 1's result (step a); `_` and `_i` in cell 3 are cell 2's, in the same step; `Out`
    // counts executions, which start again in each step; `_` bound by a cell is a plain variable.
    expect(codes(a)).toEqual(['output-history@1:1', 'output-history@2:2']);
    expect(a.diagnostics[0].message).toContain('cell 1, which it refers to, is not a cell of step b');
    expect(a.diagnostics[1].message).toContain('"Out"');
  });

  it('loads and passes on an argument changed by a function, also through a nested call', () => {
    const a = analyze(
      codeNotebook(
        [
          ['step:a'],
          'data = []\ndef add(q):\n    q.append(1)\ndef outer(p, local=None):\n    add(p)\n    add(local)'
        ],
        [['step:b', 'prev:a'], 'outer(data)'],
        [['step:c', 'prev:b'], 'print(data)']
      )
    );
    expect(a.diagnostics).toEqual([]);
    // b loads data before the call changes it, and c gets b's version; no module-level `p` or `local`.
    expect(step(a, 'b')).toMatchObject({ ins: ['add', 'data', 'outer'], outs: ['data'] });
    expect(step(a, 'c').sources).toEqual({ data: 'b' });
  });

  it('warns where a step changes a value another step bound as part of a name read later', () => {
    const a = analyze(
      codeNotebook(
        [['step:a'], "x = [1, 2]\ny = x\nconfig = {'items': []}\nitems = config['items']"],
        [['step:b', 'prev:a'], 'y.append(3)\nitems.append(4)'],
        [['step:c', 'prev:b'], 'print(x)'],
        [['step:d', 'prev:c'], 'x = [0]\nprint(x, config)']
      )
    );
    // y changed x (read by c): a warning at the change. items changed config, read by d: another.
    expect(codes(a)).toEqual(['shared-value@1:1', 'shared-value@1:2']);
    expect(a.diagnostics[0].message).toContain('step c (cell 3, line 1) reads "x"');
    expect(a.diagnostics[1].message).toContain('"config"');
  });

  it("warns where a step relies on a cached function's results another step's calls filled", () => {
    const a = analyze(
      codeNotebook(
        [['imports'], 'import functools\nfrom functools import lru_cache, cache'],
        [['step:a'], 'rate = 2\n@functools.lru_cache(maxsize=None)\ndef price(x):\n    return x * rate'],
        [['step:b', 'prev:a'], 'first = price(1)'],
        [['step:c', 'prev:b'], 'rate = 3\nprint(first, price(1))'],
        [['step:d', 'prev:c'], '@cache\ndef square(v):\n    return v * v\nsquare(2)\nsquare(3)'],
        [['step:e', 'prev:d'], 'def total():\n    return square(2)\nprint(total())']
      )
    );
    // Step b's call filled the cache that c's call reads (in c, the notebook prints 2 2, the pipeline 2 3);
    // e reaches square through a call of total. Calls within one step (d) are the notebook's.
    expect(codes(a)).toEqual(['function-state@3:2', 'function-state@5:3']);
    expect(a.diagnostics[0].message).toContain('"price"');
    expect(a.diagnostics[0].message).toContain('after step b called it (cell 3, line 1)');
    expect(a.diagnostics[0].message).toContain('empty cache');
    expect(a.diagnostics[1].message).toContain('through a call of total');
    expect(a.diagnostics.every(d => d.severity === 'warning')).toBe(true);
  });

  it('warns where a mutable default argument one step changed is used in another', () => {
    const a = analyze(
      codeNotebook(
        [['step:a'], 'def remember(v, seen=[]):\n    seen.append(v)\n    return len(seen)\nremember(0)'],
        [['step:b', 'prev:a'], 'remember(1)'],
        [['step:c', 'prev:b'], 'print(remember(2))'],
        [
          ['step:d', 'prev:a'],
          'def fresh(v, seen=None):\n    return [v]\ndef kept(v, opts={}):\n    return opts.get(v)'
        ],
        [['step:e', 'prev:d'], 'fresh(1)\nkept(1)'],
        [['step:f', 'prev:e'], 'print(fresh(2), kept(2))']
      )
    );
    // a's own call is carried (remember is saved after it); b's is not, which c relies on. A default of
    // None, or one the body never changes, is no state.
    expect(codes(a)).toEqual(['function-state@2:1']);
    expect(a.diagnostics[0].message).toContain('after step b called it (cell 2, line 1)');
    expect(a.diagnostics[0].message).toContain('with the default as step a left it');
  });

  it('does not warn about a shared value rebound before it is read, or never read', () => {
    const a = analyze(
      codeNotebook(
        [['step:a'], 'x = [1, 2]\ny = x\nx = [5]'],
        [['step:b', 'prev:a'], 'y.append(3)'],
        [['step:c', 'prev:b'], 'print(x, y)']
      )
    );
    expect(codes(a)).toEqual([]);
  });

  it('carries the interpreter state from the upstream steps', () => {
    const a = analyze(
      codeNotebook([['step:a'], 'x = 1'], [['step:b'], 'y = 2'], [['step:c', 'prev:a', 'prev:b'], 'z = 3'])
    );
    expect(a.steps.map(s => s.state)).toEqual([
      { from: [], at: 0 },
      { from: [], at: 1 },
      { from: ['a', 'b'], at: 2 }
    ]);
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
