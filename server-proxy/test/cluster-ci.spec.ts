/**
 * Reports and lineage of cluster runs against the loopback Kubernetes server. `cellpipe submit --watch
 * --report FILE.md --junit FILE.xml` (built CLI): the report and JUnit XML of a cluster run, with its failed
 * step's error (cell and line, the runtime's `error` output) and, as a cluster run keeps no traceback
 * file, its log's last lines. The lineage a submitted run records (images by digest, VolumeSnapshots,
 * programs, parameters, inputs), `cellpipe runs --show` of it, and `cellpipe submit --like`.
 */
import { existsSync, readFileSync } from 'fs';
import { dirname, join } from 'path';
import { analyzeNotebook } from '../../src/core/pipeline';
import { submitClusterRun } from '../src/engines/cluster/cluster-submit';
import { kubeClients, tokenKubeConfig } from '../src/engines/cluster/kube-client';
import { nodeAnalyser } from '../src/node-analyser';
import { loadNotebookFile } from '../src/notebook-file';
import type { FakeCluster, FakeOptions } from './cluster-fake';
import { CLI, CliResult, clusterCli, kubeconfig, loopbackCluster } from './cluster-harness';
import { writeClusterNotebook } from './cluster-notebook';

jest.setTimeout(60000);

const cluster = loopbackCluster();
let fake: FakeCluster | undefined;

/** The CLI in the notebook's folder, in namespace team-a, in the pod `pod` if given. */
function cli(argv: string[], folder: string, pod = ''): Promise<CliResult> {
  return clusterCli(argv, { cwd: folder, env: { CELLPIPE_POD_NAME: pod, CELLPIPE_POD_NAMESPACE: 'team-a' } });
}

async function submit(
  options: FakeOptions,
  args: string[],
  notebook = writeClusterNotebook({ namespace: 'team-a' }),
  pod = ''
): Promise<CliResult & { folder: string }> {
  if (!cluster.started) {
    fake = await cluster.start(options);
  }
  const folder = dirname(notebook);
  const argv = [
    'submit',
    notebook,
    '--target',
    'argo',
    '--kubeconfig',
    kubeconfig(cluster.fake.url),
    ...args
  ];
  return { ...(await cli(argv, folder, pod)), folder };
}

