/**
 * The step graph's model: a PipelineAnalysis laid out with dagre, top to
 * bottom, as plain numbers the SVG view draws. Pure: no DOM (text widths are
 * estimated from character classes), so it runs and is tested in Node.
 *
 * Coordinates are in layout pixels with the origin at the top left of the
 * graph; a node's and a label's x, y are their top-left corner.
 */
import { graphlib, layout as dagreLayout } from '@dagrejs/dagre';
import type { Diagnostic } from '../core/diagnostics';
import type { PipelineAnalysis } from '../core/pipeline';
import { diagnosticsByStep, stepMetrics, stepParameters } from '../core/step-queries';
import { formatParameter, ParameterValue } from '../core/tags/parameters';

export interface Point {
  x: number;
  y: number;
}

export interface GraphNode {
  step: string;
  /** The step name as drawn: cut with "…" when wider than the widest node. */
  label: string;
  /** Top-left corner. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Notebook cell indices (0-based). */
  cells: number[];
  ins: string[];
  outs: string[];
  /** Pipeline parameters the step reads (directly or through functions it calls). */
  parameters: string[];
  /** Metrics the step records. */
  metrics: string[];
  /**
   * The lines below the counts: "uses …" (its parameters) and "records …" (its metrics), wrapped to the
   * node's width, each fitting it (a list too long ends with "+N").
   */
  lines: string[];
  /** Errors and warnings that belong to the step (by `step`, or by the cell they point at). */
  diagnostics: { errors: number; warnings: number; items: Diagnostic[] };
}

/**
 * - `declared`: a `prev:` edge; carries the variables `from` provides to `to`;
 * - `suggested`: the data flow needs this edge and the tags lack it (`analysis.suggestions`);
 * - `indirect`: `to` loads variables saved by `from`, an upstream step that is not one of its `prev:`.
 *   These are not laid out (they would multiply dagre's work: every rank an edge crosses costs a
 *   dummy node), but returned apart as one cubic Bézier (4 points: start, 2 controls, end) from the
 *   right side of `from` to the right side of `to`, for the view to draw over the graph when one of
 *   their steps is selected; they may reach past the layout's width.
 */
export type EdgeKind = 'declared' | 'indirect' | 'suggested';

export interface EdgeLabel {
  /** The variables as drawn ("a, b +3"); the full list is `variables`. */
  text: string;
  /** Top-left corner. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: EdgeKind;
  suggested: boolean;
  /** Sorted variable names that travel along the edge. */
  variables: string[];
  /** From the bottom of `from` to the top of `to` (dagre's route through the ranks). */
  points: Point[];
  /** Where the variable names go; null when there are none. */
  label: EdgeLabel | null;
}

export interface GraphLayout {
  width: number;
  height: number;
  /** In notebook order of the steps. */
  nodes: GraphNode[];
  /** Declared, then suggested; each group sorted by (to, from) in notebook order. */
  edges: GraphEdge[];
  /** Indirect data edges (not routed: one cubic curve), sorted by (to, from) in notebook order. */
  indirect: GraphEdge[];
  /** The pipeline parameters with their values, for a legend. */
  parameters: Array<{ name: string; type: ParameterValue['type']; value: string }>;
  /** Every metric with the step that records it (null when none does). */
  metrics: Array<{ name: string; step: string | null }>;
}

export interface LayoutOptions {
  /** Font size (px) of the step name; the rest of the node text is a little smaller. Default 13. */
  fontSize?: number;
  /** Font size (px) of edge labels. Default 11. */
  labelFontSize?: number;
  minNodeWidth?: number;
  maxNodeWidth?: number;
  /** Vertical gap between ranks. Default 56. */
  rankSep?: number;
  /** Horizontal gap between nodes. Default 32. */
  nodeSep?: number;
  /** Margin around the graph. Default 16. */
  margin?: number;
  /** Draw `suggested` edges. Default true. */
  suggestedEdges?: boolean;
  /** At most this many variable names on an edge label before "+N". Default 3. */
  maxLabelNames?: number;
  /**
   * Width of a text in px as it will be drawn. Default: an estimate from character classes (no DOM);
   * the view passes the browser's own measure.
   */
  measure?: TextMeasure;
  /**
   * dagre's ranking: 'network-simplex' gives the shortest edges and is the slowest; 'tight-tree' halves
   * the layout time of 100 layered steps (bench/graph-layout.ts). Default 'auto': network-simplex up to
   * 50 steps, tight-tree above.
   */
  ranker?: 'auto' | 'network-simplex' | 'tight-tree' | 'longest-path';
}

