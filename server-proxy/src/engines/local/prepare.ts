/**
 * Preparing a local run in `.cellpipe/runs/RUN_ID/` beside the notebook: its lease (the owner), a snapshot
 * of the notebook's folder as the steps' workspace, the step programs, the parameters and the plan. A run
 * that cannot be prepared (disk full, folder not writable, a name too long) leaves nothing behind: its
 * folder is removed and the error says what to do.
 */
import { createHash } from 'crypto';
import { mkdir, readFile, rm } from 'fs/promises';
import { basename, dirname, join } from 'path';
import type { NotebookData } from '../../../../src/core/notebook/model';
import type { PipelineAnalysis } from '../../../../src/core/pipeline';
import { RunLineage, stepNotebook } from '../../../../src/core/runs/lineage';
import type { RunOwner, RunRecord } from '../../../../src/core/runs/run-record';
import type { ParameterValue } from '../../../../src/core/tags/parameters';
import { neededSteps, RunnableStep, runnableSteps } from '../../../../src/core/targets/runnable-steps';
import { runImports } from '../../../../src/core/targets/step-imports';
import { runnableProgram, stepPrelude } from '../../../../src/core/targets/step-program';
import { writeFileAtomic, writeJsonAtomic } from '../../atomic-file';
import { runtimeSource } from '../../runtime-source';
import { fileProblem } from '../../runs/file-problem';
import { createLease } from '../../runs/run-lease';
import { newRunId, runDir, runsDir } from '../../runs/run-store';
import { restoreWorkspace } from './lineage';
import { COPY_ATTEMPTS, Manifest, ObjectStore, Snapshot, takeSnapshot } from './snapshot';
import { stepCacheKey } from './step-cache';

export interface PrepareOptions {
  notebookPath: string;
  notebook: NotebookData;
  analysis: PipelineAnalysis;
  /** Overrides of the notebook's parameter values. */
  parameters?: Record<string, ParameterValue>;
  /** Reuse steps from earlier runs when nothing they depend on changed (default true). */
  cache?: boolean;
  /** Run just these steps (always, not from the cache); the steps above them come from the cache when it can. */
  only?: string[];
  owner: RunOwner;
  id?: string;
  /**
   * `cellpipe run --like RUN`: the steps work in that run's workspace snapshot when the object store still
   * has all of its files (else in a new snapshot, and the record says why).
   */
  like?: string;
}

export interface PreparedRun {
  dir: string;
  record: RunRecord;
  store: ObjectStore;
  snapshot: Snapshot;
}

/** Step name → the settings its environment is made of (`step-env.ts`). */
export const STEP_SETTINGS = 'step-settings.json';

/**
 * Step name → a hash of the runtime and the imports and functions cells its program runs first: steps with
 * the same key may be forked from one warm Python (`warm-pool.ts`).
 */
export const PRELUDE_KEYS = 'prelude-keys.json';

/** The modules the run's steps import (`runImports`): its warm Pythons import them before forking steps. */
export const WARM_IMPORTS = 'warm-imports.json';

/** The run could not be prepared; nothing of it is left on disk. */
export class RunSetupError extends Error {}

export async function prepareLocalRun(options: PrepareOptions): Promise<PreparedRun> {
  const { analysis, notebook, notebookPath } = options;
  const runnable = runnableSteps(analysis, notebook);
  for (const step of options.only ?? []) {
    if (!runnable.some(s => s.name === step)) {
      const names = runnable.map(s => s.name).join(', ');
      throw new RunSetupError(`The pipeline has no step "${step}" (it has ${names}).`);
    }
  }
  const id = options.id ?? newRunId();
  const dir = join(runsDir(notebookPath), id);
  let created = false;
  try {
    await mkdir(runsDir(notebookPath), { recursive: true });
    await mkdir(dir);
    created = true;
    await createLease(dir, options.owner);
    return await fill(dir, id, runnable, options);
  } catch (err) {
    if (created) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
    if (err instanceof RunSetupError) {
      throw err;
    }
    throw new RunSetupError(fileProblem(err, 'prepare the run', created ? dir : runsDir(notebookPath)));
  }
}