describe('cellpipe submit --report --junit', () => {
  beforeAll(() => expect(existsSync(CLI)).toBe(true));

  it('reports a failed cluster step with its cell, line and log, and each step as a test case', async () => {
    const error = {
      cell: 3,
      line: 1,
      ename: 'ZeroDivisionError',
      message: 'cell 4, line 1 raised ZeroDivisionError: division by zero'
    };
    const r = await submit({ failTask: 'evaluate', failError: error }, [
      '--watch',
      '--report',
      'report.md',
      '--junit',
      'junit.xml'
    ]);
    expect(r.code).toBe(1);
    const report = readFileSync(join(r.folder, 'report.md'), 'utf8');
    expect(report).toMatch(/^## ❌ sales: run \S+ failed\n/);
    expect(report).toMatch(/`sales\.ipynb` · argo \(\S+ in team-a\) · 3 steps: 2 succeeded, 1 failed/);
    expect(report).toContain('| `evaluate` | ✗ failed: cell 4, line 1 |');
    const failure = report.split('### Failures\n\n')[1];
    expect(failure).toContain('**evaluate** failed at cell 4, line 1:');
    expect(failure).toContain('ZeroDivisionError: division by zero');
    expect(failure).toMatch(/log of \S+evaluate\S* \(container main\)/);
    const xml = readFileSync(join(r.folder, 'junit.xml'), 'utf8');
    expect(xml).toContain(
      '<testsuite name="sales.ipynb (sales)" tests="3" failures="1" errors="0" skipped="0"'
    );
    expect(xml).toMatch(
      /<testcase name="evaluate" classname="sales.ipynb" time="[\d.]+">\s*<failure message="Step evaluate failed: cell 4, line 1 raised ZeroDivisionError: division by zero" type="ZeroDivisionError">/
    );
  });

  it('reports a run submitted without --watch as still running', async () => {
    const r = await submit({}, ['--junit', 'junit.xml', '--report', 'report.md']);
    expect(r.code).toBe(0);
    expect(readFileSync(join(r.folder, 'report.md'), 'utf8')).toMatch(/^## ⏳ sales: run \S+ running\n/);
    expect(readFileSync(join(r.folder, 'junit.xml'), 'utf8')).toContain(
      '<skipped message="still queued when the report was written"/>'
    );
  });
});

describe('the lineage of a cluster run', () => {
  it('records images by digest, snapshots, programs, parameters and inputs; runs --show shows them', async () => {
    fake = await cluster.start();
    const notebookPath = writeClusterNotebook({ target: 'argo', namespace: 'team-a' });
    const notebook = await loadNotebookFile(notebookPath);
    const analysis = analyzeNotebook(notebook, await nodeAnalyser());
    const submitted = await submitClusterRun({
      target: 'argo',
      notebookPath,
      notebook,
      analysis,
      parameters: { rate: { type: 'float', value: 0.25 } },
      kube: () => kubeClients(tokenKubeConfig(fake!.url, 'kube-token')),
      pod: { name: 'notebook-0', namespace: 'team-a' },
      pollMs: 5
    });
    const { record } = await submitted.follow();
    expect(record.status).toBe('succeeded');
    const id = record.id;
    const lineage = JSON.parse(
      readFileSync(join(dirname(notebookPath), '.cellpipe', 'runs', id, 'run.json'), 'utf8')
    ).lineage;
    const image = `kubeflownotebookswg/jupyter-scipy@sha256:${'ab'.repeat(32)}`;
    expect(lineage.workspace.snapshots).toEqual([
      { claim: 'workspace-notebook', snapshot: `cellpipe-${id}-workspace-notebook` },
      expect.objectContaining({ snapshot: expect.stringMatching(new RegExp(`^cellpipe-${id}-`)) })
    ]);
    expect(Object.keys(lineage.steps)).toEqual(['load_data', 'train', 'evaluate']);
    expect(lineage.steps.train).toEqual({
      program: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      parameters: { rate: { type: 'float', value: 0.25 } },
      inputs: { data: { step: 'load_data', run: id } },
      image
    });
    expect(lineage.steps.load_data.parameters).toEqual({});

    const shown = await cli(['runs', notebookPath, '--show', id], dirname(notebookPath));
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(
      `Workspace volume workspace-notebook: VolumeSnapshot cellpipe-${id}-workspace-notebook`
    );
    expect(shown.stdout).toContain(
      `train: program ${lineage.steps.train.program.slice(7, 19)}, image ${image}`
    );
    expect(shown.stdout).toContain('  parameter rate = 0.25\n  input data from load_data\n');

    // Submitted again like it (from the same pod): the same parameter value reaches the workflow, the run
    // says it is like it, and that its workspace was snapshotted anew (the earlier snapshots are deleted).
    const again = await submit({}, ['--like', id], notebookPath, 'notebook-0');
    expect(again.code).toBe(0);
    const second = /submitted run (\S+)/.exec(again.stderr)![1];
    expect(again.stderr).toContain(
      `cellpipe: warning: The workspace volumes were snapshotted anew: the VolumeSnapshots of run ${id} ` +
        `(cellpipe-${id}-workspace-notebook, cellpipe-${id}-data-vol) are deleted when that run ends.`
    );
    const workflow = [...fake.workflows.values()].find(w => JSON.stringify(w).includes(second))!;
    expect(JSON.stringify(workflow)).toContain('"name":"rate","value":"0.25"');
    const recorded = JSON.parse(
      readFileSync(join(dirname(notebookPath), '.cellpipe', 'runs', second, 'run.json'), 'utf8')
    );
    expect(recorded.lineage.like).toBe(id);
    const diff = await cli(['diff', id, second, '--notebook', notebookPath], dirname(notebookPath));
    expect(diff.stdout).toBe(
      `from run ${id} to run ${second}:\nData:\n  workspace volumes ` +
        `workspace-notebook@cellpipe-${id}-workspace-notebook, data-vol@cellpipe-${id}-data-vol → ` +
        `workspace-notebook@cellpipe-${second}-workspace-notebook, data-vol@cellpipe-${second}-data-vol\n`
    );
  });
});
