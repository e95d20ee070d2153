/**
 * The live pipeline on JupyterLab's real notebook model: edits re-analyse after a pause, tag edits
 * keep the user's tags and are undone by the notebook's undo, settings land in the notebook metadata.
 */
import type { YBaseCell } from '@jupyter/ydoc';
import type * as nbformat from '@jupyterlab/nbformat';
import { NotebookModel } from '@jupyterlab/notebook';
import { PythonAnalyser } from '../../core/analysis';
import { locateWasmNode } from '../../../server-proxy/src/wasm-node';
import type { Contents } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import { PipelineModel } from '../pipeline-model';
import { ReferencedNotebooks } from '../referenced-notebooks';

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

  it('reads the notebooks its notebook: cells run, analyses again when they arrive and when they are saved', async () => {
    // The contents API's answers, as a folder of notebooks kept in memory.
    const files: Record<string, unknown> = {
      'dir/child.ipynb': {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: [{ cell_type: 'code', metadata: { tags: ['step:fit'] }, source: 'model = 1', outputs: [] }]
      }
    };
    const reads: string[] = [];
    const fileChanged = new Signal<Contents.IManager, Contents.IChangedArgs>({} as Contents.IManager);
    const contents = {
      fileChanged,
      get: async (path: string) => {
        reads.push(path);
        if (!(path in files)) {
          throw Object.assign(new Error('Not Found'), { response: { status: 404 } });
        }
        return { name: path.split('/').pop(), path, content: files[path] } as Contents.IModel;
      }
    };
    const references = new ReferencedNotebooks(contents, '/srv/jupyter');
    const model = notebook([
      { source: '', tags: ['notebook:train'] },
      { source: 'print(model)', tags: ['step:show'] },
      { source: '', tags: ['notebook:gone'] },
      { source: '', tags: ['notebook:far'] }
    ]);
    model.sharedModel.cells[0].setMetadata('notebook_path', 'child.ipynb');
    model.sharedModel.cells[2].setMetadata('notebook_path', 'missing.ipynb');
    model.sharedModel.cells[3].setMetadata('notebook_path', '/etc/elsewhere.ipynb');
    const pipeline = new PipelineModel({
      model,
      name: () => 'main.ipynb',
      path: () => 'dir/main.ipynb',
      references,
      analyser,
      debounce: 0
    });
    await changed(pipeline);
    // Not read yet: the analysis says so, and runs again once the notebooks arrive.
    const codes = () => pipeline.analysis!.diagnostics.map(d => `${d.code}@${d.cell}`);
    if (codes().includes('notebook-loading@0')) {
      await changed(pipeline);
    }
    expect(pipeline.analysis!.subPipelines.train.analysis.steps.map(s => s.name)).toEqual(['fit']);
    expect(pipeline.analysis!.steps.find(s => s.name === 'show')!.sources).toEqual({ model: 'train' });
    expect(codes()).toEqual(expect.arrayContaining(['notebook-unreadable@2', 'notebook-unreadable@3']));
    expect(pipeline.analysis!.diagnostics.find(d => d.cell === 3)!.message).toContain(
      'outside the Jupyter root'
    );
    expect(reads.sort()).toEqual(['dir/child.ipynb', 'dir/missing.ipynb']);

    // Saved with another step: read again, analysed again.
    (files['dir/child.ipynb'] as { cells: Array<{ metadata: { tags: string[] } }> }).cells[0].metadata.tags =
      ['step:train_model'];
    fileChanged.emit({ type: 'save', oldValue: null, newValue: { path: 'dir/child.ipynb' } });
    await changed(pipeline);
    if (codes().includes('notebook-loading@0')) {
      await changed(pipeline);
    }
    expect(pipeline.analysis!.subPipelines.train.analysis.steps.map(s => s.name)).toEqual(['train_model']);
    pipeline.dispose();
    references.dispose();
  });
});
