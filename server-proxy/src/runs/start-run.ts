/**
 * Starting a run: the one service behind `POST /api/runs`, `cellpipe run` and `cellpipe submit`. It
 * analyses the notebook, refuses a pipeline with error diagnostics (the core's rule), reads the parameter
 * overrides and the step selection, and starts the run on the local engine or submits it to the cluster.
 * Shells turn its `StartRunError`s into their own answers (an HTTP status, an exit status).
 */
import type { Diagnostic } from '../../../src/core/diagnostics';
import type { NotebookData } from '../../../src/core/notebook/model';
import { analyzeNotebook, PipelineAnalysis } from '../../../src/core/pipeline';
import { runRefusal } from '../../../src/core/runs/refusal';
import { addWarnings } from '../../../src/core/runs/run-warnings';
import type {
  ClusterAccess,
  RecordedSnapshot,
  RunOwner,
  RunRecord,
  StartRunRequest
} from '../../../src/core/runs/run-record';
import { parameterText, parseParameterOverride, ParameterValue } from '../../../src/core/tags/parameters';
import { runnableSteps, selectSteps, stepAndDownstream } from '../../../src/core/targets/runnable-steps';
import { ClusterError } from '../engines/cluster/cluster-errors';
import type { FollowOptions, FollowResult } from '../engines/cluster/cluster-follow';
import type { ClusterConnection } from '../engines/cluster/connection';
import { runPrepared } from '../engines/local/engine';
import { pythonEnvironment } from '../engines/local/lineage';
import { prepareLocalRun, RunSetupError } from '../engines/local/prepare';
import type { WarmPool } from '../engines/local/warm-pool';
import { kernelPython, kernelSpecName } from '../kernel-python';
import { nodeAnalyser } from '../node-analyser';
import { analysisOptions } from '../notebook-file';
import { basename, dirname, join } from 'path';
import { RunJournal } from './run-journal';
import { ownerOfThisProcess } from './run-lease';
import { runDir } from './run-store';

export interface StartOptions extends Pick<StartRunRequest, 'cache' | 'steps' | 'target' | 'volumes'> {
  /** Absolute path of the notebook (its folder holds the runs). */
  notebookPath: string;
  /** What to run: the file's content or the live content the frontend sent. */
  notebook: NotebookData;
  /**
   * The server's Jupyter root: the notebooks this one runs (`notebook:` steps) are named relative to it and
   * cannot be outside it. Default (the CLI): the notebook's folder, unconfined.
   */
  root?: string;
  /** `NAME=VALUE` texts, typed by the notebook's parameters. */
  parameters?: string[];
  parallel?: number;
  /** Local runs: where steps are forked from (`ExecuteOptions.warm`). */
  warm?: WarmPool | false;
  /** The Python for steps; default: the notebook kernel spec's, else `jupyterPython`. */
  python?: string;
  jupyterPython: string;
  /** Who starts it (its first owner). */
  owner: RunOwner['kind'];
  /** The run exists (it can be read from now on), before any step of it changed. */
  onStarted?: (run: RunRecord) => void;
  /** A step changed (`run.steps[step]`); cluster runs report steps through `follow`. */
  onStep?: (step: string, run: RunRecord) => void;
  /** Local runs: cancels the run. */
  signal?: AbortSignal;
  /** Cluster runs: how to reach the cluster, and the submit settings the CLI has flags for. */
  cluster?: () => ClusterConnection;
  /** The user's connection settings, recorded so that the run can be followed again with them. */
  access?: ClusterAccess;
  image?: string;
  runStorageClass?: string;
  pollMs?: number;
  /**
   * `--like RUN`: that run's id and parameter values (the `parameters` texts given too win); local runs
   * work in its workspace snapshot when it is still there.
   */
  like?: { run: string; parameters: Record<string, ParameterValue>; snapshots?: RecordedSnapshot[] };
  /** `cellpipe submit`: a notebook whose target is local is a usage error, not a local run. */
  requireCluster?: boolean;
}

export type StartedRun =
  | { kind: 'local'; record: RunRecord; done: Promise<RunRecord> }
  | { kind: 'cluster'; record: RunRecord; follow(options?: FollowOptions): Promise<FollowResult> };

