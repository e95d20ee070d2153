/**
 * Runs started or taken over by the server: live status events for every listener, cancellation, and the
 * records of the runs it owns, served from memory (fresher than run.json, and still there when the run
 * folder could not be written; such a final record is written again until it is on disk).
 */
import { EventEmitter } from 'events';
import { join } from 'path';
import type { NotebookData } from '../../../src/core/notebook/model';
import type { PipelineAnalysis } from '../../../src/core/pipeline';
import type {
  ClusterAccess,
  RunEvent,
  RunRecord,
  StartRunRequest,
  StepRecord
} from '../../../src/core/runs/run-record';
import type { FollowOptions, FollowResult } from '../engines/cluster/cluster-follow';
import { refollowClusterRun } from '../engines/cluster/cluster-submit';
import { ClusterConnection, environmentConnection } from '../engines/cluster/connection';
import { warmEnabled, WarmPool } from '../engines/local/warm-pool';
import { adoptOrphans } from '../runs/orphans';
import { RunJournal } from '../runs/run-journal';
import { runsDir } from '../runs/run-store';
import { analyseRunNotebook, startRun, StartRunError } from '../runs/start-run';
import { HttpError, serverLog } from './http-json';

/** A start request once its notebook is read (from the file or the content sent). */
export type StartRequest = Omit<StartRunRequest, 'notebook' | 'content' | 'parameters'> & {
  parameters?: Record<string, string>;
};

export interface RunServiceOptions {
  /** The Jupyter root: notebooks name the notebooks they run relative to it, and cannot reach outside it. */
  root?: string;
  /**
   * How to reach the cluster with the user's settings (default: from the environment: service account,
   * kubeconfig and its context, token file).
   */
  cluster?: (access: ClusterAccess) => ClusterConnection;
  /** How often cluster runs are polled, in ms. */
  clusterPollMs?: number;
  /** How often a final record that could not be written is tried again, in ms. */
  retryMs?: number;
  /** False: fresh step processes (`--no-warm`); default: warm Pythons unless CELLPIPE_WARM=0. */
  warm?: boolean;
}

interface ActiveRun {
  record: RunRecord;
  notebook: string;
  controller: AbortController;
  done: Promise<RunRecord>;
}

export class RunService {
  readonly events = new EventEmitter();
  private readonly active = new Map<string, ActiveRun>();
  /** Ended runs whose final record is not on disk yet. */
  private readonly unsaved = new Map<string, RunRecord>();
  private readonly connections = new Map<string, ClusterConnection>();
  /** Warm Pythons kept between the runs of the notebooks open in JupyterLab (false: turned off). */
  private readonly warm: WarmPool | false;

  constructor(
    private readonly python: string,
    private readonly options: RunServiceOptions = {}
  ) {
    // Every open event stream is a listener.
    this.events.setMaxListeners(0);
    this.warm = warmEnabled(options.warm) ? new WarmPool() : false;
  }

  /** The analysis of a notebook, with the notebooks its `notebook:` steps run (read inside the root). */
  analyse(notebookPath: string, notebook: NotebookData): Promise<PipelineAnalysis> {
    return analyseRunNotebook(notebookPath, notebook, this.options.root);
  }

  async start(notebookPath: string, notebook: NotebookData, request: StartRequest): Promise<{ run: string }> {
    const { record } = await this.startTracked(notebookPath, notebook, request);
    return { run: record.id };
  }

  /**
   * Starts a run this server owns (live events, cancellable) and returns its record with the promise of
   * its final one; `onRun` hears of the record each time a step changes (a sweep follows its trials so).
   */
  async startTracked(
    notebookPath: string,
    notebook: NotebookData,
    request: StartRequest,
    onRun?: (run: RunRecord) => void
  ): Promise<{ record: RunRecord; done: Promise<RunRecord> }> {
    await this.adopt(notebookPath).catch(err =>
      serverLog(`cellpipe server: could not take over orphaned runs: ${String(err)}`)
    );
    const controller = new AbortController();
    let started;
    try {
      started = await startRun({
        notebookPath,
        notebook,
        root: this.options.root,
        parameters: Object.entries(request.parameters ?? {}).map(([name, text]) => `${name}=${text}`),
        steps: request.steps,
        target: request.target,
        volumes: request.volumes,
        cache: request.cache,
        parallel: request.parallel,
        warm: this.warm,
        jupyterPython: this.python,
        owner: 'server',
        signal: controller.signal,
        onStarted: record => this.begin(notebookPath, record, controller),
        onStep: (step, run) => {
          this.stepEvent(notebookPath, run.id, step, run.steps[step]);
          onRun?.(run);
        },
        cluster: () => this.clusterConnection(request.connection),
        access: request.connection,
        pollMs: this.options.clusterPollMs
      });
    } catch (err) {
      if (err instanceof StartRunError) {
        throw new HttpError(err.status, err.code, err.message);
      }
      throw err;
    }
    const id = started.record.id;
    const done =
      started.kind === 'local'
        ? started.done
        : started
            .follow({
              signal: controller.signal,
              pollMs: this.options.clusterPollMs,
              onStep: (step, s) => this.stepEvent(notebookPath, id, step, s)
            })
            .then(r => r.record);
    this.track(notebookPath, started.record, controller, done);
    return { record: started.record, done };
  }

