/**
 * Cluster runs against a loopback server that answers like the Kubernetes API and KFP: submit, follow,
 * snapshots, and the errors a user meets, through the real @kubernetes/client-node and fetch.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import { dirname, join } from 'path';
import { createServer } from 'net';
import { submitClusterRun, ClusterSubmitOptions } from '../src/engines/cluster/cluster-submit';
import { ClusterError } from '../src/engines/cluster/cluster-errors';
import type { FakeCluster, FakeOptions } from './cluster-fake';
import { ARGO_TRAIN, followed, loopbackCluster, SALES_STEP_CHANGES, skippedBelow } from './cluster-harness';

jest.setTimeout(30000);

const cluster = loopbackCluster();
let fake: FakeCluster;

async function options(
  fakeOptions: FakeOptions,
  settings: Record<string, unknown>,
  extra: Partial<ClusterSubmitOptions> = {}
): Promise<ClusterSubmitOptions> {
  fake = await cluster.start(fakeOptions);
  return cluster.submitOptions(settings, extra);
}

async function failure(promise: Promise<unknown>): Promise<ClusterError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ClusterError);
    return err as ClusterError;
  }
  throw new Error('expected a ClusterError');
}

const runsOf = (notebookPath: string) => {
  const dir = join(dirname(notebookPath), '.cellpipe', 'runs');
  return existsSync(dir) ? readdirSync(dir) : [];
};

describe('Argo runs', () => {
  it('snapshots the pod workspace, submits with the pinned image, follows to succeeded with steps mapped', async () => {
    const o = await options(
      { snapshotReadyAfter: 3 },
      { target: 'argo', namespace: 'team-a' },
      {
        pod: { name: 'notebook-0', namespace: 'team-a' }
      }
    );
    const submitted = await submitClusterRun(o);
    const id = submitted.record.id;
    // Both PVCs snapshotted with the default class of their driver, waited for, recorded.
    expect(submitted.record.snapshots).toEqual([
      {
        claim: 'workspace-notebook',
        mountPath: '/home/jovyan',
        snapshot: `cellpipe-${id}-workspace-notebook`,
        snapshotClass: 'rbd-default',
        restoreSize: '15783'
      },
      {
        claim: 'data-vol',
        mountPath: '/data',
        snapshot: `cellpipe-${id}-data-vol`,
        snapshotClass: 'rbd-default',
        restoreSize: '15783'
      }
    ]);
    // Each read once, then waited for through a watch of it (the fake moves a watched snapshot on).
    expect(
      fake.requests.filter(r =>
        r.startsWith('GET /apis/snapshot.storage.k8s.io/v1/namespaces/team-a/volumesnapshots/')
      ).length
    ).toBe(2);
    expect(
      fake.requests
        .filter(r => r.startsWith('GET /apis/snapshot.storage.k8s.io/v1/namespaces/team-a/volumesnapshots?'))
        .map(r => new URL(r.slice(4), 'http://x').searchParams)
        .map(q => `${q.get('watch')} ${q.get('fieldSelector')}`)
        .sort()
    ).toEqual([
      `true metadata.name=cellpipe-${id}-data-vol`,
      `true metadata.name=cellpipe-${id}-workspace-notebook`
    ]);
    expect([...fake.snapshots.values()].map(s => s.body.spec)).toEqual([
      { volumeSnapshotClassName: 'rbd-default', source: { persistentVolumeClaimName: 'workspace-notebook' } },
      { volumeSnapshotClassName: 'rbd-default', source: { persistentVolumeClaimName: 'data-vol' } }
    ]);
    // The workflow restores them at the notebook's mount paths and runs on the notebook's image by digest.
    const [workflow] = [...fake.workflows.values()].map(w => w.body as any); // eslint-disable-line @typescript-eslint/no-explicit-any -- the submitted Workflow
    expect(workflow.metadata.labels['cellpipe.dev/run']).toBe(id);
    const claims = workflow.spec.volumeClaimTemplates.filter(
      (c: { spec: { dataSource?: unknown } }) => c.spec.dataSource
    );
    expect(
      claims.map(
        (c: {
          spec: {
            dataSource: unknown;
            storageClassName: string;
            resources: { requests: { storage: string } };
          };
        }) => [c.spec.dataSource, c.spec.storageClassName, c.spec.resources.requests.storage]
      )
    ).toEqual([
      [
        {
          apiGroup: 'snapshot.storage.k8s.io',
          kind: 'VolumeSnapshot',
          name: `cellpipe-${id}-workspace-notebook`
        },
        'csi-rbd',
        '5Gi'
      ],
      [
        { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: `cellpipe-${id}-data-vol` },
        'csi-rbd',
        '5Gi'
      ]
    ]);
    const step = workflow.spec.templates.find((t: { name: string }) => t.name === 'train');
    expect(step.container.image).toBe(`kubeflownotebookswg/jupyter-scipy@sha256:${'ab'.repeat(32)}`);
    expect(step.container.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toEqual([
      '/cellpipe/run',
      '/home/jovyan',
      '/data'
    ]);
    expect(submitted.record.cluster).toEqual({ kind: 'argo', name: 'sales-x7k2p', namespace: 'team-a' });
    expect(fake.tokens).toEqual(new Set(['Bearer kube-token']));

    const { record, timedOut, events } = await followed(submitted, 5);
    expect(timedOut).toBe(false);
    expect(record.status).toBe('succeeded');
    expect(events).toEqual(SALES_STEP_CHANGES);
    expect(record.steps.train).toEqual(ARGO_TRAIN);
    expect(record.metrics).toEqual({ accuracy: 0.9 });
    const dir = join(dirname(o.notebookPath), '.cellpipe', 'runs', id);
    const onDisk = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect([onDisk.status, onDisk.target, onDisk.volumes, onDisk.clusterTasks]).toEqual([
      'succeeded',
      'argo',
      'snapshot',
      { load_data: 'load-data', train: 'train', evaluate: 'evaluate' }
    ]);
    expect(readFileSync(join(dir, 'logs', 'train.log'), 'utf8')).toBe(
      'log of sales-x7k2p-train-55022658 (container main)\n'
    );
    // The run's snapshots were deleted when it ended: nothing is left behind.
    expect(fake.snapshots.size).toBe(0);
    // The step's outputs came back through its `outputs` parameter, where a local run keeps them.
    expect(JSON.parse(readFileSync(join(dir, 'steps', 'train', 'outputs.json'), 'utf8'))).toEqual({
      '1': [{ output_type: 'stream', name: 'stdout', text: 'hello from train\n' }]
    });
  });

  it('records a failed step, skips the steps below it, and keeps the step message', async () => {
    const o = await options({ failTask: 'train' }, { target: 'argo', namespace: 'team-a' });
    const { follow } = await submitClusterRun(o);
    const { record } = await follow({ pollMs: 5 });
    expect(record.status).toBe('failed');
    expect(record.steps.load_data.status).toBe('succeeded');
    expect(record.steps.train.error).toEqual({
      // Argo's message for a container that exited non-zero, as the lab's v3.7 words it.
      message: 'Step train failed on the cluster: main: Error (exit code 1)',
      cell: null,
      line: null
    });
    // Argo lists evaluate's node before train's here (ids sorted): still skipped because of train.
    expect(record.steps.evaluate).toEqual(skippedBelow('train'));
    expect(record.snapshots).toEqual([]);
  });

  it('stops following at the timeout, and cancelling terminates the workflow', async () => {
    const o = await options({ ticksPerTask: 1000 }, { target: 'argo', namespace: 'team-a' });
    const { follow } = await submitClusterRun(o);
    const first = await follow({ pollMs: 5, timeoutMs: 50 });
    expect([first.timedOut, first.record.status]).toEqual([true, 'running']);
    const cancel = new AbortController();
    cancel.abort();
    const { record } = await follow({ pollMs: 5, signal: cancel.signal });
    expect(fake.requests).toContainEqual(
      expect.stringMatching(
        /^PATCH \/apis\/argoproj.io\/v1alpha1\/namespaces\/team-a\/workflows\/sales-x7k2p$/
      )
    );
    expect(record.status).toBe('cancelled');
    // Argo fails the step it stopped ("Stopped with strategy 'Terminate'") and omits the rest, as the lab's
    // real controller does: all of them were cancelled, none failed.
    expect(Object.values(record.steps).map(s => s.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(Object.values(record.steps).filter(s => s.error)).toEqual([]);
  });

  it('says there is no access to the namespace (403) and writes no run', async () => {
    const o = await options({ forbidden: ['team-b'] }, { target: 'argo', namespace: 'team-b' });
    const err = await failure(submitClusterRun(o));
    expect([err.code, err.httpStatus]).toEqual(['forbidden', 403]);
    // Who may not do what, read from the API server's RBAC refusal (worded as the lab's real one).
    expect(err.message).toMatch(
      /^Could not create the Argo Workflow: the service account default-editor \(namespace team-b\) may not create workflows\.argoproj\.io in namespace "team-b"\. Ask your cluster admin/
    );
    expect(err.message).toContain(
      'The server said: workflows.argoproj.io is forbidden: User "system:serviceaccount:team-b:default-editor" cannot create resource "workflows" in API group "argoproj.io" in the namespace "team-b"'
    );
    expect(runsOf(o.notebookPath)).toEqual([]);
  });

  it('reports an invalid resource (422) and deletes the snapshots it took', async () => {
    const message =
      'Workflow.argoproj.io "sales-x7k2p" is invalid: spec.templates[1].container.resources.requests[cpu]: Invalid value: "lots": quantities must match the regular expression';
    const o = await options(
      { workflowCreate: { code: 422, reason: 'Invalid', message } },
      { target: 'argo', namespace: 'team-a' },
      {
        pod: { name: 'notebook-0', namespace: 'team-a' }
      }
    );
    const err = await failure(submitClusterRun(o));
    expect([err.code, err.httpStatus]).toEqual(['invalid', 422]);
    expect(err.message).toContain('resource values such as "500m" or "2Gi"');
    expect(err.message).toContain(message);
    expect(err.message).toContain('The VolumeSnapshots taken for this run were deleted.');
    expect(fake.requests.filter(r => r.startsWith('POST /apis/snapshot'))).toHaveLength(2);
    expect(fake.requests.filter(r => r.startsWith('DELETE /apis/snapshot'))).toHaveLength(2);
    expect(fake.snapshots.size).toBe(0);
    expect(runsOf(o.notebookPath)).toEqual([]);
  });

  it('says the account may not create workflows when the API server closes the connection on the 403', async () => {
    // A Workflow over the 256 KiB Go's HTTP server discards unread (many steps' compressed programs are).
    const big = { env: { NOTES: 'x'.repeat(300 * 1024) } };
    const o = await options(
      { workflowCreateForbidden: true },
      { target: 'argo', namespace: 'team-a', steps: { train: big } }
    );
    const err = await failure(submitClusterRun(o));
    expect(err.code).toBe('forbidden');
    expect(err.message).toMatch(
      /^Could not create the Argo Workflow: this account may not create workflows\.argoproj\.io in namespace "team-a"/
    );
    expect(fake.requests).toContainEqual('POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
    expect(runsOf(o.notebookPath)).toEqual([]);
  });

  it('tells a used-up quota (403 exceeded quota) and a name conflict (409) apart', async () => {
    const quota = await options(
      {
        workflowCreate: {
          code: 403,
          reason: 'Forbidden',
          message:
            'persistentvolumeclaims "x" is forbidden: exceeded quota: team-quota, requested: requests.storage=10Gi, used: requests.storage=95Gi, limited: requests.storage=100Gi'
        }
      },
      { target: 'argo', namespace: 'team-a' }
    );
    const q = await failure(submitClusterRun(quota));
    expect([q.code, q.httpStatus]).toEqual(['quota-exceeded', 403]);
    expect(q.message).toContain("the namespace's resource quota is used up");
    await cluster.stop();
    const conflict = await options(
      {
        workflowCreate: {
          code: 409,
          reason: 'AlreadyExists',
          message: 'workflows.argoproj.io "sales-x7k2p" already exists'
        }
      },
      { target: 'argo', namespace: 'team-a' }
    );
    const c = await failure(submitClusterRun(conflict));
    expect([c.code, c.httpStatus]).toEqual(['already-exists', 409]);
    expect(c.message).toMatch(/already exists\. Submit again/);
  });
});

describe('snapshots', () => {
  it('snapshots with the default class when the account may not read cluster-scoped classes (as on the lab)', async () => {
    const o = await options(
      { clusterReadsForbidden: true },
      { target: 'argo', namespace: 'team-a' },
      { pod: { name: 'notebook-0', namespace: 'team-a' } }
    );
    const submitted = await submitClusterRun(o);
    // No class named: the snapshot controller chose its default for the driver, and the run records it.
    expect([...fake.snapshots.values()].map(s => s.body.spec.source)).toEqual([
      { persistentVolumeClaimName: 'workspace-notebook' },
      { persistentVolumeClaimName: 'data-vol' }
    ]);
    expect(fake.requests.filter(r => r.startsWith('POST /apis/snapshot.storage.k8s.io')).length).toBe(2);
    expect(submitted.record.snapshots?.map(s => s.snapshotClass)).toEqual(['rbd-default', 'rbd-default']);
    const { record } = await submitted.follow({ pollMs: 5 });
    expect(record.status).toBe('succeeded');
  });

  it('surfaces status.error.message, deletes what it created, and submits nothing', async () => {
    const o = await options(
      { snapshotError: 'Failed to create snapshot: rbd: image is busy' },
      { target: 'argo', namespace: 'team-a' },
      {
        pod: { name: 'notebook-0', namespace: 'team-a' }
      }
    );
    const err = await failure(submitClusterRun(o));
    expect(err.code).toBe('snapshot-failed');
    expect(err.message).toMatch(
      /^The VolumeSnapshot cellpipe-[\w-]+-workspace-notebook of PVC workspace-notebook failed: Failed to create snapshot: rbd: image is busy$/
    );
    expect(fake.snapshots.size).toBe(0);
    expect(fake.workflows.size).toBe(0);
  });

  it('says why when no snapshot class matches the driver, and mounts the volumes as they are on request', async () => {
    const o = await options(
      { noSnapshotClass: true },
      { target: 'argo', namespace: 'team-a' },
      {
        pod: { name: 'notebook-0', namespace: 'team-a' }
      }
    );
    const err = await failure(submitClusterRun(o));
    expect([err.code, err.httpStatus]).toEqual(['no-snapshot-class', 409]);
    expect(err.message).toContain(
      'no VolumeSnapshotClass has driver rbd.csi.ceph.com (the driver of PVC workspace-notebook)'
    );
    expect(err.message).toContain('--mount-volumes');
    expect(fake.workflows.size).toBe(0);

    const { record } = await submitClusterRun({ ...o, volumes: 'mount' });
    const [workflow] = [...fake.workflows.values()].map(w => w.body as any); // eslint-disable-line @typescript-eslint/no-explicit-any -- the submitted Workflow
    expect(workflow.spec.volumes).toEqual([
      { name: 'vol-workspace-notebook', persistentVolumeClaim: { claimName: 'workspace-notebook' } },
      { name: 'vol-data-vol', persistentVolumeClaim: { claimName: 'data-vol' } }
    ]);
    expect([record.volumes, record.snapshots]).toEqual([
      'mount',
      [
        { claim: 'workspace-notebook', mountPath: '/home/jovyan' },
        { claim: 'data-vol', mountPath: '/data' }
      ]
    ]);
  });
});

describe('KFP runs', () => {
  it('creates the run inline with the bearer token in the namespace experiment and follows it', async () => {
    const o = await options(
      {},
      { target: 'kfp', namespace: 'team-a' },
      { kube: undefined, kfpToken: 'kfp-token' }
    );
    o.endpoint = fake.url;
    const submitted = await submitClusterRun({ ...o, parameters: { rate: { type: 'float', value: 0.25 } } });
    const [run] = [...fake.kfpRuns.values()];
    expect(run.body.experiment_id).toBe('exp-1');
    expect(fake.experiments).toEqual([
      { experiment_id: 'exp-1', display_name: 'cellpipe', namespace: 'team-a' }
    ]);
    expect((run.body.runtime_config as { parameters: unknown }).parameters).toEqual({ rate: 0.25 });
    expect((run.body.pipeline_spec as { schemaVersion: string }).schemaVersion).toBe('2.1.0');
    expect(fake.tokens).toEqual(new Set(['Bearer kfp-token']));
    expect(submitted.record.cluster).toEqual({
      kind: 'kfp',
      id: '0b8f6f0e-1',
      namespace: 'team-a',
      endpoint: fake.url,
      url: `${fake.url}/#/runs/details/0b8f6f0e-1`
    });
    const { record, events } = await followed(submitted, 5);
    expect(record.status).toBe('succeeded');
    expect(events).toEqual(SALES_STEP_CHANGES);
    expect(record.steps.evaluate.seconds).toBe(5);
    const log = join(dirname(o.notebookPath), '.cellpipe', 'runs', record.id, 'logs', 'train.log');
    // Without Kubernetes access to the run's namespace, KFP's artifact store cannot be found.
    expect(readFileSync(log, 'utf8')).toBe(
      `The log of step train is in the KFP UI: ${fake.url}/#/runs/details/0b8f6f0e-1\n`
    );
  });

  it("brings each step's log, outputs and metrics back from KFP's artifact store", async () => {
    const o = await options(
      { kfpArtifacts: true, retryTask: 'train' },
      { target: 'kfp', namespace: 'team-a' }
    );
    o.endpoint = fake.url;
    const { record } = await (await submitClusterRun(o)).follow({ pollMs: 5 });
    expect(record.status).toBe('succeeded');
    // Its pod: Argo's name for the executor node KFP lists as the step's child; retried once.
    expect(record.steps.train.cluster).toEqual({
      pod: expect.stringMatching(/^sales-k4x2q-system-container-impl-\d+$/),
      retries: 1
    });
    expect(record.warnings?.filter(w => /artifact store/.test(w)) ?? []).toEqual([]);
    const dir = join(dirname(o.notebookPath), '.cellpipe', 'runs', record.id);
    // The launcher's executor-logs, the runtime's cell outputs and metrics, as the store holds them.
    // The log of the attempt that succeeded (executor-logs-1), not the first one's.
    expect(readFileSync(join(dir, 'logs', 'train.log'), 'utf8')).toBe('hello from train\n');
    expect(readFileSync(join(dir, 'logs', 'load_data.log'), 'utf8')).toBe('hello from load-data\n'); // the task's folder: its cluster name
    expect(JSON.parse(readFileSync(join(dir, 'steps', 'train', 'outputs.json'), 'utf8'))).toEqual({
      '1': [{ output_type: 'stream', name: 'stdout', text: 'hello from train\n' }]
    });
    expect(record.metrics).toEqual({ accuracy: 0.9 });
    // Found the way the launcher finds the store: the kfp-launcher ConfigMap and the Secret it names.
    expect(fake.requests).toContainEqual('GET /api/v1/namespaces/team-a/configmaps/kfp-launcher');
    expect(fake.requests).toContainEqual('GET /api/v1/namespaces/team-a/secrets/mlpipeline-minio-artifact');
  });

  it("gives a failed KFP step's own error, cell and line, from the end of its log", async () => {
    const o = await options(
      {
        kfpArtifacts: true,
        failTask: 'train',
        failError: {
          cell: 2,
          line: 3,
          ename: 'ValueError',
          evalue: 'bad rate',
          message: 'ValueError: bad rate'
        }
      },
      { target: 'kfp', namespace: 'team-a' }
    );
    o.endpoint = fake.url;
    const { record } = await (await submitClusterRun(o)).follow({ pollMs: 5 });
    expect(record.status).toBe('failed');
    expect(record.steps.train.error).toEqual({
      message: 'Step train failed: ValueError: bad rate',
      cell: 2,
      line: 3
    });
    const dir = join(dirname(o.notebookPath), '.cellpipe', 'runs', record.id);
    // The results line is read, not shown.
    expect(readFileSync(join(dir, 'logs', 'train.log'), 'utf8')).toBe(
      'hello from train\ncellpipe: step train failed: ValueError: bad rate\n'
    );
    expect(JSON.parse(readFileSync(join(dir, 'steps', 'train', 'outputs.json'), 'utf8'))).toEqual({
      '1': [{ output_type: 'stream', name: 'stdout', text: 'hello from train\n' }]
    });
    expect(record.steps.evaluate).toEqual(skippedBelow('train'));
  });

  it('ends the steps as the run did when its task details stopped moving (Argo compressed the nodes)', async () => {
    const o = await options(
      { kfpArtifacts: true, kfpNodesFrozenAt: 2 },
      { target: 'kfp', namespace: 'team-a' }
    );
    o.endpoint = fake.url;
    const { record } = await (await submitClusterRun(o)).follow({ pollMs: 5 });
    expect(record.status).toBe('succeeded');
    expect(record.order.map(s => record.steps[s].status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(record.metrics).toEqual({ accuracy: 0.9 });
    const dir = join(dirname(o.notebookPath), '.cellpipe', 'runs', record.id);
    expect(readFileSync(join(dir, 'logs', 'evaluate.log'), 'utf8')).toBe('hello from evaluate\n');
  });

  it('tells which step failed from the store when the task details stopped moving', async () => {
    const o = await options(
      {
        kfpArtifacts: true,
        kfpNodesFrozenAt: 2,
        failTask: 'train',
        failError: { cell: 2, line: 1, message: 'boom' }
      },
      { target: 'kfp', namespace: 'team-a' }
    );
    o.endpoint = fake.url;
    const { record } = await (await submitClusterRun(o)).follow({ pollMs: 5 });
    expect(record.status).toBe('failed');
    expect(record.steps.load_data.status).toBe('succeeded');
    expect(record.steps.train.error).toEqual({ message: 'Step train failed: boom', cell: 2, line: 1 });
    expect(record.steps.evaluate).toEqual(skippedBelow('train'));
  });

  it('follows a failed KFP run', async () => {
    const o = await options(
      { failTask: 'load-data' },
      { target: 'kfp', namespace: 'team-a' },
      { kube: undefined }
    );
    o.endpoint = fake.url;
    const { record } = await (await submitClusterRun(o)).follow({ pollMs: 5 });
    expect(record.status).toBe('failed');
    // KFP's task details carry no error message; without the store, the message says where it failed.
    expect(record.steps.load_data.error?.message).toBe('Step load_data failed on the cluster.');
    expect(record.steps.train).toEqual(skippedBelow('load_data'));
  });

  it('says KFP is unreachable when the port is closed or the host does not resolve', async () => {
    const port = await new Promise<number>(resolve => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const o = await options(
      {},
      { target: 'kfp', namespace: 'team-a', endpoint: `http://127.0.0.1:${port}` },
      { kube: undefined }
    );
    const refused = await failure(submitClusterRun(o));
    expect([refused.code, refused.httpStatus]).toEqual(['unreachable', 502]);
    expect(refused.message).toBe(
      `Could not list the KFP experiments: cannot reach Kubeflow Pipelines at http://127.0.0.1:${port} ` +
        '(the connection was refused: nothing listens at that address and port). ' +
        'Check the KFP endpoint in the pipeline settings (or --endpoint) and that the service is running.'
    );
    const dns = await failure(
      submitClusterRun({ ...o, endpoint: 'http://ml-pipeline.nowhere.invalid:8888' })
    );
    expect(dns.code).toBe('unreachable');
    expect(dns.message).toContain('(the host name does not resolve)');
    expect(runsOf(o.notebookPath)).toEqual([]);
  });

  it('maps a KFP 403 to a namespace access message', async () => {
    const o = await options(
      {
        kfpCreate: {
          code: 403,
          message: 'Failed to authorize with API: PermissionDenied: User "u" is not authorized'
        }
      },
      { target: 'kfp', namespace: 'team-a' },
      { kube: undefined }
    );
    o.endpoint = fake.url;
    const err = await failure(submitClusterRun(o));
    expect(err.code).toBe('forbidden');
    expect(err.message).toContain('no access in namespace "team-a"');
    expect(err.message).toContain('PermissionDenied');
  });
});
