/**
 * The step graph's model: a PipelineAnalysis laid out with dagre, top to
 * bottom, as plain numbers the SVG view draws. Pure: no DOM (text widths are
 * estimated from character classes), so it runs and is tested in Node.
 *
 * Coordinates are in layout pixels with the origin at the top left of the
 * graph; a node's and a label's x, y are their top-left corner.
 */
import { graphlib, layout as dagreLayout } from '@dagrejs/dagre';
import type { CellAnalysis } from '../core/analysis/types';
import type { Diagnostic } from '../core/diagnostics';
import type { PipelineAnalysis } from '../core/pipeline';
import type { ParameterValue } from '../core/tags/parameters';
import { pathFrom } from '../core/composition/references';
import { lastSteps, runnableSteps } from '../core/targets/runnable-steps';

export interface Point {
  x: number;
  y: number;
}

export interface GraphNode {
  /** The step's name; in a sub-pipeline, the runnable name `NOTEBOOK_STEP.STEP` (what runs record). */
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
  /** Errors and warnings that belong to the step (by `step`, or by the cell they point at). */
  diagnostics: { errors: number; warnings: number; items: Diagnostic[] };
  /** The notebook step (qualified) whose sub-pipeline holds it; null for the notebook's own steps. */
  group: string | null;
  /** In a sub-pipeline: the notebook it comes from (its cells are that notebook's), as `GraphGroup.path`. */
  path?: string;
}

/**
 * A `notebook:` step drawn as a box around the steps of the notebook it runs (nested boxes for nested
 * notebooks). A notebook step whose notebook could not be read, or has no steps, is a node instead.
 */
