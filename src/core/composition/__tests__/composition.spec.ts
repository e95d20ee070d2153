/**
 * Notebooks that run other notebooks (Kale 2.x `notebook:` steps): the analysis of the sub-pipeline,
 * what crosses the boundary, the implied edges, cycles and unreadable references.
 */
import type { PythonAnalyser } from '../../analysis';
import type { NotebookData } from '../../notebook/model';
import { analyzeNotebook, PipelineAnalysis } from '../../pipeline';
import { runnableSteps } from '../../targets/runnable-steps';
import { createAnalyser } from '../../__tests__/support';
import {
  loadReferencedNotebooks,
  NotebookMap,
  normalizePath,
  referencePath,
  ResolvedNotebook
} from '../references';

let analyser: PythonAnalyser;
beforeAll(async () => {
  analyser = await createAnalyser();
});

type Cell = [string[], string] | [string[], string, string];

/** A notebook of code cells: [tags, source] or [tags, source, notebook_path]. */
function nb(name: string, ...cells: Cell[]): NotebookData {
  return {
    name,
    metadata: {},
    cells: cells.map(([tags, source, notebookPath], index) => ({
      index,
      type: 'code',
      source,
      tags,
      ...(notebookPath !== undefined ? { notebookPath } : {})
    }))
  };
}

function resolver(notebooks: Record<string, NotebookData | string>): NotebookMap {
  return new NotebookMap(
    new Map<string, ResolvedNotebook>(
      Object.entries(notebooks).map(([path, n]) => [
        path,
        typeof n === 'string' ? { error: n } : { notebook: n }
      ])
    )
  );
}

function analyze(root: NotebookData, notebooks: Record<string, NotebookData | string>, path = 'main.ipynb') {
  return analyzeNotebook(root, analyser, { path, resolver: resolver({ [path]: root, ...notebooks }) });
}

const step = (a: PipelineAnalysis, name: string) => a.steps.find(s => s.name === name)!;
const errors = (a: PipelineAnalysis) => a.diagnostics.filter(d => d.severity === 'error');
const codes = (a: PipelineAnalysis) => a.diagnostics.map(d => `${d.severity}:${d.code}@${d.cell}`);

const producer = nb(
  'producer.ipynb',
  [['step:load'], 'raw = [1, 2, 3]'],
  [['step:transform', 'prev:load'], 'dataset = [x * 2 for x in raw]']
);
const consumer = nb('consumer.ipynb', [['step:consume'], 'total = sum(dataset)\nprint(total)']);

describe('paths of referenced notebooks', () => {
  it.each([
    ['main.ipynb', './a.ipynb', 'a.ipynb'],
    ['dir/main.ipynb', './a.ipynb', 'dir/a.ipynb'],
    ['dir/main.ipynb', '../lib/a.ipynb', 'lib/a.ipynb'],
    ['main.ipynb', '../a.ipynb', '../a.ipynb'],
    ['dir/main.ipynb', '/abs/./x/../a.ipynb', '/abs/a.ipynb']
  ])('from %s, %s is %s', (from, ref, expected) => {
    expect(referencePath(from, ref)).toBe(expected);
  });

  it('normalises . and ..', () => {
    expect(normalizePath('a/./b/../c')).toBe('a/c');
    expect(normalizePath('/../a')).toBe('/a');
  });

  it('reads every notebook referenced, through the referenced ones, each once', async () => {
    const read: string[] = [];
    const files: Record<string, NotebookData> = {
      'dir/a.ipynb': nb('a.ipynb', [['notebook:b'], '', '../lib/b.ipynb']),
      'lib/b.ipynb': nb('b.ipynb', [['notebook:a'], '', '../dir/a.ipynb'], [['step:s'], 'x = 1'])
    };
    const root = nb('main.ipynb', [['notebook:a'], '', 'a.ipynb'], [['notebook:c'], '', 'missing.ipynb']);
    const map = await loadReferencedNotebooks('dir/main.ipynb', root, async path => {
      read.push(path);
      if (!(path in files)) {
        throw new Error('no such file');
      }
      return files[path];
    });
    expect(read.sort()).toEqual(['dir/a.ipynb', 'dir/missing.ipynb', 'lib/b.ipynb']);
    expect(map.get('dir/missing.ipynb')).toEqual({ error: 'no such file' });
    expect(map.get('lib/b.ipynb')).toEqual({ notebook: files['lib/b.ipynb'] });
  });
});

