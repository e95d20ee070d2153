/**
 * The step graph layout on real analyses: notebooks built from cells and the
 * pandas-sales example, analysed with tree-sitter, then laid out with dagre.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { PythonAnalyser } from '../../core/analysis';
import type { NotebookData } from '../../core/notebook/model';
import { readNotebook } from '../../core/notebook/read';
import { analyzeNotebook } from '../../core/pipeline';
import {
  edgeLabelText,
  edgePath,
  fitText,
  fitTransform,
  GraphLayout,
  layoutPipeline,
  textWidth,
  zoomAt
} from '../layout';
import { codeNotebook, createAnalyser } from '../../core/__tests__/support';

let analyser: PythonAnalyser;
beforeAll(async () => {
  analyser = await createAnalyser();
});

const analyze = (nb: NotebookData) => analyzeNotebook(nb, analyser);
const lay = (nb: NotebookData) => layoutPipeline(analyze(nb));
const node = (l: GraphLayout, step: string) => l.nodes.find(n => n.step === step)!;
const edges = (l: GraphLayout) => l.edges.map(e => `${e.from}->${e.to}:${e.kind}:${e.variables.join(',')}`);

/** A diamond-heavy notebook: `width` parallel branches per level, each reading the level above. */
function wide(levels: number, width: number): NotebookData {
  const cells: Array<[string[], string]> = [[['step:root'], 'x_root = 1']];
  let above = ['root'];
  for (let l = 0; l < levels; l++) {
    const here: string[] = [];
    for (let w = 0; w < width; w++) {
      const name = `level_${l}_branch_${w}`;
      const deps = above.filter((_, i) => i === w || i === (w + 1) % above.length);
      cells.push([
        [`step:${name}`, ...deps.map(d => `prev:${d}`)],
        `x_${name} = ${deps.map(d => `x_${d}`).join(' + ')}`
      ]);
      here.push(name);
    }
    above = here;
  }
  return codeNotebook(...cells);
}

function overlaps(a: { x: number; y: number; width: number; height: number }, b: typeof a): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function onBorder(p: { x: number; y: number }, n: { x: number; y: number; width: number; height: number }) {
  const near = (a: number, b: number) => Math.abs(a - b) < 1;
  const inX = p.x > n.x - 1 && p.x < n.x + n.width + 1;
  const inY = p.y > n.y - 1 && p.y < n.y + n.height + 1;
  return (
    (inX && (near(p.y, n.y) || near(p.y, n.y + n.height))) ||
    (inY && (near(p.x, n.x) || near(p.x, n.x + n.width)))
  );
}

