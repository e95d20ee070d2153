/**
 * A cluster run's step inputs in a kernel, and its lineage. The steps' containers run here (the same
 * programs a cluster runs), so the loopback cluster hands back real data: on Argo from the run volume,
 * read through a short-lived pod and `exec`; on KFP from the artifact store. The values are then loaded by
 * the kernel code "Load this step's inputs" runs, in a real IPython shell. The steps' logs end with the
 * hashes of what they saved, and their pods report the digest of a tag-only image.
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { analyzeNotebook } from '../../src/core/pipeline';
import type { RunRecord } from '../../src/core/runs/run-record';
import type { KfpPipelineSpec } from '../../src/core/targets/kfp-spec';
import type { ArgoWorkflow } from '../../src/core/targets/argo-workflow';
import { recordedBackend, submitClusterRun } from '../src/engines/cluster/cluster-submit';
import { kubeClients, tokenKubeConfig } from '../src/engines/cluster/kube-client';
import { noteStepOutputs } from '../src/engines/local/lineage';
import { loadNotebookFile } from '../src/notebook-file';
import { nodeAnalyser } from '../src/node-analyser';
import { stepInputs, StepInputsError } from '../src/runs/step-inputs';
import type { FakeCluster, FakeOptions } from './cluster-fake';
import { loopbackCluster } from './cluster-harness';
import { PYTHON, runArgoStep, runKfpStep } from './cluster-containers';
import { taggedNotebook, writeNotebookFile } from './cluster-notebook';

jest.setTimeout(60000);

const IMAGE = 'python:3.12-slim';
const FIT =
  'total = sum(data) * rate\nfirst = shifted(data)\ngrown = box.scaled(rate)\nassert total < 1, f"total {total}"';
const FAILED = {
  cell: 3,
  line: 4,
  ename: 'AssertionError',
  evalue: 'total 1.5',
  message: 'cell 4, line 4 raised AssertionError: total 1.5',
  step: 'fit'
};

function writeNotebook(settings: Record<string, unknown>): string {
  return writeNotebookFile(
    'fit.ipynb',
    taggedNotebook({ name: 'fit', namespace: 'team-a', image: IMAGE, ...settings }, [
      [['imports'], 'import json'],
      [['pipeline-parameters'], 'rate = 0.5'],
      [
        ['step:load'],
        'data = [1.0, 2.0, 3.0]\n' +
          'class Box:\n    def __init__(self, v):\n        self.v = v\n    def scaled(self, k):\n        return self.v * k\n' +
          'box = Box(4)\noffset = 10\ndef shifted(values):\n    return [v + offset for v in values]'
      ],
      [['step:fit', 'prev:load'], FIT]
    ])
  );
}

const cluster = loopbackCluster();
let fake: FakeCluster;

const kube = () => kubeClients(tokenKubeConfig(cluster.fake.url, 'kube-token'));

async function submit(target: 'argo' | 'kfp', fakeOptions: FakeOptions) {
  fake = await cluster.start({ python: PYTHON, ...fakeOptions });
  const notebookPath = writeNotebook(target === 'kfp' ? { target, endpoint: fake.url } : { target });
  const notebook = await loadNotebookFile(notebookPath);
  const submitted = await submitClusterRun({
    target,
    notebookPath,
    notebook,
    analysis: analyzeNotebook(notebook, await nodeAnalyser()),
    parameters: { rate: { type: 'float', value: 0.25 } },
    kube,
    pollMs: 5
  });
  const dir = join(dirname(notebookPath), '.cellpipe', 'runs', submitted.record.id);
  return { submitted, dir };
}

/** The kernel code run in an IPython shell: what it put in the namespace, as the cells use it. */
function loadInKernel(code: string): Record<string, unknown> {
  const check = [
    'import json, sys',
    'from IPython.core.interactiveshell import InteractiveShell',
    'shell = InteractiveShell.instance()',
    'result = shell.run_cell(sys.stdin.read(), silent=True)',
    'result.raise_error()',
    'ns = shell.user_ns',
    'print(json.dumps({"data": ns["data"], "rate": ns["rate"], "first": ns["shifted"](ns["data"]),',
    '                  "grown": ns["box"].scaled(ns["rate"]), "box": type(ns["box"]).__name__,',
    '                  "imports": "json" in ns, "total": "total" in ns}))'
  ].join('\n');
  const done = spawnSync(PYTHON, ['-c', check], { input: code, encoding: 'utf8' });
  expect(done.stderr).toBe('');
  return JSON.parse(done.stdout) as Record<string, unknown>;
}

