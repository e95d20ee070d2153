/**
 * Running a parameter sweep on the local engine: the one service behind `cellpipe sweep` and
 * `POST /api/sweeps`. Every trial is an ordinary run (started by `startRun`, so the refusal rule, the
 * journal and the cache are the runs' own). The steps all trials share run once: the first trial runs
 * alone until they are done, then the others start, at most `maxParallel` at a time, and take those
 * steps from the cache (their cache keys hold only the parameters a step reads).
 */
import { readdir, readFile } from 'fs/promises';
import { basename, dirname, join } from 'path';
import type { PipelineAnalysis } from '../../../src/core/pipeline';
import { runRefusal } from '../../../src/core/runs/refusal';
import type { RunRecord } from '../../../src/core/runs/run-record';
import { addWarnings } from '../../../src/core/runs/run-warnings';
import {
  bestTrial,
  parseObjective,
  parseSweepAxis,
  sharedSteps,
  SweepSpecError,
  sweepTrials,
  trialLabel
} from '../../../src/core/sweeps/sweep-plan';
import type { SweepRecord, TrialRecord } from '../../../src/core/sweeps/sweep-record';
import { parameterText } from '../../../src/core/tags/parameters';
import { runnableSteps } from '../../../src/core/targets/runnable-steps';
import { writeJsonAtomic } from '../atomic-file';
import { isRunId, newRunId } from '../runs/run-store';
import {
  analyseRunNotebook,
  clusterConnectionOf,
  startRun,
  StartOptions,
  StartRunError
} from '../runs/start-run';
import { ClusterError } from '../engines/cluster/cluster-errors';
import type { SubmittedRun } from '../engines/cluster/cluster-submit';
import { submitArgoSweep } from '../engines/cluster/cluster-sweep';
import { submitKatibSweep } from '../engines/cluster/katib-engine';

export interface SweepOptions extends Pick<
  StartOptions,
  | 'notebookPath'
  | 'notebook'
  | 'root'
  | 'cache'
  | 'parallel'
  | 'python'
  | 'cluster'
  | 'access'
  | 'volumes'
  | 'image'
  | 'runStorageClass'
  | 'pollMs'
> {
  /**
   * Where the trials run: `local` (default), `argo` (one Workflow, the shared steps once in it), `kfp` (a
   * KFP run per trial, each running every step) or `katib`.
   */
  target?: 'local' | 'argo' | 'kfp' | 'katib';
  jupyterPython: string;
  owner: StartOptions['owner'];
  /** `NAME=V1,V2` or `NAME=MIN..MAX[:log]`, one per swept parameter. */
  axes: string[];
  random?: number;
  seed?: number;
  /** Trials running at once (default 1). */
  maxParallel?: number;
  /** `METRIC:max|min` */
  objective?: string;
  signal?: AbortSignal;
  /** The sweep changed (a trial started or ended); the record is on disk already. */
  onChange?: (sweep: SweepRecord) => void;
  /**
   * Starts one trial's run; `onRun` hears of its record as its steps change. Default: `startRun` on the
   * local engine. The server passes its own, so that each trial is a run it owns (live, cancellable).
   */
  startTrialRun?: TrialRunStarter;
  /**
   * Argo: follows one trial's run on the sweep's Workflow to its end. Default: its own follow loop. The
   * server passes its own, so that each trial is a run it owns.
   */
  followTrial?: (trial: SubmittedRun) => Promise<RunRecord>;
}

export type TrialRunStarter = (
  request: { parameters: string[]; cache: boolean | undefined },
  onRun: (run: RunRecord) => void
) => Promise<{ record: RunRecord; done: Promise<RunRecord> }>;

/** Trials as runs of `startRun`, as the CLI runs them: local runs, or KFP runs followed to their end. */
function trialRun(options: SweepOptions): TrialRunStarter {
  return async (request, onRun) => {
    const started = await startRun({
      notebookPath: options.notebookPath,
      notebook: options.notebook,
      root: options.root,
      parameters: request.parameters,
      target: options.target === 'kfp' ? 'kfp' : 'local',
      cluster: options.cluster,
      access: options.access,
      volumes: options.volumes,
      image: options.image,
      pollMs: options.pollMs,
      cache: request.cache,
      parallel: options.parallel,
      python: options.python,
      jupyterPython: options.jupyterPython,
      owner: options.owner,
      signal: options.signal,
      onStep: (_step, run) => onRun(run)
    });
    if (started.kind === 'local') {
      return started;
    }
    const done = started
      .follow({ signal: options.signal, onStep: () => onRun(started.record) })
      .then(result => result.record);
    return { record: started.record, done };
  };
}

