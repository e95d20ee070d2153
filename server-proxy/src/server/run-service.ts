/**
 * Runs started through the server: one local engine run per request, live
 * status events for every listener, and cancellation.
 */
import { EventEmitter } from 'events';
import { basename, dirname } from 'path';
import type { NotebookData } from '../../../src/core/notebook/model';
import { readNotebook, NotebookFormatError } from '../../../src/core/notebook/read';
import { analyzeNotebook } from '../../../src/core/pipeline';
import { parseParameterOverride, ParameterValue } from '../../../src/core/tags/parameters';
import { newRunId, resumeOrphanedRuns, runLocal } from '../engines/local/engine';
import { runnableSteps, selectSteps, stepAndDownstream } from '../../../src/core/targets/runnable-steps';
import type { RunEvent, RunRecord, StartRunRequest, StepRecord } from '../../../src/core/runs/run-record';
import { analysisOptions, loadNotebookFile } from '../notebook-file';
import { kernelPython, kernelSpecName } from '../kernel-python';
import { nodeAnalyser } from '../node-analyser';
import { HttpError } from './http-json';
import { ClusterConnection, reattach, submitClusterRun } from '../engines/cluster/cluster-run';
import { ClusterError } from '../engines/cluster/cluster-errors';
import { environmentConnection } from '../engines/cluster/connection';
import { listRuns } from '../engines/local/run-store';
import { ownerAlive } from '../process-alive';

/** A start request once its notebook path is resolved (the server reads the notebook itself). */
export type StartRequest = Omit<StartRunRequest, 'notebook'>;

export interface RunServiceOptions {
  /** The Jupyter root: notebooks name the notebooks they run relative to it, and cannot reach outside it. */
  root?: string;
  /** How to reach the cluster (default: from the environment: service account, kubeconfig). */
  cluster?: () => ClusterConnection;
  /** How often cluster runs are polled, in ms. */
  clusterPollMs?: number;
}

export class RunService {
  readonly events = new EventEmitter();
  private readonly active = new Map<string, { controller: AbortController; done: Promise<RunRecord> }>();
  private readonly checked = new Set<string>();
  private readonly kernelPythons = new Map<string, Promise<string>>();

  private connection: ClusterConnection | undefined;

  constructor(
    private readonly python: string,
    private readonly options: RunServiceOptions = {}
  ) {
    // Every open event stream is a listener.
    this.events.setMaxListeners(0);
  }

  async start(notebookPath: string, request: StartRequest): Promise<{ run: string }> {
    let notebook: NotebookData;
    try {
      notebook =
        request.content === undefined
          ? await loadNotebookFile(notebookPath)
          : readNotebook(request.content, basename(notebookPath));
    } catch (err) {
      if (err instanceof NotebookFormatError) {
        throw new HttpError(400, 'not-a-notebook', err.message);
      }
      throw err;
    }
    const analysis = analyzeNotebook(
      notebook,
      await nodeAnalyser(),
      await analysisOptions(
        notebookPath,
        notebook,
        this.options.root ?? dirname(notebookPath),
        !!this.options.root
      )
    );
    const errors = analysis.diagnostics.filter(d => d.severity === 'error');
    if (errors.length > 0) {
      throw new HttpError(
        422,
        'pipeline-has-errors',
        `The pipeline has ${errors.length} error(s); fix them before running.`
      );
    }
    const parameters: Record<string, ParameterValue> = {};
    for (const [name, text] of Object.entries(request.parameters ?? {})) {
      try {
        parameters[name] = parseParameterOverride(`${name}=${text}`, analysis.parameters).value;
      } catch (err) {
        throw new HttpError(400, 'invalid-parameter', (err as Error).message);
      }
    }
    const selection = request.steps ?? { mode: 'all' };
    const runnable = runnableSteps(analysis, notebook);
    if (selection.mode !== 'all' && selectSteps(runnable, selection.step ?? '').length === 0) {
      throw new HttpError(400, 'no-such-step', `The pipeline has no step "${selection.step}".`);
    }
    const target = request.target ?? analysis.pipeline.target;
    if (target === 'kfp' || target === 'argo') {
      if (selection.mode !== 'all') {
        throw new HttpError(400, 'invalid-request', 'Cluster runs run every step ("steps" must be "all").');
      }
      return this.startCluster(notebookPath, notebook, analysis, parameters, target, request.volumes);
    }
    const only =
      selection.mode === 'one'
        ? selectSteps(runnable, selection.step!)
        : selection.mode === 'from'
          ? stepAndDownstream(runnable, selection.step!)
          : undefined;
    const id = newRunId();
    const controller = new AbortController();
    const emit = (event: RunEvent) => this.events.emit('event', event);
    let recorded: () => void = () => undefined;
    const isRecorded = new Promise<void>(resolve => (recorded = resolve));
    const done = runLocal({
      id,
      notebookPath,
      notebook,
      analysis,
      parameters,
      python: await this.pythonFor(notebook),
      cache: request.cache,
      parallel: request.parallel,
      only,
      signal: controller.signal,
      onStep: (step, record) =>
        emit({ run: id, notebook: notebookPath, step, status: record.status, record }),
      onRecorded: () => recorded()
    });
    this.track(id, notebookPath, controller, done);
    // Answer once the run can be read (the snapshot is taken by then); a failure to prepare is the answer.
    await Promise.race([isRecorded, done]);
    return { run: id };
  }