/** Width in px of `text` at `fontSize` (bold or not). */
export type TextMeasure = (text: string, fontSize: number, bold?: boolean) => number;

const DEFAULTS: Required<LayoutOptions> = {
  fontSize: 13,
  labelFontSize: 11,
  minNodeWidth: 140,
  maxNodeWidth: 260,
  rankSep: 56,
  nodeSep: 32,
  margin: 16,
  suggestedEdges: true,
  maxLabelNames: 3,
  measure: (text, fontSize, bold) => textWidth(text, fontSize, bold),
  ranker: 'auto'
};

/** Up to this many steps, ranker 'auto' is network-simplex. */
const NETWORK_SIMPLEX_MAX_STEPS = 50;

/** Node geometry shared with the view, so both agree on where text goes. */
export const NODE_METRICS = {
  paddingX: 12,
  /** Room kept on the right for the diagnostics badge. */
  badge: 22,
  /** Height with two text lines (name; in/out counts and state). */
  height: 46,
  /** Height of each line below the counts (parameters, metrics). */
  extraLine: 16,
  /** Font size of the node's small text (counts, parameters, metrics). */
  infoFont: 11,
  /** At most this many lines of parameters, and of metrics. */
  maxLinesPerList: 2,
  labelPaddingX: 4,
  labelHeight: 16
} as const;

// --- text width without a DOM --------------------------------------------------------------------

const NARROW = new Set('iIjlt.,:;|!\'"`()[]{}f r'.split(''));
const WIDE = new Set('mwMW@%'.split(''));

/**
 * Approximate width of `text` in a proportional sans-serif UI font, in px: character classes in em
 * (narrow, wide, upper case, digit, other), rounded up. Good to a few pixels for identifiers.
 */
export function textWidth(text: string, fontSize: number, bold = false): number {
  let em = 0;
  for (const ch of text) {
    if (NARROW.has(ch)) {
      em += 0.3;
    } else if (WIDE.has(ch)) {
      em += 0.86;
    } else if (ch >= 'A' && ch <= 'Z') {
      em += 0.66;
    } else if (ch >= '0' && ch <= '9') {
      em += 0.56;
    } else if (ch.charCodeAt(0) > 0x2e7f) {
      em += 1; // CJK and other full-width characters
    } else {
      em += 0.56;
    }
  }
  return Math.ceil(em * fontSize * (bold ? 1.06 : 1));
}

/** `text`, cut with "…" to fit `maxWidth` at `fontSize`. */
export function fitText(
  text: string,
  maxWidth: number,
  fontSize: number,
  bold = false,
  measure: TextMeasure = textWidth
): string {
  if (measure(text, fontSize, bold) <= maxWidth) {
    return text;
  }
  const chars = [...text];
  while (chars.length > 1 && measure(chars.join('') + '…', fontSize, bold) > maxWidth) {
    chars.pop();
  }
  return chars.join('') + '…';
}

/**
 * `prefix` and the names, wrapped into at most `maxLines` lines of `maxWidth`: names stay whole (a name
 * wider than a line is cut with "…"), and names left over end the last line as "+N".
 */
