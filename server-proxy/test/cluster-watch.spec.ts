/**
 * Following Argo Workflows and waiting for VolumeSnapshots through Kubernetes watch streams, against the
 * loopback API server's chunked watches: events as they arrive (not at the poll interval), a stream the
 * server ends is re-established from the last resourceVersion, a 410 Expired means a re-list, and a watch
 * that is refused (403, 404) falls back to polling.
 */
import { ClusterSubmitOptions, submitClusterRun } from '../src/engines/cluster/cluster-submit';
import type { FakeCluster, FakeOptions } from './cluster-fake';
import { ARGO_TRAIN, followed, loopbackCluster, SALES_STEP_CHANGES } from './cluster-harness';
import { until } from './until';

jest.setTimeout(30000);

/** Long enough that a test finishing in time shows it never waited for a poll. */
const NEVER = 60_000;

const cluster = loopbackCluster();
let fake: FakeCluster;

async function options(
  fakeOptions: FakeOptions,
  extra: Partial<ClusterSubmitOptions> = {}
): Promise<ClusterSubmitOptions> {
  fake = await cluster.start(fakeOptions);
  return cluster.submitOptions({ target: 'argo', namespace: 'team-a' }, { pollMs: NEVER, ...extra });
}

interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
}

function requests(path: string): Request[] {
  return fake.requests
    .map(r => {
      const [method, target] = r.split(' ');
      const url = new URL(target, 'http://x');
      return { method, path: url.pathname, query: url.searchParams };
    })
    .filter(r => r.path === path);
}

const WORKFLOWS = '/apis/argoproj.io/v1alpha1/namespaces/team-a/workflows';
const watchesOf = (path: string) => requests(path).filter(r => r.query.get('watch') === 'true');

/** Every watch stream was closed (the client stopped watching once it had what it waited for). */
async function closed(): Promise<void> {
  await until('every watch stream to close', () => fake.watches.size === 0);
}

/** The follow loop has its watch open (so what happens next arrives through it). */
const watching = () => until('a watch stream to open', () => fake.watches.size > 0);

