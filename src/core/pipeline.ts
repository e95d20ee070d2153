/**
 * The core's entry point: a notebook in, the pipeline it describes out, with
 * every diagnostic. Pure and synchronous once the analyser exists, so the
 * frontend can call it on each edit (cell analyses are memoised by source).
 */
import { isBuiltinName, PythonAnalyser } from './analysis';
import type { CellAnalysis } from './analysis/types';
import { withCompositionEdges } from './composition/edges';
import type { NotebookResolver } from './composition/references';
import {
  ChildPipeline,
  EMPTY_ANALYSIS,
  explainAtNotebookCell,
  resolveNotebookStep
} from './composition/sub-pipeline';
import { Diagnostic, diagnostic, sortDiagnostics } from './diagnostics';
import { buildGraph, StepGraph } from './graph/dag';
import { groupSteps, StepDef } from './graph/steps';
import { FlowMemo } from './flow/flow-memo';
import { computeFlow, EdgeSuggestion, FlowInput, MetricFlow, MetricRef, StepFlow } from './flow/flow';
import { issueDiagnostic } from './flow/issues';
import type { NotebookData } from './notebook/model';
import { CellRole, parseCellTags } from './tags/grammar';
import { parseMetrics } from './tags/metrics';
import { ParameterValue, parseParameters } from './tags/parameters';
import { PipelineSettings, readPipelineSettings, resolveStepSettings, StepSettings } from './tags/settings';

/** A step of the pipeline: its cells and declared upstream steps, and the flow of its data (`StepFlow`). */
export interface PipelineStep extends StepFlow {
  name: string;
  /** Notebook cell indices (0-based). */
  cells: number[];
  /** Upstream steps declared with prev:. */
  deps: string[];
  /**
   * Where the interpreter state (global random generators, display options, working directory...) comes
   * from: the upstream steps, merged by notebook position; `at` is this step's position (its last cell).
   */
  state: { from: string[]; at: number };
  settings: StepSettings;
  /** A `notebook:` step: the path of the notebook it runs (its pipeline is in `subPipelines`). */
  notebook?: string;
}

/** The pipeline of a notebook that a `notebook:` step runs, and what passes between it and its parent. */
export interface SubPipeline {
  /** The notebook step that runs it. */
  step: string;
  /** The notebook's path, as the resolver knows it. */
  path: string;
  notebook: NotebookData;
  analysis: PipelineAnalysis;
  /** The parameters its steps get: its own, with the parent's value of each name passed down. */
  parameters: Record<string, ParameterValue>;
  /** The parent's parameters passed down, by name: those the child declares, and those it reads without defining. */
  passed: string[];
  /** Per step of the child: the names it reads from the parent (the notebook step's inputs, or parameters). */
  reads: Record<string, string[]>;
  /** Each name the child's steps leave defined, with the child step whose value the parent gets. */
  provides: Record<string, string>;
}

export interface PipelineAnalysis {
  /** The notebook's path, as the resolver names files (its notebook: steps' paths are relative to it). */
  path: string;
  pipeline: Omit<PipelineSettings, 'steps'>;
  /** Steps in notebook order of their first cell. */
  steps: PipelineStep[];
  /** Steps in an order that runs every step after its upstream steps. */
  order: string[];
  parameters: Record<string, ParameterValue>;
  metrics: MetricFlow[];
  suggestions: EdgeSuggestion[];
  /** Sorted by cell, line and column. */
  diagnostics: Diagnostic[];
  /** The imports and functions cells (with the untagged cells that join them), in notebook order: every step runs them first. */
  prelude: number[];
  /** The role of each code cell, by index (for the UI's badges and the step programs). */
  roles: Map<number, CellRole>;
  /** The analysis of each code cell in the pipeline, by index (a notebook: cell: what it reads and writes). */
  analyses: Map<number, CellAnalysis>;
  /** The pipelines the notebook: steps run, by step name. */
  subPipelines: Record<string, SubPipeline>;
}

export interface AnalyzeOptions {
  /** The notebook's path as the resolver names files: `notebook_path`s are relative to its folder. */
  path?: string;
  /** The notebooks that `notebook:` steps run, read by the shell (the core does no I/O). */
  resolver?: NotebookResolver;
}

export function analyzeNotebook(
  notebook: NotebookData,
  analyser: PythonAnalyser,
  options: AnalyzeOptions = {}
): PipelineAnalysis {
  const path = options.path ?? notebook.name ?? 'notebook.ipynb';
  return analyze(notebook, analyser, options.resolver, path, [path]);
}