export function wrapList(
  prefix: string,
  names: readonly string[],
  maxWidth: number,
  fontSize: number,
  maxLines: number,
  measure: TextMeasure = textWidth
): string[] {
  const lines: string[] = [];
  let line = prefix;
  let i = 0;
  for (; i < names.length; i++) {
    const piece = `${line === prefix ? '' : ', '}${names[i]}`;
    if (measure(line + piece, fontSize) <= maxWidth || line === prefix) {
      line += piece;
      continue;
    }
    if (lines.length + 1 === maxLines) {
      break;
    }
    lines.push(fitText(line + ',', maxWidth, fontSize, false, measure));
    line = names[i];
  }
  if (i < names.length) {
    // Names left over: drop names from the line until "+N" (N counting them too) fits after it.
    let kept = line;
    let shown = i;
    while (kept.includes(', ') && measure(`${kept} +${names.length - shown}`, fontSize) > maxWidth) {
      kept = kept.slice(0, kept.lastIndexOf(', '));
      shown--;
    }
    line = `${kept} +${names.length - shown}`;
  }
  lines.push(fitText(line, maxWidth, fontSize, false, measure));
  return lines;
}

/** The label of an edge: the first `max` names, then "+N" for the rest. */
export function edgeLabelText(variables: readonly string[], max = DEFAULTS.maxLabelNames): string {
  if (variables.length <= max) {
    return variables.join(', ');
  }
  return `${variables.slice(0, max).join(', ')} +${variables.length - max}`;
}

// --- the layout ---------------------------------------------------------------------------------

interface NodeData {
  width: number;
  height: number;
  x?: number;
  y?: number;
}

interface EdgeData {
  width: number;
  height: number;
  labelpos: 'c';
  weight: number;
  minlen: number;
  points?: Point[];
  x?: number;
  y?: number;
}

