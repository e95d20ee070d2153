import { compareMetrics, runView } from '../run-state';
import { runRecord as record } from '../../core/runs/__tests__/run-fixture';

describe('run state from the server', () => {
  it('shows a step taken from the cache as cached, and parameters as their values', () => {
    const view = runView(
      record({
        steps: {
          load: { status: 'succeeded', cached: true, seconds: 0 },
          train: { status: 'queued', cached: false }
        }
      })
    );
    expect(view.steps.load.state).toBe('cached');
    expect(view.steps.train.state).toBe('queued');
    expect(view.parameters).toEqual({ n: '3' });
  });

  it('compares metrics across runs, missing values empty', () => {
    const a = runView(record({ id: 'a', metrics: { accuracy: 0.9, loss: 0.2 } }));
    const b = runView(record({ id: 'b', metrics: { accuracy: 0.95 } }));
    const { names, rows } = compareMetrics([a, b]);
    expect(names).toEqual(['accuracy', 'loss']);
    expect(rows).toEqual([
      { run: 'a', values: { accuracy: 0.9, loss: 0.2 } },
      { run: 'b', values: { accuracy: 0.95, loss: null } }
    ]);
  });

  it('carries where a cluster run ran, its snapshots and what the user should know', () => {
    const local = runView(record());
    expect([local.target, local.cluster, local.snapshots, local.notes]).toEqual(['local', undefined, [], []]);
    const view = runView(
      record({
        target: 'argo',
        cluster: {
          kind: 'argo',
          name: 'sales-x1',
          namespace: 'team',
          url: 'https://argo/workflows/team/sales-x1'
        },
        snapshots: [{ claim: 'home', mountPath: '/home/jovyan', snapshot: 'home-snap' }],
        warnings: ['The step image is the configured one: the notebook pod could not be read.'],
        followError: 'Lost the connection to the cluster.'
      })
    );
    expect(view.target).toBe('argo');
    expect(view.cluster?.url).toBe('https://argo/workflows/team/sales-x1');
    expect(view.snapshots[0].snapshot).toBe('home-snap');
    expect(view.notes).toHaveLength(2);
  });
});
