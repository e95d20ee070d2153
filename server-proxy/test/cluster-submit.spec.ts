/**
 * Cluster runs through the two shells: `POST /api/runs` of a notebook whose target is argo/kfp, and the
 * built CLI `cellpipe submit` (node cellpipe/js/cli.js, built by server-proxy/build.mjs) with its exit
 * statuses, both against the loopback Kubernetes/KFP server.
 */
import { spawn } from 'child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'fs';
import { request, Server } from 'http';
import { tmpdir } from 'os';
import { createServer } from 'net';
import { dirname, join } from 'path';
import { kubeClients, tokenKubeConfig } from '../src/engines/cluster/kube-client';
import type { RunEvent } from '../../src/core/runs/run-record';
import { startServer } from '../src/server/main';
import { FakeCluster, FakeOptions } from './cluster-fake';
import { writeClusterNotebook } from './cluster-notebook';
import { until } from './until';

jest.setTimeout(60000);

const REPO = join(__dirname, '..', '..');
const CLI = join(REPO, 'cellpipe', 'js', 'cli.js');

let fake: FakeCluster;
afterEach(() => fake?.stop());

function call(
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
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      }
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function server(
  fakeOptions: FakeOptions
): Promise<{ port: number; server: Server; events: RunEvent[] }> {
  fake = await new FakeCluster(fakeOptions).start();
  const started = await startServer({
    listen: { port: 0, host: '127.0.0.1' },
    root: '/',
    python: 'python3',
    version: 'test',
    cluster: () => ({ kube: () => kubeClients(tokenKubeConfig(fake.url, 't')), kfpToken: 'k' }),
    clusterPollMs: 5
  });
  const events: RunEvent[] = [];
  started.app.runs.events.on('event', (e: RunEvent) => events.push(e));
  return { port: (started.server.address() as { port: number }).port, server: started.server, events };
}

describe('POST /api/runs to a cluster', () => {
  it("submits a notebook whose target is argo, follows it with the local run's events and run.json", async () => {
    const { port, server: s, events } = await server({});
    try {
      const notebook = writeClusterNotebook({ target: 'argo', namespace: 'team-a' });
      const res = await call(port, 'POST', '/api/runs', { notebook, parameters: { rate: '0.75' } });
      expect(res.status).toBe(201);
      const id = res.json.run;
      const run = await until('the cluster run to finish', async () => {
        const { json } = await call(port, 'GET', `/api/runs/${id}?notebook=${encodeURIComponent(notebook)}`);
        return json.status !== 'running' && json;
      });
      expect([run.status, run.target, run.cluster.kind, run.cluster.namespace]).toEqual([
        'succeeded',
        'argo',
        'argo',
        'team-a'
      ]);
      expect(run.parameters).toEqual({ rate: { type: 'float', value: 0.75 } });
      const [workflow] = [...fake.workflows.values()];
      expect((workflow.body.spec as unknown as { arguments: unknown }).arguments).toEqual({
        parameters: [{ name: 'rate', value: '0.75' }]
      });
      // The end is announced once the run's record is final: wait for that event.
      await until('the end of the run to be announced', () =>
        events.some(e => e.run === id && !e.step && e.status !== 'running')
      );
      expect(events.filter(e => e.run === id).map(e => `${e.step ?? '-'} ${e.status}`)).toEqual([
        '- running',
        'load_data running',
        'load_data succeeded',
        'train running',
        'train succeeded',
        'evaluate running',
        'evaluate succeeded',
        '- succeeded'
      ]);
      const log = await new Promise<string>(resolve =>
        request(
          {
            host: '127.0.0.1',
            port,
            path: `/api/runs/${id}/logs/train?notebook=${encodeURIComponent(notebook)}`
          },
          r => {
            let t = '';
            r.on('data', c => (t += c));
            r.on('end', () => resolve(t));
          }
        ).end()
      );
      expect(log).toBe('log of sales-x7k2p-train-55022658 (container main)\n');
    } finally {
      s.closeAllConnections();
      s.close();
    }
  });

  it('answers 403 with the namespace message, 502 when KFP is unreachable, 400 for a bad target', async () => {
    const { port, server: s } = await server({ forbidden: ['team-b'] });
    try {
      const notebook = writeClusterNotebook({ target: 'local', namespace: 'team-b' });
      const forbidden = await call(port, 'POST', '/api/runs', { notebook, target: 'argo' });
      expect(forbidden.status).toBe(403);
      expect(forbidden.json.error.code).toBe('forbidden');
      expect(forbidden.json.error.message).toMatch(
        /^Could not create the Argo Workflow: the service account default-editor \(namespace team-b\) may not create workflows\.argoproj\.io in namespace "team-b"/
      );
      const closed = await new Promise<number>(resolve => {
        const probe = createServer().listen(0, '127.0.0.1', () => {
          const p = (probe.address() as { port: number }).port;
          probe.close(() => resolve(p));
        });
      });
      const kfp = writeClusterNotebook({
        target: 'kfp',
        namespace: 'team-a',
        endpoint: `http://127.0.0.1:${closed}`
      });
      const unreachable = await call(port, 'POST', '/api/runs', { notebook: kfp });
      expect([unreachable.status, unreachable.json.error.code]).toEqual([502, 'unreachable']);
      expect(unreachable.json.error.message).toContain(
        `cannot reach Kubeflow Pipelines at http://127.0.0.1:${closed}`
      );
      const bad = await call(port, 'POST', '/api/runs', { notebook, target: 'spark' });
      expect([bad.status, bad.json.error.message]).toEqual([
        400,
        '"target" is one of "local", "kfp", "argo".'
      ]);
      expect(existsSync(join(dirname(notebook), '.cellpipe', 'runs'))).toBe(false);
    } finally {
      s.closeAllConnections();
      s.close();
    }
  });
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, CELLPIPE_POLL_MS: '10', KUBECONFIG: '', CELLPIPE_POD_NAME: '' }
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', c => (stdout += c));
    child.stderr.on('data', c => (stderr += c));
    child.on('close', code => resolve({ code, stdout, stderr }));
  });
}

