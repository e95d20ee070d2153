/**
 * What JupyterLab shows of the cluster, against the loopback cluster: each step's pod and node, why a
 * step waits and how often it was retried (recorded by the follow loop); the server's compile, KFP
 * upload and cluster report routes; and connection errors worded so that a user knows what to do.
 */
import { mkdtempSync, writeFileSync } from 'fs';
import { AddressInfo, createServer as createNetServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { analyzeNotebook } from '../../src/core/pipeline';
import type { StepRecord } from '../../src/core/runs/run-record';
import { ClusterError, clusterError } from '../src/engines/cluster/cluster-errors';
import { submitClusterRun } from '../src/engines/cluster/cluster-submit';
import { kfpEndpoint } from '../src/engines/cluster/connection';
import { KfpClient } from '../src/engines/cluster/kfp-client';
import { kubeClients, loadKubeConfig, tokenKubeConfig } from '../src/engines/cluster/kube-client';
import { loadNotebookFile } from '../src/notebook-file';
import { nodeAnalyser } from '../src/node-analyser';
import type { FakeCluster, FakeOptions } from './cluster-fake';
import { call, loopbackCluster } from './cluster-harness';
import { clusterNotebook, writeClusterNotebook } from './cluster-notebook';

jest.setTimeout(60000);

const cluster = loopbackCluster();
let fake: FakeCluster;

async function submitted(fakeOptions: FakeOptions, settings: Record<string, unknown>) {
  fake = await cluster.start(fakeOptions);
  const notebookPath = writeClusterNotebook(settings);
  const notebook = await loadNotebookFile(notebookPath);
  return submitClusterRun({
    target: settings.target as 'kfp' | 'argo',
    notebookPath,
    notebook,
    analysis: analyzeNotebook(notebook, await nodeAnalyser()),
    parameters: {},
    kube: () => kubeClients(tokenKubeConfig(fake.url, 'kube-token')),
    endpoint: settings.target === 'kfp' ? fake.url : undefined,
    kfpToken: 'kfp-token',
    pollMs: 5
  });
}

describe('the follow loop records what the cluster says about each step', () => {
  it('says why a step is Pending (unschedulable), then where it ran', async () => {
    const run = await submitted(
      {
        ticksPerTask: 2,
        pendingTask: { task: 'train', message: 'Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.' }
      },
      { target: 'argo', namespace: 'team-a' }
    );
    const seen: StepRecord[] = [];
    const { record } = await run.follow({ pollMs: 5, onStep: (s, r) => s === 'train' && seen.push(r) });
    expect(record.status).toBe('succeeded');
    const waiting = seen.find(r => r.waiting);
    expect(waiting?.status).toBe('queued');
    expect(waiting?.waiting).toMatch(
      /^Step train cannot be scheduled: 0\/1 nodes are available: 1 Insufficient cpu\. Lower the step's CPU/
    );
    // Once it runs it waits no more; where it ran stays.
    expect(record.steps.train.waiting).toBeUndefined();
    expect(record.steps.train.cluster).toEqual({ pod: 'sales-x7k2p-train-55022658', node: 'worker-1' });
  });

  it('tells an image that cannot be pulled', async () => {
    const run = await submitted(
      {
        ticksPerTask: 2,
        pendingTask: { task: 'load-data', message: 'ImagePullBackOff: Back-off pulling image "nope:1"' }
      },
      { target: 'argo', namespace: 'team-a' }
    );
    const seen: StepRecord[] = [];
    await run.follow({ pollMs: 5, onStep: (s, r) => s === 'load_data' && seen.push(r) });
    expect(seen.find(r => r.waiting)?.waiting).toMatch(/its image nope:1 cannot be pulled/);
  });

  it('counts the retries of a step and follows its latest pod', async () => {
    const run = await submitted({ retryTask: 'train' }, { target: 'argo', namespace: 'team-a' });
    const { record } = await run.follow({ pollMs: 5 });
    expect(record.status).toBe('succeeded');
    expect(record.steps.train.cluster).toEqual({
      pod: 'sales-x7k2p-train-1663334780',
      node: 'worker-1',
      retries: 1
    });
  });

  it('gives the pod of each KFP task', async () => {
    const run = await submitted({}, { target: 'kfp', namespace: 'team-a' });
    const { record } = await run.follow({ pollMs: 5 });
    expect(record.status).toBe('succeeded');
    // From the executor's node id KFP lists as the step's child: Argo's pod name for it.
    expect(record.steps.train.cluster?.pod).toMatch(/^sales-k4x2q-system-container-impl-\d+$/);
  });
});

describe('the cluster routes', () => {
  let port: number;
  beforeEach(async () => {
    fake = await cluster.start();
    ({ port } = await cluster.serve());
  });

  it('compiles the notebook as the user sees it for KFP and for Argo', async () => {
    const notebook = writeClusterNotebook({ target: 'local' });
    const content = clusterNotebook({ target: 'local', image: 'registry.example.com/team/ml:1' });
    const kfp = await call(port, 'POST', '/api/compile', { notebook, content, target: 'kfp' });
    expect(kfp.status).toBe(200);
    expect(kfp.json.filename).toBe('sales.kfp.yaml');
    const [spec] = parseAllDocuments(kfp.json.text).map(d => d.toJS());
    expect(Object.keys(spec.root.dag.tasks).sort()).toEqual(['evaluate', 'load-data', 'train']);
    expect(kfp.json.text).toContain('registry.example.com/team/ml:1');
    const argo = await call(port, 'POST', '/api/compile', { notebook, content, target: 'argo' });
    expect(parseAllDocuments(argo.json.text)[0].toJS().kind).toBe('Workflow');
    expect(argo.json.filename).toBe('sales.argo.yaml');
  });

  it('refuses to compile a pipeline with errors, naming the first', async () => {
    const content = clusterNotebook({ target: 'local' });
    (content.cells as Array<{ source: string }>)[2].source = 'model = sum(missing)';
    const res = await call(port, 'POST', '/api/compile', {
      notebook: writeClusterNotebook({}),
      content,
      target: 'kfp'
    });
    expect([res.status, res.json.error.code]).toEqual([422, 'not-compiled']);
    expect(res.json.error.message).toMatch(/"missing"/);
  });

  it('uploads to KFP: the pipeline the first time, a new version after', async () => {
    const notebook = writeClusterNotebook({ target: 'kfp', namespace: 'team-a' });
    const first = await call(port, 'POST', '/api/kfp/pipelines', {
      notebook,
      connection: { tokenFile: '/t' }
    });
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({
      pipelineId: 'pipe-1',
      pipelineName: 'sales',
      versionId: 'ver-1',
      versionName: 'sales',
      created: true,
      url: `${fake.url}/#/pipelines/details/pipe-1/version/ver-1`
    });
    expect(fake.pipelines[0]).toMatchObject({ name: 'sales', namespace: 'team-a' });
    expect(fake.pipelines[0].versions[0].filename).toBe('sales.kfp.yaml');
    expect(fake.pipelines[0].versions[0].text).toContain('pipelineInfo:');
    expect(fake.tokens.has('Bearer token-of-/t')).toBe(true);
    const second = await call(port, 'POST', '/api/kfp/pipelines', { notebook, version: 'v2' });
    expect(second.json).toMatchObject({
      pipelineId: 'pipe-1',
      versionId: 'ver-2',
      versionName: 'v2',
      created: false
    });
    expect(fake.pipelines[0].versions.map(v => v.name)).toEqual(['sales', 'v2']);
    // The same version name again: KFP's conflict, worded.
    const again = await call(port, 'POST', '/api/kfp/pipelines', { notebook, version: 'v2' });
    expect([again.status, again.json.error.code]).toEqual([409, 'already-exists']);
    expect(again.json.error.message).toContain('Failed to create a pipeline version');
  });

  it("reports the notebook pod's image and volumes, the namespace and whether snapshots can be taken", async () => {
    const res = await call(port, 'GET', '/api/cluster?tokenFile=%2Ft');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      pod: {
        name: 'notebook-0',
        namespace: 'team',
        image: `kubeflownotebookswg/jupyter-scipy@sha256:${'ab'.repeat(32)}`,
        volumes: [
          { claim: 'workspace-notebook', mountPath: '/home/jovyan' },
          { claim: 'data-vol', mountPath: '/data' }
        ]
      },
      namespace: 'team',
      snapshots: { available: true },
      kfp: { token: true },
      problems: []
    });
    expect(res.json.access).toContain(fake.url);
  });
});

