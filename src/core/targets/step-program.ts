/**
 * Target `local`: one readable, deterministic Python program per step. It
 * embeds the runtime verbatim, then describes the step as data: the imports
 * and functions cells, the parameters, where each input comes from, the
 * step's cells, what to save and which metrics to record.
 */
import type { NotebookData } from '../notebook/model';
import type { PipelineAnalysis } from '../pipeline';
import { stepMetrics, stepParameters } from '../step-queries';
import { formatParameter } from '../tags/parameters';

export interface StepProgramOptions {
  analysis: PipelineAnalysis;
  notebook: NotebookData;
  step: string;
  /** The source of cellpipe/runtime.py. */
  runtimeSource: string;
}

/** A Python string literal (a JSON string is one). */
const str = (text: string) => JSON.stringify(text);

function cellList(notebook: NotebookData, cells: readonly number[]): string {
  if (cells.length === 0) {
    return '[]';
  }
  return `[\n${cells.map(i => `        (${i}, ${str(notebook.cells[i].source)}),`).join('\n')}\n    ]`;
}

export function stepProgram({ analysis, notebook, step, runtimeSource }: StepProgramOptions): string {
  const spec = analysis.steps.find(s => s.name === step);
  if (!spec) {
    throw new Error(`The pipeline has no step "${step}".`);
  }
  // Only the parameters the step reads: changing another one leaves its program (and cache key) as it was.
  const parameters = Object.entries(stepParameters(analysis, step))
    .map(([name, p]) => `        ${str(name)}: ${formatParameter(p)},`)
    .join('\n');
  const ins = spec.ins.map(name => `        ${str(name)}: ${str(spec.sources[name])},`).join('\n');
  const metrics = stepMetrics(analysis, step);
  return [
    '#!/usr/bin/env python3',
    `# cellpipe step program: pipeline ${str(analysis.pipeline.name)}, step ${str(step)}.`,
    `# Generated from ${notebook.name ?? 'a notebook'}; the same notebook always gives the same program.`,
    `# Run it by hand with: python ${step}.py RUN_DIR [PARAMETERS.json]`,
    '',
    '# ---- the cellpipe runtime (cellpipe/runtime.py), embedded verbatim ----',
    runtimeSource.trimEnd(),
    '',
    '# ---- this step ----',
    'STEP = {',
    `    "step": ${str(step)},`,
    `    "prelude": ${cellList(notebook, analysis.prelude)},`,
    `    "parameters": {${parameters ? `\n${parameters}\n    ` : ''}},`,
    `    "ins": {${ins ? `\n${ins}\n    ` : ''}},`,
    `    "cells": ${cellList(notebook, spec.cells)},`,
    `    "outs": [${spec.outs.map(str).join(', ')}],`,
    `    "metrics": [${metrics.map(str).join(', ')}],`,
    '}',
    '',
    'if __name__ == "__main__":',
    '    sys.exit(main(STEP, sys.argv))',
    ''
  ].join('\n');
}
