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

/**
 * The runtime as a step program takes it: embedded verbatim, or, on an image known to hold this very
 * cellpipe (the notebook pod's own), read from the image's cellpipe package and checked against the hash
 * of the one compiled for. A cluster run keeps every program in its Workflow (KFP even once per pod node
 * in its status), and the runtime is most of each program: embedding it in every step made a 4-step KFP
 * run's Workflow outgrow the 1 MiB an object may have.
 */
export type StepRuntime = { embed: string } | { fromImage: { sha256: string } };

/** The program's runtime part: the runtime's own definitions, executed into the program's globals. */
function runtimePart(runtime: StepRuntime): string[] {
  if ('embed' in runtime) {
    return [
      '# ---- the cellpipe runtime (cellpipe/runtime.py), embedded verbatim ----',
      runtime.embed.trimEnd()
    ];
  }
  return [
    "# ---- the cellpipe runtime: the image's cellpipe/runtime.py, the one this program was made with ----",
    'def _cellpipe_runtime(expected):',
    '    import hashlib, importlib.util, os, sys',
    '    spec = importlib.util.find_spec("cellpipe")',
    '    folders = list(spec.submodule_search_locations or []) if spec else []',
    '    path = os.path.join(folders[0], "runtime.py") if folders else None',
    '    try:',
    '        with open(path, "rb") as f:',
    '            source = f.read()',
    '    except (OSError, TypeError):',
    '        sys.exit(f"cellpipe: this step takes its runtime from the image, but {sys.executable} has no cellpipe "',
    '                 "package: set an image with cellpipe installed, or the image of the notebook server")',
    '    if hashlib.sha256(source).hexdigest() != expected:',
    '        sys.exit(f"cellpipe: the cellpipe runtime of the image ({path}) is not the one this step was compiled with: "',
    '                 "the notebook server runs another cellpipe than its image holds (installed after the server "',
    '                 "started, or in the home folder?); restart the notebook server, or set the pipeline image")',
    '    return compile(source, path, "exec")',
    '',
    `exec(_cellpipe_runtime(${str(runtime.fromImage.sha256)}))`
  ];
}

/** The program of one runnable step (its cells and prelude come from its own notebook). */
export function runnableProgram(runnable: RunnableStep, runtime: string | StepRuntime): string {
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
    ...runtimePart(typeof runtime === 'string' ? { embed: runtime } : runtime),
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
