/**
 * A step's inputs in a notebook's kernel: the Python that puts what step STEP of a run received (its
 * imports and functions cells, parameters, inputs and the interpreter state of the steps above) into the
 * kernel it runs in, and where to go in the notebook (the failed cell and line).
 *
 * The code runs the step's own program (`RUN_DIR/programs/STEP.py`, which embeds the runtime the step ran
 * with, verbatim) as the module `_cellpipe_runtime` and calls its `load_step_inputs`: the kernel needs no
 * cellpipe install, and the values are loaded by the very code that loaded them for the step, even when
 * cellpipe has been upgraded since. The kernel runs on the Jupyter server's host, so it reads the run's
 * folder where the server sees it.
 */
import { access } from 'fs/promises';
import { join } from 'path';
import type { RunRecord } from '../../../src/core/runs/run-record';
import type { StepInputs } from '../../../src/core/runs/step-inputs';

/** The inputs cannot be had; `code` says why in the API's terms. */
export class StepInputsError extends Error {
  constructor(
    readonly code: 'inputs-gone' | 'inputs-missing' | 'inputs-on-cluster',
    message: string
  ) {
    super(message);
  }
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false
  );

/** A Python string literal (a JSON string is one). */
const str = (text: string) => JSON.stringify(text);

/** The kernel code for step `step` of the local run recorded in `record`, kept in folder `dir`. */
export async function stepInputs(record: RunRecord, dir: string, step: string): Promise<StepInputs> {
  if (record.cluster) {
    throw new StepInputsError(
      'inputs-on-cluster',
      `Run ${record.id} ran on ${record.cluster.kind === 'kfp' ? 'Kubeflow Pipelines' : 'Argo Workflows'}: ` +
        "loading a cluster step's inputs into the kernel is not available yet; run the pipeline locally " +
        '(target local) to load them.'
    );
  }
  if (!(await exists(join(dir, 'programs', `${step}.py`)))) {
    throw new StepInputsError(
      'inputs-gone',
      `The files of run ${record.id} are gone (its step program ${step}.py was removed): run the pipeline again.`
    );
  }
  const lineage = record.lineage?.steps[step];
  const providers = new Map<string, string[]>();
  for (const [name, input] of Object.entries(lineage?.inputs ?? {})) {
    providers.set(input.step, [...(providers.get(input.step) ?? []), name]);
  }
  for (const [provider, names] of providers) {
    const status = record.steps[provider]?.status;
    if (status !== 'succeeded') {
      throw new StepInputsError(
        'inputs-missing',
        `Step ${step} has no inputs to load: step ${provider}, which gives it ${names.join(', ')}, ` +
          `${status ? `is ${status}` : 'was not run'} in run ${record.id}. Load the inputs of ${provider} instead.`
      );
    }
    if (!(await exists(join(dir, 'data', provider)))) {
      throw new StepInputsError(
        'inputs-gone',
        `The data step ${provider} saved for ${step} (${names.join(', ')}) is gone from run ${record.id}: run the pipeline again.`
      );
    }
  }
  const error = record.steps[step]?.error;
  return {
    run: record.id,
    step,
    code: kernelCode(dir, step),
    inputs: [...providers.values()].flat().sort(),
    parameters: Object.keys(lineage?.parameters ?? {}).sort(),
    error: error ? { cell: error.cell, line: error.line, message: error.message } : null
  };
}

/** Runs the step's program as a module in the kernel and loads the step's inputs with its runtime. */
export function kernelCode(dir: string, step: string): string {
  return [
    'def _cellpipe_load_step_inputs(run_dir, step):',
    '    import os, sys, types',
    '    program = os.path.join(run_dir, "programs", step + ".py")',
    "    # The step's own runtime: the module its saved functions and classes are rebuilt with.",
    '    runtime = types.ModuleType("_cellpipe_runtime")',
    '    runtime.__file__ = program',
    '    sys.modules["_cellpipe_runtime"] = runtime',
    '    with open(program, encoding="utf-8") as f:',
    '        exec(compile(f.read(), program, "exec"), runtime.__dict__)',
    '    return runtime.load_step_inputs(run_dir, step)',
    'try:',
    `    _cellpipe_load_step_inputs(${str(dir)}, ${str(step)})`,
    'finally:',
    '    del _cellpipe_load_step_inputs',
    ''
  ].join('\n');
}