describe('a notebook: step', () => {
  it("runs the referenced notebook's steps as a sub-pipeline", () => {
    const main = nb('main.ipynb', [['notebook:producer'], '# runs producer', './producer.ipynb']);
    const a = analyze(main, { 'producer.ipynb': producer });
    expect(errors(a)).toEqual([]);
    expect(step(a, 'producer')).toMatchObject({ notebook: 'producer.ipynb', cells: [0], deps: [] });
    const sub = a.subPipelines.producer;
    expect(sub.analysis.steps.map(s => s.name)).toEqual(['load', 'transform']);
    expect(sub.provides).toEqual({ raw: 'load', dataset: 'transform' });
    expect(runnableSteps(a, main).map(r => [r.name, r.deps])).toEqual([
      ['producer.load', []],
      ['producer.transform', ['producer.load']]
    ]);
  });

  it('orders notebooks by the variables they share and passes them across', () => {
    const main = nb(
      'main.ipynb',
      [['notebook:producer'], '', 'producer.ipynb'],
      [['notebook:consumer'], '', 'consumer.ipynb']
    );
    const a = analyze(main, { 'producer.ipynb': producer, 'consumer.ipynb': consumer });
    expect(errors(a)).toEqual([]);
    expect(step(a, 'consumer')).toMatchObject({
      deps: ['producer'],
      ins: ['dataset'],
      sources: { dataset: 'producer' }
    });
    expect(step(a, 'producer').outs).toEqual(['dataset']);
    expect(a.subPipelines.consumer.reads).toEqual({ consume: ['dataset'] });
    const runnable = runnableSteps(a, main);
    expect(runnable.map(r => r.name)).toEqual(['producer.load', 'producer.transform', 'consumer.consume']);
    const consume = runnable.find(r => r.name === 'consumer.consume')!;
    expect(consume).toMatchObject({
      deps: ['producer.transform'],
      sources: { dataset: 'producer.transform' },
      scope: ['consumer'],
      path: 'consumer.ipynb'
    });
    // The child step that provides a name the parent reads saves it, though nothing in its notebook reads it.
    expect(runnable.find(r => r.name === 'producer.transform')!.outs).toEqual(['dataset']);
  });

  it('lets variables cross both ways between steps and notebooks, in reading order', () => {
    const trainer = nb('trainer.ipynb', [['step:fit'], 'model = sum(dataset)']);
    const main = nb(
      'main.ipynb',
      [['step:prepare'], 'dataset = [1, 2, 3]'],
      [['notebook:trainer'], '', 'trainer.ipynb'],
      [['step:report'], 'print(model)']
    );
    const a = analyze(main, { 'trainer.ipynb': trainer });
    expect(errors(a)).toEqual([]);
    expect(a.order).toEqual(['prepare', 'trainer', 'report']);
    expect(step(a, 'trainer')).toMatchObject({ deps: ['prepare'], ins: ['dataset'], outs: ['model'] });
    expect(step(a, 'report')).toMatchObject({ deps: ['trainer'], sources: { model: 'trainer' } });
    const runnable = runnableSteps(a, main);
    expect(runnable.find(r => r.name === 'trainer.fit')).toMatchObject({
      deps: ['prepare'],
      sources: { dataset: 'prepare' },
      outs: ['model']
    });
    expect(runnable.find(r => r.name === 'report')).toMatchObject({
      deps: ['trainer.fit'],
      sources: { model: 'trainer.fit' }
    });
  });

  it('keeps two notebooks that share nothing parallel, and a step of the notebook after both', () => {
    const main = nb(
      'main.ipynb',
      [['notebook:alpha'], '', 'alpha.ipynb'],
      [['notebook:beta'], '', 'beta.ipynb'],
      [['step:done'], "print('done')"]
    );
    const a = analyze(main, {
      'alpha.ipynb': nb('alpha.ipynb', [['step:a'], 'first = 1']),
      'beta.ipynb': nb('beta.ipynb', [['step:b'], 'second = 2'])
    });
    expect(step(a, 'alpha').deps).toEqual([]);
    expect(step(a, 'beta').deps).toEqual([]);
    expect(step(a, 'done').deps.sort()).toEqual(['alpha', 'beta']);
  });

  it('passes parameters down by name: those the child declares (the parent value wins) and reads undefined', () => {
    const child = nb(
      'child.ipynb',
      [['pipeline-parameters'], 'epochs = 3\nlr = 0.5'],
      [['step:train'], "print(f'{epochs} {lr} {batch}')"],
      [['pipeline-metrics'], 'print(lr)']
    );
    const main = nb(
      'main.ipynb',
      [['pipeline-parameters'], 'epochs = 7\nbatch = 32\nunused = 1'],
      [['notebook:child'], '', 'child.ipynb']
    );
    const a = analyze(main, { 'child.ipynb': child });
    expect(errors(a)).toEqual([]);
    const sub = a.subPipelines.child;
    expect(sub.passed).toEqual(['batch', 'epochs']);
    expect(sub.parameters).toEqual({
      epochs: { type: 'int', value: 7 },
      lr: { type: 'float', value: 0.5 },
      batch: { type: 'int', value: 32 }
    });
    const train = runnableSteps(a, main).find(r => r.name === 'child.train')!;
    expect(train.runParameters).toEqual(['batch', 'epochs']);
    expect(train.metrics).toEqual(['lr']);
    expect(train.sources).toEqual({});
  });

  it("gives the child's steps the parent's imports and functions, as running the parent's kernel would", () => {
    const child = nb('child.ipynb', [['step:use'], 'root = math.sqrt(area(4))']);
    const main = nb(
      'main.ipynb',
      [['imports'], 'import math'],
      [['functions'], 'def area(side):\n    return side * side'],
      [['notebook:child'], '', 'child.ipynb']
    );
    const a = analyze(main, { 'child.ipynb': child });
    expect(errors(a)).toEqual([]);
    const use = runnableSteps(a, main).find(r => r.name === 'child.use')!;
    expect(use.outerPrelude.map(p => p.source)).toEqual([
      'import math',
      'def area(side):\n    return side * side'
    ]);
    expect(use.sources).toEqual({});
  });

  it('runs nested notebooks (Kale refuses them), passing data through every level', () => {
    const leaf = nb('leaf.ipynb', [['step:make'], 'base = [1, 2, 3]']);
    const middle = nb(
      'middle.ipynb',
      [['notebook:leaf'], '', 'lib/leaf.ipynb'],
      [['step:grow'], 'dataset = base * factor']
    );
    const main = nb(
      'main.ipynb',
      [['pipeline-parameters'], 'factor = 2'],
      [['notebook:middle'], '', 'middle.ipynb'],
      [['step:show'], 'print(dataset, base)']
    );
    const a = analyze(main, { 'middle.ipynb': middle, 'lib/leaf.ipynb': leaf });
    expect(errors(a)).toEqual([]);
    const runnable = runnableSteps(a, main);
    expect(runnable.map(r => [r.name, r.deps, r.outs])).toEqual([
      ['middle.leaf.make', [], ['base']],
      ['middle.grow', ['middle.leaf.make'], ['dataset']],
      ['show', ['middle.grow'], []]
    ]);
    expect(runnable.find(r => r.name === 'show')!.sources).toEqual({
      base: 'middle.leaf.make',
      dataset: 'middle.grow'
    });
    expect(runnable.find(r => r.name === 'middle.grow')!.runParameters).toEqual(['factor']);
    expect(runnable[0].scope).toEqual(['middle', 'middle.leaf']);
  });
});

