/**
 * Questions about one step of an analysed pipeline, answered once here for every shell: the local
 * engine (programs, cache keys), the cluster targets, the CLI and the frontend (sidebar, graph, badges)
 * ask these instead of deriving the answers from the analysis themselves.
 */
import type { Diagnostic } from './diagnostics';
import type { PipelineAnalysis, PipelineStep } from './pipeline';
import type { ParameterValue } from './tags/parameters';

/**
 * The pipeline parameters `step` reads (directly, through the functions it calls, or as a metric it
 * records), with their values: the notebook's, or `overrides` where given. A step's program gets only
 * these and its cache key holds only these, so changing another parameter does not re-run it.
 */
export function stepParameters(
  analysis: Pick<PipelineAnalysis, 'steps' | 'parameters'>,
  step: string,
  overrides: Readonly<Record<string, ParameterValue>> = {}
): Record<string, ParameterValue> {
  const spec = analysis.steps.find(s => s.name === step);
  const out: Record<string, ParameterValue> = {};
  for (const name of spec?.parameters ?? []) {
    const value = overrides[name] ?? analysis.parameters[name];
    if (value) {
      out[name] = value;
    }
  }
  return out;
}

/** The pipeline metrics `step` records, in the order of the pipeline-metrics cell. */
export function stepMetrics(analysis: Pick<PipelineAnalysis, 'metrics'>, step: string): string[] {
  return analysis.metrics.filter(m => m.step === step).map(m => m.name);
}

/** For each variable `step` passes on, the steps that read it from `step`, in notebook order. */
export function outputReaders(
  analysis: Pick<PipelineAnalysis, 'steps'>,
  step: string
): Record<string, string[]> {
  const readers: Record<string, string[]> = {};
  const spec = analysis.steps.find(s => s.name === step);
  for (const name of spec?.outs ?? []) {
    readers[name] = analysis.steps.filter(s => s.sources[name] === step).map(s => s.name);
  }
  return readers;
}

/** The step a cell belongs to (by 0-based index), or null (markdown, skip, prelude, untagged). */
export function stepOfCell(analysis: Pick<PipelineAnalysis, 'steps'>, cell: number): PipelineStep | null {
  return analysis.steps.find(s => s.cells.includes(cell)) ?? null;
}

/**
 * The errors and warnings of each step, in the analysis's order: a diagnostic belongs to the step it
 * names, else to the step of the cell it points at. Steps without any are absent.
 */
export function diagnosticsByStep(
  analysis: Pick<PipelineAnalysis, 'steps' | 'diagnostics'>
): Map<string, Diagnostic[]> {
  const stepOf = new Map<number, string>();
  for (const step of analysis.steps) {
    for (const cell of step.cells) {
      stepOf.set(cell, step.name);
    }
  }
  const out = new Map<string, Diagnostic[]>();
  for (const d of analysis.diagnostics) {
    if (d.severity === 'info') {
      continue;
    }
    const step = d.step ?? (d.cell !== null ? stepOf.get(d.cell) : undefined);
    if (step !== undefined) {
      const list = out.get(step);
      if (list) {
        list.push(d);
      } else {
        out.set(step, [d]);
      }
    }
  }
  return out;
}