export function layoutPipeline(analysis: PipelineAnalysis, options: LayoutOptions = {}): GraphLayout {
  const o: Required<LayoutOptions> = { ...DEFAULTS, ...options };
  const steps = analysis.steps;
  const stepIndex = new Map(steps.map((s, i) => [s.name, i]));

  const diagnostics = diagnosticsByStep(analysis);
  const all = collectEdges(analysis, stepIndex, o);
  const edges = all.filter(e => e.kind !== 'indirect');

  const g = new graphlib.Graph<Record<string, unknown>, NodeData, EdgeData>({ multigraph: false });
  g.setGraph({
    rankdir: 'TB',
    ranker:
      o.ranker !== 'auto'
        ? o.ranker
        : steps.length <= NETWORK_SIMPLEX_MAX_STEPS
          ? 'network-simplex'
          : 'tight-tree',
    ranksep: o.rankSep,
    nodesep: o.nodeSep,
    edgesep: 12,
    marginx: o.margin,
    marginy: o.margin
  });
  g.setDefaultEdgeLabel(() => ({ width: 0, height: 0, labelpos: 'c', weight: 1, minlen: 1 }));

  const measure = o.measure;
  const { paddingX, badge, infoFont, maxLinesPerList } = NODE_METRICS;
  const nodes: GraphNode[] = steps.map(step => {
    const diag = diagnostics.get(step.name) ?? [];
    const errors = diag.filter(d => d.severity === 'error').length;
    const warnings = diag.filter(d => d.severity === 'warning').length;
    const parameters = Object.keys(stepParameters(analysis, step.name));
    const metrics = stepMetrics(analysis, step.name);
    // The name leaves room for the diagnostics badge on its right; the lines below use the full width.
    const nameChrome = 2 * paddingX + badge;
    const nameWidth = measure(step.name, o.fontSize, true);
    const listWidth = (prefix: string, names: string[]) =>
      names.length ? measure(`${prefix}${names.join(', ')}`, infoFont) + 2 * paddingX : 0;
    const width = Math.max(
      o.minNodeWidth,
      Math.min(
        o.maxNodeWidth,
        Math.max(nameWidth + nameChrome, listWidth('uses ', parameters), listWidth('records ', metrics))
      )
    );
    const textWidthInside = width - 2 * paddingX;
    const lines = [
      ...(parameters.length
        ? wrapList('uses ', parameters, textWidthInside, infoFont, maxLinesPerList, measure)
        : []),
      ...(metrics.length
        ? wrapList('records ', metrics, textWidthInside, infoFont, maxLinesPerList, measure)
        : [])
    ];
    const height = NODE_METRICS.height + lines.length * NODE_METRICS.extraLine;
    g.setNode(step.name, { width, height });
    return {
      step: step.name,
      label: fitText(step.name, width - nameChrome, o.fontSize, true, measure),
      x: 0,
      y: 0,
      width,
      height,
      cells: [...step.cells],
      ins: [...step.ins],
      outs: [...step.outs],
      parameters,
      metrics,
      lines,
      diagnostics: { errors, warnings, items: diag }
    };
  });

  for (const e of edges) {
    const text = edgeLabelText(e.variables, o.maxLabelNames);
    const hasLabel = text.length > 0;
    g.setEdge(e.from, e.to, {
      width: hasLabel ? measure(text, o.labelFontSize) + 2 * NODE_METRICS.labelPaddingX : 0,
      height: hasLabel ? NODE_METRICS.labelHeight : 0,
      labelpos: 'c',
      // Declared edges shape the ranks; the others follow them.
      weight: e.kind === 'declared' ? 2 : 1,
      minlen: 1
    });
  }

  dagreLayout(g);

  for (const node of nodes) {
    const placed = g.node(node.step);
    node.x = round(placed.x! - node.width / 2);
    node.y = round(placed.y! - node.height / 2);
  }
  const laidEdges: GraphEdge[] = edges.map(e => {
    const data = g.edge(e.from, e.to);
    const text = edgeLabelText(e.variables, o.maxLabelNames);
    return {
      ...e,
      suggested: e.kind === 'suggested',
      points: (data.points ?? []).map(p => ({ x: round(p.x), y: round(p.y) })),
      label:
        text.length > 0 && data.x !== undefined && data.y !== undefined
          ? {
              text,
              x: round(data.x - data.width / 2),
              y: round(data.y - data.height / 2),
              width: data.width,
              height: data.height
            }
          : null
    };
  });

  const byStep = new Map(nodes.map(n => [n.step, n]));
  const indirect: GraphEdge[] = all
    .filter(e => e.kind === 'indirect')
    .map(e => {
      const from = byStep.get(e.from)!;
      const to = byStep.get(e.to)!;
      // A cubic curve from the right side of `from` bowing out to the right of both nodes and into the
      // right side of `to`: clear of the steps in between, which usually sit in the column of the chain.
      const start = { x: from.x + from.width, y: round(from.y + from.height / 2) };
      const end = { x: to.x + to.width, y: round(to.y + to.height / 2) };
      const bow = round(Math.max(start.x, end.x) + 24 + Math.min(96, Math.abs(end.y - start.y) * 0.08));
      const text = edgeLabelText(e.variables, o.maxLabelNames);
      const width = measure(text, o.labelFontSize) + 2 * NODE_METRICS.labelPaddingX;
      const height = NODE_METRICS.labelHeight;
      // The curve's middle (t = 1/2).
      const mid = { x: (start.x + end.x) / 8 + (bow * 3) / 4, y: (start.y + end.y) / 2 };
      return {
        ...e,
        suggested: false,
        points: [start, { x: bow, y: start.y }, { x: bow, y: end.y }, end],
        label: { text, x: round(mid.x - width / 2), y: round(mid.y - height / 2), width, height }
      };
    });

  const graph = g.graph() as { width?: number; height?: number };
  return {
    width: steps.length ? round(graph.width ?? 0) : 0,
    height: steps.length ? round(graph.height ?? 0) : 0,
    nodes,
    edges: laidEdges,
    indirect,
    parameters: Object.entries(analysis.parameters).map(([name, p]) => ({
      name,
      type: p.type,
      value: formatParameter(p)
    })),
    metrics: analysis.metrics.map(m => ({ name: m.name, step: m.step }))
  };
}

type PendingEdge = Omit<GraphEdge, 'points' | 'label' | 'suggested'>;