export function sweepsDir(notebookPath: string): string {
  return join(dirname(notebookPath), '.cellpipe', 'sweeps');
}

/** Plans the sweep and starts it; `done` settles with its final record. Bad axes throw a usage `StartRunError`. */
export async function startSweep(
  options: SweepOptions
): Promise<{ record: SweepRecord; done: Promise<SweepRecord> }> {
  const { notebookPath, notebook } = options;
  const analysis = await analyseRunNotebook(notebookPath, notebook, options.root);
  let record: SweepRecord;
  try {
    const axes = options.axes.map(text => parseSweepAxis(text, analysis.parameters));
    const trials = sweepTrials(axes, options.random, options.seed ?? 0);
    // On a cluster every trial may run at once unless the user says otherwise; locally one at a time.
    const target = options.target ?? 'local';
    const maxParallel = options.maxParallel ?? (target === 'local' ? 1 : trials.length);
    if (!(Number.isInteger(maxParallel) && maxParallel > 0)) {
      throw new SweepSpecError(`--max-parallel ${options.maxParallel}: expected a whole number above 0`);
    }
    record = {
      id: newRunId(),
      notebook: basename(notebookPath),
      ...(target !== 'local' ? { target } : {}),
      status: 'running',
      started: new Date().toISOString(),
      axes,
      random: options.random === undefined ? undefined : { trials: options.random, seed: options.seed ?? 0 },
      objective: options.objective ? parseObjective(options.objective) : undefined,
      // On KFP nothing is shared, so no trial waits for another: KFP's cache key holds the names of the
      // volumes a task mounts, and each trial's run restores the workspace snapshot into a volume of its own.
      shared:
        target === 'kfp'
          ? []
          : sharedSteps(
              runnableSteps(analysis, notebook),
              axes.map(a => a.name)
            ),
      maxParallel,
      trials: trials.map(parameters => ({ label: trialLabel(parameters), parameters, status: 'queued' }))
    };
  } catch (err) {
    if (err instanceof SweepSpecError) {
      throw new StartRunError('invalid-sweep', 400, `${basename(notebookPath)}: ${err.message}`, true);
    }
    throw err;
  }
  const path = join(sweepsDir(notebookPath), `${record.id}.json`);
  const save = async () => {
    await writeJsonAtomic(path, record);
    options.onChange?.(record);
  };
  if (options.target === 'argo') {
    return startArgoSweep(options, analysis, record, save);
  }
  if (options.target === 'katib') {
    return startKatibSweep(options, analysis, record, save);
  }
  // The others wait for the shared steps of the first trial; if one of them does not succeed, every
  // trial would fail the same way.
  let release: (outcome: SharedOutcome) => void = () => undefined;
  const shared = new Promise<SharedOutcome>(resolve => (release = resolve));
  const watch = (run: RunRecord) => {
    const outcome = sharedOutcome(record.shared, run);
    if (outcome !== null) {
      release(outcome);
    }
  };
  // The first trial is started here, so that a pipeline the runs refuse is refused before the sweep exists.
  const first = await startTrial(options, record.trials[0], options.cache, watch);
  await save();
  const firstDone = first.done.then(async run => {
    finish(record.trials[0], run);
    // A run that ended before its shared steps did (cancelled) has them cancelled or skipped.
    release(sharedOutcome(record.shared, run) ?? { failed: record.shared[0] });
    await save();
    return run;
  });
  return { record, done: runTrials(options, record, shared, firstDone, save) };
}

/** 'done' once every shared step succeeded, the first one that did not, or null while they run. */
type SharedOutcome = 'done' | { failed: string };

function sharedOutcome(shared: readonly string[], run: RunRecord): SharedOutcome | null {
  for (const step of shared) {
    const status = run.steps[step]?.status;
    if (status === 'failed' || status === 'skipped' || status === 'cancelled') {
      return { failed: step };
    }
    if (status !== 'succeeded') {
      return null;
    }
  }
  return 'done';
}

function finish(trial: TrialRecord, run: RunRecord): void {
  trial.status = run.status;
  trial.metrics = run.metrics;
  trial.seconds = run.finished ? (Date.parse(run.finished) - Date.parse(run.started)) / 1000 : undefined;
}

