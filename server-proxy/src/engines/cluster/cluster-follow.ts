/**
 * Following a submitted cluster run, whichever the engine: the run's state from its watch stream when the
 * engine has one (Argo), polling while the watch is not open (or at all, for KFP), mapped onto the core's
 * run lifecycle (steps move forward only, a skip names the upstream step of its own branch, one rule for
 * the end) and written to run.json at each change, with each finished step's log and outputs beside it.
 */
import { writeFile } from 'fs/promises';
import { join } from 'path';
import { FINISHED, RunLifecycle, StepListener } from '../../../../src/core/runs/lifecycle';
import { noteReaderInputs, splitLineageLine } from '../../../../src/core/runs/lineage';
import type { RunRecord, StepRecord } from '../../../../src/core/runs/run-record';
import { addWarnings } from '../../../../src/core/runs/run-warnings';
import { writeJsonAtomic } from '../../atomic-file';
import { RunJournal } from '../../runs/run-journal';
import type { ClusterBackend, ClusterPoll, TaskResults, TaskState } from './cluster-backend';
import { WatchQueue } from './watch';

export interface FollowOptions {
  onStep?: StepListener;
  /** Aborting asks the cluster to stop the run, then follows it to its end. */
  signal?: AbortSignal;
  /** Stop following (not the run) after this long: the result says `timedOut`. */
  timeoutMs?: number;
  pollMs?: number;
  /**
   * Read the run's state once, record it and stop following (`timedOut` while it runs): for a shell that
   * follows no run (`cellpipe runs`). A cluster that cannot be read rejects, and the record stays as it was.
   */
  once?: boolean;
  /** Done once the run has ended, before its final record (deleting its snapshots). */
  cleanup?: (record: RunRecord) => Promise<void>;
}

export interface FollowResult {
  record: RunRecord;
  timedOut: boolean;
}

export async function followClusterRun(
  dir: string,
  record: RunRecord,
  backend: ClusterBackend,
  tasks: Map<string, string>,
  options: FollowOptions
): Promise<FollowResult> {
  const pollMs = options.pollMs ?? 3000;
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const journal = new RunJournal(dir, record);
  const life = new RunLifecycle(record, options.onStep);
  let cancelAsked = false;
  let failures = 0;
  // Events as they happen when the engine can watch (Argo); polls while the watch is not open, or at all.
  const feed =
    backend.watch && !options.once ? new WatchQueue<ClusterPoll>().start(q => backend.watch!(q)) : undefined;
  const stopFollowing = async (why: string) => {
    record.followError = why;
    await journal.save();
    return { record, timedOut: false };
  };
  try {
    for (;;) {
      if (options.signal?.aborted && !cancelAsked) {
        cancelAsked = true;
        await backend.cancel().catch(err => {
          record.followError = `Could not stop the run: ${(err as Error).message}`;
        });
      }
      let poll = feed?.take();
      if (!poll && !feed?.live) {
        try {
          poll = await backend.poll();
          failures = 0;
        } catch (err) {
          if (options.once) {
            throw err;
          }
          // A blip of the API server or gateway: try again a few times before giving up on following.
          if (++failures >= 5) {
            return await stopFollowing((err as Error).message);
          }
        }
      }
      if (poll) {
        record.seen = new Date().toISOString();
        // In the run's order: a failed step is recorded before the steps skipped because of it.
        const changed = [...poll.tasks]
          .map(([task, state]) => ({ task, state, step: tasks.get(task) }))
          .filter((t): t is { task: string; state: TaskState; step: string } => t.step !== undefined)
          .sort((a, b) => record.order.indexOf(a.step) - record.order.indexOf(b.step));
        for (const { task, state, step } of changed) {
          await applyTask(dir, life, step, state, task, backend);
        }
        if (poll.status !== 'running') {
          const failedStep = record.order.some(s => record.steps[s].status === 'failed');
          life.finish({
            cancelled: poll.status === 'cancelled',
            failure:
              poll.status === 'failed' && !failedStep
                ? poll.message || 'The run failed on the cluster.'
                : undefined,
            now: new Date().toISOString()
          });
          await options.cleanup?.(record);
          await journal.save(true);
          return { record, timedOut: false };
        }
        if (!(await journal.save())) {
          // The run goes on on the cluster; this process cannot record it.
          return await stopFollowing(journal.failure!);
        }
      }
      if (options.once || Date.now() >= deadline) {
        return { record, timedOut: true };
      }
      const wait = Math.min(pollMs, Math.max(0, deadline - Date.now()));
      await (feed ? feed.wait(wait, cancelAsked ? undefined : options.signal) : sleep(wait));
    }
  } finally {
    feed?.stop();
  }
}