describe('layoutPipeline', () => {
  it('puts the variables each step provides on the edges of the pandas-sales example', () => {
    const path = join(__dirname, '../../../examples/pandas-sales.ipynb');
    const a = analyze(readNotebook(JSON.parse(readFileSync(path, 'utf8')), 'pandas-sales.ipynb'));
    const l = layoutPipeline(a);
    expect(l.nodes.map(n => n.step)).toEqual(['generate', 'clean', 'summarise', 'report']);
    expect(edges(l)).toEqual([
      'generate->clean:declared:sales',
      'clean->summarise:declared:sales',
      'summarise->report:declared:by_region'
    ]);
    // report loads the cleaned frame straight from clean, which is upstream but not its prev:
    expect(l.indirect.map(e => `${e.from}->${e.to}:${e.kind}:${e.variables.join(',')}`)).toEqual([
      'clean->report:indirect:sales'
    ]);
    const [clean, report] = [node(l, 'clean'), node(l, 'report')];
    // A curve from the right side of clean to the right side of report, bowing out to the right of both.
    const [start, c1, c2, end] = l.indirect[0].points;
    expect(start).toEqual({ x: clean.x + clean.width, y: clean.y + clean.height / 2 });
    expect(end).toEqual({ x: report.x + report.width, y: report.y + report.height / 2 });
    expect(Math.min(c1.x, c2.x)).toBeGreaterThan(Math.max(start.x, end.x));
    const label = l.indirect[0].label!;
    expect(label.x).toBeGreaterThan(Math.max(start.x, end.x));
    expect(label.y + label.height / 2).toBeCloseTo((start.y + end.y) / 2, 0);
    expect(l.indirect[0].label).toMatchObject({ text: 'sales' });
    expect(l.edges.every(e => !e.suggested)).toBe(true);
    expect(l.edges.find(e => e.to === 'summarise')!.label).toMatchObject({ text: 'sales' });
    expect(node(l, 'generate')).toMatchObject({
      cells: [3],
      parameters: ['n_rows', 'regions'],
      outs: ['sales']
    });
    expect(node(l, 'report')).toMatchObject({
      ins: ['by_region', 'sales'],
      metrics: ['total_revenue', 'rows_kept']
    });
    expect(l.parameters).toEqual([
      { name: 'n_rows', type: 'int', value: '1000' },
      { name: 'regions', type: 'list', value: '["north","south","east","west"]' }
    ]);
    expect(l.nodes.every(n => n.diagnostics.errors === 0 && n.diagnostics.warnings === 0)).toBe(true);
  });

  it('adds the edges the data flow needs as suggested edges, and marks the diagnostics on the node', () => {
    const l = lay(
      codeNotebook(
        [['step:load'], 'data = [1, 2]\nlabels = ["a"]'],
        [['step:train'], 'model = len(data) + len(labels)'],
        [['step:score', 'prev:train'], 'print(model)']
      )
    );
    expect(edges(l)).toEqual(['train->score:declared:model', 'load->train:suggested:data,labels']);
    expect(l.edges[1]).toMatchObject({ suggested: true, label: { text: 'data, labels' } });
    expect(l.edges[0].suggested).toBe(false);
    const train = node(l, 'train');
    expect(train.diagnostics.errors).toBeGreaterThan(0);
    expect(train.diagnostics.items.map(d => d.code)).toContain('missing-upstream');
    expect(node(l, 'load').diagnostics).toMatchObject({ errors: 0, warnings: 0, items: [] });
    // The suggested edge is laid out like the others: load sits above train.
    expect(node(l, 'load').y + node(l, 'load').height).toBeLessThanOrEqual(train.y);
  });

  it('keeps indirect edges apart and can leave out suggested edges', () => {
    const nb = codeNotebook(
      [['step:a'], 'x = 1'],
      [['step:b', 'prev:a'], 'y = 2'],
      [['step:c', 'prev:b'], 'print(x, y)'],
      [['step:d'], 'print(y)']
    );
    const a = analyze(nb);
    expect(edges(layoutPipeline(a))).toEqual(['a->b:declared:', 'b->c:declared:y', 'b->d:suggested:y']);
    expect(layoutPipeline(a).indirect.map(e => `${e.from}->${e.to}:${e.variables}`)).toEqual(['a->c:x']);
    expect(edges(layoutPipeline(a, { suggestedEdges: false }))).toEqual([
      'a->b:declared:',
      'b->c:declared:y'
    ]);
    // An edge without variables has no label.
    expect(layoutPipeline(a).edges[0].label).toBeNull();
  });

  it('places upstream steps above downstream ones, without overlapping nodes or labels', () => {
    const l = lay(wide(6, 5));
    expect(l.nodes).toHaveLength(31);
    const byName = new Map(l.nodes.map(n => [n.step, n]));
    for (const e of l.edges) {
      const from = byName.get(e.from)!;
      const to = byName.get(e.to)!;
      expect(from.y + from.height).toBeLessThan(to.y);
      // The route starts on the upstream node's border and ends on the downstream one's.
      expect(onBorder(e.points[0], from)).toBe(true);
      expect(onBorder(e.points[e.points.length - 1], to)).toBe(true);
    }
    const boxes = [...l.nodes, ...l.edges.flatMap(e => (e.label ? [e.label] : []))];
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        expect(overlaps(boxes[i], boxes[j])).toBe(false);
      }
    }
    // Everything is inside the layout's box.
    for (const b of boxes) {
      expect(b.x).toBeGreaterThanOrEqual(0);
      expect(b.y).toBeGreaterThanOrEqual(0);
      expect(b.x + b.width).toBeLessThanOrEqual(l.width);
      expect(b.y + b.height).toBeLessThanOrEqual(l.height);
    }
  });

  it('sizes nodes from the step name, within bounds', () => {
    const l = lay(
      codeNotebook(
        [['step:a'], 'x = 1'],
        [['step:a_much_longer_step_name', 'prev:a'], 'y = x'],
        [['step:' + 'w'.repeat(80), 'prev:a'], 'z = x']
      )
    );
    const [short, long, huge] = l.nodes;
    expect(short.width).toBe(140);
    expect(long.width).toBeGreaterThan(short.width);
    expect(long.label).toBe('a_much_longer_step_name');
    expect(huge.width).toBe(260);
    expect(huge.label.endsWith('…')).toBe(true);
    expect(huge.label.length).toBeLessThan(80);
    expect(short.height).toBe(long.height);
  });

  it('is deterministic', () => {
    const nb = wide(4, 4);
    const first = lay(nb);
    expect(lay(nb)).toEqual(first);
    expect(layoutPipeline(analyze(nb))).toEqual(first);
    expect(JSON.stringify(lay(nb))).toBe(JSON.stringify(first));
  });

  it('lays out what it can of a broken pipeline: a cycle, an unknown prev:, no steps', () => {
    const l = lay(
      codeNotebook(
        [['step:a', 'prev:b'], 'x = 1'],
        [['step:b', 'prev:a'], 'y = 2'],
        [['step:c', 'prev:nowhere'], 'z = 3']
      )
    );
    expect(l.nodes.map(n => n.step)).toEqual(['a', 'b', 'c']);
    expect(edges(l)).toEqual(['b->a:declared:', 'a->b:declared:']);
    expect(l.nodes.some(n => n.diagnostics.errors > 0)).toBe(true);
    const none = lay(codeNotebook([[], 'x = 1']));
    expect(none).toMatchObject({ width: 0, height: 0, nodes: [], edges: [], indirect: [] });
  });
});

