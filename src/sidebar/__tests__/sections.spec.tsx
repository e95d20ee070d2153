/**
 * The sidebar's sections rendered by React in the DOM, on a real NotebookPanel and the real server:
 * the step name checked as typed (nothing written until valid), a step's inputs with the parameters it
 * reads and its outputs with their readers and metrics, no step to run from a cell of none, problems
 * that go to their line, the cluster fields of each target checked as typed, and the runs numbered in
 * the list and the chart alike.
 */
import * as React from 'react';
import { createRoot, Root } from 'react-dom/client';
import { act } from 'react-dom/test-utils';
import { nullTranslator } from '@jupyterlab/translation';
import type { NotebookPipeline } from '../../pipeline/notebook-pipeline';
import { CellRoleSection } from '../cell-role-section';
import { ClusterModel } from '../cluster-model';
import { DiagnosticsSection } from '../diagnostics-section';
import { PipelineSection } from '../pipeline-section';
import { RunSection } from '../run-section';
import { RunsSection } from '../runs-section';
import { StepSection } from '../step-section';
import { openPipeline, startTestServer, TestCell, TestServer, until } from '../../__tests__/frontend-harness';

jest.setTimeout(120000);
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const trans = nullTranslator.load('cellpipe');

const CELLS: TestCell[] = [
  ['markdown', '# Numbers'],
  [['pipeline-parameters'], 'n = 3\nscale = 2.0'],
  [['step:make'], 'xs = list(range(n))'],
  [['step:total', 'prev:make'], 'total = sum(xs) * scale\nprint(total)'],
  [['step:report', 'prev:total'], 'print(xs, total)'],
  [['pipeline-metrics'], 'total']
];

let server: TestServer;
let container: HTMLElement;
let root: Root;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());
beforeEach(() => {
  container = document.createElement('div');
  document.body.appendChild(container);
  root = createRoot(container);
});
afterEach(() => {
  act(() => root.unmount());
  container.remove();
});

/** Renders `view` again whenever the pipeline, its runs or `also` change, as the sidebar's UseSignal does. */
async function show(pipeline: NotebookPipeline, view: () => JSX.Element, also?: ClusterModel): Promise<void> {
  const render = () => act(() => root.render(view()));
  pipeline.pipeline.changed.connect(render);
  pipeline.runs.changed.connect(render);
  pipeline.compiler.changed.connect(render);
  also?.changed.connect(render);
  await act(async () => root.render(view()));
}

const $ = <T extends Element = HTMLElement>(selector: string) => container.querySelector<T>(selector);
const $$ = (selector: string) => Array.from(container.querySelectorAll<HTMLElement>(selector));