describe('what a notebook: step refuses', () => {
  it('refuses a cycle of references with an error naming the notebooks and the cell', () => {
    const a1 = nb('a.ipynb', [['step:x'], 'v = 1'], [['notebook:b'], '', 'b.ipynb']);
    const b = nb('b.ipynb', [['notebook:a'], '', 'a.ipynb'], [['step:y'], 'w = 2']);
    const a = analyze(a1, { 'b.ipynb': b }, 'a.ipynb');
    const cycle = a.diagnostics.find(d => d.code === 'notebook-cycle')!;
    expect(cycle).toMatchObject({ severity: 'error', cell: 1, step: 'b' });
    expect(cycle.message).toContain('a.ipynb → b.ipynb → a.ipynb');
    expect(cycle.message).toContain('In b.ipynb, cell 1');
  });

  it('refuses a notebook that runs itself', () => {
    const self = nb('self.ipynb', [['notebook:me'], '', './self.ipynb']);
    const a = analyze(self, {}, 'self.ipynb');
    expect(a.diagnostics.find(d => d.code === 'notebook-cycle')).toMatchObject({ cell: 0 });
  });

  it('reports a missing or unreadable notebook, and a missing notebook_path, at the cell', () => {
    const main = nb(
      'main.ipynb',
      [['step:a'], 'x = 1'],
      [['notebook:gone'], '', 'gone.ipynb'],
      [['notebook:nopath'], '']
    );
    const a = analyze(main, { 'gone.ipynb': 'gone.ipynb: cannot read the notebook: no such file' });
    expect(codes(a)).toEqual(
      expect.arrayContaining(['error:notebook-unreadable@1', 'error:notebook-path-missing@2'])
    );
    expect(a.diagnostics.find(d => d.code === 'notebook-unreadable')!.message).toContain('no such file');
  });

  it("shows the child's errors at the notebook cell, with the child's cell and line", () => {
    const broken = nb(
      'broken.ipynb',
      [['step:a'], 'x = 1'],
      [['step:b'], 'y = x +'],
      [['prev:nowhere'], 'z = 1']
    );
    const a = analyze(nb('main.ipynb', [['notebook:broken'], '', 'broken.ipynb']), {
      'broken.ipynb': broken
    });
    const lifted = errors(a).filter(d => d.cell === 0);
    expect(lifted.map(d => d.code)).toEqual(expect.arrayContaining(['syntax-error', 'prev-without-step']));
    expect(lifted.find(d => d.code === 'syntax-error')!.message).toMatch(
      /^In broken\.ipynb, cell 2, line 1: /
    );
  });

  it('says which step of the child reads a name the parent does not define', () => {
    const a = analyze(nb('main.ipynb', [['notebook:consumer'], '', 'consumer.ipynb']), {
      'consumer.ipynb': consumer
    });
    const undefinedName = errors(a).find(d => d.code === 'undefined-name')!;
    expect(undefinedName).toMatchObject({ cell: 0, name: 'dataset' });
    expect(undefinedName.message).toContain('Read by step consume of consumer.ipynb, cell 1, line 1');
  });

  it('refuses code in a notebook: cell but not comments, and untagged code with no step below to join', () => {
    const sub = nb('sub.ipynb', [['step:work'], 'result = 42']);
    const a = analyze(
      nb(
        'main.ipynb',
        [['notebook:sub'], '# runs sub.ipynb\n', 'sub.ipynb'],
        [['notebook:sub2'], 'important = 42', 'sub.ipynb'],
        [[], 'y = 2']
      ),
      { 'sub.ipynb': sub }
    );
    expect(codes(a)).toEqual(expect.arrayContaining(['error:notebook-cell-code@1', 'error:orphan-cell@2']));
    expect(codes(a)).not.toContain('error:notebook-cell-code@0');
  });

  it('gives an untagged cell below a notebook: cell to the next step (as Kale does)', () => {
    const a = analyze(
      nb(
        'main.ipynb',
        [['step:first'], 'x = 1'],
        [['notebook:sub'], '', 'sub.ipynb'],
        [[], 'note = "held"'],
        [['step:second'], 'print(note)']
      ),
      { 'sub.ipynb': nb('sub.ipynb', [['step:work'], 'result = 42']) }
    );
    expect(errors(a)).toEqual([]);
    expect(step(a, 'first').cells).toEqual([0]);
    expect(step(a, 'second').cells).toEqual([2, 3]);
  });

  it('refuses a step above the notebook whose output it reads', () => {
    const a = analyze(
      nb('main.ipynb', [['step:use'], 'y = result + 1'], [['notebook:sub'], '', 'sub.ipynb']),
      { 'sub.ipynb': nb('sub.ipynb', [['step:work'], 'result = 42']) }
    );
    expect(errors(a).find(d => d.name === 'result')).toMatchObject({ code: 'undefined-name', cell: 0 });
  });

  it('takes the last writer above when two notebooks define a name (Kale refuses)', () => {
    const a = analyze(
      nb(
        'main.ipynb',
        [['notebook:one'], '', 'one.ipynb'],
        [['notebook:two'], '', 'two.ipynb'],
        [['notebook:use'], '', 'use.ipynb']
      ),
      {
        'one.ipynb': nb('one.ipynb', [['step:a'], 'dataset = [1]']),
        'two.ipynb': nb('two.ipynb', [['step:b'], 'dataset = [2]']),
        'use.ipynb': nb('use.ipynb', [['step:c'], 'print(len(dataset))'])
      }
    );
    expect(errors(a)).toEqual([]);
    expect(step(a, 'use')).toMatchObject({ sources: { dataset: 'two' }, deps: ['two'] });
  });

  it('warns when the notebook and a notebook it runs record a metric of the same name', () => {
    const child = nb('child.ipynb', [['step:fit'], 'score = 1'], [['pipeline-metrics'], 'print(score)']);
    const clash = analyze(
      nb(
        'main.ipynb',
        [['notebook:child'], '', 'child.ipynb'],
        [['step:own'], 'score = 2'],
        [['pipeline-metrics'], 'print(score)']
      ),
      { 'child.ipynb': child }
    );
    expect(clash.diagnostics.find(d => d.code === 'duplicate-metric')).toMatchObject({
      severity: 'warning',
      cell: 0,
      name: 'score'
    });
    // Recording the child's own value again is no clash: the same step records it.
    const same = analyze(
      nb('main.ipynb', [['notebook:child'], '', 'child.ipynb'], [['pipeline-metrics'], 'print(score)']),
      { 'child.ipynb': child }
    );
    expect(same.diagnostics.map(d => d.code)).not.toContain('duplicate-metric');
  });

  it('names a notebook: step after its file when the tag has no name', () => {
    const a = analyze(nb('main.ipynb', [['notebook:'], '', 'lib/Train-Model.ipynb']), {
      'lib/train-model.ipynb': 'no',
      'lib/Train-Model.ipynb': nb('Train-Model.ipynb', [['step:fit'], 'm = 1'])
    });
    expect(a.steps.map(s => s.name)).toEqual(['train_model']);
  });
});