/** One edge per (from, to): declared wins over indirect, indirect over suggested (both carry data from upstream). */
function collectEdges(
  analysis: PipelineAnalysis,
  stepIndex: Map<string, number>,
  o: Required<LayoutOptions>
): PendingEdge[] {
  const byPair = new Map<string, PendingEdge>();
  const key = (from: string, to: string) => `${from}\u0000${to}`;
  const known = (name: string) => stepIndex.has(name);

  for (const step of analysis.steps) {
    for (const dep of step.deps) {
      if (known(dep) && dep !== step.name) {
        byPair.set(key(dep, step.name), { from: dep, to: step.name, kind: 'declared', variables: [] });
      }
    }
  }
  for (const step of analysis.steps) {
    for (const [name, provider] of Object.entries(step.sources)) {
      if (!known(provider) || provider === step.name) {
        continue;
      }
      const k = key(provider, step.name);
      let edge = byPair.get(k);
      if (!edge) {
        edge = { from: provider, to: step.name, kind: 'indirect', variables: [] };
        byPair.set(k, edge);
      }
      edge.variables.push(name);
    }
  }
  if (o.suggestedEdges) {
    for (const s of analysis.suggestions) {
      if (!known(s.from) || !known(s.to) || s.from === s.to) {
        continue;
      }
      const k = key(s.from, s.to);
      const edge = byPair.get(k);
      if (!edge) {
        byPair.set(k, { from: s.from, to: s.to, kind: 'suggested', variables: [...s.names] });
      } else if (edge.kind === 'suggested') {
        edge.variables.push(...s.names);
      }
    }
  }

  const rank: Record<EdgeKind, number> = { declared: 0, suggested: 1, indirect: 2 };
  const edges = [...byPair.values()];
  for (const e of edges) {
    e.variables = [...new Set(e.variables)].sort();
  }
  return edges.sort(
    (a, b) =>
      rank[a.kind] - rank[b.kind] ||
      stepIndex.get(a.to)! - stepIndex.get(b.to)! ||
      stepIndex.get(a.from)! - stepIndex.get(b.from)!
  );
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

// --- view helpers (pure) ---------------------------------------------------------------------------

export interface Transform {
  scale: number;
  tx: number;
  ty: number;
}

/**
 * The transform (screen = layout × scale + t) that shows the whole layout centred in the viewport,
 * with `padding` px around it, never enlarged beyond `maxScale` (default 1) nor shrunk below `minScale`.
 */
export function fitTransform(
  layout: Pick<GraphLayout, 'width' | 'height'>,
  viewportWidth: number,
  viewportHeight: number,
  {
    padding = 16,
    minScale = 0.05,
    maxScale = 1
  }: { padding?: number; minScale?: number; maxScale?: number } = {}
): Transform {
  const availW = Math.max(1, viewportWidth - 2 * padding);
  const availH = Math.max(1, viewportHeight - 2 * padding);
  const fit =
    layout.width > 0 && layout.height > 0
      ? Math.min(availW / layout.width, availH / layout.height)
      : maxScale;
  const scale = Math.max(minScale, Math.min(maxScale, fit));
  return {
    scale,
    tx: (viewportWidth - layout.width * scale) / 2,
    ty: (viewportHeight - layout.height * scale) / 2
  };
}

/**
 * Zoom by `factor` keeping the layout point under screen point (`cx`, `cy`) in place, the scale
 * clamped to [minScale, maxScale].
 */
export function zoomAt(
  t: Transform,
  factor: number,
  cx: number,
  cy: number,
  minScale = 0.05,
  maxScale = 4
): Transform {
  const scale = Math.max(minScale, Math.min(maxScale, t.scale * factor));
  const k = scale / t.scale;
  return { scale, tx: cx - (cx - t.tx) * k, ty: cy - (cy - t.ty) * k };
}

/** An SVG path through dagre's edge points: straight ends, quadratic curves through the bends. */
export function edgePath(points: readonly Point[]): string {
  if (points.length === 0) {
    return '';
  }
  const f = (p: Point) => `${round(p.x)},${round(p.y)}`;
  let d = `M${f(points[0])}`;
  if (points.length === 2) {
    return `${d}L${f(points[1])}`;
  }
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i];
    const next = points[i + 1];
    const mid = i === points.length - 2 ? next : { x: (p.x + next.x) / 2, y: (p.y + next.y) / 2 };
    d += `Q${f(p)} ${f(mid)}`;
  }
  return d;
}