  /**
   * Follows a cluster run submitted elsewhere (a trial of an Argo sweep, whose one Workflow the sweep
   * submitted) as a run this server owns: live events, cancellable; resolves with its final record.
   */
  followSubmitted(
    notebookPath: string,
    submitted: { record: RunRecord; follow(options?: FollowOptions): Promise<FollowResult> }
  ): Promise<RunRecord> {
    const controller = new AbortController();
    const id = submitted.record.id;
    const done = submitted
      .follow({
        signal: controller.signal,
        pollMs: this.options.clusterPollMs,
        onStep: (step, s) => this.stepEvent(notebookPath, id, step, s)
      })
      .then(r => r.record);
    this.track(notebookPath, submitted.record, controller, done);
    return done;
  }

  /**
   * Takes over the notebook's runs whose owner is gone: the server's own runs are resumed, runs of a CLI
   * that is gone are closed as failed (once their live steps ended), cluster runs are followed again.
   */
  async adopt(notebookPath: string): Promise<string[]> {
    const controllers = new Map<string, AbortController>();
    const adopted = await adoptOrphans(notebookPath, {
      kind: 'server',
      python: this.python,
      warm: this.warm,
      signalFor: id => {
        const controller = new AbortController();
        controllers.set(id, controller);
        return controller.signal;
      },
      onStep: (step, s, run) => this.stepEvent(notebookPath, run.id, step, s),
      refollow: async (dir, record, signal) => {
        let connection: ClusterConnection;
        try {
          connection = this.clusterConnection(record.access);
        } catch {
          return record;
        }
        const following = refollowClusterRun(dir, record, connection, {
          signal,
          pollMs: this.options.clusterPollMs,
          onStep: (step, s) => this.stepEvent(notebookPath, record.id, step, s)
        });
        return following ? (await following).record : record;
      }
    });
    for (const run of adopted) {
      this.track(notebookPath, run.record, controllers.get(run.id)!, run.done);
    }
    return adopted.map(run => run.id);
  }

  /** The live record of a run this server runs (or ran, while its final record is not on disk). */
  record(id: string): RunRecord | undefined {
    return this.active.get(id)?.record ?? this.unsaved.get(id);
  }

  cancel(id: string): boolean {
    const run = this.active.get(id);
    run?.controller.abort();
    return run !== undefined;
  }

  isActive(id: string): boolean {
    return this.active.has(id);
  }

  /** Waits for every active run (server shutdown, tests). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.active.values()].map(r => r.done));
  }

  private stepEvent(notebook: string, run: string, step: string, record: StepRecord): void {
    this.emit({ run, notebook, step, status: record.status, record });
  }

  private emit(event: RunEvent): void {
    this.events.emit('event', event);
  }

  /** The connection for the user's settings, made once per distinct settings (reading a token file). */
  clusterConnection(access: ClusterAccess = {}): ClusterConnection {
    const key = JSON.stringify([access.context ?? '', access.tokenFile ?? '']);
    let connection = this.connections.get(key);
    if (!connection) {
      connection = this.options.cluster
        ? this.options.cluster(access)
        : environmentConnection({ context: access.context, tokenFile: access.tokenFile });
      this.connections.set(key, connection);
    }
    return connection;
  }

  /** A run exists: it can be read and cancelled, and every listener hears of it (before its steps). */
  private begin(notebook: string, record: RunRecord, controller: AbortController): void {
    if (!this.active.has(record.id)) {
      this.active.set(record.id, { record, notebook, controller, done: Promise.resolve(record) });
      this.emit({ run: record.id, notebook, status: 'running' });
    }
  }

  /** Follows a run to its end, then announces it; the final record stays served until it is on disk. */
  private track(
    notebook: string,
    record: RunRecord,
    controller: AbortController,
    done: Promise<RunRecord>
  ): void {
    const id = record.id;
    this.begin(notebook, record, controller);
    this.active.set(id, { record, notebook, controller, done });
    done.then(
      end => {
        // Over: no longer cancellable; served from memory until its final record is on disk.
        this.active.delete(id);
        this.unsaved.set(id, end);
        this.emit({ run: id, notebook, status: end.status, seq: end.seq });
        return this.keepUntilSaved(notebook, end);
      },
      err => {
        serverLog(
          `cellpipe server: run ${id} ended with an internal error: ${(err as Error)?.stack ?? String(err)}`
        );
        this.active.delete(id);
        record.status = 'failed';
        record.reason = 'cellpipe failed while running it (see the server log).';
        this.unsaved.set(id, record);
        this.emit({ run: id, notebook, status: 'failed' });
      }
    );
  }

  /** Writes the final record; when the folder cannot take it now, keeps it and tries again later. */
  private async keepUntilSaved(notebook: string, record: RunRecord): Promise<void> {
    const journal = new RunJournal(join(runsDir(notebook), record.id), record);
    if (await journal.save(true)) {
      this.unsaved.delete(record.id);
      return;
    }
    this.unsaved.set(record.id, record);
    const retry = setTimeout(() => void this.keepUntilSaved(notebook, record), this.options.retryMs ?? 5000);
    retry.unref();
  }
}