function analyze(
  notebook: NotebookData,
  analyser: PythonAnalyser,
  resolver: NotebookResolver | undefined,
  path: string,
  chain: readonly string[]
): PipelineAnalysis {
  const diagnostics: Diagnostic[] = [];
  const roles = new Map<number, CellRole>();
  for (const cell of notebook.cells) {
    if (cell.type === 'code') {
      if (cell.tagsProblem) {
        diagnostics.push(
          diagnostic(
            'error',
            'invalid-tags',
            `${cell.tagsProblem}. The cell's tags are ignored until then.`,
            {
              cell: cell.index
            }
          )
        );
      }
      const parsed = parseCellTags(cell.tags, cell.index);
      roles.set(cell.index, parsed.role);
      diagnostics.push(...parsed.diagnostics);
    }
  }

  const settings = readPipelineSettings(notebook, notebook.name);
  diagnostics.push(...settings.diagnostics);

  const grouping = groupSteps(notebook.cells, roles);
  diagnostics.push(...grouping.diagnostics);

  const analyses = new Map<number, CellAnalysis>();
  const children = new Map<string, ChildPipeline>();
  for (const step of grouping.steps) {
    if (step.notebook) {
      const resolved = resolveNotebookStep({
        step,
        from: path,
        chain,
        resolver,
        analyse: (child, childPath, childChain) => analyze(child, analyser, resolver, childPath, childChain)
      });
      diagnostics.push(...resolved.diagnostics);
      if (resolved.child) {
        children.set(step.name, resolved.child);
      }
      analyses.set(step.notebook.cell, resolved.child?.cellAnalysis ?? EMPTY_ANALYSIS);
    }
  }
  for (const index of grouping.buckets.keys()) {
    if (analyses.has(index)) {
      continue;
    }
    const analysis = analyser.analyseCell(notebook.cells[index].source);
    analyses.set(index, analysis);
    const step = grouping.buckets.get(index)!;
    for (const issue of analysis.issues) {
      diagnostics.push(issueDiagnostic(issue, index, step.kind === 'step' ? step.step : undefined));
    }
  }

  const memo = notebookMemo(analyser, path);
  const parameters: Record<string, ParameterValue> = {};
  const parsedParameters = new Map<string, ReturnType<typeof parseParameters>>();
  for (const index of grouping.parameters) {
    const source = notebook.cells[index].source;
    const key = `${index}\u0000${source}`;
    const parsed = memo.parameters.get(key) ?? parseParameters(analyser.parser, source, index);
    parsedParameters.set(key, parsed);
    diagnostics.push(...parsed.diagnostics);
    for (const [name, value] of Object.entries(parsed.parameters)) {
      if (name in parameters) {
        diagnostics.push(
          diagnostic(
            'warning',
            'duplicate-parameter',
            `Pipeline parameter "${name}" is set twice; the last value wins.`,
            {
              cell: index,
              name
            }
          )
        );
      }
      parameters[name] = value;
    }
  }

  memo.parameters = parsedParameters;

  const metrics: MetricRef[] = [];
  for (const index of grouping.metrics) {
    const parsed = parseMetrics(notebook.cells[index].source, index);
    diagnostics.push(...parsed.diagnostics);
    metrics.push(...parsed.metrics.map(m => ({ name: m.name, line: m.line, cell: index })));
  }

  const flowInput = (steps: readonly StepDef[]): FlowInput => ({
    grouping,
    graph: memo.graph(steps),
    analyses,
    parameters: new Set(Object.keys(parameters)),
    metrics,
    isBuiltin: isBuiltinName
  });
  let input = flowInput(grouping.steps);
  let flow = memo.flow.flow(input);
  if (grouping.steps.some(s => s.notebook)) {
    // A composition: the edges its data and reading order imply (Kale 2.x), then the flow again with them.
    input = flowInput(withCompositionEdges(grouping.steps, flow.suggestions));
    flow = computeFlow(input);
  }
  const graph = input.graph;
  diagnostics.push(...graph.diagnostics);
  const stepDefs = new Map(grouping.steps.map(s => [s.name, s]));
  for (const d of flow.diagnostics) {
    const def = d.step !== undefined ? stepDefs.get(d.step) : undefined;
    const child = def?.notebook ? children.get(def.name) : undefined;
    diagnostics.push(child ? explainAtNotebookCell(d, def!, child) : d);
  }

  const subPipelines: Record<string, SubPipeline> = {};
  const steps: PipelineStep[] = grouping.steps.map(step => {
    const f = flow.steps.get(step.name)!;
    const common = {
      name: step.name,
      cells: step.cells,
      deps: [...(graph.deps.get(step.name) ?? [])],
      ins: f.ins,
      outs: f.outs,
      sources: f.sources,
      parameters: f.parameters,
      fingerprint: f.fingerprint,
      guards: f.guards,
      state: { from: [...(graph.deps.get(step.name) ?? [])], at: step.cells[step.cells.length - 1] }
    };
    if (step.notebook) {
      const child = children.get(step.name);
      if (child) {
        subPipelines[step.name] = subPipeline(step.name, child, parameters, f.ins);
      }
      // A notebook step reads the parameters it passes down to its sub-pipeline.
      const passed = subPipelines[step.name]?.passed ?? [];
      return {
        ...common,
        parameters: [...new Set([...f.parameters, ...passed])].sort(),
        settings: {},
        notebook: child?.path ?? step.notebook.path ?? ''
      };
    }
    const resolved = resolveStepSettings(settings.settings, step.name, roles, step.cells);
    diagnostics.push(...resolved.diagnostics);
    return { ...common, settings: resolved.settings };
  });
  diagnostics.push(...metricClashes(flow.metrics, subPipelines, stepDefs));
  if (steps.length === 0) {
    diagnostics.push(
      diagnostic(
        'info',
        'no-steps',
        'No cell is tagged as a step yet. Tag a code cell step:NAME (in the cellpipe sidebar) to start a pipeline.'
      )
    );
  }

  const { steps: _perStep, ...pipeline } = settings.settings;
  void _perStep;
  return {
    path,
    pipeline,
    steps,
    order: [...graph.order],
    parameters,
    metrics: flow.metrics,
    suggestions: flow.suggestions,
    diagnostics: sortDiagnostics(diagnostics),
    prelude: [...grouping.imports, ...grouping.functions].sort((a, b) => a - b),
    roles,
    analyses,
    subPipelines
  };
}