const FIT_RECEIVED = {
  data: [1, 2, 3],
  rate: 0.25, // the run's value, not the notebook's 0.5
  first: [11, 12, 13],
  grown: 1,
  box: 'Box',
  imports: true,
  total: false // what the step computes is not loaded
};

const backendOf = (record: RunRecord) => () => recordedBackend(record, { kube }).backend;

/** The digest the fake's kubelet reports for an image (a hash of its name). */
const digestOf = (image: string) => createHash('sha256').update(image).digest('hex');

describe("a failed Argo step's inputs", () => {
  it('come from the run volume through a short-lived pod, and load into a kernel as the step had them', async () => {
    const { submitted, dir } = await submit('argo', { failTask: 'fit', failError: FAILED });
    const workflow = [...fake.workflows.values()][0].body as unknown as ArgoWorkflow & {
      metadata: { name: string };
    };
    // What the cluster's `load` pod does: its data onto the run volume, its log ending with its lineage.
    const volume = mkdtempSync(join(tmpdir(), 'cellpipe-volume-'));
    const load = runArgoStep(workflow, 'load', volume);
    expect(load.status).toBe(0);
    fake.stepLogs.set('load', load.log);
    fake.volumeDirs.set(`${workflow.metadata.name}-cellpipe-run`, volume);
    const { record } = await submitted.follow({ pollMs: 5 });
    expect(record.status).toBe('failed');
    expect(workflow.spec.volumeClaimGC).toEqual({ strategy: 'OnWorkflowSuccess' });

    const inputs = await stepInputs(record, dir, 'fit', backendOf(record));
    expect(inputs).toEqual(
      expect.objectContaining({
        inputs: ['box', 'data', 'offset', 'shifted'],
        parameters: ['rate'],
        error: { cell: 3, line: 4, message: expect.stringContaining('AssertionError: total 1.5') },
        notebook: null
      })
    );
    expect(loadInKernel(inputs.code)).toEqual(FIT_RECEIVED);
    // The reader mounted the run volume, read the files with Python, and is gone.
    const reads = fake.requests.filter(r => /^(POST|DELETE) \/api\/v1\/namespaces\/team-a\/pods/.test(r));
    expect(reads).toEqual([
      'POST /api/v1/namespaces/team-a/pods',
      expect.stringMatching(/^DELETE \/api\/v1\/namespaces\/team-a\/pods\/cellpipe-read-/)
    ]);
    expect(fake.pods.size).toBe(0);
    expect(fake.execs.map(c => c[0])).toEqual(expect.arrayContaining(['python3']));
    expect(readdirSync(join(dir, 'inputs', 'fit', 'data', 'load')).sort()).toEqual(
      // Each value's description, data and content hash (the runtime's, kept beside it), as a local run has them.
      ['box', 'data', 'offset', 'shifted']
        .flatMap(name => [`${name}.json`, `${name}.pkl`, `${name}.sha256`])
        .concat('@state.pkl')
        .sort()
    );

    // Loaded again: from the copy kept in the run's folder, without the cluster.
    const again = await stepInputs(record, dir, 'fit', () => null);
    expect(again.code).toBe(inputs.code);
  });

  it("records each input's content hash and the image digest, as a local run does", async () => {
    const { submitted, dir } = await submit('argo', { failTask: 'fit', failError: FAILED });
    const workflow = [...fake.workflows.values()][0].body as unknown as ArgoWorkflow;
    const volume = mkdtempSync(join(tmpdir(), 'cellpipe-volume-'));
    const load = runArgoStep(workflow, 'load', volume);
    fake.stepLogs.set('load', load.log);
    const { record } = await submitted.follow({ pollMs: 5 });
    // The local engine's hashes of the same files (the volume is laid out as a local run's folder).
    const local = {
      lineage: { steps: { load: { program: '', parameters: {}, inputs: {} } } }
    } as unknown as RunRecord;
    await noteStepOutputs(volume, local, 'load');
    const hashes = local.lineage!.steps.load.outputs!;
    expect(Object.keys(hashes).sort()).toEqual(['box', 'data', 'offset', 'shifted']);
    const lineage = record.lineage!.steps;
    expect(lineage.load.outputs).toEqual(hashes);
    expect(lineage.fit.inputs.data).toEqual({ step: 'load', run: record.id, hash: hashes.data });
    // The tag the pipeline names, pinned to what the pod ran.
    expect(lineage.load.image).toBe(`python@sha256:${digestOf(IMAGE)}`);
    expect(lineage.fit.image).toBe(`python@sha256:${digestOf(IMAGE)}`);
    // The log shown is the step's own, without the lineage line.
    expect(readFileSync(join(dir, 'logs', 'load.log'), 'utf8')).not.toMatch(/cellpipe-lineage/);
  });

  it('says the data is gone, and what to do, once the run volume was deleted', async () => {
    // A run that succeeded: Argo deleted its volume (volumeClaimGC OnWorkflowSuccess).
    const { submitted, dir } = await submit('argo', {});
    const { record } = await submitted.follow({ pollMs: 5 });
    expect(record.status).toBe('succeeded');
    const err = await stepInputs(record, dir, 'fit', backendOf(record)).catch(e => e as StepInputsError);
    expect(err).toBeInstanceOf(StepInputsError);
    expect((err as StepInputsError).code).toBe('inputs-gone');
    expect((err as StepInputsError).message).toBe(
      'The run volume fit-x7k2p-cellpipe-run of the Argo Workflow fit-x7k2p is gone, and the data its steps ' +
        'passed on with it: Argo deletes it when the workflow succeeds (a failed one keeps it until the ' +
        'Workflow is deleted). Run the pipeline again to load the inputs of fit.'
    );
    expect(fake.requests.some(r => r.startsWith('POST /api/v1/namespaces/team-a/pods'))).toBe(false);
  });
});

