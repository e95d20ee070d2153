/**
 * Running a prepared local run, as its owner: each step as soon as its upstream steps succeeded, at most
 * `parallel` at once, driven by the core's run lifecycle. Also how a new owner takes over a run whose
 * owner is gone: steps recorded as running are adopted (their process, still running or not, is waited
 * for and judged by its files, never started again), then the run goes on (`mode: 'run'`) or is closed
 * (`mode: 'close'`, for the reason given).
 *
 * A step is marked running in run.json before its process starts, so an owner that dies at any moment
 * leaves a record from which the next owner knows every step that may have started. When run.json cannot
 * be written (folder made read-only, disk full), no further step starts, the running ones are stopped,
 * and the run fails with that reason (the record is still returned, with the reason, to the caller).
 */
import { closeSync, openSync } from 'fs';
import { readFile, rm } from 'fs/promises';
import { cpus } from 'os';
import { dirname, join } from 'path';
import { FINISHED, RunLifecycle } from '../../../../src/core/runs/lifecycle';
import { noteStepInputs, type EnvironmentLineage } from '../../../../src/core/runs/lineage';
import type { ProcessRef, RunRecord, StepRecord, StepStatus } from '../../../../src/core/runs/run-record';
import { addWarnings } from '../../../../src/core/runs/run-warnings';
import type { StepSettings } from '../../../../src/core/tags/settings';
import { isRunning, processesWithArgument } from '../../process-identity';
import { fileProblem } from '../../runs/file-problem';
import { RunJournal } from '../../runs/run-journal';
import { PRELUDE_KEYS, STEP_SETTINGS, stepParametersFile, WARM_IMPORTS } from './prepare';
import { HandoffListener, HandoffSlot, ValuesOffer } from './handoff';
import { noteStepOutputs } from './lineage';
import { CachedStepFiles, StepCache } from './step-cache';
import { stepEnvironment, StepEnvironmentError } from './step-env';
import { stepOutcome } from './step-outcome';
import { fileExists } from '../../file-exists';
import { adoptStep, launchStep, StepLaunch, StepProcess } from './step-process';
import { WARM_OFF, warmEnabled, warmKey, WarmPool } from './warm-pool';
import type { WarmFork, WarmPython } from './warm-python';

/** A step started as a fork of its provider's process (`handoff.ts`): the provider, and the fork's slot. */
interface Handed {
  provider: string;
  slot: HandoffSlot;
}

export interface ExecuteOptions {
  python: string;
  /** How many steps run at once; default: the number of cores. */
  parallel?: number;
  onStep?: (step: string, record: StepRecord, run: RunRecord) => void;
  /** Called once run.json exists: from then on the run can be read, listed and followed. */
  onRecorded?: (record: RunRecord) => void;
  /** Cancels the run: running steps are stopped, queued ones never start. */
  signal?: AbortSignal;
  /** `run` (default): run every step it can; `close`: only wait for adopted steps, then end for `reason`. */
  mode?: 'run' | 'close';
  /** Why a closed run ends (mode `close`). */
  reason?: string;
  /**
   * Where steps are forked from: the server's pool (warm Pythons kept between runs), `false` for fresh
   * processes (the setting); default: a pool of this run's own, unless CELLPIPE_WARM turns it off.
   */
  warm?: WarmPool | false;
  /** The steps' Python and packages for the lineage: recorded when known, at the latest when the run ends. */
  environment?: Promise<EnvironmentLineage>;
}

