/**
 * Target `local`: one readable, deterministic Python program per step. It
 * embeds the runtime verbatim, then describes the step as data: the imports
 * and functions cells, the parameters, where each input comes from, the
 * step's cells, what to save and which metrics to record.
 */
import type { NotebookData } from '../notebook/model';
import type { PipelineAnalysis } from '../pipeline';
import { formatParameter } from '../tags/parameters';
import { RunnableStep, runnableSteps } from './runnable-steps';

export interface StepProgramOptions {
  analysis: PipelineAnalysis;
  notebook: NotebookData;
  /** A runnable step: a step of the notebook, or `NOTEBOOK_STEP.STEP` in a sub-pipeline. */
  step: string;
  /** The source of cellpipe/runtime.py. */
  runtimeSource: string;
}

/** A Python string literal (a JSON string is one). */
const str = (text: string) => JSON.stringify(text);

function cellList(cells: ReadonlyArray<{ cell: number; source: string }>): string {
  if (cells.length === 0) {
    return '[]';
  }
  return `[\n${cells.map(c => `        (${c.cell}, ${str(c.source)}),`).join('\n')}\n    ]`;
}

const cellsOf = (notebook: NotebookData, cells: readonly number[]) =>
  cells.map(cell => ({ cell, source: notebook.cells[cell].source }));

export function stepProgram({ analysis, notebook, step, runtimeSource }: StepProgramOptions): string {
  const runnable = runnableSteps(analysis, notebook).find(r => r.name === step);
  if (!runnable) {
    throw new Error(`The pipeline has no step "${step}".`);
  }
  return runnableProgram(runnable, runtimeSource);
}

/**
 * The imports and functions cells a runnable step runs first: those of the notebooks that run its notebook
 * (outermost first), then its own notebook's.
 */
export function stepPrelude(runnable: RunnableStep): Array<{ cell: number; source: string }> {
  return [...runnable.outerPrelude, ...cellsOf(runnable.notebook, runnable.analysis.prelude)];
}

/** The program of one runnable step (its cells and prelude come from its own notebook). */
export function runnableProgram(runnable: RunnableStep, runtimeSource: string): string {
  const { analysis, notebook, step: spec, name: step } = runnable;
  const parameters = Object.entries(runnable.parameters)
    .map(([name, p]) => `        ${str(name)}: ${formatParameter(p)},`)
    .join('\n');
  const ins = Object.entries(runnable.sources)
    .map(([name, provider]) => `        ${str(name)}: ${str(provider)},`)
    .join('\n');
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
    `    "prelude": ${cellList(stepPrelude(runnable))},`,
    `    "parameters": {${parameters ? `\n${parameters}\n    ` : ''}},`,
    `    "ins": {${ins ? `\n${ins}\n    ` : ''}},`,
    `    "cells": ${cellList(cellsOf(notebook, spec.cells))},`,
    `    "outs": [${runnable.outs.map(str).join(', ')}],`,
    `    "fingerprint": [${spec.fingerprint.map(str).join(', ')}],`,
    `    "guards": [${spec.guards.map(g => `{"name": ${str(g.name)}, "message": ${str(g.message)}}`).join(', ')}],`,
    `    "state": {"from": [${runnable.stateFrom.map(str).join(', ')}], "at": ${spec.state.at}},`,
    `    "metrics": [${runnable.metrics.map(str).join(', ')}],`,
    '}',
    '',
    'if __name__ == "__main__":',
    '    sys.exit(main(STEP, sys.argv))',
    ''
  ].join('\n');
}