async function fill(
  dir: string,
  id: string,
  runnable: RunnableStep[],
  options: PrepareOptions
): Promise<PreparedRun> {
  const { analysis, notebookPath } = options;
  const parameters = { ...analysis.parameters, ...options.parameters };
  const needed = options.only ? neededSteps(runnable, options.only) : null;
  const steps = runnable.filter(s => !needed || needed.has(s.name));
  const order = steps.map(s => s.name);
  const forced = new Set(options.only ?? []);

  await mkdir(join(dir, 'logs'), { recursive: true });
  // The steps work in a snapshot of the notebook's folder: exactly these files, and their writes stay here.
  const store = new ObjectStore(join(dirname(notebookPath), '.cellpipe', 'objects'));
  const warnings: string[] = [];
  const snapshot =
    (options.like && (await likeWorkspace(notebookPath, options.like, store, dir, warnings))) ||
    (await takeSnapshot(dirname(notebookPath), store, join(dir, 'workspace'), [basename(notebookPath)]));
  const manifest = snapshot.manifest;
  if (snapshot.unsettled.length > 0) {
    warnings.push(
      `${someFiles(snapshot.unsettled)} ${snapshot.unsettled.length === 1 ? 'was' : 'were'} being written ` +
        `while the workspace was snapshotted (copied ${COPY_ATTEMPTS} times): the steps may see part of a write.`
    );
  }
  await writeJsonAtomic(join(dir, 'workspace.json'), manifest);
  const runtime = runtimeSource();
  const plan: RunRecord['plan'] = { deps: {}, cacheKeys: {}, reuse: {} };
  const lineage: RunLineage = {
    steps: {},
    workspace: { hash: manifest.hash },
    environment: {},
    ...(options.like ? { like: options.like } : {})
  };
  for (const step of steps) {
    const name = step.name;
    const program = runnableProgram(step, runtime);
    await writeFileAtomic(join(dir, 'programs', `${name}.py`), program);
    // A sub-pipeline step gets the run's values of the parameters passed down to it, and only those.
    const overrides = pick(options.parameters ?? {}, step.runParameters);
    if (step.scope.length > 0) {
      await writeJsonAtomic(stepParametersFile(dir, name), overrides);
    }
    const inputs = Object.fromEntries(
      Object.entries(step.sources).map(([i, p]) => [i, plan.cacheKeys[p] ?? ''])
    );
    plan.deps[name] = step.deps.filter(d => !needed || needed.has(d));
    // The values of the parameters the step reads (the run's, where passed to it).
    const values = { ...step.parameters, ...overrides };
    plan.cacheKeys[name] = stepCacheKey({
      program,
      parameters: values,
      workspace: manifest.hash,
      inputs
    });
    plan.reuse[name] = options.cache !== false && step.step.settings.caching !== false && !forced.has(name);
    lineage.steps[name] = {
      program: `sha256:${createHash('sha256').update(program).digest('hex')}`,
      parameters: values,
      inputs: Object.fromEntries(
        Object.entries(step.sources).map(([input, from]) => [input, { step: from }])
      ),
      ...stepNotebook(analysis.path, step)
    };
  }
  await writeJsonAtomic(join(dir, 'parameters.json'), options.parameters ?? {});
  await writeJsonAtomic(
    join(dir, PRELUDE_KEYS),
    Object.fromEntries(
      steps.map(s => [
        s.name,
        createHash('sha256')
          .update(JSON.stringify([runtime, stepPrelude(s)]))
          .digest('hex')
      ])
    )
  );
  await writeJsonAtomic(join(dir, WARM_IMPORTS), runImports(steps));
  // What each step's environment is made of (env values and secret references, never secret values),
  // so that whoever runs or resumes the run gives each step the same environment.
  await writeJsonAtomic(
    join(dir, STEP_SETTINGS),
    Object.fromEntries(
      steps.map(s => [s.name, { env: s.step.settings.env, secrets: s.step.settings.secrets }])
    )
  );
  const record: RunRecord = {
    id,
    notebook: notebookPath,
    pipeline: analysis.pipeline.name,
    status: 'running',
    started: new Date().toISOString(),
    owner: options.owner,
    parameters,
    workspace: manifest.hash,
    snapshot: {
      files: Object.keys(manifest.files).length,
      copied: snapshot.copied,
      bytesCopied: snapshot.bytesCopied
    },
    order,
    plan,
    steps: Object.fromEntries(order.map(name => [name, { status: 'queued', cached: false }])),
    metrics: {},
    lineage,
    ...(warnings.length > 0 ? { warnings } : {})
  };
  return { dir, record, store, snapshot };
}

/**
 * The parameter overrides of a step: `parameters.json` for the notebook's own steps, and for a
 * sub-pipeline's step (`NOTEBOOK_STEP.STEP`) those passed down to it.
 */
export function stepParametersFile(dir: string, step: string): string {
  return step.includes('.') ? join(dir, 'parameters', `${step}.json`) : join(dir, 'parameters.json');
}

function pick<T>(record: Record<string, T>, names: readonly string[]): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([name]) => names.includes(name)));
}

/** The workspace snapshot of run `like`, restored; null (with a warning why) when it cannot be. */
async function likeWorkspace(
  notebookPath: string,
  like: string,
  store: ObjectStore,
  dir: string,
  warnings: string[]
): Promise<Snapshot | null> {
  const from = runDir(notebookPath, like);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(from!, 'workspace.json'), 'utf8')) as Manifest;
  } catch {
    warnings.push(`Run ${like} kept no workspace snapshot: the steps see the files as they are now.`);
    return null;
  }
  const restored = await restoreWorkspace(manifest, store, join(dir, 'workspace'));
  if ('snapshot' in restored) {
    return restored.snapshot;
  }
  const { missing } = restored;
  const named = someFiles(missing);
  warnings.push(
    `The workspace snapshot of run ${like} is gone (${missing.length} of ` +
      `${Object.keys(manifest.files).length} files are no longer in .cellpipe/objects: ${named}; a step ` +
      'rewrote them in place, or the store was cleared): the steps see the files as they are now.'
  );
  return null;
}

/** Up to five of `files` by name, and how many more. */
function someFiles(files: string[]): string {
  return files.slice(0, 5).join(', ') + (files.length > 5 ? ` and ${files.length - 5} more` : '');
}