export async function executeRun(
  dir: string,
  record: RunRecord,
  options: ExecuteOptions
): Promise<RunRecord> {
  const journal = new RunJournal(dir, record);
  const environment = options.environment?.then(found => {
    if (record.lineage) {
      record.lineage.environment = found;
    }
  });
  const life = new RunLifecycle(record, (step, r) => {
    options.onStep?.(step, r, record);
    moved(step, r);
  });
  const cache = new StepCache(join(dirname(record.notebook), '.cellpipe', 'cache'));
  const limit = Math.max(1, options.parallel ?? cpus().length);
  const processes = new Map<string, StepProcess>();
  const tasks = new Map<string, Promise<void>>();
  const aborted = () => options.signal?.aborted === true;
  const stopAll = () => processes.forEach(p => p.stop());
  options.signal?.addEventListener('abort', stopAll);
  const program = (step: string) => join(dir, 'programs', `${step}.py`);
  const settings = await readJson<Record<string, Pick<StepSettings, 'env' | 'secrets'>>>(
    join(dir, STEP_SETTINGS),
    {}
  );
  const preludeKeys = await readJson<Record<string, string>>(join(dir, PRELUDE_KEYS), {});
  const imports = await readJson<string[]>(join(dir, WARM_IMPORTS), []);
  const pool = options.warm === false || !warmEnabled() ? null : (options.warm ?? new WarmPool());
  const ownPool = pool !== null && options.warm === undefined;
  const acquired = new Set<string>();
  // Handing outputs over (handoff.ts): the warm Python (and its key) each step was forked from; steps whose
  // cells have run and that save their outputs or wait for their provider to (they hold no place among
  // `parallel`); why a step below waits for the files; who waits for a step to finish.
  const forkedFrom = new Map<string, { warm: WarmPython; key: string }>();
  const saving = new Set<string>();
  const refusals = new Map<string, { from: string; refused: string }>();
  const waiters = new Map<string, ((status: StepStatus) => void)[]>();
  const finished = (step: string): Promise<StepStatus> =>
    FINISHED.has(life.status(step))
      ? Promise.resolve(life.status(step))
      : new Promise(resolve => waiters.set(step, [...(waiters.get(step) ?? []), resolve]));
  const moved = (step: string, r: StepRecord) => {
    if (!FINISHED.has(r.status)) {
      return;
    }
    saving.delete(step);
    wake();
    for (const resolve of waiters.get(step) ?? []) {
      resolve(r.status);
    }
    waiters.delete(step);
    if (r.status !== 'succeeded') {
      // Steps forked from it ran on values it never saved: they cannot succeed.
      for (const [below, proc] of processes) {
        if (record.steps[below]?.handoff?.from === step && !record.steps[below].handoff?.refused) {
          proc.stop();
        }
      }
    }
  };
  // Wakes the scheduling loop: a step's cells ended (a place is free) or a step started from another's offer.
  let kicked = false;
  let kick: (() => void) | null = null;
  const wake = () => {
    kicked = true;
    kick?.();
  };
  const woken = () =>
    new Promise<null>(resolve => {
      kick = () => {
        kicked = false;
        kick = null;
        resolve(null);
      };
      if (kicked) {
        kick();
      }
    });
  const going = () => (options.mode ?? 'run') === 'run' && !aborted() && !journal.failure;
  if ((options.mode ?? 'run') === 'run') {
    record.processes = pool ? { kind: 'forked' } : { kind: 'fresh', reason: WARM_OFF };
  }
  /** Fresh processes for the rest of the run, for this reason (recorded in run.json). */
  const fallBack = (reason: string) => {
    if (record.processes?.kind !== 'fresh') {
      record.processes = { kind: 'fresh', reason };
    }
  };
  const abortedNow = new Promise<null>(resolve => {
    if (aborted()) {
      resolve(null);
    }
    options.signal?.addEventListener('abort', () => resolve(null), { once: true });
  });

  /**
   * Starts a step: forked from the warm Python of its prelude and environment, else a fresh process.
   * Null when the run was cancelled while the warm Python ran the prelude.
   */
  const startStep = async (step: string, launch: StepLaunch): Promise<StepProcess | null> => {
    const prelude = preludeKeys[step];
    if (!pool || !prelude || record.processes?.kind === 'fresh') {
      if (pool && !prelude) {
        fallBack('the run was prepared without prelude keys');
      }
      return launchStep(launch);
    }
    const key = warmKey({
      python: launch.python,
      prelude,
      env: launch.env,
      workspace: record.workspace ?? '',
      imports
    });
    const warm = pool.acquire(key, record.notebook, () => ({
      python: launch.python,
      program: launch.args[0],
      cwd: launch.cwd,
      env: launch.env,
      imports,
      log: join(dir, 'logs', `@warm-${key.slice(0, 12)}.log`)
    }));
    if (acquired.has(key)) {
      pool.release(key); // one hold per run
    }
    acquired.add(key);
    const ready = await Promise.race([warm.ready, abortedNow]);
    if (ready === null) {
      return null;
    }
    if (!ready.ok) {
      fallBack(ready.reason);
      return launchStep(launch);
    }
    if (record.processes?.kind === 'forked' && imports.length > 0 && !record.processes.imported) {
      record.processes = { kind: 'forked', imported: ready.imported, left: ready.left };
    }
    try {
      forkedFrom.set(step, { warm, key });
      return await warm.fork({
        ...forkOf(step, launch),
        ...(ready.handoff && handoff ? { handoff: handoff.address } : {})
      });
    } catch (err) {
      forkedFrom.delete(step);
      if ((err as NodeJS.ErrnoException).code) {
        throw err; // the log cannot be opened: the step fails as a fresh one would
      }
      fallBack((err as Error).message);
      return launchStep(launch);
    }
  };

  /**
   * Starts a step as a fork of its provider's process, which holds its inputs in memory (`handoff.ts`);
   * when the provider cannot fork it, the step starts as usual once the provider has saved its outputs.
   */
  const startHanded = async (step: string, launch: StepLaunch, via: Handed): Promise<StepProcess | null> => {
    const { warm, key } = forkedFrom.get(via.provider)!;
    closeSync(openSync(launch.log, 'w')); // an unwritable log fails the step as a fresh start does
    try {
      forkedFrom.set(step, { warm, key });
      const pid = await via.slot.fork({
        ...forkOf(step, launch),
        ...(handoff ? { handoff: handoff.address } : {})
      });
      return warm.track(pid);
    } catch (err) {
      forkedFrom.delete(step);
      life.annotate(step, { handoff: { from: via.provider, refused: (err as Error).message } });
      return (await finished(via.provider)) === 'succeeded' ? startStep(step, launch) : null;
    }
  };

  /** Whether `step` may start as a fork of `provider`'s process: the same warm Python would run it. */
  const forkable = async (step: string, provider: string): Promise<boolean> => {
    if (record.plan.reuse[step] && (await cache.has(record.plan.cacheKeys[step]))) {
      return false; // restored from the cache once the provider succeeded
    }
    let env: Record<string, string>;
    try {
      env = stepEnvironment(step, settings[step] ?? {});
    } catch {
      return false; // it fails when it starts, saying why
    }
    const prelude = preludeKeys[step];
    const workspace = record.workspace ?? '';
    return (
      prelude !== undefined &&
      warmKey({ python: options.python, prelude, env, workspace, imports }) === forkedFrom.get(provider)?.key
    );
  };

  /** A step's cells have run: the steps waiting only for it start as forks of it, or learn why not. */
  const handOver = async (offer: ValuesOffer, answer: (count: number) => HandoffSlot[]) => {
    const provider = offer.step;
    if (!forkedFrom.has(provider) || record.steps[provider]?.status !== 'running') {
      return;
    }
    saving.add(provider);
    wake();
    const below = life.readyAfter(provider).filter(step => !tasks.has(step));
    if (offer.hazard !== null) {
      for (const step of below) {
        refusals.set(step, { from: provider, refused: offer.hazard });
      }
      return;
    }
    const chosen: string[] = [];
    for (const step of below) {
      if (going() && tasks.size + chosen.length - saving.size < limit && (await forkable(step, provider))) {
        chosen.push(step);
      }
    }
    const slots = answer(chosen.length);
    chosen.forEach((step, i) => tasks.set(step, runStep(step, { provider, slot: slots[i] })));
    wake();
  };
  const handoff = pool && (options.mode ?? 'run') === 'run' ? await HandoffListener.open(handOver) : null;

  /** Waits for a step's process and records how the step ended; `adopted`: not our child (no exit status). */
  const settle = async (step: string, proc: StepProcess | null, started: number, adopted: boolean) => {
    const exit = proc ? await proc.exited : null;
    processes.delete(step);
    let outcome = await stepOutcome(dir, step, adopted || exit?.lost ? null : exit);
    const end = new Date();
    const timing = { finished: end.toISOString(), seconds: (end.getTime() - started) / 1000 };
    const handed = record.steps[step].handoff;
    if (handed && !handed.refused) {
      // Forked from its provider's process: done only once the provider has saved what it handed over.
      saving.add(step);
      wake();
      const status = await finished(handed.from);
      if (status === 'succeeded') {
        noteStepInputs(record, step);
      } else {
        outcome = {
          ...pick(outcome, 'exitCode', 'signal'),
          status: 'failed',
          error: {
            message:
              `It started as a fork of step ${handed.from}'s process, which then did not finish (${status}): ` +
              'its cells ran, and run again when the run is resumed.',
            cell: null,
            line: null
          }
        };
        addWarnings(
          record,
          `Step ${step} ran on the values of step ${handed.from} in memory, but ${handed.from} did not save ` +
            'them: resuming the run runs both again, and their side effects with them.'
        );
      }
    }
    const kept = handed ? { handoff: handed } : {};
    if (aborted() && outcome.status !== 'succeeded') {
      life.move(step, { status: 'cancelled', ...timing, ...pick(outcome, 'exitCode', 'signal'), ...kept });
      await journal.save();
      return;
    }
    if (outcome.status !== 'succeeded') {
      life.move(step, { ...outcome, ...timing, ...kept });
      await journal.save();
      return;
    }
    // Succeeded: the steps below start now, its place among `parallel` free meanwhile. Its process may go
    // on hashing what it saved for the lineage (a forked step); the run ends only once that is noted and the
    // step is in the cache (stored even when this run did not look in it: a later run may).
    life.move(step, { ...outcome, ...timing, ...kept });
    saving.add(step);
    wake();
    await journal.save();
    await recordSuccess(step, proc);
  };

  /** Once a succeeded step's process has ended: its outputs' hashes into the lineage, its files into the cache. */
  const recordSuccess = async (step: string, proc: StepProcess | null) => {
    saving.add(step);
    await proc?.ended;
    await noteStepOutputs(dir, record, step).catch(() => undefined);
    await cache.store(record.plan.cacheKeys[step], stepFiles(dir, step), record.id).catch(err => {
      addWarnings(
        record,
        `Step ${step} could not be stored in the cache: ${fileProblem(err, 'store it', dir)}`
      );
    });
    saving.delete(step);
    await journal.save();
  };

  const runStep = async (step: string, via?: Handed) => {
    const started = Date.now();
    const refusal = refusals.get(step);
    // Recorded before anything starts: a new owner then knows this step may be running (and from which
    // step's process, whose end decides whether it succeeded).
    life.move(step, {
      status: 'running',
      started: new Date(started).toISOString(),
      ...(via ? { handoff: { from: via.provider } } : refusal ? { handoff: refusal } : {})
    });
    if (!(await journal.save())) {
      via?.slot.skip();
      return;
    }
    noteStepInputs(record, step);
    const stepDir = join(dir, 'steps', step);
    const dataDir = join(dir, 'data', step);
    try {
      // A fresh start: nothing of an earlier attempt (a stale error.json) stays beside this one.
      await Promise.all([
        rm(stepDir, { recursive: true, force: true }),
        rm(dataDir, { recursive: true, force: true }),
        rm(join(dir, 'logs', `${step}.log`), { force: true }),
        rm(forkedIdentity(dir, step), { force: true })
      ]);
    } catch (err) {
      via?.slot.skip();
      return fail(step, started, fileProblem(err, 'clear the step folder', dir));
    }
    const key = record.plan.cacheKeys[step];
    if (!via && record.plan.reuse[step] && (await cache.has(key))) {
      try {
        const { run } = await cache.restore(key, stepFiles(dir, step));
        await noteStepOutputs(dir, record, step).catch(() => undefined);
        life.move(step, {
          status: 'succeeded',
          cached: true,
          ...(run ? { cachedFrom: run } : {}),
          finished: new Date().toISOString(),
          seconds: 0
        });
        await journal.save();
        return;
      } catch {
        // an entry that went away or cannot be linked: run the step instead
      }
    }
    let proc: StepProcess | null;
    try {
      const launch = {
        python: options.python,
        args: [program(step), dir, stepParametersFile(dir, step)],
        cwd: join(dir, 'workspace'),
        env: stepEnvironment(step, settings[step] ?? {}),
        log: join(dir, 'logs', `${step}.log`)
      };
      proc = via ? await startHanded(step, launch, via) : await startStep(step, launch);
    } catch (err) {
      via?.slot.skip();
      const message =
        err instanceof StepEnvironmentError
          ? err.message
          : fileProblem(err, `open the log of step ${step}`, dir);
      return fail(step, started, message);
    }
    if (!proc) {
      const end = new Date();
      const timing = { finished: end.toISOString(), seconds: (end.getTime() - started) / 1000 };
      if (via && !aborted()) {
        // Its provider could not fork it, then failed: it never started.
        life.move(step, { status: 'skipped', skippedBecause: via.provider, ...timing });
      } else {
        life.move(step, { status: 'cancelled', ...timing });
      }
      await journal.save();
      return;
    }
    processes.set(step, proc);
    if (aborted()) {
      proc.stop();
    }
    life.annotate(step, { process: proc.ref });
    if (!(await journal.save())) {
      proc.stop();
    }
    await settle(step, proc, started, false);
  };

  const fail = async (step: string, started: number, message: string) => {
    const finished = new Date();
    life.move(step, {
      status: 'failed',
      finished: finished.toISOString(),
      seconds: (finished.getTime() - started) / 1000,
      error: { message, cell: null, line: null }
    });
    await journal.save();
  };

  /** A step recorded as running by an owner that is gone: wait for its process, never start it again. */
  const adopt = async (step: string) => {
    const known = record.steps[step].process;
    const forked = await readJson<ProcessRef | null>(forkedIdentity(dir, step), null);
    const refs = isRunning(known)
      ? [known!]
      : isRunning(forked)
        ? [forked!]
        : processesWithArgument(program(step));
    if (refs.length === 0 && !known && !(await fileExists(join(dir, 'logs', `${step}.log`)))) {
      // Its owner died after recording it but before opening its log: it never started. It goes back to
      // the queue (a correction of the record, not a step moving back).
      life.requeue(step);
      return;
    }
    const started = Date.parse(record.steps[step].started ?? '') || Date.now();
    for (const ref of refs.slice(1)) {
      await adoptStep(ref).exited; // the same step twice (a wrapper and its Python): wait for all
    }
    const proc = refs.length > 0 ? adoptStep(refs[0]) : null;
    if (proc) {
      processes.set(step, proc);
      if (aborted()) {
        proc.stop();
      }
    }
    await settle(step, proc, started, true);
  };

  try {
    if (!(await journal.save())) {
      return finishRun(life, journal, options);
    }
    options.onRecorded?.(record);
    for (const step of life.running()) {
      tasks.set(step, adopt(step));
    }
    // Succeeded while an owner that is gone waited for the lineage's hashes: they are taken again (the
    // step's process, when still hashing, is waited for).
    for (const step of record.order) {
      const s = record.steps[step];
      if (s.status === 'succeeded' && !s.cached && record.lineage?.steps[step]?.outputs === undefined) {
        tasks.set(step, recordSuccess(step, isRunning(s.process) ? adoptStep(s.process!) : null));
      }
    }
    for (;;) {
      if (journal.failure) {
        stopAll();
      }
      if (going()) {
        if (life.skipBlocked().length > 0) {
          await journal.save();
        }
        for (const step of life.ready()) {
          if (tasks.size - saving.size >= limit) {
            break;
          }
          if (!tasks.has(step)) {
            tasks.set(step, runStep(step));
          }
        }
      }
      if (tasks.size === 0) {
        break;
      }
      const done = await Promise.race([...[...tasks].map(([step, task]) => task.then(() => step)), woken()]);
      if (done !== null) {
        tasks.delete(done);
      }
    }
    await environment;
    return await finishRun(life, journal, options);
  } finally {
    handoff?.close();
    options.signal?.removeEventListener('abort', stopAll);
    for (const key of acquired) {
      pool?.release(key);
    }
    if (ownPool) {
      pool.close();
    }
  }
}