export interface GraphGroup {
  /** The notebook step's qualified name (`data`, or `outer.inner`). */
  step: string;
  /** Its name, as drawn. */
  label: string;
  /** The notebook it runs (relative to the graph's notebook when in its folder). */
  path: string;
  /** Top-left corner and size, around its steps and its header. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** 0 for a notebook step of the notebook itself, 1 inside it, … */
  depth: number;
  /** The enclosing group, or null. */
  parent: string | null;
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
  /** In notebook order of the steps (a sub-pipeline's steps in run order where its notebook step is). */
  nodes: GraphNode[];
  /** The sub-pipelines, outermost first. */
  groups: GraphGroup[];
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
   * dagre's ranking: 'network-simplex' gives the shortest edges and is the slowest; 'tight-tree' halves
   * the layout time of 100 layered steps (bench/graph-layout.ts). Default 'auto': network-simplex up to
   * 50 steps, tight-tree above.
   */
  ranker?: 'auto' | 'network-simplex' | 'tight-tree' | 'longest-path';
}

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
  /** Extra height of the third line (parameters and metrics). */
  extraLine: 16,
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
export function fitText(text: string, maxWidth: number, fontSize: number, bold = false): string {
  if (textWidth(text, fontSize, bold) <= maxWidth) {
    return text;
  }
  const chars = [...text];
  while (chars.length > 1 && textWidth(chars.join('') + '…', fontSize, bold) > maxWidth) {
    chars.pop();
  }
  return chars.join('') + '…';
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

/** A node to lay out: a step of the notebook, or of a sub-pipeline. */
interface Item {
  id: string;
  label: string;
  cells: number[];
  ins: string[];
  outs: string[];
  deps: string[];
  sources: Record<string, string>;
  parameters: string[];
  metrics: string[];
  diagnostics: Diagnostic[];
  group: string | null;
  path?: string;
}

interface GroupItem extends Omit<GraphGroup, 'x' | 'y' | 'width' | 'height' | 'diagnostics'> {
  diagnostics: Diagnostic[];
}

function metricsOf(analysis: PipelineAnalysis): Map<string, string[]> {
  const metricsByStep = new Map<string, string[]>();
  for (const m of analysis.metrics) {
    if (m.step !== null) {
      metricsByStep.set(m.step, [...(metricsByStep.get(m.step) ?? []), m.name]);
    }
  }
  return metricsByStep;
}

/** The notebook's own steps. */
function plainItems(analysis: PipelineAnalysis): Item[] {
  const diagnostics = diagnosticsByStep(analysis);
  const usedParameters = parametersByStep(analysis);
  const metrics = metricsOf(analysis);
  return analysis.steps.map(step => ({
    id: step.name,
    label: step.name,
    cells: [...step.cells],
    ins: [...step.ins],
    outs: [...step.outs],
    deps: step.deps,
    sources: step.sources,
    parameters: usedParameters.get(step.name) ?? [],
    metrics: metrics.get(step.name) ?? [],
    diagnostics: diagnostics.get(step.name) ?? [],
    group: null
  }));
}

/**
 * A composition: the runnable steps (a notebook step's sub-pipeline in its place), each in the box of
 * its notebook step; a notebook step with nothing to run (unreadable, or no steps) is a node itself.
 */
function compositionItems(analysis: PipelineAnalysis): { items: Item[]; groups: GroupItem[] } {
  const runnable = runnableSteps(analysis);
  const items: Item[] = [];
  const groups: GroupItem[] = [];
  const hasSteps = (qualified: string) => runnable.some(r => r.scope.includes(qualified));
  // Per notebook: its diagnostics, parameters and metrics by step, computed once.
  const perLevel = new Map<
    PipelineAnalysis,
    { d: Map<string, Diagnostic[]>; p: Map<string, string[]>; m: Map<string, string[]> }
  >();
  const level = (a: PipelineAnalysis) => {
    let known = perLevel.get(a);
    if (!known) {
      known = { d: diagnosticsByStep(a), p: parametersByStep(a), m: metricsOf(a) };
      perLevel.set(a, known);
    }
    return known;
  };
  const visit = (a: PipelineAnalysis, prefix: string, parent: string | null, depth: number) => {
    for (const name of a.order) {
      const step = a.steps.find(s => s.name === name)!;
      const qualified = prefix + name;
      const sub = a.subPipelines[name];
      if (sub && hasSteps(qualified)) {
        groups.push({
          step: qualified,
          label: name,
          path: pathFrom(analysis.path, sub.path),
          depth,
          parent,
          diagnostics: level(a).d.get(name) ?? []
        });
        visit(sub.analysis, `${qualified}.`, qualified, depth + 1);
        continue;
      }
      const r = runnable.find(x => x.name === qualified);
      const reads = new Set(parent ? (subOf(analysis, parent)?.reads[name] ?? []) : []);
      items.push({
        id: qualified,
        label: name,
        cells: [...step.cells],
        ins: r ? Object.keys(r.sources) : [...step.ins],
        outs: r ? r.outs : [...step.outs],
        deps: r ? r.deps : step.deps.flatMap(d => lastSteps({ analysis: a, prefix }, d)),
        sources: r ? r.sources : {},
        parameters: level(a).p.get(name) ?? [],
        metrics: r ? r.metrics : (level(a).m.get(name) ?? []),
        // What the parent answers (a read of its variables) is no problem of the step's.
        diagnostics: (level(a).d.get(name) ?? []).filter(
          d => !(d.code === 'undefined-name' && reads.has(d.name!))
        ),
        group: parent,
        ...(parent ? { path: pathFrom(analysis.path, subOf(analysis, parent)!.path) } : {})
      });
    }
  };
  visit(analysis, '', null, 0);
  return { items, groups };
}

function subOf(
  analysis: PipelineAnalysis,
  qualified: string
): PipelineAnalysis['subPipelines'][string] | undefined {
  const [first, ...rest] = qualified.split('.');
  const sub = analysis.subPipelines[first];
  return rest.length === 0 || !sub ? sub : subOf(sub.analysis, rest.join('.'));
}

export function layoutPipeline(analysis: PipelineAnalysis, options: LayoutOptions = {}): GraphLayout {
  const o: Required<LayoutOptions> = { ...DEFAULTS, ...options };
  const composed = Object.keys(analysis.subPipelines).length > 0;
  const { items, groups } = composed
    ? compositionItems(analysis)
    : { items: plainItems(analysis), groups: [] };
  const stepIndex = new Map(items.map((s, i) => [s.id, i]));

  const all = collectEdges(items, analysis, stepIndex, o);
  const edges = all.filter(e => e.kind !== 'indirect');

  // Compound only when there are boxes to draw: dagre's compound layout costs more.
  const g = new graphlib.Graph<Record<string, unknown>, NodeData, EdgeData>({
    multigraph: false,
    compound: composed
  });
  g.setGraph({
    rankdir: 'TB',
    ranker:
      o.ranker !== 'auto'
        ? o.ranker
        : items.length <= NETWORK_SIMPLEX_MAX_STEPS
          ? 'network-simplex'
          : 'tight-tree',
    ranksep: o.rankSep,
    nodesep: o.nodeSep,
    edgesep: 12,
    marginx: o.margin,
    marginy: o.margin
  });
  g.setDefaultEdgeLabel(() => ({ width: 0, height: 0, labelpos: 'c', weight: 1, minlen: 1 }));

  const nodes: GraphNode[] = items.map(item => {
    const errors = item.diagnostics.filter(d => d.severity === 'error').length;
    const warnings = item.diagnostics.filter(d => d.severity === 'warning').length;
    const chrome = 2 * NODE_METRICS.paddingX + NODE_METRICS.badge;
    const nameWidth = textWidth(item.label, o.fontSize, true);
    const width = Math.max(o.minNodeWidth, Math.min(o.maxNodeWidth, nameWidth + chrome));
    const height =
      NODE_METRICS.height + (item.parameters.length || item.metrics.length ? NODE_METRICS.extraLine : 0);
    g.setNode(item.id, { width, height });
    const node: GraphNode = {
      step: item.id,
      label: fitText(item.label, width - chrome, o.fontSize, true),
      x: 0,
      y: 0,
      width,
      height,
      cells: item.cells,
      ins: item.ins,
      outs: item.outs,
      parameters: item.parameters,
      metrics: item.metrics,
      diagnostics: { errors, warnings, items: item.diagnostics },
      group: item.group
    };
    if (item.path !== undefined) {
      node.path = item.path;
    }
    return node;
  });
  for (const group of groups) {
    g.setNode(group.step, { width: 0, height: 0 });
    if (group.parent) {
      g.setParent(group.step, group.parent);
    }
  }
  for (const item of items) {
    if (item.group) {
      g.setParent(item.id, item.group);
    }
  }

  for (const e of edges) {
    const text = edgeLabelText(e.variables, o.maxLabelNames);
    const hasLabel = text.length > 0;
    g.setEdge(e.from, e.to, {
      width: hasLabel ? textWidth(text, o.labelFontSize) + 2 * NODE_METRICS.labelPaddingX : 0,
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
  const laidGroups: GraphGroup[] = groups.map(group => {
    const placed = g.node(group.step);
    const { diagnostics, ...rest } = group;
    return {
      ...rest,
      x: round(placed.x! - placed.width / 2),
      y: round(placed.y! - placed.height / 2),
      width: round(placed.width),
      height: round(placed.height),
      diagnostics: {
        errors: diagnostics.filter(d => d.severity === 'error').length,
        warnings: diagnostics.filter(d => d.severity === 'warning').length,
        items: diagnostics
      }
    };
  });
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
      const width = textWidth(text, o.labelFontSize) + 2 * NODE_METRICS.labelPaddingX;
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
    width: items.length ? round(graph.width ?? 0) : 0,
    height: items.length ? round(graph.height ?? 0) : 0,
    nodes,
    groups: laidGroups,
    edges: laidEdges,
    indirect,
    parameters: Object.entries(analysis.parameters).map(([name, p]) => ({
      name,
      type: p.type,
      value: JSON.stringify(p.value)
    })),
    metrics: analysis.metrics.map(m => ({ name: m.name, step: m.step }))
  };
}

type PendingEdge = Omit<GraphEdge, 'points' | 'label' | 'suggested'>;

/** One edge per (from, to): declared wins over indirect, indirect over suggested (both carry data from upstream). */
function collectEdges(
  items: readonly Item[],
  analysis: PipelineAnalysis,
  stepIndex: Map<string, number>,
  o: Required<LayoutOptions>
): PendingEdge[] {
  const byPair = new Map<string, PendingEdge>();
  const key = (from: string, to: string) => `${from}\u0000${to}`;
  const known = (name: string) => stepIndex.has(name);

  for (const step of items) {
    for (const dep of step.deps) {
      if (known(dep) && dep !== step.id) {
        byPair.set(key(dep, step.id), { from: dep, to: step.id, kind: 'declared', variables: [] });
      }
    }
  }
  for (const step of items) {
    for (const [name, provider] of Object.entries(step.sources)) {
      if (!known(provider) || provider === step.id) {
        continue;
      }
      const k = key(provider, step.id);
      let edge = byPair.get(k);
      if (!edge) {
        edge = { from: provider, to: step.id, kind: 'indirect', variables: [] };
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

/** Errors and warnings per step: a diagnostic's `step`, else the step owning its cell. */
function diagnosticsByStep(analysis: PipelineAnalysis): Map<string, Diagnostic[]> {
  const stepOfCell = new Map<number, string>();
  for (const step of analysis.steps) {
    for (const cell of step.cells) {
      stepOfCell.set(cell, step.name);
    }
  }
  const out = new Map<string, Diagnostic[]>();
  for (const d of analysis.diagnostics) {
    if (d.severity === 'info') {
      continue;
    }
    const step = d.step ?? (d.cell !== null ? stepOfCell.get(d.cell) : undefined);
    if (step !== undefined) {
      out.set(step, [...(out.get(step) ?? []), d]);
    }
  }
  return out;
}

/**
 * The pipeline parameters each step reads: module-level reads in its cells, and the global reads of
 * the functions it calls (defined in the step or in the imports/functions cells), transitively.
 * A name the step binds before reading it is its own variable, not the parameter.
 */
function parametersByStep(analysis: PipelineAnalysis): Map<string, string[]> {
  const parameters = new Set(Object.keys(analysis.parameters));
  const out = new Map<string, string[]>();
  if (parameters.size === 0) {
    return out;
  }
  const preludeFunctions = functionsIn(analysis.prelude.map(c => analysis.analyses.get(c)));
  for (const step of analysis.steps) {
    const analyses = step.cells.map(c => analysis.analyses.get(c));
    const functions = new Map([...preludeFunctions, ...functionsIn(analyses)]);
    const bound = new Set<string>();
    const used = new Set<string>();
    const visit = (name: string, seen: Set<string>) => {
      if (parameters.has(name) && !bound.has(name)) {
        used.add(name);
      }
      const reads = functions.get(name);
      if (reads && !seen.has(name)) {
        seen.add(name);
        reads.forEach(r => visit(r, seen));
      }
    };
    for (const a of analyses) {
      for (const event of a?.events ?? []) {
        if (event.kind === 'read') {
          visit(event.name, new Set());
        } else if (event.how === 'bind') {
          bound.add(event.name);
        }
      }
    }
    if (used.size) {
      out.set(step.name, [...used].sort());
    }
  }
  return out;
}

function functionsIn(analyses: Array<CellAnalysis | undefined>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const a of analyses) {
    for (const event of a?.events ?? []) {
      if (event.kind === 'write' && event.deferred) {
        out.set(
          event.name,
          event.deferred.reads.map(r => r.name)
        );
      }
    }
  }
  return out;
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