/** One task's reported state, as a step change (ignored when it would move the step back). */
async function applyTask(
  dir: string,
  life: RunLifecycle,
  step: string,
  state: TaskState,
  task: string,
  backend: ClusterBackend
): Promise<void> {
  const old = life.record.steps[step];
  if (old && old.status === state.status) {
    // The same state, but the cluster may say more: why it waits (while queued), its pod, node, a retry.
    const waiting = state.status === 'queued' ? state.waiting : old.waiting;
    const cluster = state.cluster ?? old.cluster;
    if (waiting !== old.waiting || JSON.stringify(cluster ?? null) !== JSON.stringify(old.cluster ?? null)) {
      life.annotate(step, { waiting, cluster }, true);
    }
    return;
  }
  let next: Partial<StepRecord> & { status: StepRecord['status'] } = { status: state.status, cached: false };
  // Once it runs it no longer waits; where it ran stays.
  if (state.status === 'queued' && state.waiting) {
    next.waiting = state.waiting;
  }
  const cluster = state.cluster ?? old?.cluster;
  if (cluster) {
    next.cluster = cluster;
  }
  if (state.started) {
    next.started = state.started;
  }
  if (state.finished && FINISHED.has(state.status)) {
    next.finished = state.finished;
    if (state.started) {
      next.seconds = (Date.parse(state.finished) - Date.parse(state.started)) / 1000;
    }
  }
  if (state.status === 'skipped') {
    // The cluster omits the steps below a failed one: name the upstream step on this one's branch.
    const blocker = life.blocker(step);
    next = { status: 'skipped', cached: false, ...(blocker ? { skippedBecause: blocker } : {}) };
  }
  let { outputs, metrics } = state;
  let stored: TaskResults = {};
  if (FINISHED.has(state.status) && backend.results && !FINISHED.has(old?.status ?? 'queued')) {
    // Outputs and metrics kept as artifacts come back whole; a store that cannot be read is a warning.
    try {
      stored = await backend.results(task);
      outputs = stored.outputs ?? outputs;
      metrics = stored.metrics ?? metrics;
    } catch (err) {
      addWarnings(life.record, (err as Error).message);
    }
  }
  if (state.status === 'failed') {
    next.error = stored.error ?? {
      message: state.message || `Step ${step} failed on the cluster.`,
      cell: state.error?.cell ?? null,
      line: state.error?.line ?? null
    };
  }
  if (!life.move(step, next)) {
    return;
  }
  const record = life.record;
  if (state.status === 'succeeded' && metrics) {
    Object.assign(record.metrics, metrics);
  }
  if (FINISHED.has(state.status)) {
    await noteLineage(record, step, task, backend);
    try {
      // The hashes of what the step saved end its log: lineage, not what the user's cells printed.
      const { text, outputs: hashes } = splitLineageLine(await backend.log(task));
      const lineage = record.lineage?.steps[step];
      if (hashes && lineage && state.status === 'succeeded') {
        lineage.outputs = hashes;
        noteReaderInputs(record, step);
      }
      await writeFile(join(dir, 'logs', `${step}.log`), text);
      if (outputs) {
        // Where a local run keeps them: GET /api/runs/ID/steps/STEP serves them the same way.
        await writeJsonAtomic(join(dir, 'steps', step, 'outputs.json'), outputs);
      }
    } catch (err) {
      // The run folder cannot be written: say so (the next journal write may fail too and stop following).
      const why = `could not keep the log and outputs of step ${step}: ${(err as Error).message}`;
      addWarnings(record, why);
    }
  }
}

/**
 * A finished step's image by digest, as its pod ran it (`containerStatuses[].imageID`): what a tag named
 * then, which it may no longer name. An image already pinned stays as it is; a pod gone leaves the tag.
 */
async function noteLineage(
  record: RunRecord,
  step: string,
  task: string,
  backend: ClusterBackend
): Promise<void> {
  const lineage = record.lineage?.steps[step];
  if (!lineage || !backend.image || lineage.image?.includes('@sha256:')) {
    return;
  }
  const image = await backend.image(task).catch(() => undefined);
  if (image) {
    lineage.image = image;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