/**
 * What the last analysis of a notebook found that the next one (after an edit) finds again unless the
 * cells it comes from changed: the flow, the parameters cells' parses (by cell and text), the step graph.
 */
class NotebookMemo {
  readonly flow = new FlowMemo();
  parameters = new Map<string, ReturnType<typeof parseParameters>>();
  private lastGraph: { key: string; graph: StepGraph } | undefined;

  graph(steps: readonly StepDef[]): StepGraph {
    // The graph reads each step's name, prev: tags and where they are.
    const key = JSON.stringify(steps.map(s => [s.name, s.prev, s.prevCells]));
    if (this.lastGraph?.key !== key) {
      this.lastGraph = { key, graph: buildGraph(steps) };
    }
    return this.lastGraph.graph;
  }
}

/** Per analyser, a memo for each notebook path (an edit re-analyses the same path). */
const notebookMemos = new WeakMap<PythonAnalyser, Map<string, NotebookMemo>>();

function notebookMemo(analyser: PythonAnalyser, path: string): NotebookMemo {
  let byPath = notebookMemos.get(analyser);
  if (!byPath) {
    byPath = new Map();
    notebookMemos.set(analyser, byPath);
  }
  let memo = byPath.get(path);
  if (!memo) {
    memo = new NotebookMemo();
    byPath.set(path, memo);
  }
  return memo;
}

/** Every metric name a pipeline records, its sub-pipelines' included. */
function metricNames(analysis: PipelineAnalysis): string[] {
  return [
    ...analysis.metrics.map(m => m.name),
    ...Object.values(analysis.subPipelines).flatMap(sub => metricNames(sub.analysis))
  ];
}

/**
 * A run keeps one value per metric name: two steps (of this notebook or of the notebooks it runs) that
 * record the same name would overwrite each other.
 */
function metricClashes(
  metrics: readonly MetricFlow[],
  subPipelines: Record<string, SubPipeline>,
  steps: ReadonlyMap<string, StepDef>
): Diagnostic[] {
  const recorders = new Map<string, Set<string>>();
  const add = (name: string, unit: string) =>
    recorders.set(name, (recorders.get(name) ?? new Set()).add(unit));
  metrics.forEach(m => m.step !== null && add(m.name, m.step));
  for (const [step, sub] of Object.entries(subPipelines)) {
    metricNames(sub.analysis).forEach(name => add(name, step));
  }
  const out: Diagnostic[] = [];
  for (const [name, units] of recorders) {
    const notebookStep = [...units].map(u => steps.get(u)).find(def => def?.notebook);
    if (units.size > 1 && notebookStep) {
      out.push(
        diagnostic(
          'warning',
          'duplicate-metric',
          `The metric "${name}" is recorded by ${[...units].join(' and ')}; a run keeps one value per name ` +
            `(the last one recorded). Rename one of them.`,
          { cell: notebookStep.notebook!.cell, step: notebookStep.name, name }
        )
      );
    }
  }
  return out;
}

/**
 * The parameters a sub-pipeline's steps get. By name: each parameter of the parent that the child
 * declares too (the parent's value wins, as in Kale 2.x) or reads without defining it.
 */
function subPipeline(
  step: string,
  child: ChildPipeline,
  parentParameters: Record<string, ParameterValue>,
  inputs: readonly string[]
): SubPipeline {
  const parameters = { ...child.analysis.parameters };
  const passed: string[] = [];
  for (const name of Object.keys(parentParameters)) {
    const declared = name in parameters;
    // A name the child reads undefined is the parameter unless a parent step rebinds it (then it is an input).
    const read = child.needs.has(name) && !inputs.includes(name);
    if (declared || read) {
      parameters[name] = parentParameters[name];
      passed.push(name);
    }
  }
  return {
    step,
    path: child.path,
    notebook: child.notebook,
    analysis: child.analysis,
    parameters,
    passed: passed.sort(),
    reads: child.reads,
    provides: child.provides
  };
}