describe('following an Argo Workflow through its watch', () => {
  it('reaches succeeded with the steps mapped as events arrive, without waiting for a poll', async () => {
    const submitted = await submitClusterRun(await options({ ticksPerTask: 2 }));
    const started = Date.now();
    const { record, timedOut, events } = await followed(submitted, NEVER);
    expect(Date.now() - started).toBeLessThan(5000);
    expect([timedOut, record.status]).toEqual([false, 'succeeded']);
    expect(events).toEqual(SALES_STEP_CHANGES);
    expect(record.steps.train).toEqual(ARGO_TRAIN);
    expect(record.metrics).toEqual({ accuracy: 0.9 });
    // One read before the watch was open, then only the watch of this workflow by name.
    expect(requests(`${WORKFLOWS}/sales-x7k2p`).map(r => r.method)).toEqual(['GET']);
    expect(watchesOf(WORKFLOWS).map(r => r.query.get('fieldSelector'))).toEqual([
      'metadata.name=sales-x7k2p'
    ]);
    await closed();
  });

  it('cancels through the watch: the Terminate patch comes back as a MODIFIED event', async () => {
    const { follow } = await submitClusterRun(await options({ ticksPerTask: 1000 }));
    const cancel = new AbortController();
    void watching().then(() => cancel.abort());
    const started = Date.now();
    const { record } = await follow({ pollMs: NEVER, signal: cancel.signal });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(record.status).toBe('cancelled');
    expect(requests(`${WORKFLOWS}/sales-x7k2p`).map(r => r.method)).toEqual(['GET', 'PATCH']);
  });

  it('fails the run when the workflow is deleted while it runs (DELETED event)', async () => {
    const o = await options({ ticksPerTask: 1000 });
    const { follow } = await submitClusterRun(o);
    void watching().then(() =>
      o.kube!().custom.deleteNamespacedCustomObject({
        group: 'argoproj.io',
        version: 'v1alpha1',
        namespace: 'team-a',
        plural: 'workflows',
        name: 'sales-x7k2p'
      })
    );
    const { record } = await follow({ pollMs: NEVER });
    expect(record.status).toBe('failed');
    const why =
      'The Argo Workflow sales-x7k2p was deleted before it finished (its pods are gone with it); run the pipeline again.';
    expect(record.reason).toBe(why);
    // No step had started: each was skipped for the run's reason.
    expect(record.steps.load_data).toMatchObject({ status: 'skipped', reason: why });
  });

  it('says a step restored from the snapshot waits for its volume, not for a smaller request', async () => {
    const submitted = await submitClusterRun(await options({ ticksPerTask: 2, volumeBindTicks: 2 }));
    const waiting: string[] = [];
    const { record } = await submitted.follow({
      pollMs: NEVER,
      onStep: (step, r) => r.waiting && waiting.push(`${step}: ${r.waiting}`)
    });
    expect(record.status).toBe('succeeded');
    expect(waiting).toEqual([
      'load_data: Step load_data waits for its volumes: the workspace is being restored from its snapshot ' +
        'into a new PVC (0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. not found). ' +
        "If it keeps waiting, the storage driver cannot restore the snapshot: see the PVC's events " +
        '(kubectl describe pvc), or cancel the run.'
    ]);
    // Once it runs, it no longer says it waits.
    expect(record.steps.load_data.waiting).toBeUndefined();
  });

  it('re-establishes a watch the server ended, from the last resourceVersion it saw', async () => {
    const submitted = await submitClusterRun(await options({ ticksPerTask: 3, watchCloseAfterMs: 40 }));
    const { record, events } = await followed(submitted, NEVER);
    expect(record.status).toBe('succeeded');
    expect(events).toEqual(SALES_STEP_CHANGES);
    const watches = watchesOf(WORKFLOWS);
    expect(watches.length).toBeGreaterThan(1);
    // The first from now (no version), each next one from a version, never going back.
    expect(watches[0].query.get('resourceVersion')).toBeNull();
    const versions = watches.slice(1).map(w => Number(w.query.get('resourceVersion')));
    expect(versions.every(v => v > 1000)).toBe(true);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    expect(requests(`${WORKFLOWS}/sales-x7k2p`)).toHaveLength(1);
  });

  it('lists again after a 410 Expired and watches from the list version', async () => {
    const submitted = await submitClusterRun(
      await options({ ticksPerTask: 3, watchCloseAfterMs: 40, watchExpires: true })
    );
    const { record, events } = await followed(submitted, NEVER);
    expect(record.status).toBe('succeeded');
    expect(events).toEqual(SALES_STEP_CHANGES);
    const calls = requests(WORKFLOWS).filter(r => r.method === 'GET');
    const kinds = calls.map(r =>
      r.query.get('watch') ? (r.query.get('resourceVersion') ? 'watch from' : 'watch') : 'list'
    );
    // watch → (server ends, versions compacted) → watch from the last version → ERROR 410 → list → watch from it.
    expect(kinds.slice(0, 4)).toEqual(['watch', 'watch from', 'list', 'watch from']);
    expect(calls[2].query.get('fieldSelector')).toBe('metadata.name=sales-x7k2p');
    expect(Number(calls[3].query.get('resourceVersion'))).toBeGreaterThanOrEqual(
      Number(calls[1].query.get('resourceVersion')) + 100
    );
  });

  it.each([403, 404] as const)('falls back to polling when the watch is answered %i', async code => {
    const o = await options(
      { watchRefused: code, snapshotReadyAfter: 3 },
      { pod: { name: 'notebook-0', namespace: 'team-a' }, pollMs: 5 }
    );
    const submitted = await submitClusterRun(o);
    // Snapshots polled until ready (three reads each), after one refused watch each.
    const snapshots = '/apis/snapshot.storage.k8s.io/v1/namespaces/team-a/volumesnapshots';
    expect(watchesOf(snapshots)).toHaveLength(2);
    expect(fake.requests.filter(r => r.startsWith(`GET ${snapshots}/`))).toHaveLength(6);
    expect(submitted.record.snapshots?.map(s => s.restoreSize)).toEqual(['15783', '15783']);

    const { record, events } = await followed(submitted, 5);
    expect(record.status).toBe('succeeded');
    expect(record.followError).toBeUndefined();
    expect(events).toEqual(SALES_STEP_CHANGES);
    // Refused once, not retried; the workflow read at each poll.
    expect(watchesOf(WORKFLOWS)).toHaveLength(1);
    expect(requests(`${WORKFLOWS}/sales-x7k2p`).length).toBeGreaterThanOrEqual(4);
  });
});

describe('waiting for a VolumeSnapshot through its watch', () => {
  it('is ready through the watch, read once, without waiting for a poll', async () => {
    const o = await options({ snapshotReadyAfter: 5 }, { pod: { name: 'notebook-0', namespace: 'team-a' } });
    const started = Date.now();
    const { record } = await submitClusterRun(o);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(record.snapshots?.map(s => [s.claim, s.restoreSize])).toEqual([
      ['workspace-notebook', '15783'],
      ['data-vol', '15783']
    ]);
    const snapshots = '/apis/snapshot.storage.k8s.io/v1/namespaces/team-a/volumesnapshots';
    expect(fake.requests.filter(r => r.startsWith(`GET ${snapshots}/`))).toHaveLength(2);
    expect(watchesOf(snapshots)).toHaveLength(2);
    await closed();
  });

  it('is ready through a watch that the server ended and whose version expired', async () => {
    const o = await options(
      { snapshotReadyAfter: 8, watchTickMs: 15, watchCloseAfterMs: 40, watchExpires: true },
      { pod: { name: 'notebook-0', namespace: 'team-a' } }
    );
    const { record } = await submitClusterRun(o);
    expect(record.snapshots?.map(s => s.restoreSize)).toEqual(['15783', '15783']);
    const snapshots = '/apis/snapshot.storage.k8s.io/v1/namespaces/team-a/volumesnapshots';
    const lists = requests(snapshots).filter(r => r.method === 'GET' && !r.query.get('watch'));
    expect(lists.length).toBeGreaterThan(0);
  });
});
