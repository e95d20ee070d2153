/**
 * What an Argo run on a real cluster leaves for cellpipe to read, and how it comes back into JupyterLab:
 * the namespace's artifact repository (outputs, metrics and archived logs as S3 objects, read with the
 * AWS SDK against the fake's S3), retried steps (a Retry node over its attempts), steps past their
 * timeout, and Pod nodes whose `children` are the steps after them. The fake answers in the shapes the
 * lab's Argo v3.7 and S3 store answered (see cluster-fake.ts).
 */
import { readFileSync } from 'fs';
import { dirname, join } from 'path';
import { submitClusterRun } from '../src/engines/cluster/cluster-submit';
import type { FakeCluster, FakeOptions } from './cluster-fake';
import { loopbackCluster, skippedBelow } from './cluster-harness';

jest.setTimeout(30000);

const cluster = loopbackCluster();
let fake: FakeCluster;

async function run(fakeOptions: FakeOptions, settings: Record<string, unknown> = {}) {
  fake = await cluster.start(fakeOptions);
  const options = await cluster.submitOptions({ target: 'argo', namespace: 'team-a', ...settings });
  const submitted = await submitClusterRun(options);
  const { record } = await submitted.follow({ pollMs: 5 });
  const dir = join(dirname(options.notebookPath), '.cellpipe', 'runs', record.id);
  const file = (path: string) => readFileSync(join(dir, path), 'utf8');
  const workflow = [...fake.workflows.values()][0].body as unknown as {
    spec: { templates: { name: string; outputs?: unknown; archiveLocation?: unknown }[] };
  };
  return { record, file, workflow };
}

const s3Reads = () => fake.requests.filter(r => r.startsWith('GET /argo-artifacts/'));

describe('Argo runs with an artifact repository', () => {
  it('compiles outputs and metrics as artifacts and reads them back whole from the store', async () => {
    // Above the 256 KiB an output parameter holds: only the artifact route brings it back whole.
    const big = 'x'.repeat(300 * 1024) + '\n';
    const { record, file, workflow } = await run({ artifacts: true, stdout: big });
    expect(record.status).toBe('succeeded');
    expect((record.warnings ?? []).filter(w => /artifact/.test(w))).toEqual([]);
    const evaluate = workflow.spec.templates.find(t => t.name === 'evaluate')!;
    expect(evaluate.outputs).toEqual({
      parameters: [{ name: 'error', valueFrom: { path: '/tmp/cellpipe/error.json', default: '{}' } }],
      artifacts: [
        { name: 'outputs', path: '/tmp/cellpipe/outputs.json', optional: true, archive: { none: {} } },
        { name: 'metrics', path: '/tmp/cellpipe/metrics.json', optional: true, archive: { none: {} } }
      ]
    });
    expect(evaluate.archiveLocation).toEqual({ archiveLogs: true });
    // Each step's outputs and the metrics step's metrics, from the keys the Workflow's nodes name.
    expect(JSON.parse(file('steps/train/outputs.json'))).toEqual({
      '1': [{ output_type: 'stream', name: 'stdout', text: big }]
    });
    expect(record.metrics).toEqual({ accuracy: 0.9 });
    expect(s3Reads()).toEqual(
      expect.arrayContaining([
        'GET /argo-artifacts/sales-x7k2p/sales-x7k2p-train-55022658/outputs.json?x-id=GetObject',
        'GET /argo-artifacts/sales-x7k2p/sales-x7k2p-evaluate-1541886003/metrics.json?x-id=GetObject'
      ])
    );
    // The pods are still there: the log is the pod's, without Argo's executor lines.
    expect(file('logs/train.log')).toBe('log of sales-x7k2p-train-55022658 (container main)\n');
  });

  it("reads the archived log once the step's pod was garbage-collected", async () => {
    const { record, file } = await run({ artifacts: true, podsGone: true });
    expect(record.status).toBe('succeeded');
    expect(file('logs/train.log')).toBe('archived log of sales-x7k2p-train-55022658\n');
    expect(s3Reads()).toContainEqual(
      'GET /argo-artifacts/sales-x7k2p/sales-x7k2p-train-55022658/main.log?x-id=GetObject'
    );
  });

  it('reads every step back when a poll answers after the watch has seen the run to its end', async () => {
    // The first poll (the watch still connecting) is slow, as for a large Workflow: meanwhile the watch
    // sees every step finish, each node's outputs coming after its phase (Argo >= 3.4 task results).
    const { record, file } = await run({ artifacts: true, workflowGetDelayMs: 400 });
    expect(record.status).toBe('succeeded');
    for (const step of record.order) {
      expect(JSON.parse(file(`steps/${step}/outputs.json`))['1'][0].text).toBe(
        `hello from ${step.replace(/_/g, '-')}\n`
      );
    }
    expect(record.metrics).toEqual({ accuracy: 0.9 });
    expect(file('logs/train.log')).toBe('log of sales-x7k2p-train-55022658 (container main)\n');
  });

  it('says in the run warnings when the store refuses the credentials, and the run still ends true', async () => {
    const { record } = await run({ artifacts: true, s3AccessKey: 'rotated' });
    expect(record.status).toBe('succeeded');
    expect(record.warnings).toContainEqual(
      expect.stringMatching(
        /^could not read the outputs of step load-data from the artifact store: The AWS Access Key Id you provided does not exist/
      )
    );
  });

  it('without a repository, outputs and metrics come back as output parameters', async () => {
    const { record, file, workflow } = await run({});
    expect(record.status).toBe('succeeded');
    expect(workflow.spec.templates.find(t => t.name === 'train')!.archiveLocation).toBeUndefined();
    expect(record.metrics).toEqual({ accuracy: 0.9 });
    expect(JSON.parse(file('steps/train/outputs.json'))['1'][0].text).toBe('hello from train\n');
    expect(s3Reads()).toEqual([]);
  });
});

describe('what Argo does to failing steps', () => {
  it('a retried step fails with its own error, how many attempts it took, and its cell and line', async () => {
    const { record, file } = await run(
      {
        artifacts: true,
        failTask: 'train',
        failRetries: 2,
        failError: {
          cell: 2,
          line: 1,
          ename: 'ValueError',
          evalue: 'no data for march',
          message: 'cell 3, line 1 raised ValueError: no data for march',
          step: 'train'
        }
      },
      { steps: { train: { retries: 2 } } }
    );
    expect(record.status).toBe('failed');
    expect(record.steps.train).toEqual(
      expect.objectContaining({
        status: 'failed',
        error: {
          message: 'Step train failed after 3 attempts: cell 3, line 1 raised ValueError: no data for march',
          cell: 2,
          line: 1
        }
      })
    );
    expect(record.steps.evaluate).toEqual(skippedBelow('train'));
    // The log of the last attempt's pod.
    expect(file('logs/train.log')).toBe('log of sales-x7k2p-train-1126009687 (container main)\n');
  });

  it('a step past its timeout says so, though its Pod node lists the step after it as a child', async () => {
    const { record } = await run(
      { failTask: 'train', failMessage: 'Pod was active on the node longer than the specified deadline' },
      { steps: { train: { timeout: 15 } } }
    );
    expect(record.status).toBe('failed');
    expect(record.steps.train.error?.message).toBe(
      "Step train was stopped at its timeout of 15 s. Raise the step's timeout setting, or make the step faster."
    );
    expect(record.steps.evaluate).toEqual(skippedBelow('train'));
  });
});