describe('fitTransform', () => {
  it('scales a large layout down and centres it', () => {
    const t = fitTransform({ width: 1000, height: 400 }, 532, 432, { padding: 16 });
    expect(t.scale).toBeCloseTo(0.5);
    expect(t.tx).toBeCloseTo(16);
    // 400 × 0.5 = 200 tall in 432: 116 above and below.
    expect(t.ty).toBeCloseTo(116);
  });

  it('does not enlarge a small layout beyond maxScale, and centres it', () => {
    const t = fitTransform({ width: 100, height: 50 }, 400, 300);
    expect(t).toEqual({ scale: 1, tx: 150, ty: 125 });
    expect(fitTransform({ width: 100, height: 50 }, 400, 300, { maxScale: 2 }).scale).toBe(2);
  });

  it('centres a laid-out graph: its middle lands in the middle of the viewport', () => {
    const l: Pick<GraphLayout, 'width' | 'height'> = { width: 777, height: 2345 };
    const t = fitTransform(l, 640, 480);
    expect((l.width / 2) * t.scale + t.tx).toBeCloseTo(320);
    expect((l.height / 2) * t.scale + t.ty).toBeCloseTo(240);
    expect(l.height * t.scale).toBeLessThanOrEqual(480 - 32 + 1e-9);
  });

  it('copes with an empty layout and a zero viewport', () => {
    expect(fitTransform({ width: 0, height: 0 }, 200, 100)).toEqual({ scale: 1, tx: 100, ty: 50 });
    const t = fitTransform({ width: 300, height: 300 }, 0, 0);
    expect(Number.isFinite(t.scale) && t.scale > 0).toBe(true);
  });
});

describe('view helpers', () => {
  it('zooms about a screen point, which stays put', () => {
    const t = { scale: 1, tx: 10, ty: 20 };
    const z = zoomAt(t, 2, 110, 70);
    expect(z.scale).toBe(2);
    // The layout point under (110, 70) was (100, 50); it is still there.
    expect(100 * z.scale + z.tx).toBeCloseTo(110);
    expect(50 * z.scale + z.ty).toBeCloseTo(70);
    expect(zoomAt(t, 100, 0, 0).scale).toBe(4);
    expect(zoomAt(t, 0.0001, 0, 0).scale).toBe(0.05);
  });

  it('labels edges with the first names and +N', () => {
    expect(edgeLabelText([])).toBe('');
    expect(edgeLabelText(['a', 'b', 'c'])).toBe('a, b, c');
    expect(edgeLabelText(['a', 'b', 'c', 'd', 'e'])).toBe('a, b, c +2');
    expect(edgeLabelText(['a', 'b', 'c'], 1)).toBe('a +2');
  });

  it('estimates text widths and cuts text to fit', () => {
    expect(textWidth('', 13)).toBe(0);
    expect(textWidth('mmmm', 13)).toBeGreaterThan(textWidth('iiii', 13));
    expect(textWidth('load_data', 13, true)).toBeGreaterThan(textWidth('load_data', 13));
    expect(textWidth('load_data', 13)).toBeGreaterThan(40);
    expect(textWidth('load_data', 13)).toBeLessThan(80);
    expect(fitText('short', 100, 13)).toBe('short');
    const cut = fitText('a_rather_long_step_name', 60, 13);
    expect(cut.endsWith('…')).toBe(true);
    expect(textWidth(cut, 13)).toBeLessThanOrEqual(60);
  });

  it('draws edge paths through the points', () => {
    expect(edgePath([])).toBe('');
    expect(
      edgePath([
        { x: 0, y: 0 },
        { x: 0, y: 10 }
      ])
    ).toBe('M0,0L0,10');
    expect(
      edgePath([
        { x: 0, y: 0 },
        { x: 10, y: 10 },
        { x: 20, y: 10 },
        { x: 20, y: 30 }
      ])
    ).toBe('M0,0Q10,10 15,10Q20,10 20,30');
  });
});

