import { CompileError } from '../cluster-step';
import { compileKfp, kfpDocuments } from '../kfp';
import { DNS_LABEL } from '../k8s-names';
import { decodeArg as decode, analyse, notebookOf, RUNTIME, settingsNotebook } from './helpers';
import { HOSTILE_PARAM, HOSTILE_STEP, HOSTILE_STEP_2, HOSTILE_VAR, renamed } from './hostile';
import { parseAllDocuments } from 'yaml';

/** Read as YAML 1.1, as the KFP SDK (PyYAML) and Argo (Go) read it. */
const parseAll = (text: string): unknown[] =>
  parseAllDocuments(text, { version: '1.1' }).map(d => d.toJS() as unknown);

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test access into parsed YAML

async function compiled(options = {}) {
  const nb = settingsNotebook();
  const analysis = await analyse(nb);
  const result = compileKfp(analysis, nb, RUNTIME, options);
  const [spec, platform] = parseAll(result.text) as Json[];
  return { result, spec, platform };
}

describe('target kfp', () => {
  it('writes a PipelineSpec and a kfp-kubernetes platform document', async () => {
    const { result, spec, platform } = await compiled({ cellpipeVersion: '0.1.0' });
    expect(result.text.startsWith('# PIPELINE DEFINITION\n# Name: demo-pipeline\n')).toBe(true);
    expect(result.text).toContain('\n---\nplatforms:\n  kubernetes:\n');
    expect(spec.schemaVersion).toBe('2.1.0');
    expect(spec.sdkVersion).toBe('cellpipe-0.1.0');
    expect(spec.pipelineInfo).toEqual({ name: 'demo-pipeline' });
    expect(Object.keys(spec.root.dag.tasks).sort()).toEqual([
      'createpvc-home-pvc',
      'deletepvc-home-pvc',
      'load',
      'report',
      'train'
    ]);
    expect(spec.root.dag.tasks.train.dependentTasks).toEqual(['createpvc-home-pvc', 'load']);
    expect(spec.root.dag.tasks['deletepvc-home-pvc'].dependentTasks).toEqual([
      'createpvc-home-pvc',
      'report'
    ]);
    expect(Object.keys(platform.platforms.kubernetes.deploymentSpec.executors).sort()).toEqual([
      'exec-load',
      'exec-report',
      'exec-train'
    ]);
  });

  it('types the pipeline parameters and passes each step only those it reads', async () => {
    const { spec } = await compiled();
    const types = Object.fromEntries(
      Object.entries(spec.root.inputDefinitions.parameters as Record<string, Json>).map(([k, v]) => [
        k,
        [v.parameterType, v.defaultValue]
      ])
    );
    expect(types).toEqual({
      rate: ['NUMBER_DOUBLE', 0.5],
      count: ['NUMBER_INTEGER', 3],
      label: ['STRING', 'x'],
      flag: ['BOOLEAN', true],
      items: ['LIST', [1, 2]],
      conf: ['STRUCT', { a: 1 }]
    });
    expect(spec.root.dag.tasks.load.inputs.parameters).toEqual({
      count: { componentInputParameter: 'count' },
      rate: { componentInputParameter: 'rate' }
    });
    expect(Object.keys(spec.components['comp-load'].inputDefinitions.parameters).sort()).toEqual([
      'count',
      'rate'
    ]);
    const args: string[] = spec.deploymentSpec.executors['exec-load'].container.args;
    const i = args.indexOf('rate');
    expect(args.slice(i - 1, i + 2)).toEqual(['--param', 'rate', "{{$.inputs.parameters['rate']}}"]);
    // train reads no parameter: KFP's own cache then ignores them too; report reads four.
    expect(spec.root.dag.tasks.train.inputs.parameters).toBeUndefined();
    expect(spec.deploymentSpec.executors['exec-train'].container.args).not.toContain('--param');
    expect(Object.keys(spec.root.dag.tasks.report.inputs.parameters).sort()).toEqual([
      'conf',
      'flag',
      'items',
      'label'
    ]);
  });

  it('passes variables as artifacts and metrics as a system.Metrics artifact', async () => {
    const { spec } = await compiled({ artifactTypes: { data: 'dataset' } });
    expect(spec.components['comp-load'].outputDefinitions.artifacts.data.artifactType).toEqual({
      schemaTitle: 'system.Dataset',
      schemaVersion: '0.0.1'
    });
    expect(spec.components['comp-train'].inputDefinitions.artifacts.data.artifactType.schemaTitle).toBe(
      'system.Dataset'
    );
    expect(spec.root.dag.tasks.train.inputs.artifacts.data).toEqual({
      taskOutputArtifact: { outputArtifactKey: 'data', producerTask: 'load' }
    });
    expect(
      spec.components['comp-train'].outputDefinitions.artifacts.cellpipe_metrics.artifactType.schemaTitle
    ).toBe('system.Metrics');
    const args: string[] = spec.deploymentSpec.executors['exec-train'].container.args;
    expect(args).toContain("{{$.inputs.artifacts['data'].path}}");
    expect(args).toContain("{{$.outputs.artifacts['cellpipe_metrics'].path}}");
    expect(args.slice(-2)).toEqual(['--executor-input', '{{$}}']);
    const untyped = await compiled();
    expect(
      untyped.spec.components['comp-load'].outputDefinitions.artifacts.data.artifactType.schemaTitle
    ).toBe('system.Artifact');
  });

  it('gives every step an HTML artifact of its outputs, named so the KFP UI shows it', async () => {
    const { spec } = await compiled();
    for (const step of ['load', 'train', 'report']) {
      const artifacts = spec.components[`comp-${step}`].outputDefinitions.artifacts;
      expect(artifacts.step_outputs.artifactType.schemaTitle).toBe('system.HTML');
      const args: string[] = spec.deploymentSpec.executors[`exec-${step}`].container.args;
      expect(args[args.indexOf('--html') + 1]).toBe("{{$.outputs.artifacts['step_outputs'].path}}");
    }
  });

  it('sets resources, env, retries, caching, and the platform settings', async () => {
    const { spec, platform } = await compiled();
    const container = spec.deploymentSpec.executors['exec-train'].container;
    expect(container.image).toBe('quay.io/jupyter/scipy-notebook:2026-01-01');
    expect(container.command.slice(0, 2)).toEqual(['python3', '-c']);
    expect(container.env).toEqual([{ name: 'MODE', value: 'fast' }]);
    expect(container.resources).toMatchObject({
      resourceCpuRequest: '500m',
      resourceCpuLimit: '1',
      resourceMemoryRequest: '1Gi',
      resourceMemoryLimit: '2Gi',
      accelerator: { resourceType: 'nvidia.com/gpu', resourceCount: '1' }
    });
    const train = spec.root.dag.tasks.train;
    expect(train.retryPolicy.maxRetryCount).toBe(2);
    expect(train.cachingOptions).toEqual({ enableCache: false });
    expect(spec.root.dag.tasks.load.cachingOptions).toEqual({ enableCache: true });
    const k8s = platform.platforms.kubernetes.deploymentSpec.executors['exec-train'];
    expect(k8s.activeDeadlineSeconds).toBe('600');
    expect(k8s.nodeSelector).toEqual({ labels: { pool: 'gpu' } });
    expect(k8s.tolerations).toEqual([{ effect: 'NoSchedule', key: 'nvidia.com/gpu', operator: 'Exists' }]);
    expect(k8s.pvcMount[0]).toEqual({
      constant: 'data-pvc',
      mountPath: '/data',
      pvcNameParameter: { runtimeValue: { constant: 'data-pvc' } }
    });
    expect(k8s.pvcMount[1].pvcNameParameter).toEqual({
      taskOutputParameter: { outputParameterKey: 'name', producerTask: 'createpvc-home-pvc' }
    });
    expect(platform.platforms.kubernetes.deploymentSpec.executors['exec-load'].podMetadata).toEqual({
      annotations: { team: 'ml' },
      labels: { tier: 'gold' }
    });
    expect(spec.root.dag.tasks['createpvc-home-pvc'].inputs.parameters.data_source).toEqual({
      runtimeValue: {
        constant: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'home-pvc-snapshot' }
      }
    });
  });

  it('restores a snapshot volume from the VolumeSnapshot it is given', async () => {
    const { spec, result } = await compiled({
      snapshots: { 'home-pvc': { snapshot: 'snap-42', size: '20Gi', storageClass: 'csi-rbd' } }
    });
    const inputs = spec.root.dag.tasks['createpvc-home-pvc'].inputs.parameters;
    expect(inputs.data_source.runtimeValue.constant.name).toBe('snap-42');
    expect(inputs.size).toEqual({ runtimeValue: { constant: '20Gi' } });
    expect(inputs.storage_class_name).toEqual({ runtimeValue: { constant: 'csi-rbd' } });
    expect(result.warnings).toEqual([]);
  });

  it('refers to secrets and never carries a value', async () => {
    const nb = settingsNotebook();
    const steps = (nb.metadata.cellpipe as Json).steps;
    steps.train.secrets[0].value = 'hunter2-do-not-leak';
    const result = compileKfp(await analyse(nb), nb, RUNTIME);
    expect(result.text).not.toContain('hunter2');
    const [spec, platform] = parseAll(result.text) as Json[];
    expect(spec.deploymentSpec.executors['exec-train'].container.env).toEqual([
      { name: 'MODE', value: 'fast' }
    ]);
    expect(platform.platforms.kubernetes.deploymentSpec.executors['exec-train'].secretAsEnv).toEqual([
      {
        keyToEnv: [{ envVar: 'DB_PASSWORD', secretKey: 'password' }],
        optional: false,
        secretName: 'db-credentials',
        secretNameParameter: { runtimeValue: { constant: 'db-credentials' } }
      }
    ]);
    // The step programs in the args are base64: decode them all and look there too.
    for (const exec of Object.values(spec.deploymentSpec.executors as Record<string, Json>)) {
      for (const arg of exec.container.args ?? []) {
        expect(decode(arg)).not.toContain('hunter2');
      }
    }
  });

  it('is the same text for the same notebook', async () => {
    const a = (await compiled()).result.text;
    const b = (await compiled()).result.text;
    expect(a).toBe(b);
  });

  it('leaves out the platform document when no step needs it', async () => {
    const nb = notebookOf([
      [['step:a'], 'x = 1'],
      [['step:b', 'prev:a'], 'y = x + 1']
    ]);
    const { platformSpec, warnings } = kfpDocuments(await analyse(nb), nb, RUNTIME);
    expect(platformSpec).toBeNull();
    expect(warnings.join()).toContain('No image is set');
    expect(compileKfp(await analyse(nb), nb, RUNTIME).text).not.toContain('---');
  });

  it('refuses a pipeline with error diagnostics', async () => {
    const nb = notebookOf([[['step:a'], 'print(undefined_name)']]);
    const analysis = await analyse(nb);
    expect(analysis.diagnostics.some(d => d.severity === 'error')).toBe(true);
    expect(() => compileKfp(analysis, nb, RUNTIME)).toThrow(CompileError);
  });

  it('keeps hostile names out of every place but the encoded program and binding', async () => {
    const nb = settingsNotebook();
    const analysis = renamed(await analyse(nb), {
      load: HOSTILE_STEP,
      train: HOSTILE_STEP_2,
      rate: HOSTILE_PARAM,
      data: HOSTILE_VAR
    });
    const result = compileKfp(analysis, nb, RUNTIME);
    const body = result.text
      .split('\n')
      .filter(l => !l.startsWith('#'))
      .join('\n');
    for (const fragment of [
      'rm -rf',
      'RM -RF',
      '$(',
      '${',
      '`',
      'workflow.name',
      'inputs.parameters.x',
      "parameters['x']",
      "ra'te"
    ]) {
      expect(body).not.toContain(fragment);
    }
    const [spec] = parseAll(result.text) as Json[];
    for (const name of Object.keys(spec.root.dag.tasks)) {
      expect(name).toMatch(DNS_LABEL);
      expect(spec.components[spec.root.dag.tasks[name].componentRef.name]).toBeDefined();
    }
    expect(new Set(Object.keys(spec.root.dag.tasks)).size).toBe(5);
    for (const exec of Object.values(spec.deploymentSpec.executors as Record<string, Json>)) {
      const args: string[] = exec.container.args ?? [];
      for (const arg of args.slice(3)) {
        // flags, keys, fixed paths and KFP placeholders of keys: nothing else
        expect(arg).toMatch(
          /^(--[a-z-]+|[A-Za-z0-9_]+|\/[a-z/]+|\{\{\$\.(in|out)puts\.(parameters|artifacts)\['[A-Za-z0-9_]+'\](\.path)?\}\}|\{\{\$\}\})$/
        );
      }
    }
    const loadTask = Object.keys(spec.root.dag.tasks).find(t => t.startsWith('st-ep'))!;
    const trainArgs: string[] = spec.deploymentSpec.executors[`exec-${loadTask}`].container.args;
    const binding = JSON.parse(decode(trainArgs[2]));
    expect(Object.values(binding.params).map(p => (p as string[])[0])).toContain(HOSTILE_PARAM);
    expect(Object.values(binding.outs)).toContain(HOSTILE_VAR);
    expect(decode(trainArgs[0])).toContain(JSON.stringify(HOSTILE_STEP).slice(1, -1));
  });
});