async function finishRun(
  life: RunLifecycle,
  journal: RunJournal,
  options: ExecuteOptions
): Promise<RunRecord> {
  const record = life.record;
  for (const step of record.order) {
    if (record.steps[step].status === 'succeeded') {
      Object.assign(record.metrics, await readJson(join(journal.dir, 'steps', step, 'metrics.json'), {}));
    }
  }
  const failure = journal.failure ?? (options.mode === 'close' ? options.reason : undefined);
  life.finish({ cancelled: options.signal?.aborted, failure, now: new Date().toISOString() });
  await journal.save(true);
  return record;
}

function pick<T extends object, K extends keyof T>(value: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) {
    if (value[key] !== undefined) {
      out[key] = value[key];
    }
  }
  return out;
}

async function readJson<T>(path: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

/** How a step is forked (from a warm Python or a step's process): its program, arguments, folder and log. */
function forkOf(step: string, launch: StepLaunch): WarmFork {
  const dir = dirname(dirname(launch.args[0]));
  return {
    program: launch.args[0],
    args: launch.args.slice(1),
    cwd: launch.cwd,
    log: launch.log,
    identity: forkedIdentity(dir, step)
  };
}

/** Where a step forked from a warm Python records its pid and start (see `WarmFork.identity`). */
function forkedIdentity(dir: string, step: string): string {
  return join(dir, 'logs', `${step}.process.json`);
}

/** Where a step's results are in its run folder. */
function stepFiles(dir: string, step: string): CachedStepFiles {
  return {
    dataDir: join(dir, 'data', step),
    stepDir: join(dir, 'steps', step),
    log: join(dir, 'logs', `${step}.log`)
  };
}