describe('the lineage of a run of three steps', () => {
  // fit reads data from load and k from prep; each step's log ends with the hashes of what it saved.
  const HASH = { data: `sha256:${'a'.repeat(64)}`, k: `sha256:${'b'.repeat(64)}` };
  const lineageLine = (outputs: Record<string, string>) =>
    `\ncellpipe-lineage: ${JSON.stringify({ outputs })}\n`;

  async function followed(fakeOptions: FakeOptions, before: (record: RunRecord) => void = () => undefined) {
    fake = await cluster.start(fakeOptions);
    fake.stepLogs.set('load', lineageLine({ data: HASH.data }));
    fake.stepLogs.set('prep', lineageLine({ k: HASH.k }));
    const notebookPath = writeNotebookFile(
      'three.ipynb',
      taggedNotebook({ name: 'three', namespace: 'team-a', image: IMAGE, target: 'argo' }, [
        [['step:load'], 'data = [1, 2, 3]'],
        [['step:prep', 'prev:load'], 'k = 2'],
        [['step:fit', 'prev:prep'], 'total = sum(data) * k']
      ])
    );
    const notebook = await loadNotebookFile(notebookPath);
    const submitted = await submitClusterRun({
      target: 'argo',
      notebookPath,
      notebook,
      analysis: analyzeNotebook(notebook, await nodeAnalyser()),
      parameters: {},
      kube,
      pollMs: 5
    });
    before(submitted.record);
    return (await submitted.follow({ pollMs: 5 })).record;
  }

  it("gives each input its provider's hash as the provider finishes", async () => {
    const record = await followed({});
    expect(record.status).toBe('succeeded');
    expect(record.lineage!.steps.fit.inputs).toEqual({
      data: { step: 'load', run: record.id, hash: HASH.data },
      k: { step: 'prep', run: record.id, hash: HASH.k }
    });
    expect(record.lineage!.steps.prep.inputs).toEqual({});
    expect(record.warnings).toBeUndefined();
  });

  it('leaves the inputs of other providers as they are when a step finishes', async () => {
    // prep fails, so nothing may write fit's input k: frozen, a write to it would throw, and the run
    // would say it could not keep load's log.
    const record = await followed({ failTask: 'prep' }, r => Object.freeze(r.lineage!.steps.fit.inputs.k));
    expect(record.status).toBe('failed');
    expect(record.warnings).toBeUndefined();
    expect(record.lineage!.steps.fit.inputs).toEqual({
      data: { step: 'load', run: record.id, hash: HASH.data },
      k: { step: 'prep', run: record.id }
    });
  });
});