describe('layoutPipeline of a composition', () => {
  const nb = (name: string, ...cells: Array<[string[], string, string?]>): NotebookData => ({
    name,
    metadata: {},
    cells: cells.map(([tags, source, notebookPath], index) => ({
      index,
      type: 'code',
      tags,
      source,
      ...(notebookPath ? { notebookPath } : {})
    }))
  });
  const leaf = nb('leaf.ipynb', [['step:make'], 'base = [1, 2]']);
  const middle = nb(
    'middle.ipynb',
    [['notebook:leaf'], '', 'leaf.ipynb'],
    [['step:grow'], 'grown = base * 2']
  );
  const main = nb(
    'main.ipynb',
    [['notebook:middle'], '', 'middle.ipynb'],
    [['notebook:gone'], '', 'gone.ipynb'],
    [['step:show'], 'print(grown, base)']
  );
  const files: Record<string, NotebookData> = { 'middle.ipynb': middle, 'leaf.ipynb': leaf };
  const resolver = { get: (p: string) => (files[p] ? { notebook: files[p] } : { error: 'no such file' }) };
  const layout = () => layoutPipeline(analyzeNotebook(main, analyser, { path: 'main.ipynb', resolver }));

  it("puts each sub-pipeline's steps in a box of its notebook step, nested for nested notebooks", () => {
    const l = layout();
    expect(l.groups.map(g => [g.step, g.path, g.depth, g.parent])).toEqual([
      ['middle', 'middle.ipynb', 0, null],
      ['middle.leaf', 'leaf.ipynb', 1, 'middle']
    ]);
    expect(l.nodes.map(n => [n.step, n.label, n.group])).toEqual([
      ['middle.leaf.make', 'make', 'middle.leaf'],
      ['middle.grow', 'grow', 'middle'],
      ['gone', 'gone', null],
      ['show', 'show', null]
    ]);
    const inside = (n: { x: number; y: number; width: number; height: number }, g: typeof n) =>
      n.x >= g.x && n.y >= g.y && n.x + n.width <= g.x + g.width && n.y + n.height <= g.y + g.height;
    const group = (step: string) => l.groups.find(g => g.step === step)!;
    expect(inside(node(l, 'middle.leaf.make'), group('middle.leaf'))).toBe(true);
    expect(inside(group('middle.leaf'), group('middle'))).toBe(true);
    expect(inside(node(l, 'middle.grow'), group('middle'))).toBe(true);
    expect(inside(node(l, 'show'), group('middle'))).toBe(false);
    expect(node(l, 'middle.grow').y).toBeGreaterThan(node(l, 'middle.leaf.make').y);
  });

  it('draws the edges between the steps that run, across the boxes, with their variables', () => {
    const l = layout();
    expect(edges(l)).toEqual(
      expect.arrayContaining([
        'middle.leaf.make->middle.grow:declared:base',
        'middle.grow->show:declared:grown'
      ])
    );
    expect(l.indirect.map(e => `${e.from}->${e.to}:${e.variables}`)).toEqual(['middle.leaf.make->show:base']);
  });

  it("keeps an unreadable notebook step as a node carrying its error, and the box's own problems on the box", () => {
    const l = layout();
    expect(node(l, 'gone').diagnostics.items.map(d => d.code)).toContain('notebook-unreadable');
    expect(l.groups[0].diagnostics.errors).toBe(0);
  });
});