/** Types into a React input as a user does: the value, then an input event. */
async function type(input: HTMLInputElement, text: string): Promise<void> {
  await act(async () => {
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, text);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

async function press(input: HTMLElement, key: string): Promise<void> {
  await act(async () => {
    input.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
  });
}

async function choose(select: HTMLSelectElement, value: string): Promise<void> {
  await act(async () => {
    select.value = value;
    select.dispatchEvent(new Event('change', { bubbles: true }));
  });
}

describe('the sidebar sections', () => {
  it('refuse a bad step name as it is typed and write nothing until it is valid', async () => {
    const pipeline = await openPipeline(CELLS);
    await show(pipeline, () => <CellRoleSection session={pipeline} cell={4} trans={trans} />);
    const input = $<HTMLInputElement>('[data-field="step-name"] input')!;
    await type(input, 'Rebuild Report');
    expect($('[data-field="step-name"] .jp-cellpipe-Field-error')!.textContent).toContain(
      'e.g. rebuild_report'
    );
    await press(input, 'Enter');
    expect(pipeline.pipeline.roleOf(4)).toMatchObject({ name: 'report', prev: ['total'] });
    await type(input, 'rebuild_report');
    await press(input, 'Enter');
    expect(pipeline.pipeline.roleOf(4)).toMatchObject({ name: 'rebuild_report', prev: ['total'] });
    expect($('[data-field="step-name"] .jp-cellpipe-Field-error')).toBeNull();
    // Short role names, their meaning below.
    expect($$('[data-field="role"] option').map(o => o.textContent)).toEqual([
      'Not tagged',
      'Step',
      'Notebook',
      'Skip',
      'Imports',
      'Functions',
      'Parameters',
      'Metrics'
    ]);
    pipeline.dispose();
  });

  it('give a step’s inputs with the parameters it reads, its outputs with their readers and metrics', async () => {
    const pipeline = await openPipeline(CELLS);
    await show(pipeline, () => <StepSection session={pipeline} step="total" trans={trans} />);
    const items = (list: string) => $$(`[data-list="${list}"] li`).map(li => li.textContent);
    expect(items('ins')).toEqual(['xs ← make', 'scale parameter = 2.0']);
    expect(items('outs')).toEqual(['total → report', 'total metric of the run']);
    // Placeholders say what the default is, not a value.
    expect($<HTMLInputElement>('[data-field="gpu.count"] input')!.placeholder).toBe('none');
    expect($<HTMLInputElement>('[data-field="cpu.limit"] input')!.placeholder).toBe('e.g. 2');
    pipeline.dispose();
  });

  it('have no step to run from a cell of none, and go to a problem’s line', async () => {
    const pipeline = await openPipeline([
      [['step:make'], 'xs = [1]'],
      [['step:total'], 'total = sum(xs)']
    ]);
    await show(pipeline, () => (
      <>
        <RunSection session={pipeline} step={null} trans={trans} />
        <DiagnosticsSection session={pipeline} trans={trans} />
      </>
    ));
    expect($<HTMLButtonElement>('[data-action="run-step"]')!.disabled).toBe(true);
    expect($<HTMLButtonElement>('[data-action="run-from"]')!.disabled).toBe(true);
    expect($('.jp-cellpipe-Suggestion button')!.textContent).toBe('Add prev:make');
    await act(async () => $('[data-code="missing-upstream"] button')!.click());
    await until(() => pipeline.panel.content.mode === 'edit', 5000, 'the editor');
    expect(pipeline.panel.content.activeCellIndex).toBe(1);
    pipeline.dispose();
  });

  it('show each target’s cluster fields, checked as typed, with what the server found as defaults', async () => {
    const pipeline = await openPipeline(CELLS);
    const cluster = new ClusterModel();
    await show(
      pipeline,
      () => <PipelineSection session={pipeline} cluster={cluster} trans={trans} />,
      cluster
    );
    expect($('[data-field="endpoint"]')).toBeNull();
    await choose($<HTMLSelectElement>('[data-field="target"] select')!, 'argo');
    await until(
      () => $('[data-field="context"]') !== null && cluster.report !== null && !cluster.loading,
      10000,
      'the cluster report'
    );
    expect($('[data-field="endpoint"]')).toBeNull();
    // This test's server reaches no cluster: the connection says why.
    expect($('[data-field="context"] .jp-cellpipe-Field-error')!.textContent).toMatch(
      /kubeconfig|Kubernetes/
    );
    await choose($<HTMLSelectElement>('[data-field="target"] select')!, 'kfp');
    await until(() => $('[data-field="endpoint"]') !== null, 5000, 'the KFP fields');
    const endpoint = $<HTMLInputElement>('[data-field="endpoint"] input')!;
    expect(endpoint.placeholder).toBe('required, e.g. https://HOST/pipeline');
    await type(endpoint, 'kubeflow.example.com');
    expect($('[data-field="endpoint"] .jp-cellpipe-Field-error')!.textContent).toContain('is not an http://');
    await press(endpoint, 'Enter');
    expect(pipeline.pipeline.ownPipelineSettings().endpoint).toBeUndefined();
    await type(endpoint, 'https://kubeflow.example.com/pipeline');
    await press(endpoint, 'Enter');
    expect(pipeline.pipeline.ownPipelineSettings().endpoint).toBe('https://kubeflow.example.com/pipeline');
    const volumes = $<HTMLInputElement>('[data-field="volumes"] input')!;
    await type(volumes, 'home=relative/path');
    expect($('[data-field="volumes"] .jp-cellpipe-Field-error')!.textContent).toContain('must be absolute');
    await type(volumes, 'home=/home/jovyan');
    await press(volumes, 'Enter');
    await until(() => pipeline.pipeline.analysis!.pipeline.volumes.length === 1, 5000, 'the volumes');
    expect(pipeline.pipeline.analysis!.pipeline.volumes).toEqual([
      { name: 'home', mountPath: '/home/jovyan', type: 'snapshot' }
    ]);
    pipeline.dispose();
  });

  it('show the run’s lineage and what changed since the run before it', async () => {
    const path = server.notebook('lineage.ipynb', CELLS);
    const pipeline = await openPipeline(CELLS, { path });
    server.onEvent(event => pipeline.runs.handleEvent(event));
    await show(pipeline, () => <RunSection session={pipeline} step={null} trans={trans} />);
    for (const n of ['3', '4']) {
      const before = pipeline.runs.runs.length;
      pipeline.runs.setParameter('n', n);
      await pipeline.run();
      await until(
        () =>
          pipeline.runs.runs.length === before + 1 &&
          pipeline.runs.current?.status === 'succeeded' &&
          pipeline.runs.current.lineage?.steps.report?.inputs.xs?.hash !== undefined,
        90000,
        'the run and its lineage'
      );
    }
    const [latest, first] = pipeline.runs.runs;
    await until(() => $('.jp-cellpipe-Lineage summary') !== null, 5000, 'the lineage');
    expect($('.jp-cellpipe-Lineage summary')!.textContent).toBe(`Lineage: 4 changes since run ${first.id}`);
    const xs = (r: typeof latest) => r.lineage!.steps.total.inputs.xs.hash!.slice(7, 19);
    expect($$('.jp-cellpipe-Lineage-changes li').map(li => li.textContent)).toEqual([
      'parameters make: parameter n 3 → 4',
      `data total: input xs (from make) changed: ${xs(first)} → ${xs(latest)}`,
      expect.stringMatching(/^data report: input total \(from total\) changed: /),
      `data report: input xs (from make) changed: ${xs(first)} → ${xs(latest)}`
    ]);
    const lines = $('.jp-cellpipe-Lineage-lines')!.textContent!.split('\n');
    expect(lines).toContain('  parameter n = 4');
    expect(lines).toContain(`  input xs from make (${xs(latest)})`);
    pipeline.dispose();
  });

  it('number the runs alike in the list and the chart, newest first', async () => {
    const path = server.notebook('runs.ipynb', CELLS);
    const pipeline = await openPipeline(CELLS, { path });
    server.onEvent(event => pipeline.runs.handleEvent(event));
    await show(pipeline, () => <RunsSection session={pipeline} trans={trans} />);
    for (const n of ['3', '4']) {
      const before = pipeline.runs.runs.length;
      pipeline.runs.setParameter('n', n);
      await pipeline.run();
      await until(
        () =>
          pipeline.runs.runs.length === before + 1 &&
          pipeline.runs.current?.status === 'succeeded' &&
          'total' in pipeline.runs.current.metrics,
        90000,
        'the run'
      );
    }
    await until(() => $$('.jp-cellpipe-RunItem').length === 2, 5000, 'both runs listed');
    expect($$('.jp-cellpipe-RunItem-number').map(e => e.textContent)).toEqual(['#2', '#1']);
    expect($$('[data-metric="total"] .jp-cellpipe-RunItem-metricValue').map(e => e.textContent)).toEqual([
      '12',
      '6'
    ]);
    expect($$('.jp-cellpipe-RunItem-params').map(e => e.textContent)).toEqual([
      'n=4 · scale=2.0',
      'n=3 · scale=2.0'
    ]);
    const chart = $('.jp-cellpipe-MetricChart[data-metric="total"]')!;
    expect(chart.querySelector('figcaption')!.textContent).toBe('total by run (newest first)');
    expect(Array.from(chart.querySelectorAll('g[data-run] text')).map(t => t.textContent)).toEqual([
      '#2',
      '#1'
    ]);
    expect(Array.from(chart.querySelectorAll('g[data-run]')).map(g => g.getAttribute('data-run'))).toEqual(
      $$('.jp-cellpipe-RunItem').map(i => i.dataset.run)
    );
    // The scale's ends, on the left.
    expect(
      Array.from(chart.querySelectorAll('text.jp-cellpipe-MetricChart-tick'))
        .slice(0, 2)
        .map(t => t.textContent)
    ).toEqual(['12', '0']);
    pipeline.dispose();
  });
});