  /** Submits to the cluster (errors become HTTP errors, nothing half-submitted), then follows the run. */
  private async startCluster(
    notebookPath: string,
    notebook: NotebookData,
    analysis: ReturnType<typeof analyzeNotebook>,
    parameters: Record<string, ParameterValue>,
    target: 'kfp' | 'argo',
    volumes: StartRequest['volumes']
  ): Promise<{ run: string }> {
    let submitted;
    try {
      submitted = await submitClusterRun({
        ...this.clusterConnection(),
        target,
        notebookPath,
        notebook,
        analysis,
        parameters,
        volumes,
        pollMs: this.options.clusterPollMs
      });
    } catch (err) {
      if (err instanceof ClusterError) {
        throw new HttpError(err.httpStatus, err.code, err.message);
      }
      throw err;
    }
    const id = submitted.record.id;
    this.follow(notebookPath, id, signal =>
      submitted.follow({
        signal,
        pollMs: this.options.clusterPollMs,
        onStep: this.stepEvents(notebookPath, id)
      })
    );
    return { run: id };
  }

  private stepEvents(notebookPath: string, id: string) {
    return (step: string, record: StepRecord) =>
      this.events.emit('event', { run: id, notebook: notebookPath, step, status: record.status, record });
  }

  private clusterConnection(): ClusterConnection {
    this.connection ??= this.options.cluster ? this.options.cluster() : environmentConnection();
    return this.connection;
  }

  /** Follows a cluster run in the background with the same events as a local run. */
  private follow(
    notebookPath: string,
    id: string,
    run: (signal: AbortSignal) => Promise<{ record: RunRecord }>
  ): void {
    const controller = new AbortController();
    const done = run(controller.signal).then(r => r.record);
    this.track(id, notebookPath, controller, done);
  }

  /** The kernel spec's Python, looked up once per kernel name (it starts a Python). */
  private pythonFor(notebook: NotebookData): Promise<string> {
    const name = kernelSpecName(notebook) ?? '';
    let python = this.kernelPythons.get(name);
    if (!python) {
      python = kernelPython(notebook, this.python).then(k => k.python);
      this.kernelPythons.set(name, python);
    }
    return python;
  }

  /**
   * Resumes, once per notebook and server process, runs that a previous
   * server left running when it stopped.
   */
  resumeOrphans(notebookPath: string): void {
    if (this.checked.has(notebookPath)) {
      return;
    }
    this.checked.add(notebookPath);
    void this.refollowClusterRuns(notebookPath);
    const emit = (event: RunEvent) => this.events.emit('event', event);
    void resumeOrphanedRuns(notebookPath, {
      python: this.python,
      onStep: (step, record, run) =>
        emit({ run, notebook: notebookPath, step, status: record.status, record })
    }).then(
      records => records.forEach(r => emit({ run: r.id, notebook: notebookPath, status: r.status })),
      err => process.stderr.write(`cellpipe: could not resume the runs of ${notebookPath}: ${String(err)}\n`)
    );
  }

  /** Cluster runs left running by a process that is gone are followed again (they kept running there). */
  private async refollowClusterRuns(notebookPath: string): Promise<void> {
    for (const record of await listRuns(notebookPath)) {
      if (
        record.status !== 'running' ||
        !record.cluster ||
        this.active.has(record.id) ||
        ownerAlive(record)
      ) {
        continue;
      }
      let connection: ClusterConnection;
      try {
        connection = this.clusterConnection();
      } catch {
        return;
      }
      const follow = reattach(notebookPath, record, connection);
      if (follow) {
        this.follow(notebookPath, record.id, signal =>
          follow({
            signal,
            pollMs: this.options.clusterPollMs,
            onStep: this.stepEvents(notebookPath, record.id)
          })
        );
      }
    }
  }

  cancel(id: string): boolean {
    const run = this.active.get(id);
    run?.controller.abort();
    return run !== undefined;
  }

  isActive(id: string): boolean {
    return this.active.has(id);
  }

  /** Makes a started run cancellable and announces its start and its end to every listener. */
  private track(
    id: string,
    notebookPath: string,
    controller: AbortController,
    done: Promise<RunRecord>
  ): void {
    const emit = (event: RunEvent) => this.events.emit('event', event);
    this.active.set(id, { controller, done });
    emit({ run: id, notebook: notebookPath, status: 'running' });
    done
      .then(
        record => emit({ run: id, notebook: notebookPath, status: record.status }),
        () => emit({ run: id, notebook: notebookPath, status: 'failed' })
      )
      .finally(() => this.active.delete(id));
  }

  /** Waits for every active run (server shutdown, tests). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.active.values()].map(r => r.done));
  }
}
