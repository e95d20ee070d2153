/**
 * The graph view rendered to static markup in Node (no DOM: effects, pan and
 * zoom do not run): what it draws for a layout, run states and a selection.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { PythonAnalyser } from '../../core/analysis';
import type { NotebookData } from '../../core/notebook/model';
import { analyzeNotebook } from '../../core/pipeline';
import { locateWasmNode } from '../../../server-proxy/src/wasm-node';
import { GraphLayout, layoutPipeline } from '../layout';
import { formatDuration, PipelineGraph, PipelineGraphProps } from '../view';

const format = (text: string, args: unknown[]) =>
  text.replace(/%(\d+)/g, (_, i) => String(args[Number(i) - 1]));
const trans = {
  __: (text: string, ...args: unknown[]) => format(text, args),
  _n: (one: string, many: string, n: number, ...args: unknown[]) => format(n === 1 ? one : many, [n, ...args])
} as unknown as TranslationBundle;

let analyser: PythonAnalyser;
let layout: GraphLayout;
beforeAll(async () => {
  analyser = await PythonAnalyser.create(locateWasmNode);
  const nb: NotebookData = {
    metadata: {},
    cells: [
      [['pipeline-parameters'], 'seed = 1'],
      [['step:load'], 'a = seed\nb = 2\nc = 3\nd = 4\ne = 5'],
      [['step:fit', 'prev:load'], 'model = a + b + c + d + e'],
      [['step:score', 'prev:fit'], 'score = model + a'],
      [['step:report'], 'print(score)'],
      [['pipeline-metrics'], 'print(score)']
    ].map(([tags, source], index) => ({
      index,
      type: 'code',
      tags: tags as string[],
      source: source as string
    }))
  };
  layout = layoutPipeline(analyzeNotebook(nb, analyser));
});

const render = (props: Partial<PipelineGraphProps> = {}) =>
  renderToStaticMarkup(<PipelineGraph layout={layout} trans={trans} {...props} />);

/** The opening tag of the element whose attribute `attr` is `value`. */
function tag(html: string, attr: string, value: string): string {
  const at = html.indexOf(`${attr}="${value}"`);
  expect(at).toBeGreaterThanOrEqual(0);
  return html.slice(html.lastIndexOf('<', at), html.indexOf('>', at) + 1);
}