function kubeconfig(url: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cellpipe-kube-')), 'config');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: me\n  user:\n    token: cli-token',
      'contexts:',
      '- name: fake\n  context:\n    cluster: fake\n    user: me\n    namespace: team-a',
      'current-context: fake'
    ].join('\n') + '\n'
  );
  return path;
}

describe('cellpipe submit (built CLI)', () => {
  // The bundle is built by `make test` (npm run build); without it these tests fail rather than vanish.
  beforeAll(() => expect(existsSync(CLI)).toBe(true));

  const submit = async (fakeOptions: FakeOptions, extra: string[]) => {
    fake = await new FakeCluster(fakeOptions).start();
    const notebook = writeClusterNotebook({ namespace: 'team-a' });
    return cli(['submit', notebook, '--target', 'argo', '--kubeconfig', kubeconfig(fake.url), ...extra]);
  };

  it('exits 0 when the watched run succeeds', async () => {
    const r = await submit({}, ['--watch', '--timeout', '20', '--param', 'rate=0.1']);
    expect(r.stderr).toContain('submitted run');
    expect(r.stderr).toContain('✓ train 7.0 s');
    expect(r.stdout).toMatch(/^run \S+ succeeded: accuracy=0.9\n$/);
    expect(r.code).toBe(0);
    expect(fake.tokens).toEqual(new Set(['Bearer cli-token']));
  });

  it('exits 1 when a step fails, with --json', async () => {
    const r = await submit({ failTask: 'evaluate' }, ['--watch', '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect([out.status, out.timedOut, out.steps.map((s: { status: string }) => s.status)]).toEqual([
      'failed',
      false,
      ['succeeded', 'succeeded', 'failed']
    ]);
  });

  it('exits 124 when still running at --timeout', async () => {
    const r = await submit({ ticksPerTask: 100000 }, ['--watch', '--timeout', '0.5']);
    expect(r.stdout).toMatch(/still running \(stopped following at --timeout\)/);
    expect(r.code).toBe(124);
  });

  it('exits 1 with the message when the cluster refuses, and 2 on usage errors', async () => {
    const r = await submit({ forbidden: ['team-a'] }, ['--watch']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^cellpipe: Could not create the Argo Workflow: the service account default-editor \(namespace team-a\) may not create workflows\.argoproj\.io in namespace "team-a"/
    );
    const usage = await cli(['submit', writeClusterNotebook({}), '--target', 'spark']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--target kfp or --target argo');
  });
});
