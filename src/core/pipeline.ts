/**
 * The core's entry point: a notebook in, the pipeline it describes out, with
 * every diagnostic. Pure and synchronous once the analyser exists, so the
 * frontend can call it on each edit (cell analyses are memoised by source).
 */
import { isBuiltinName, PythonAnalyser } from './analysis';
import type { CellAnalysis } from './analysis/types';
import { Diagnostic, diagnostic, sortDiagnostics } from './diagnostics';
import { buildGraph } from './graph/dag';
import { groupSteps } from './graph/steps';
import { computeFlow, EdgeSuggestion, MetricFlow, MetricRef } from './flow/flow';
import { issueDiagnostic } from './flow/issues';
import type { NotebookData } from './notebook/model';
import { CellRole, parseCellTags } from './tags/grammar';
import { parseMetrics } from './tags/metrics';
import { ParameterValue, parseParameters } from './tags/parameters';
import { PipelineSettings, readPipelineSettings, resolveStepSettings, StepSettings } from './tags/settings';

export interface PipelineStep {
  name: string;
  /** Notebook cell indices (0-based). */
  cells: number[];
  /** Upstream steps declared with prev:. */
  deps: string[];
  ins: string[];
  outs: string[];
  /** The providing step of each input. */
  sources: Record<string, string>;
  /**
   * The pipeline parameters the step reads (directly or through the functions it calls), sorted: the
   * only ones its program gets and its cache key holds. Read them with `stepParameters`.
   */
  parameters: string[];
  settings: StepSettings;
}

export interface PipelineAnalysis {
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
  /** The analysis of each code cell in the pipeline, by index. */
  analyses: Map<number, CellAnalysis>;
}

export function analyzeNotebook(notebook: NotebookData, analyser: PythonAnalyser): PipelineAnalysis {
  const diagnostics: Diagnostic[] = [];
  const roles = new Map<number, CellRole>();
  for (const cell of notebook.cells) {
    if (cell.type === 'code') {
      const parsed = parseCellTags(cell.tags, cell.index);
      roles.set(cell.index, parsed.role);
      diagnostics.push(...parsed.diagnostics);
    }
  }

  const settings = readPipelineSettings(notebook, notebook.name);
  diagnostics.push(...settings.diagnostics);

  const grouping = groupSteps(notebook.cells, roles);
  const graph = buildGraph(grouping.steps);
  diagnostics.push(...graph.diagnostics);

  const analyses = new Map<number, CellAnalysis>();
  for (const index of grouping.buckets.keys()) {
    const analysis = analyser.analyseCell(notebook.cells[index].source);
    analyses.set(index, analysis);
    const step = grouping.buckets.get(index)!;
    for (const issue of analysis.issues) {
      diagnostics.push(issueDiagnostic(issue, index, step.kind === 'step' ? step.step : undefined));
    }
  }

  const parameters: Record<string, ParameterValue> = {};
  for (const index of grouping.parameters) {
    const parsed = parseParameters(analyser.parser, notebook.cells[index].source, index);
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

  const metrics: MetricRef[] = [];
  for (const index of grouping.metrics) {
    const parsed = parseMetrics(notebook.cells[index].source, index);
    diagnostics.push(...parsed.diagnostics);
    metrics.push(...parsed.metrics.map(m => ({ name: m.name, line: m.line, cell: index })));
  }

  const flow = computeFlow({
    grouping,
    graph,
    analyses,
    parameters: new Set(Object.keys(parameters)),
    metrics,
    isBuiltin: isBuiltinName
  });
  diagnostics.push(...flow.diagnostics);

  const steps: PipelineStep[] = grouping.steps.map(step => {
    const f = flow.steps.get(step.name)!;
    const resolved = resolveStepSettings(settings.settings, step.name, roles, step.cells);
    diagnostics.push(...resolved.diagnostics);
    return {
      name: step.name,
      cells: step.cells,
      deps: graph.deps.get(step.name) ?? [],
      ins: f.ins,
      outs: f.outs,
      sources: f.sources,
      parameters: f.parameters,
      settings: resolved.settings
    };
  });
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
    pipeline,
    steps,
    order: graph.order,
    parameters,
    metrics: flow.metrics,
    suggestions: flow.suggestions,
    diagnostics: sortDiagnostics(diagnostics),
    prelude: [...grouping.imports, ...grouping.functions].sort((a, b) => a - b),
    roles,
    analyses
  };
}
