/**
 * One notebook's pipeline on JupyterLab's real NotebookPanel: the run rules (refusals said before the
 * server is asked, and said again or dropped as the notebook changes), a server error dropped when the
 * target changes, a step's cells selected from its first cell, a problem's line and name selected in
 * the editor; and the tracker: the current pipeline, and only the notebooks being looked at re-analysed.
 */
import type { Diagnostic } from '../../core/diagnostics';
import {
  nodeAnalyser,
  openPipeline,
  startTestServer,
  TestCell,
  TestServer,
  until
} from '../../__tests__/frontend-harness';
import { PipelineTracker } from '../tracker';
import { nullTranslator } from '@jupyterlab/translation';

jest.setTimeout(60000);

const CELLS: TestCell[] = [
  ['markdown', '# A pipeline'],
  [['pipeline-parameters'], 'n = 3'],
  [['step:make'], 'xs = list(range(n))'],
  [[], 'xs.append(0)'],
  [['step:total'], 'total = sum(xs)']
];

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('NotebookPipeline', () => {
  it('refuses a run with error diagnostics before asking the server, and drops the refusal once fixed', async () => {
    const path = server.notebook('refused.ipynb', CELLS);
    const pipeline = await openPipeline(CELLS, { path });
    expect(pipeline.refusal()).toMatch(
      /^The pipeline has 1 error; fix it first: refused\.ipynb, cell \d+, line 1: error \[[a-z-]+\] Step total reads "xs"/
    );
    await pipeline.run();
    expect([pipeline.runs.errorKind, pipeline.runs.runs]).toEqual(['refused', []]);
    // The one-click fix: the refusal goes with the error it was about.
    pipeline.pipeline.applySuggestion(pipeline.pipeline.analysis!.suggestions[0]);
    await until(() => pipeline.runs.error === null, 5000, 'the refusal to go');
    expect(pipeline.refusal()).toBeNull();
    // On a cluster only the whole pipeline runs.
    pipeline.pipeline.setPipelineSettings({ target: 'argo' });
    pipeline.pipeline.refresh();
    expect(pipeline.refusal({ mode: 'one', step: 'make' })).toBe(
      'On a cluster the whole pipeline runs: run every step, or set the target to local.'
    );
    pipeline.dispose();
  });

  it('drops a server error when the target it was about changes', async () => {
    const path = server.notebook('target.ipynb', CELLS);
    const cells: TestCell[] = [...CELLS.slice(0, 4), [['step:total', 'prev:make'], 'total = sum(xs)']];
    const pipeline = await openPipeline(cells, {
      path,
      metadata: { cellpipe: { target: 'kfp', namespace: 'team' } }
    });
    await pipeline.run();
    // No endpoint and not in a cluster: the server says what to set.
    expect(pipeline.runs.errorKind).toBe('server');
    expect(pipeline.runs.error).toMatch(/No Kubeflow Pipelines endpoint/);
    pipeline.pipeline.setPipelineSettings({ target: 'local' });
    await until(() => pipeline.runs.error === null, 5000, 'the error to go');
    pipeline.dispose();
  });

  it('selects a step from its first cell, and goes to a problem’s line with its name selected', async () => {
    const pipeline = await openPipeline(CELLS);
    const notebook = pipeline.panel.content;
    pipeline.revealStep('make');
    expect(notebook.activeCellIndex).toBe(2);
    expect(notebook.widgets.map(c => notebook.isSelectedOrActive(c))).toEqual([
      false,
      false,
      true,
      true,
      false
    ]);
    const problem = pipeline.pipeline.analysis!.diagnostics.find(
      d => d.code === 'missing-upstream'
    ) as Diagnostic;
    await pipeline.revealDiagnostic(problem);
    expect([notebook.activeCellIndex, notebook.mode]).toEqual([4, 'edit']);
    const editor = notebook.activeCell!.editor!;
    const { start, end } = editor.getSelection();
    expect(editor.getLine(start.line)!.slice(start.column, end.column)).toBe('xs');
    expect(start.line + 1).toBe(problem.line);
    pipeline.dispose();
  });
});

describe('PipelineModel', () => {
  it('emits only when the analysis changed, and analyses only while the notebook is looked at', async () => {
    const pipeline = await openPipeline(CELLS);
    const model = pipeline.pipeline;
    let emitted = 0;
    model.changed.connect(() => emitted++);
    const cells = pipeline.panel.context.model.sharedModel.cells;
    // A markdown edit, and a code edit that reads and writes the same: the same pipeline.
    cells[0].setSource('# The pipeline');
    cells[2].setSource('xs = list(range(n))  # the numbers');
    await new Promise(resolve => setTimeout(resolve, 400));
    expect(emitted).toBe(0);
    cells[4].setSource('total = sum(xs) + n');
    await until(() => emitted === 1, 5000, 'one emission');
    expect(model.analysis!.steps.find(s => s.name === 'total')!.parameters).toEqual(['n']);

    model.active = false;
    cells[4].setSource('total = sum(xs)');
    await new Promise(resolve => setTimeout(resolve, 400));
    expect([emitted, model.analysis!.steps[1].parameters]).toEqual([1, ['n']]);
    model.active = true;
    await until(() => emitted === 2, 5000, 'the analysis once looked at');
    expect(model.analysis!.steps[1].parameters).toEqual([]);
    pipeline.dispose();
  });
});

describe('PipelineTracker', () => {
  it('knows the current pipeline and finds pipelines by path, as IPipelineTracker promises', async () => {
    const tracker = new PipelineTracker(nullTranslator.load('cellpipe'), () => undefined, nodeAnalyser);
    const first = await openPipeline(CELLS);
    const added: string[] = [];
    tracker.pipelineAdded.connect((_, p) => added.push(p.path));
    const changes: Array<string | null> = [];
    tracker.currentChanged.connect((_, p) => changes.push(p?.path ?? null));
    const pipeline = tracker.add(first.panel);
    expect(tracker.add(first.panel)).toBe(pipeline);
    expect(added).toEqual([first.panel.context.path]);
    tracker.setCurrent(pipeline);
    expect(tracker.current).toBe(pipeline);
    expect(tracker.find(first.panel.context.path)).toBe(pipeline);
    expect(tracker.find('elsewhere.ipynb')).toBeNull();
    first.panel.dispose();
    expect(changes).toEqual([first.panel.context.path, null]);
    expect(tracker.current).toBeNull();
  });
});