describe('PipelineGraph', () => {
  it('draws a node per step with its run state and duration', () => {
    const html = render({
      states: { load: { state: 'succeeded', seconds: 1.234 }, fit: { state: 'running', seconds: 75 } }
    });
    expect(html.match(/class="jp-cellpipe-Graph-node"/g)).toHaveLength(4);
    expect(tag(html, 'data-step', 'load')).toContain('data-state="succeeded"');
    expect(tag(html, 'data-step', 'fit')).toContain('data-state="running"');
    expect(tag(html, 'data-step', 'score')).toContain('data-state="idle"');
    expect(html).toContain('>0 in · 5 out</text>');
    expect(html).toContain('>5 in · 1 out</text>');
    expect(html).toMatch(/class="jp-cellpipe-Graph-nodeRun"[^>]*>1\.2 s</);
    expect(html).toMatch(/class="jp-cellpipe-Graph-nodeRun"[^>]*>1m 15s</);
    // The state in words is in the tooltip.
    expect(html).toContain('running · 1m 15s');
    // A state without a duration is shown in words.
    expect(render({ states: { load: { state: 'queued' } } })).toMatch(/nodeRun"[^>]*>queued</);
  });

  it('labels edges with their variables, "+N" when many, and dashes suggested edges', () => {
    const html = render();
    expect(tag(html, 'data-to', 'fit')).toContain('data-kind="declared"');
    expect(html).toContain('>a, b, c +2</text>');
    expect(html).toContain('load → fit: a, b, c, d, e');
    expect(tag(html, 'data-to', 'report')).toContain('data-kind="suggested"');
    expect(html).toContain('Suggested: add prev:score to step report (it reads score)');
    expect(html).toMatch(/marker-end="url\(#jp-cellpipe-Graph-arrow[\w-]*-suggested\)"/);
  });

  it('marks diagnostics on the node with a counted badge listing the messages', () => {
    const html = render();
    const report = html.slice(html.indexOf('data-step="report"'));
    expect(report).toMatch(/class="jp-cellpipe-Graph-badge" data-kind="error"/);
    expect(report).toMatch(/<title>Error: [^<]*score[^<]*\(cell 5, line 1\)/);
    expect(tag(html, 'data-step', 'report')).toContain('data-diagnostics="error"');
    expect(tag(html, 'data-step', 'load')).not.toContain('data-diagnostics');
  });

  it('shows parameters and metrics on the nodes and in the legend', () => {
    const html = render();
    expect(html).toContain('uses seed');
    expect(html).toContain('records score');
    expect(html).toMatch(/Parameters<\/span> seed = 1/);
    expect(html).toMatch(/Metrics<\/span> score/);
  });

  it('marks the selected node and draws its indirect edges', () => {
    const indirectEdge = 'class="jp-cellpipe-Graph-edge" data-kind="indirect"';
    expect(render()).not.toContain(indirectEdge);
    const html = render({ selected: 'score' });
    expect(tag(html, 'data-step', 'score')).toContain('data-selected="true"');
    expect(tag(html, 'data-step', 'score')).toContain('aria-pressed="true"');
    expect(tag(html, 'data-step', 'load')).toContain('aria-pressed="false"');
    // score loads a from load, which is upstream through fit.
    expect(html).toContain('score loads a from load');
    expect(html).toContain(`${indirectEdge} data-active="true" data-from="load" data-to="score"`);
    expect(tag(html, 'data-to', 'score')).toContain('data-active="true"');
  });

  it('says so when there are no steps', () => {
    const empty: GraphLayout = {
      width: 0,
      height: 0,
      nodes: [],
      groups: [],
      edges: [],
      indirect: [],
      parameters: [],
      metrics: []
    };
    const html = renderToStaticMarkup(<PipelineGraph layout={empty} trans={trans} />);
    expect(html).toContain('No steps yet');
    expect(html).not.toContain('jp-cellpipe-Graph-legend');
  });
});

describe('a composition', () => {
  it('draws a notebook step as a box around its steps, its state summing theirs', () => {
    const child: NotebookData = {
      name: 'child.ipynb',
      metadata: {},
      cells: [
        { index: 0, type: 'code', tags: ['step:fit'], source: 'model = data * 2' },
        { index: 1, type: 'code', tags: ['step:check', 'prev:fit'], source: 'ok = model > 0' }
      ]
    };
    const main: NotebookData = {
      name: 'main.ipynb',
      metadata: {},
      cells: [
        { index: 0, type: 'code', tags: ['step:load'], source: 'data = 3' },
        { index: 1, type: 'code', tags: ['notebook:train'], source: '', notebookPath: 'child.ipynb' },
        { index: 2, type: 'code', tags: ['step:report'], source: 'print(ok)' }
      ]
    };
    const resolver = {
      get: (path: string) => (path === 'child.ipynb' ? { notebook: child } : { error: 'no' })
    };
    const composed = layoutPipeline(analyzeNotebook(main, analyser, { path: 'main.ipynb', resolver }));
    const html = renderToStaticMarkup(
      <PipelineGraph
        layout={composed}
        trans={trans}
        selected="train"
        states={{
          load: { state: 'succeeded' },
          'train.fit': { state: 'succeeded' },
          'train.check': { state: 'running' }
        }}
      />
    );
    const group = tag(html, 'data-step', 'train');
    expect(group).toContain('class="jp-cellpipe-Graph-group"');
    expect(group).toContain('data-state="running"');
    expect(group).toContain('data-selected="true"');
    expect(html).toContain('train · child.ipynb');
    expect(tag(html, 'data-step', 'train.fit')).toContain('jp-cellpipe-Graph-node');
    expect(html).toContain('Cell 1 of child.ipynb');
    // The box comes first: drawn under the edges and the nodes.
    expect(html.indexOf('jp-cellpipe-Graph-groups')).toBeLessThan(html.indexOf('jp-cellpipe-Graph-nodes'));
  });
});

describe('formatDuration', () => {
  it('reads like a person writes it', () => {
    expect(formatDuration(0.04, trans)).toBe('0.0 s');
    expect(formatDuration(3.26, trans)).toBe('3.3 s');
    expect(formatDuration(9.97, trans)).toBe('10 s');
    expect(formatDuration(42.4, trans)).toBe('42 s');
    expect(formatDuration(59.7, trans)).toBe('1m 0s');
    expect(formatDuration(125, trans)).toBe('2m 5s');
    expect(formatDuration(3 * 3600 + 7 * 60 + 5, trans)).toBe('3h 7m');
  });
});