/** Why a run was not started: `code` and `status` for HTTP, `usage` for the CLI (exit 2 rather than 1). */
export class StartRunError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly usage = false,
    /** The error diagnostics of a refused pipeline, each with its cell and line. */
    readonly diagnostics: Diagnostic[] = []
  ) {
    super(message);
  }
}

/** The analysis a run starts from, with the notebooks its `notebook:` steps run (inside `root` when given). */
export async function analyseRunNotebook(
  notebookPath: string,
  notebook: NotebookData,
  root?: string
): Promise<PipelineAnalysis> {
  return analyzeNotebook(
    notebook,
    await nodeAnalyser(),
    await analysisOptions(notebookPath, notebook, root ?? dirname(notebookPath), !!root)
  );
}

export async function startRun(options: StartOptions): Promise<StartedRun> {
  const { notebook, notebookPath } = options;
  if (!options.python && options.target !== 'kfp' && options.target !== 'argo') {
    // Asked at once (cached): the kernel spec lookup starts a Python, which runs while the notebook is analysed.
    void pythonFor(notebook, options.jupyterPython);
  }
  const analysis = await analyseRunNotebook(notebookPath, notebook, options.root);
  const selection = options.steps ?? { mode: 'all' };
  const target = options.target ?? analysis.pipeline.target;
  const refused = runRefusal(analysis, { file: basename(notebookPath), target, steps: selection });
  if (refused?.code === 'pipeline-has-errors' || refused?.code === 'no-steps') {
    throw new StartRunError(refused.code, 422, refused.message, false, refused.errors);
  }
  if (options.requireCluster && target !== 'kfp' && target !== 'argo') {
    throw new StartRunError(
      'invalid-request',
      400,
      `${basename(notebookPath)}: say where to submit: --target kfp or --target argo`,
      true
    );
  }
  if (refused) {
    // Which steps were asked for is the caller's mistake (a CLI usage error).
    throw new StartRunError(refused.code, 400, refused.message, true);
  }
  const liked = likedParameters(options.like?.parameters ?? {}, analysis);
  const parameters = { ...liked.values, ...parameterValues(options.parameters ?? [], analysis) };
  if (target === 'kfp' || target === 'argo') {
    const started = await startCluster(options, analysis, parameters, target);
    if (options.like) {
      const record = started.record;
      record.lineage = { ...record.lineage!, like: options.like.run };
      const earlier = (options.like.snapshots ?? []).flatMap(s => (s.snapshot ? [s.snapshot] : []));
      const notes = [
        ...liked.warnings,
        ...(earlier.length > 0
          ? [
              `The workspace volumes were snapshotted anew: the VolumeSnapshots of run ${options.like.run} ` +
                `(${earlier.join(', ')}) are deleted when that run ends.`
            ]
          : [])
      ];
      addWarnings(record, ...notes);
      // Recorded as submitted (a run not followed is not written again); a failure is the journal's to say.
      await new RunJournal(runDir(options.notebookPath, record.id)!, record).save();
    }
    return started;
  }
  // A step name selects that step, or every step of a notebook step's sub-pipeline.
  const runnable = runnableSteps(analysis, notebook);
  const only =
    selection.mode === 'one'
      ? selectSteps(runnable, selection.step!)
      : selection.mode === 'from'
        ? stepAndDownstream(runnable, selection.step!)
        : undefined;
  // What the steps' Python is (version, packages), asked while the run starts (never waited for first).
  const python = options.python ?? (await pythonFor(notebook, options.jupyterPython));
  const environment = pythonEnvironment(
    python,
    join(dirname(notebookPath), '.cellpipe', 'python-environments.json')
  );
  let prepared;
  try {
    prepared = await prepareLocalRun({
      notebookPath,
      notebook,
      analysis,
      parameters,
      cache: options.cache,
      only,
      owner: ownerOfThisProcess(options.owner),
      like: options.like?.run
    });
    if (options.like) {
      addWarnings(prepared.record, ...liked.warnings);
    }
  } catch (err) {
    if (err instanceof RunSetupError) {
      throw new StartRunError('run-not-prepared', 500, err.message);
    }
    throw err;
  }
  prepared.record.python = python;
  let recorded: () => void = () => undefined;
  const isRecorded = new Promise<void>(resolve => (recorded = resolve));
  const done = runPrepared(prepared, {
    python,
    environment,
    parallel: options.parallel,
    warm: options.warm,
    signal: options.signal,
    onStep: (step, _s, run) => options.onStep?.(step, run),
    onRecorded: record => {
      options.onStarted?.(record);
      recorded();
    }
  });
  // Started once the run can be read (or it ended at once, e.g. its folder could not be written).
  await Promise.race([isRecorded, done]);
  return { kind: 'local', record: prepared.record, done };
}

