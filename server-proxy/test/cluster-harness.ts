/**
 * What the specs against the loopback cluster share: the fake started for a test and stopped after it, a
 * cellpipe server whose cluster is the fake, what the engine is handed to submit a notebook to the fake,
 * a run followed with its step changes and the step records it should end with, JSON calls to that
 * server, a kubeconfig naming the fake, and the built CLI run as a process (the notebooks they run are in
 * `cluster-notebook.ts`).
 */
import { spawn } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { request, Server } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { analyzeNotebook } from '../../src/core/pipeline';
import type { StepRecord } from '../../src/core/runs/run-record';
import type { ClusterSubmitOptions, submitClusterRun } from '../src/engines/cluster/cluster-submit';
import { kubeClients, tokenKubeConfig } from '../src/engines/cluster/kube-client';
import { loadNotebookFile } from '../src/notebook-file';
import { nodeAnalyser } from '../src/node-analyser';
import type { App } from '../src/server/app';
import { startServer, ServerOptions } from '../src/server/main';
import { FakeCluster, FakeOptions } from './cluster-fake';
import { writeClusterNotebook } from './cluster-notebook';

/** The built CLI (npm run build); a spec fails without it rather than vanish. */
export const CLI = join(__dirname, '..', '..', 'cellpipe', 'js', 'cli.js');

export interface Served {
  server: Server;
  app: App;
  port: number;
}

/** The fake of a test and the servers in front of it; all of them are stopped after each test. */
export class LoopbackCluster {
  /** The fake of the running test (start() first). */
  get fake(): FakeCluster {
    if (!this._fake) {
      throw new Error('the loopback cluster is not started');
    }
    return this._fake;
  }

  get started(): boolean {
    return this._fake !== undefined;
  }

  async start(options: FakeOptions = {}): Promise<FakeCluster> {
    this._fake = await new FakeCluster(options).start();
    return this._fake;
  }

  /**
   * A cellpipe server whose cluster is the fake: by default reached as from the notebook pod notebook-0
   * in namespace team, with the fake as the KFP endpoint and, for a user's token file F, the token
   * `token-of-F`.
   */
  async serve(
    options: { root?: string; clusterPollMs?: number; cluster?: ServerOptions['cluster'] } = {}
  ): Promise<Served> {
    const url = this.fake.url;
    const { server, app } = await startServer({
      listen: { port: 0, host: '127.0.0.1' },
      root: options.root ?? '/',
      python: 'python3',
      version: 'test',
      cluster:
        options.cluster ??
        (access => ({
          kube: () => kubeClients(tokenKubeConfig(url, 'kube-token', 'team')),
          kfpToken: access.tokenFile ? `token-of-${access.tokenFile}` : 'kfp-token',
          endpoint: url,
          pod: { name: 'notebook-0', namespace: 'team' }
        })),
      clusterPollMs: options.clusterPollMs ?? 5
    });
    this._served.push({ server, app });
    return { server, app, port: (server.address() as { port: number }).port };
  }

  /**
   * What `submitClusterRun` is handed for the cluster notebook with `settings` (target argo unless they
   * say otherwise), written to a fresh folder and analysed without errors: the fake reached with the
   * token `kube-token`, polled every 5 ms; `extra` adds to that.
   */
  async submitOptions(
    settings: Record<string, unknown>,
    extra: Partial<ClusterSubmitOptions> = {}
  ): Promise<ClusterSubmitOptions> {
    const url = this.fake.url;
    const notebookPath = writeClusterNotebook(settings);
    const notebook = await loadNotebookFile(notebookPath);
    const analysis = analyzeNotebook(notebook, await nodeAnalyser());
    expect(analysis.diagnostics.filter(d => d.severity === 'error')).toEqual([]);
    return {
      target: (settings.target as 'kfp' | 'argo') ?? 'argo',
      notebookPath,
      notebook,
      analysis,
      parameters: {},
      kube: () => kubeClients(tokenKubeConfig(url, 'kube-token')),
      pollMs: 5,
      ...extra
    };
  }

  /** Lets the servers' runs end, closes the servers, then stops the fake. */
  async stop(): Promise<void> {
    const served = this._served.splice(0);
    for (const { server, app } of served) {
      await app.runs.settle();
      server.closeAllConnections();
      await new Promise(resolve => server.close(resolve));
    }
    const fake = this._fake;
    this._fake = undefined;
    await fake?.stop();
  }

  private _fake: FakeCluster | undefined;
  private readonly _served: Array<{ server: Server; app: App }> = [];
}

/** Follows a submitted run to its end, polling every `pollMs`; with each step change it heard, `STEP STATUS`. */
export async function followed(submitted: Awaited<ReturnType<typeof submitClusterRun>>, pollMs: number) {
  const events: string[] = [];
  const result = await submitted.follow({ pollMs, onStep: (s, r) => events.push(`${s} ${r.status}`) });
  return { ...result, events };
}

/** The step changes of a run of the cluster notebook that succeeds: each step running, then succeeded. */
export const SALES_STEP_CHANGES = [
  'load_data running',
  'load_data succeeded',
  'train running',
  'train succeeded',
  'evaluate running',
  'evaluate succeeded'
];

/** A step as the follow loop records it when the cluster skipped it below its failed `upstream` step. */
export function skippedBelow(upstream: string): StepRecord {
  return { status: 'skipped', cached: false, skippedBecause: upstream, seq: expect.any(Number) };
}

/** The train step of the cluster notebook as the fake's Argo runs it: its times, pod and node. */
export const ARGO_TRAIN: StepRecord = {
  status: 'succeeded',
  cached: false,
  started: '2026-01-01T00:00:00Z',
  finished: '2026-01-01T00:00:07Z',
  seconds: 7,
  // Argo's v2 pod name (WORKFLOW-TEMPLATE-HASH of the node id) and the node it ran on.
  cluster: { pod: 'sales-x7k2p-train-55022658', node: 'worker-1' },
  seq: expect.any(Number)
};

/** A loopback cluster for the tests of a spec, stopped after each of them. */
export function loopbackCluster(): LoopbackCluster {
  const cluster = new LoopbackCluster();
  afterEach(() => cluster.stop());
  return cluster;
}

/** A JSON call to a server on loopback; an empty body reads as `{ empty: true, text }`. */
export function call(
  port: number,
  method: string,
  path: string,
  body?: unknown
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test-side JSON of any shape
): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: { 'Content-Type': 'application/json' } },
      res => {
        let text = '';
        res.on('data', c => (text += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : { empty: true, text } })
        );
      }
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A kubeconfig whose one context reaches the fake at `url` as user `me` (token cli-token), namespace team-a. */
export function kubeconfig(url: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cellpipe-kube-')), 'config');
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    `clusters:\n- name: fake\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
    'users:\n- name: me\n  user:\n    token: cli-token',
    'contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: me\n    namespace: team-a',
    'current-context: fake'
  ];
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The built CLI as a process, polling the cluster every 10 ms, outside any pod and with no KUBECONFIG
 * (a test names its kubeconfig); `env` adds to that.
 */
export function clusterCli(
  argv: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}
): Promise<CliResult> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [CLI, ...argv], {
      cwd: options.cwd,
      env: { ...process.env, CELLPIPE_POLL_MS: '10', KUBECONFIG: '', CELLPIPE_POD_NAME: '', ...options.env }
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', c => (stdout += c));
    child.stderr.on('data', c => (stderr += c));
    child.on('close', code => resolve({ code, stdout, stderr }));
  });
}