/** Starts one trial's run; resolves once it started, with the promise of its final record. */
async function startTrial(
  options: SweepOptions,
  trial: TrialRecord,
  cache: boolean | undefined,
  onRun: (run: RunRecord) => void = () => undefined
): Promise<{ done: Promise<RunRecord> }> {
  const start = options.startTrialRun ?? trialRun(options);
  const parameters = Object.entries(trial.parameters).map(
    ([name, value]) => `${name}=${parameterText(value)}`
  );
  const started = await start({ parameters, cache }, onRun);
  trial.run = started.record.id;
  trial.status = 'running';
  onRun(started.record);
  return { done: started.done };
}

async function runTrials(
  options: SweepOptions,
  record: SweepRecord,
  shared: Promise<SharedOutcome>,
  firstDone: Promise<RunRecord>,
  save: () => Promise<void>
): Promise<SweepRecord> {
  const outcome = await shared;
  const rest = record.trials.slice(1);
  if (outcome !== 'done' && !options.signal?.aborted) {
    for (const trial of rest) {
      trial.status = 'not-run';
      trial.reason = `the shared step ${outcome.failed} did not succeed in the first trial`;
    }
  } else {
    let next = 0;
    const worker = async () => {
      while (next < rest.length && !options.signal?.aborted) {
        const trial = rest[next++];
        try {
          // Later trials take the shared steps (if any) from the first one, even with --no-cache.
          const { done } = await startTrial(options, trial, record.shared.length > 0 || options.cache);
          await save();
          finish(trial, await done);
        } catch (err) {
          trial.status = 'failed';
          trial.reason = (err as Error).message;
        }
        await save();
      }
    };
    // The first trial holds one of the places until it ends.
    await Promise.all([firstDone.then(worker), ...Array.from({ length: record.maxParallel - 1 }, worker)]);
  }
  await firstDone;
  return conclude(options, record, save);
}

/** The sweep's end: trials never started are cancelled, the best one marked, the status from them all. */
async function conclude(
  options: SweepOptions,
  record: SweepRecord,
  save: () => Promise<void>
): Promise<SweepRecord> {
  for (const trial of record.trials) {
    if (trial.status === 'queued') {
      trial.status = 'cancelled';
    }
  }
  const best = record.objective ? bestTrial(record.trials, record.objective) : null;
  record.best = best ?? undefined;
  record.status = options.signal?.aborted
    ? 'cancelled'
    : record.trials.every(t => t.status === 'succeeded')
      ? 'succeeded'
      : 'failed';
  record.finished = new Date().toISOString();
  await save();
  return record;
}

/**
 * A sweep on Argo: refused as a run would be, submitted as one Workflow, each trial a run followed on it
 * (they end one by one); the sweep's snapshots are deleted once the last has ended.
 */
async function startArgoSweep(
  options: SweepOptions,
  analysis: PipelineAnalysis,
  record: SweepRecord,
  save: () => Promise<void>
): Promise<{ record: SweepRecord; done: Promise<SweepRecord> }> {
  const submitted = await asStartError(() =>
    submitArgoSweep({
      ...wholeSweepSubmit(options, analysis, record),
      trials: record.trials.map(t => t.parameters),
      // Given: at most that many pods at once; not given, every trial may run at once.
      maxParallel: options.maxParallel
    })
  );
  record.cluster = submitted.trials[0]?.record.cluster;
  submitted.trials.forEach((trial, i) => {
    record.trials[i].run = trial.record.id;
    record.trials[i].status = 'running';
  });
  await save();
  const done = (async () => {
    await Promise.all(
      submitted.trials.map(async (trial, i) => {
        const run = options.followTrial
          ? await options.followTrial(trial)
          : (await trial.follow({ signal: options.signal })).record;
        finish(record.trials[i], run);
        await save();
      })
    );
    addWarnings(record, ...(await submitted.cleanup()));
    return conclude(options, record, save);
  })();
  return { record, done };
}

/** What a sweep submitted as a whole (Argo, Katib) is submitted with, once the pipeline may run. */
function wholeSweepSubmit(options: SweepOptions, analysis: PipelineAnalysis, record: SweepRecord) {
  const refused = runRefusal(analysis, { file: basename(options.notebookPath), target: 'argo' });
  if (refused) {
    throw new StartRunError(refused.code, 422, refused.message, false, refused.errors);
  }
  return {
    ...clusterConnectionOf(options.cluster),
    access: options.access,
    notebookPath: options.notebookPath,
    notebook: options.notebook,
    analysis,
    volumes: options.volumes,
    image: options.image,
    runStorageClass: options.runStorageClass,
    pollMs: options.pollMs,
    owner: options.owner,
    sweepId: record.id
  };
}