describe("a failed KFP step's inputs", () => {
  it("come from KFP's artifact store, and load into a kernel as the step had them", async () => {
    const { submitted, dir } = await submit('kfp', {
      kfpArtifacts: true,
      failTask: 'fit',
      failError: FAILED
    });
    const run = [...fake.kfpRuns.values()][0];
    const given = run.body.pipeline_spec as { pipeline_spec?: KfpPipelineSpec } & KfpPipelineSpec;
    const spec = given.pipeline_spec ?? given;
    const parameters = (run.body.runtime_config as { parameters: Record<string, unknown> }).parameters;
    // What the launcher runs for `load`, each output artifact a folder.
    const outputs = mkdtempSync(join(tmpdir(), 'cellpipe-kfp-'));
    const load = runKfpStep(spec, 'load', parameters, outputs);
    expect(load.status).toBe(0);
    fake.stepLogs.set('load', load.log);
    const { record } = await submitted.follow({ pollMs: 5 });
    expect(record.status).toBe('failed');
    // The launcher uploaded each artifact's folder beside the task's log.
    const logKey = [...fake.objects.keys()].find(k => /\/load\/[^/]+\/executor-logs-0$/.test(k))!;
    const folder = logKey.slice(0, logKey.lastIndexOf('/'));
    for (const key of readdirSync(outputs).filter(
      k => statSync(join(outputs, k)).isDirectory() && k !== 'tmp'
    )) {
      for (const file of readdirSync(join(outputs, key))) {
        fake.objects.set(`${folder}/${key}/${file}`, readFileSync(join(outputs, key, file)));
      }
    }

    const inputs = await stepInputs(record, dir, 'fit', backendOf(record));
    expect(inputs.inputs).toEqual(['box', 'data', 'offset', 'shifted']);
    expect(inputs.error).toEqual({ cell: 3, line: 4, message: expect.stringContaining('total 1.5') });
    expect(loadInKernel(inputs.code)).toEqual(FIT_RECEIVED);

    // Lineage: the hashes the step's log ends with, and the digest its executor pod ran the image at.
    const lineage = record.lineage!.steps;
    expect(lineage.fit.inputs.data.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(lineage.fit.inputs.data.hash).toBe(lineage.load.outputs!.data);
    expect(lineage.load.image).toBe(`python@sha256:${digestOf(IMAGE)}`);
  });

  it('says which data is gone from the store', async () => {
    const { submitted, dir } = await submit('kfp', {
      kfpArtifacts: true,
      failTask: 'fit',
      failError: FAILED
    });
    const { record } = await submitted.follow({ pollMs: 5 });
    const err = await stepInputs(record, dir, 'fit', backendOf(record)).catch(e => e as StepInputsError);
    expect((err as StepInputsError).code).toBe('inputs-gone');
    expect((err as StepInputsError).message).toMatch(
      /^The data step load saved for fit \(box, data, offset, shifted\) is not in KFP's artifact store of run \S+ any more \(it was deleted, or load's result came from KFP's cache, which keeps it with the run that computed it\): run the pipeline again to load the inputs of fit\.$/
    );
  });
});
