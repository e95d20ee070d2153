/**
 * The local engine: each step as a subprocess of a Python, in topological
 * order, independent steps in parallel up to a bound. Everything a run makes
 * lives in `.cellpipe/runs/RUN_ID/` beside the notebook; the notebook itself is
 * never touched.
 */
import { spawn } from 'child_process';
import { createWriteStream } from 'fs';
import { mkdir, readFile } from 'fs/promises';
import { cpus } from 'os';
import { basename, dirname, join } from 'path';
import type { NotebookData } from '../../../../src/core/notebook/model';
import type { PipelineAnalysis } from '../../../../src/core/pipeline';
import type { ParameterValue } from '../../../../src/core/tags/parameters';
import { runnableProgram } from '../../../../src/core/targets/step-program';
import { neededSteps, runnableSteps } from '../../../../src/core/targets/runnable-steps';
import { writeFileAtomic, writeJsonAtomic } from '../../atomic-file';
import { runtimeSource } from '../../runtime-source';
import type { RunRecord, StepRecord, StepStatus } from '../../../../src/core/runs/run-record';
import { listRuns, runsDir } from './run-store';
import { StepCache, stepCacheKey } from './step-cache';
import { dropChangedObjects, ObjectStore, takeSnapshot } from './snapshot';
import { ownerAlive, thisOwner } from '../../process-alive';

