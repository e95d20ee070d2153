/**
 * The live pipeline on JupyterLab's real notebook model: edits re-analyse after a pause, tag edits
 * keep the user's tags and are undone by the notebook's undo, settings land in the notebook metadata.
 */
import type { YBaseCell } from '@jupyter/ydoc';
import type * as nbformat from '@jupyterlab/nbformat';
import { NotebookModel } from '@jupyterlab/notebook';
import { PythonAnalyser } from '../../core/analysis';
import { locateWasmNode } from '../../../server-proxy/src/wasm-node';
import { PipelineModel } from '../pipeline-model';

let analyser: Promise<PythonAnalyser>;
beforeAll(() => {
  analyser = PythonAnalyser.create(locateWasmNode);
});

function notebook(cells: Array<{ source: string; tags?: string[] }>): NotebookModel {
  const model = new NotebookModel();
  model.sharedModel.insertCells(
    0,
    cells.map(c => ({ cell_type: 'code', source: c.source, metadata: c.tags ? { tags: c.tags } : {} }))
  );
  return model;
}

const changed = (pipeline: PipelineModel) =>
  new Promise<void>(resolve => pipeline.changed.connect(() => resolve()));

describe('PipelineModel', () => {
  it('analyses the live notebook and again after an edit, once the typing pauses', async () => {
    const model = notebook([
      { source: 'xs = [1, 2]', tags: ['step:load'] },
      { source: 'total = sum(xs)', tags: ['step:total', 'prev:load'] }
    ]);
    const pipeline = new PipelineModel({ model, name: () => 'a.ipynb', analyser, debounce: 20 });
    await changed(pipeline);
    expect(pipeline.analysis!.steps.map(s => [s.name, s.ins, s.outs])).toEqual([
      ['load', [], ['xs']],
      ['total', ['xs'], []]
    ]);

    let analyses = 0;
    pipeline.changed.connect(() => analyses++);
    const cell = model.sharedModel.cells[1];
    for (const text of ['total = sum(xs) + y', 'total = sum(xs) + ys', 'total = sum(xs) + len(xs)']) {
      cell.setSource(text);
    }
    expect(analyses).toBe(0); // nothing runs while the user is typing
    await changed(pipeline);
    expect(analyses).toBe(1); // three edits, one analysis
    expect(pipeline.analysis!.diagnostics.filter(d => d.severity === 'error')).toEqual([]);
    pipeline.dispose();
  });

  it('tags a cell as a step keeping the user’s own tags, and the cell’s undo takes it back', async () => {
    const model = notebook([{ source: 'a = 1', tags: ['mine'] }, { source: 'b = a' }]);
    const pipeline = new PipelineModel({ model, name: () => 'a.ipynb', analyser, debounce: 0 });
    await changed(pipeline);
    pipeline.setRole(0, { kind: 'step', name: 'first', prev: [], limits: {}, annotations: {}, labels: {} });
    pipeline.setRole(1, { kind: 'step', name: 'second', prev: [], limits: {}, annotations: {}, labels: {} });
    expect(model.sharedModel.cells[0].getMetadata('tags')).toEqual(['step:first', 'mine']);
    await changed(pipeline);
    const [suggestion] = pipeline.analysis!.suggestions;
    expect(suggestion).toMatchObject({ from: 'first', to: 'second', names: ['a'] });
    // Edits within half a second are one undo step, as typing is; this one comes later.
    const second = model.sharedModel.cells[1] as YBaseCell<nbformat.IBaseCellMetadata>;
    second.undoManager!.stopCapturing();
    pipeline.applySuggestion(suggestion);
    expect(second.getMetadata('tags')).toEqual(['step:second', 'prev:first']);

    // Tags are cell metadata: JupyterLab undoes them with the cell's own history (Ctrl+Z in the cell).
    second.undo();
    expect(second.getMetadata('tags')).toEqual(['step:second']);
    pipeline.dispose();
  });

  it('writes step and pipeline settings to the notebook metadata, carrying over Kale’s settings', async () => {
    const model = notebook([{ source: 'a = 1', tags: ['step:one'] }]);
    model.sharedModel.setMetadata('kubeflow_notebook', { pipeline_name: 'from-kale', docker_image: 'img:1' });
    const pipeline = new PipelineModel({ model, name: () => 'a.ipynb', analyser, debounce: 0 });
    await changed(pipeline);
    pipeline.setStepSettings('one', { memory: { request: '2Gx' } });
    await changed(pipeline);
    expect(model.sharedModel.getMetadata('cellpipe')).toMatchObject({
      name: 'from-kale',
      image: 'img:1',
      steps: { one: { memory: { request: '2Gx' } } }
    });
    expect(pipeline.analysis!.diagnostics.map(d => d.code)).toContain('invalid-setting');
    pipeline.setPipelineSettings({ target: 'argo' });
    await changed(pipeline);
    expect(pipeline.analysis!.pipeline).toMatchObject({ name: 'from-kale', target: 'argo' });
    pipeline.dispose();
  });

  it('is enabled by cellpipe or Kale settings or a pipeline tag, and enabling names the pipeline', async () => {
    const model = notebook([{ source: 'a = 1', tags: ['mine'] }]);
    const pipeline = new PipelineModel({ model, name: () => 'sales report.ipynb', analyser, debounce: 0 });
    await changed(pipeline);
    expect(pipeline.enabled).toBe(false);
    pipeline.enable();
    await changed(pipeline);
    expect(pipeline.enabled).toBe(true);
    expect(model.sharedModel.getMetadata('cellpipe')).toEqual({ name: pipeline.analysis!.pipeline.name });
    expect(pipeline.analysis!.pipeline.name).toMatch(/^sales-report/);

    const tagged = notebook([{ source: 'a = 1', tags: ['imports'] }]);
    const other = new PipelineModel({ model: tagged, name: () => 'b.ipynb', analyser, debounce: 0 });
    await changed(other);
    expect(other.enabled).toBe(true);
    pipeline.dispose();
    other.dispose();
  });
});