/** A cluster's refusal (`ClusterError`) as the error a start answers with (its code and HTTP status). */
async function asStartError<T>(submit: () => Promise<T>): Promise<T> {
  try {
    return await submit();
  } catch (err) {
    if (err instanceof ClusterError) {
      throw new StartRunError(err.code, err.httpStatus, err.message);
    }
    throw err;
  }
}

/**
 * A sweep through Katib: one Experiment; Katib picks and runs the trials (a grid's are the planned ones,
 * random search's its own draws), read back until the Experiment ends; the best is Katib's optimal trial.
 */
async function startKatibSweep(
  options: SweepOptions,
  analysis: PipelineAnalysis,
  record: SweepRecord,
  save: () => Promise<void>
): Promise<{ record: SweepRecord; done: Promise<SweepRecord> }> {
  const submitted = await asStartError(() =>
    submitKatibSweep({
      ...wholeSweepSubmit(options, analysis, record),
      sweep: {
        axes: record.axes,
        objective: record.objective,
        random: options.random,
        seed: options.seed,
        maxParallel: options.maxParallel
      }
    })
  );
  record.experiment = { name: submitted.name, namespace: submitted.namespace };
  // Random search: Katib draws the trials itself.
  const planned = record.random ? [] : record.trials;
  record.trials = [...planned];
  await save();
  const pollMs = options.pollMs ?? 3000;
  const done = (async () => {
    let failures = 0;
    let ended = false;
    for (;;) {
      if (options.signal?.aborted) {
        await submitted.stop().catch(err => addWarnings(record, (err as Error).message));
        break;
      }
      let state;
      try {
        state = await submitted.poll();
        failures = 0;
      } catch (err) {
        if (++failures >= 5) {
          addWarnings(record, (err as Error).message);
          break;
        }
      }
      if (state) {
        record.trials = mergeTrials(planned, state.trials);
        const best = record.trials.findIndex(
          t => t.clusterTrial !== undefined && t.clusterTrial === state.best
        );
        record.best = best >= 0 ? best : undefined;
        await save();
        if (state.status !== 'running') {
          ended = true;
          break;
        }
      }
      await new Promise(resolve => setTimeout(resolve, pollMs));
    }
    addWarnings(record, ...(await submitted.cleanup()));
    for (const trial of record.trials) {
      if (trial.status === 'running' && options.signal?.aborted) {
        trial.status = 'cancelled';
      }
    }
    const katibBest = record.best;
    const final = await conclude(options, record, save);
    // Katib's own choice of the best trial stands (it saw every observation); an Experiment this process
    // stopped following, or that ran no trial, is no success.
    if (katibBest !== undefined) {
      final.best = katibBest;
    }
    if (!options.signal?.aborted && (!ended || final.trials.length === 0)) {
      final.status = 'failed';
    }
    await save();
    return final;
  })();
  return { record, done };
}

/** The planned trials (a grid's) with what Katib says of each, by label; Katib's others after them. */
function mergeTrials(
  planned: readonly TrialRecord[],
  katib: ReadonlyArray<TrialRecord & { name: string }>
): TrialRecord[] {
  const byLabel = new Map(katib.map(t => [t.label, t]));
  const fromKatib = ({ name, ...trial }: TrialRecord & { name: string }): TrialRecord => ({
    ...trial,
    clusterTrial: name
  });
  const merged = planned.map(t => {
    const seen = byLabel.get(t.label);
    return seen ? fromKatib(seen) : { ...t };
  });
  const labels = new Set(planned.map(t => t.label));
  return [...merged, ...katib.filter(t => !labels.has(t.label)).map(fromKatib)];
}

/** The sweeps of a notebook, newest first. */
export async function listSweeps(notebookPath: string): Promise<SweepRecord[]> {
  const dir = sweepsDir(notebookPath);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const records = await Promise.all(
    names.filter(n => n.endsWith('.json')).map(n => readSweep(notebookPath, n.slice(0, -5)))
  );
  return records
    .filter((r): r is SweepRecord => r !== null && r.notebook === basename(notebookPath))
    .sort((a, b) => b.started.localeCompare(a.started));
}

export async function readSweep(notebookPath: string, id: string): Promise<SweepRecord | null> {
  if (!isRunId(id)) {
    return null;
  }
  try {
    return JSON.parse(await readFile(join(sweepsDir(notebookPath), `${id}.json`), 'utf8')) as SweepRecord;
  } catch {
    return null;
  }
}