/** The shell's cluster connection, or the error a start answers with when it has none or it is invalid. */
export function clusterConnectionOf(cluster: (() => ClusterConnection) | undefined): ClusterConnection {
  if (!cluster) {
    throw new StartRunError('not-in-cluster', 409, 'This shell has no cluster connection.');
  }
  try {
    return cluster();
  } catch (err) {
    throw new StartRunError('invalid-request', 400, (err as Error).message, true);
  }
}

async function startCluster(
  options: StartOptions,
  analysis: PipelineAnalysis,
  parameters: Record<string, ParameterValue>,
  target: 'kfp' | 'argo'
): Promise<StartedRun> {
  const connection = clusterConnectionOf(options.cluster);
  // Loaded for a cluster run only: a local run does not pay for the cluster clients' start.
  const { submitClusterRun } = await import('../engines/cluster/cluster-submit');
  try {
    const submitted = await submitClusterRun({
      ...connection,
      access: options.access,
      target,
      notebookPath: options.notebookPath,
      notebook: options.notebook,
      analysis,
      parameters,
      volumes: options.volumes,
      image: options.image,
      runStorageClass: options.runStorageClass,
      pollMs: options.pollMs,
      owner: options.owner
    });
    options.onStarted?.(submitted.record);
    return { kind: 'cluster', record: submitted.record, follow: submitted.follow };
  } catch (err) {
    if (err instanceof ClusterError) {
      throw new StartRunError(err.code, err.httpStatus, err.message);
    }
    throw err;
  }
}

/** `NAME=VALUE` texts as typed values; a bad one is the caller's mistake. */
export function parameterValues(
  texts: readonly string[],
  analysis: PipelineAnalysis
): Record<string, ParameterValue> {
  const values: Record<string, ParameterValue> = {};
  for (const text of texts) {
    try {
      const { name, value } = parseParameterOverride(text, analysis.parameters);
      values[name] = value;
    } catch (err) {
      throw new StartRunError('invalid-parameter', 400, (err as Error).message, true);
    }
  }
  return values;
}

/**
 * The values of an earlier run (`--like`) that the notebook still declares, typed as it declares them now;
 * the others are left out with a warning.
 */
function likedParameters(
  earlier: Record<string, ParameterValue>,
  analysis: PipelineAnalysis
): { values: Record<string, ParameterValue>; warnings: string[] } {
  const values: Record<string, ParameterValue> = {};
  const warnings: string[] = [];
  for (const [name, value] of Object.entries(earlier)) {
    try {
      const typed = parseParameterOverride(`${name}=${parameterText(value)}`, analysis.parameters);
      values[typed.name] = typed.value;
    } catch (err) {
      warnings.push(`Parameter ${name} of the earlier run is left out: ${(err as Error).message}`);
    }
  }
  return { values, warnings };
}

/** The kernel spec's Python, looked up once per kernel name and process (it starts a Python). */
const kernelPythons = new Map<string, Promise<string>>();

function pythonFor(notebook: NotebookData, jupyterPython: string): Promise<string> {
  const key = `${kernelSpecName(notebook) ?? ''}\0${jupyterPython}`;
  let python = kernelPythons.get(key);
  if (!python) {
    python = kernelPython(notebook, jupyterPython).then(k => k.python);
    kernelPythons.set(key, python);
  }
  return python;
}