export interface LocalRunOptions {
  notebookPath: string;
  notebook: NotebookData;
  analysis: PipelineAnalysis;
  /** Overrides of the notebook's parameter values. */
  parameters?: Record<string, ParameterValue>;
  python: string;
  /** How many steps run at once; default: the number of cores. */
  parallel?: number;
  onStep?: (step: string, record: StepRecord, run: string) => void;
  /** Called once run.json exists: from then on the run can be read, listed and followed. */
  onRecorded?: (record: RunRecord) => void;
  /** Cancels the run: running steps are stopped, queued ones never start. */
  signal?: AbortSignal;
  /** Reuse steps from earlier runs when nothing they depend on changed (default true). */
  cache?: boolean;
  /** The run's id; default: a new one. */
  id?: string;
  /**
   * Run just these steps (always, not from the cache); the steps above them
   * come from the cache when it has them and run otherwise. Default: all.
   * Names are those of the runnable steps (`NOTEBOOK_STEP.STEP` in a sub-pipeline).
   */
  only?: string[];
}

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${Math.random().toString(16).slice(2, 6)}`;
}

export async function runLocal(options: LocalRunOptions): Promise<RunRecord> {
  const { analysis, notebook, notebookPath } = options;
  const id = options.id ?? newRunId();
  const dir = join(runsDir(notebookPath), id);
  const parameters = { ...analysis.parameters, ...options.parameters };
  const runnable = runnableSteps(analysis, notebook);
  for (const step of options.only ?? []) {
    if (!runnable.some(s => s.name === step)) {
      throw new Error(`The pipeline has no step "${step}" (it has ${runnable.map(s => s.name).join(', ')}).`);
    }
  }
  const needed = options.only ? neededSteps(runnable, options.only) : null;
  const steps = runnable.filter(s => !needed || needed.has(s.name));
  const order = steps.map(s => s.name);
  const forced = new Set(options.only ?? []);

  await mkdir(join(dir, 'logs'), { recursive: true });
  // The steps work in a snapshot of the notebook's folder: exactly these files, and their writes stay here.
  const store = new ObjectStore(join(dirname(notebookPath), '.cellpipe', 'objects'));
  const snapshot = await takeSnapshot(dirname(notebookPath), store, join(dir, 'workspace'), [
    basename(notebookPath)
  ]);
  const manifest = snapshot.manifest;
  await writeJsonAtomic(join(dir, 'workspace.json'), manifest);
  const runtime = runtimeSource();
  const plan: RunRecord['plan'] = { deps: {}, cacheKeys: {}, reuse: {} };
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
    plan.deps[name] = step.deps;
    plan.cacheKeys[name] = stepCacheKey({
      program,
      parameters: { ...step.parameters, ...overrides },
      workspace: manifest.hash,
      inputs
    });
    plan.reuse[name] = options.cache !== false && step.step.settings.caching !== false && !forced.has(name);
  }
  await writeJsonAtomic(join(dir, 'parameters.json'), options.parameters ?? {});
  const record: RunRecord = {
    id,
    notebook: notebookPath,
    pipeline: analysis.pipeline.name,
    status: 'running',
    started: new Date().toISOString(),
    ...thisOwner(),
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
    metrics: {}
  };
  const done = await executeRun(dir, record, options);
  const changed = await dropChangedObjects(store, snapshot);
  if (changed.length > 0) {
    done.snapshot = { ...done.snapshot!, changedInPlace: changed };
    await writeJsonAtomic(join(dir, 'run.json'), done);
  }
  return done;
}

/**
 * Runs a prepared run's queued steps, in order and in parallel. Used for new
 * runs and to resume one whose server stopped: steps that succeeded keep
 * their results, the others run again.
 */
export async function executeRun(
  dir: string,
  record: RunRecord,
  options: Pick<LocalRunOptions, 'python' | 'parallel' | 'onStep' | 'onRecorded' | 'signal'>
): Promise<RunRecord> {
  const { order, plan } = record;
  const workdir = join(dir, 'workspace');
  // Saves run one after another, each writing the record as it is then: the file never goes back in time.
  let saving: Promise<void> = Promise.resolve();
  const save = () => (saving = saving.then(() => writeJsonAtomic(join(dir, 'run.json'), record)));
  await save();
  options.onRecorded?.(record);
  const cache = new StepCache(join(dirname(record.notebook), '.cellpipe', 'cache'));
  const limit = Math.max(1, options.parallel ?? cpus().length);
  const running = new Set<Promise<void>>();
  const update = async (step: string, change: Partial<StepRecord>) => {
    record.steps[step] = { ...record.steps[step], ...change };
    options.onStep?.(step, record.steps[step], record.id);
    await save();
  };
  const statusOf = (step: string): StepStatus => record.steps[step].status;

  const runStep = async (step: string) => {
    // Marked running before the first await, so the scheduler never starts it twice.
    const started = new Date();
    const marked = update(step, { status: 'running', started: started.toISOString() });
    const key = plan.cacheKeys[step];
    const dataDir = join(dir, 'data', step);
    const stepDir = join(dir, 'steps', step);
    await marked;
    if (plan.reuse[step] && (await cache.has(key))) {
      await cache.restore(key, dataDir, stepDir);
      await update(step, {
        status: 'succeeded',
        cached: true,
        finished: new Date().toISOString(),
        seconds: 0
      });
      return;
    }
    const exitCode = await spawnStep(options.python, dir, step, workdir, options.signal);
    const finished = new Date();
    const timing = {
      finished: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
      exitCode
    };
    if (options.signal?.aborted) {
      await update(step, { status: 'cancelled', ...timing });
    } else if (exitCode === 0) {
      // Stored even when this run did not look in the cache: a later run may.
      await cache.store(key, dataDir, stepDir);
      await update(step, { status: 'succeeded', ...timing });
    } else {
      await update(step, { status: 'failed', ...timing, error: await readStepError(dir, step, exitCode) });
    }
  };

  for (;;) {
    // A step whose upstream failed or was skipped is skipped too.
    for (const step of order) {
      if (statusOf(step) === 'queued') {
        const blocker = plan.deps[step].find(d => ['failed', 'skipped'].includes(statusOf(d)));
        if (blocker) {
          await update(step, { status: 'skipped', skippedBecause: blocker });
        }
      }
    }
    const ready = options.signal?.aborted
      ? []
      : order.filter(
          step => statusOf(step) === 'queued' && plan.deps[step].every(d => statusOf(d) === 'succeeded')
        );
    for (const step of ready.slice(0, limit - running.size)) {
      const task: Promise<void> = runStep(step).finally(() => running.delete(task));
      running.add(task);
    }
    if (running.size === 0) {
      break;
    }
    await Promise.race(running);
  }

  if (options.signal?.aborted) {
    for (const step of order) {
      if (statusOf(step) === 'queued') {
        await update(step, { status: 'cancelled' });
      }
    }
  }
  for (const step of order) {
    if (statusOf(step) === 'succeeded') {
      Object.assign(record.metrics, await readJson(join(dir, 'steps', step, 'metrics.json'), {}));
    }
  }
  record.status = options.signal?.aborted
    ? 'cancelled'
    : order.every(step => statusOf(step) === 'succeeded')
      ? 'succeeded'
      : 'failed';
  record.finished = new Date().toISOString();
  await save();
  return record;
}

/**
 * Runs of a notebook left "running" by a server or CLI that is gone: resumed
 * from where they stopped, with the programs they were started with.
 */
export async function resumeOrphanedRuns(
  notebookPath: string,
  options: Pick<LocalRunOptions, 'python' | 'parallel' | 'onStep'>
): Promise<RunRecord[]> {
  const resumed: RunRecord[] = [];
  for (const record of await listRuns(notebookPath)) {
    // Cluster runs are followed again by the server (cluster-run.ts), never re-run here.
    const cluster = record.target !== undefined && record.target !== 'local';
    if (record.status !== 'running' || ownerAlive(record) || !record.plan || cluster) {
      continue;
    }
    for (const step of record.order) {
      if (record.steps[step].status !== 'succeeded') {
        record.steps[step] = { status: 'queued', cached: false };
      }
    }
    Object.assign(record, thisOwner());
    record.resumed = (record.resumed ?? 0) + 1;
    resumed.push(await executeRun(join(runsDir(notebookPath), record.id), record, options));
  }
  return resumed;
}

/** Runs one step program; its stdout and stderr go to logs/STEP.log. */
function spawnStep(
  python: string,
  runDir: string,
  step: string,
  cwd: string,
  signal?: AbortSignal
): Promise<number | null> {
  return new Promise(resolve => {
    const log = createWriteStream(join(runDir, 'logs', `${step}.log`));
    const child = spawn(
      python,
      [
        join(runDir, 'programs', `${step}.py`),
        runDir,
        step.includes('.') ? stepParametersFile(runDir, step) : join(runDir, 'parameters.json')
      ],
      {
        cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Plots go to files, never to a window.
        env: { ...process.env, MPLBACKEND: 'Agg', PYTHONUNBUFFERED: '1' }
      }
    );
    const stop = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', stop, { once: true });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', err => {
      log.end(`cellpipe: cannot start ${python}: ${err.message}\n`);
      resolve(null);
    });
    child.on('close', code => {
      signal?.removeEventListener('abort', stop);
      log.end(() => resolve(code));
    });
  });
}

/** The parameter overrides of a sub-pipeline step (`NOTEBOOK_STEP.STEP`): those passed down to it. */
function stepParametersFile(runDir: string, step: string): string {
  return join(runDir, 'parameters', `${step}.json`);
}

function pick<T>(record: Record<string, T>, names: readonly string[]): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([name]) => names.includes(name)));
}

async function readJson<T>(path: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

async function readStepError(
  runDir: string,
  step: string,
  exitCode: number | null
): Promise<StepRecord['error']> {
  const error = await readJson<{ message?: string; cell?: number | null; line?: number | null } | null>(
    join(runDir, 'steps', step, 'error.json'),
    null
  );
  if (error?.message) {
    return { message: error.message, cell: error.cell ?? null, line: error.line ?? null };
  }
  return {
    message: `the step's Python exited with status ${exitCode}; see logs/${step}.log`,
    cell: null,
    line: null
  };
}