describe('connection errors say what to do', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('without a kubeconfig and outside a pod: no Kubernetes access, and how to get it', () => {
    process.env.KUBECONFIG = '';
    process.env.HOME = mkdtempSync(join(tmpdir(), 'cellpipe-home-'));
    delete process.env.KUBERNETES_SERVICE_HOST;
    const err = (() => {
      try {
        loadKubeConfig();
      } catch (e) {
        return e as ClusterError;
      }
      throw new Error('expected an error');
    })();
    expect(err.code).toBe('not-in-cluster');
    expect(err.message).toMatch(/^No Kubernetes access: cellpipe is not running in a pod .* no kubeconfig/);
    expect(err.message).toContain('point KUBECONFIG at the kubeconfig kubectl uses');
  });

  it('a KUBECONFIG that does not exist, and a context the kubeconfig lacks', () => {
    process.env.KUBECONFIG = '/nowhere/kubeconfig';
    expect(() => loadKubeConfig()).toThrow('The kubeconfig /nowhere/kubeconfig (KUBECONFIG) does not exist.');
    const file = join(mkdtempSync(join(tmpdir(), 'cellpipe-kc-')), 'config');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: c\n  cluster:\n    server: http://127.0.0.1:9',
        'users:',
        '- name: u\n  user:\n    token: t',
        'contexts:',
        '- name: lab\n  context:\n    cluster: c\n    user: u',
        'current-context: lab',
        ''
      ].join('\n')
    );
    expect(() => loadKubeConfig(file, 'prod')).toThrow(
      `The kubeconfig ${file} has no context "prod" (it has lab).`
    );
    expect(loadKubeConfig(file, 'lab').getCurrentContext()).toBe('lab');
  });

  it('a plain-HTTP cluster without insecure-skip-tls-verify: what to change instead of a TLS riddle', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cellpipe-kc-')), 'config');
    writeFileSync(
      file,
      'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:9\n' +
        'users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: lab\n  context:\n    cluster: c\n    user: u\n' +
        'current-context: lab\n'
    );
    const kube = kubeClients(loadKubeConfig(file));
    const err = await kube.core.readNamespacedPod({ name: 'x', namespace: 'y' }).catch(e => e);
    const mapped = clusterError(err, { action: 'read the pod', service: 'Kubernetes', server: kube.server });
    expect(mapped.message).toContain('is a plain http:// address');
    expect(mapped.message).toContain('insecure-skip-tls-verify');
  });

  it('a KFP endpoint on a port fetch refuses: says so instead of "fetch failed"', async () => {
    const client = new KfpClient('http://127.0.0.1:9', undefined, 'team');
    const err = (await client.experimentId('cellpipe').catch(e => e)) as ClusterError;
    expect(err.code).toBe('unreachable');
    expect(err.message).toBe(
      'Could not list the KFP experiments: cannot reach Kubeflow Pipelines at http://127.0.0.1:9 ' +
        '(fetch refuses that port, one browsers block too; use the port the service listens on). ' +
        'Check the KFP endpoint in the pipeline settings (or --endpoint) and that the service is running.'
    );
  });

  it('a KFP read whose kept-alive connection the server closes is asked again; a write is not', async () => {
    // Every second request is met by a close, unanswered: what a server's idle close meeting the client's
    // next request on a kept-alive connection looks like to the client.
    const seen: string[] = [];
    const server = createNetServer(socket => {
      socket.on('data', chunk => {
        seen.push(chunk.toString().split(' ', 1)[0]);
        if (seen.length % 2 === 0) {
          socket.destroy();
          return;
        }
        const body = '{"run_id": "r", "state": "RUNNING"}';
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n` + body
        );
      });
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const client = new KfpClient(`http://127.0.0.1:${port}`, undefined, 'team');
      expect((await client.getRun('r')).run_id).toBe('r');
      expect((await client.getRun('r')).run_id).toBe('r');
      expect(seen).toEqual(['GET', 'GET', 'GET']);
      const write = (await client.terminateRun('r').catch(e => e)) as ClusterError;
      expect(write.message).toContain('the server closed the connection');
      expect(seen.filter(m => m === 'POST')).toHaveLength(1);
    } finally {
      server.close();
    }
  });

  it('KFP without an endpoint outside the cluster: set the endpoint, not a guess', () => {
    const analysis = { pipeline: { endpoint: '' } } as Parameters<typeof kfpEndpoint>[1];
    expect(() => kfpEndpoint({ inCluster: false }, analysis)).toThrow(
      /^No Kubeflow Pipelines endpoint: set the KFP endpoint in the pipeline settings/
    );
    expect(kfpEndpoint({ inCluster: true }, analysis)).toBe(
      'http://ml-pipeline.kubeflow.svc.cluster.local:8888'
    );
    expect(kfpEndpoint({ endpoint: 'https://kf.example.com/pipeline' }, analysis)).toBe(
      'https://kf.example.com/pipeline'
    );
  });
});
