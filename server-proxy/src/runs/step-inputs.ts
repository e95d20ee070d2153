/**
 * A step's inputs in a notebook's kernel: the Python that puts what step STEP of a run received (its
 * imports and functions cells, parameters, inputs and the interpreter state of the steps above) into the
 * kernel it runs in, and where to go in the notebook (the failed cell and line).
 *
 * The code runs the step's own program (`RUN_DIR/programs/STEP.py`, which embeds the runtime the step ran
 * with, verbatim) as the module `_cellpipe_runtime` and calls its `load_step_inputs`: the kernel needs no
 * cellpipe install, and the values are loaded by the very code that loaded them for the step, even when
 * cellpipe has been upgraded since. The kernel runs on the Jupyter server's host, so it reads the run's
 * folder where the server sees it; a cluster run's values are copied there first (from the run volume or
 * the artifact store, through the engine), so the kernel loads them the same way.
 */
import { createHash, randomBytes } from 'crypto';
import { copyFile, mkdir, rename, rm } from 'fs/promises';
import { join } from 'path';
import type { RunRecord } from '../../../src/core/runs/run-record';
import type { StepInputs } from '../../../src/core/runs/step-inputs';
import { DEFAULT_IMAGE } from '../../../src/core/targets/cluster-plan';
import { writeJsonAtomic } from '../atomic-file';
import type { ClusterBackend, SavedValue } from '../engines/cluster/cluster-backend';
import { ClusterError } from '../engines/cluster/cluster-errors';
import { fileExists } from '../file-exists';

/** The inputs cannot be had; `code` says why in the API's terms. */
export class StepInputsError extends Error {
  constructor(
    readonly code: 'inputs-gone' | 'inputs-missing' | 'inputs-on-cluster' | 'inputs-unreachable',
    message: string
  ) {
    super(message);
  }
}

/**
 * A variable's file stem, as the step runtime names its files (`runtime.py` `file_stem`): its name, or for
 * a name of more than 100 bytes a prefix and a hash of it.
 */
function fileStem(name: string): string {
  if (Buffer.byteLength(name) <= 100) {
    return name;
  }
  return `${name.slice(0, 60)}-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}

/** A Python string literal (a JSON string is one). */
const str = (text: string) => JSON.stringify(text);

/** Where the data of a cluster run's steps comes from, as the user is told when it is gone. */
const KEPT_IN = { argo: "the run's volume", kfp: "KFP's artifact store" } as const;

/**
 * The kernel code for step `step` of the run recorded in `record`, kept in folder `dir`. A cluster run's
 * values are first copied from the cluster (`backend`: the engine's view of the run) into
 * `inputs/STEP/`, a folder laid out as a local run's, which the same kernel code then reads.
 */
export async function stepInputs(
  record: RunRecord,
  dir: string,
  step: string,
  backend?: () => ClusterBackend | null
): Promise<StepInputs> {
  if (!(await fileExists(join(dir, 'programs', `${step}.py`)))) {
    throw new StepInputsError(
      'inputs-gone',
      record.cluster
        ? `Run ${record.id} was submitted by an earlier cellpipe, which kept no step programs beside the run: ` +
            'submit the pipeline again to load its inputs.'
        : `The files of run ${record.id} are gone (its step program ${step}.py was removed): run the pipeline again.`
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
    if (!record.cluster && !(await fileExists(join(dir, 'data', provider)))) {
      throw new StepInputsError(
        'inputs-gone',
        `The data step ${provider} saved for ${step} (${names.join(', ')}) is gone from run ${record.id}: run the pipeline again.`
      );
    }
  }
  const runDir = record.cluster ? await copyClusterInputs(record, dir, step, providers, backend) : dir;
  const error = record.steps[step]?.error;
  return {
    run: record.id,
    step,
    code: kernelCode(runDir, step),
    inputs: [...providers.values()].flat().sort(),
    parameters: Object.keys(lineage?.parameters ?? {}).sort(),
    error: error ? { cell: error.cell, line: error.line, message: error.message } : null,
    notebook: lineage?.notebook ?? null
  };
}

/**
 * A cluster step's inputs, copied once into `inputs/STEP/` of the run's folder (its program, the parameter
 * values it read, its providers' values and interpreter state), atomically: a folder there is whole.
 */
async function copyClusterInputs(
  record: RunRecord,
  dir: string,
  step: string,
  providers: Map<string, string[]>,
  backendOf: (() => ClusterBackend | null) | undefined
): Promise<string> {
  const cluster = record.cluster!;
  const into = join(dir, 'inputs', step);
  if (await fileExists(into)) {
    return into; // the data of finished steps does not change
  }
  const backend = backendOf?.();
  if (!backend?.copyValues) {
    throw new StepInputsError(
      'inputs-on-cluster',
      `Run ${record.id} ran on the cluster, and this process cannot reach it (no Kubernetes access to ` +
        `namespace ${cluster.namespace}): run this where the cluster can be reached (in the notebook server's ` +
        'pod, or with a kubeconfig).'
    );
  }
  const task = (s: string) => record.clusterTasks?.[s] ?? s;
  const values: SavedValue[] = [...providers].flatMap(([provider, names]) =>
    names.map(name => ({ step: provider, task: task(provider), stem: fileStem(name) }))
  );
  // The interpreter state of the steps above (only those the step continues are read).
  for (const dep of record.plan.deps[step] ?? []) {
    if (record.steps[dep]?.status === 'succeeded') {
      values.push({ step: dep, task: task(dep), stem: '@state' });
    }
  }
  const lineage = record.lineage?.steps[step];
  const tmp = `${into}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await mkdir(join(tmp, 'programs'), { recursive: true });
    await copyFile(join(dir, 'programs', `${step}.py`), join(tmp, 'programs', `${step}.py`));
    // The values it read, where `load_step_inputs` reads a run's values (a sub-pipeline step's by name).
    await writeJsonAtomic(
      step.includes('.') ? join(tmp, 'parameters', `${step}.json`) : join(tmp, 'parameters.json'),
      lineage?.parameters ?? {}
    );
    let copied: string[];
    try {
      copied =
        values.length > 0 ? await backend.copyValues(values, tmp, lineage?.image ?? DEFAULT_IMAGE) : [];
    } catch (err) {
      if (err instanceof ClusterError && err.code === 'not-found') {
        throw new StepInputsError(
          'inputs-gone',
          `${err.message} Run the pipeline again to load the inputs of ${step}.`
        );
      }
      throw new StepInputsError(
        'inputs-unreachable',
        `Could not copy the inputs of step ${step} from the cluster: ${(err as Error).message}`
      );
    }
    const have = new Set(copied);
    for (const [provider, names] of providers) {
      const gone = names.filter(n => !have.has(`data/${provider}/${fileStem(n)}.json`));
      if (gone.length > 0) {
        throw new StepInputsError(
          'inputs-gone',
          `The data step ${provider} saved for ${step} (${gone.join(', ')}) is not in ${KEPT_IN[cluster.kind]} ` +
            `of run ${record.id} any more` +
            (cluster.kind === 'kfp'
              ? ` (it was deleted, or ${provider}'s result came from KFP's cache, which keeps it with the run that computed it)`
              : '') +
            `: run the pipeline again to load the inputs of ${step}.`
        );
      }
    }
    await rename(tmp, into);
    return into;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
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
