/**
 * Cluster runs through the two shells: `POST /api/runs` of a notebook whose target is argo/kfp, and the
 * built CLI `cellpipe submit` (node cellpipe/js/cli.js, built by server-proxy/build.mjs) with its exit
 * statuses, both against the loopback Kubernetes/KFP server.
 */
import { existsSync } from 'fs';
import { request } from 'http';
import { createServer } from 'net';
import { dirname, join } from 'path';
import { kubeClients, tokenKubeConfig } from '../src/engines/cluster/kube-client';
import type { RunEvent } from '../../src/core/runs/run-record';
import type { FakeCluster, FakeOptions } from './cluster-fake';
import { call, CLI, clusterCli, kubeconfig, loopbackCluster } from './cluster-harness';
import { writeClusterNotebook } from './cluster-notebook';
import { until } from './until';

jest.setTimeout(60000);

const cluster = loopbackCluster();
let fake: FakeCluster;

async function server(fakeOptions: FakeOptions): Promise<{ port: number; events: RunEvent[] }> {
  fake = await cluster.start(fakeOptions);
  const url = fake.url;
  const { port, app } = await cluster.serve({
    cluster: () => ({ kube: () => kubeClients(tokenKubeConfig(url, 't')), kfpToken: 'k' })
  });
  const events: RunEvent[] = [];
  app.runs.events.on('event', (e: RunEvent) => events.push(e));
  return { port, events };
}

describe('POST /api/runs to a cluster', () => {
  it("submits a notebook whose target is argo, follows it with the local run's events and run.json", async () => {
    const { port, events } = await server({});
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
  });

  it('answers 403 with the namespace message, 502 when KFP is unreachable, 400 for a bad target', async () => {
    const { port } = await server({ forbidden: ['team-b'] });
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
    expect([bad.status, bad.json.error.message]).toEqual([400, '"target" is one of "local", "kfp", "argo".']);
    expect(existsSync(join(dirname(notebook), '.cellpipe', 'runs'))).toBe(false);
  });
});

describe('cellpipe submit (built CLI)', () => {
  // The bundle is built by `make test` (npm run build); without it these tests fail rather than vanish.
  beforeAll(() => expect(existsSync(CLI)).toBe(true));

  const submit = async (fakeOptions: FakeOptions, extra: string[]) => {
    fake = await cluster.start(fakeOptions);
    const notebook = writeClusterNotebook({ namespace: 'team-a' });
    return clusterCli([
      'submit',
      notebook,
      '--target',
      'argo',
      '--kubeconfig',
      kubeconfig(fake.url),
      ...extra
    ]);
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
    const usage = await clusterCli(['submit', writeClusterNotebook({}), '--target', 'spark']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--target kfp or --target argo');
  });
});
