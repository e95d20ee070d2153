import { compileArgo } from '../argo';
import type { ClusterCompileOptions } from '../cluster-plan';
import { DNS_LABEL } from '../k8s-names';
import { decodeArg as decode, analyse, notebookOf, RUNTIME, settingsNotebook } from './helpers';
import { HOSTILE_PARAM, HOSTILE_STEP, HOSTILE_STEP_2, HOSTILE_VAR, renamed } from './hostile';
import { parse } from 'yaml';

/** Read as YAML 1.1, as the KFP SDK (PyYAML) and Argo (Go) read it. */
const parse11 = (text: string): unknown => parse(text, { version: '1.1' });

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test access into parsed YAML

async function workflow(options: Omit<ClusterCompileOptions, 'runtimeSource'> = {}) {
  const nb = settingsNotebook();
  const result = compileArgo(await analyse(nb), nb, RUNTIME, options);
  const wf = parse11(result.text) as Json;
  const templates = Object.fromEntries((wf.spec.templates as Json[]).map(t => [t.name, t]));
  return { result, wf, templates };
}

describe('target argo', () => {
  it('writes a Workflow with a dag of one container template per step', async () => {
    const { wf, templates } = await workflow();
    expect(wf.apiVersion).toBe('argoproj.io/v1alpha1');
    expect(wf.kind).toBe('Workflow');
    expect(wf.metadata.generateName).toBe('demo-pipeline-');
    expect(wf.spec.entrypoint).toBe('main');
    expect(templates.main.dag.tasks).toEqual([
      { name: 'load', template: 'load' },
      { name: 'train', template: 'train', dependencies: ['load'] },
      { name: 'report', template: 'report', dependencies: ['train'] }
    ]);
    for (const step of ['load', 'train', 'report']) {
      expect(templates[step].container.command.slice(0, 2)).toEqual(['python3', '-c']);
      expect(templates[step].container.volumeMounts[0]).toEqual({
        name: 'cellpipe-run',
        mountPath: '/cellpipe/run'
      });
    }
  });

  it('declares the parameters as workflow arguments, as text the runtime reads back', async () => {
    const { wf, templates } = await workflow();
    expect(wf.spec.arguments.parameters).toEqual([
      { name: 'rate', value: '0.5' },
      { name: 'count', value: '3' },
      { name: 'label', value: 'x' },
      { name: 'flag', value: 'true' },
      { name: 'items', value: '[1,2]' },
      { name: 'conf', value: '{"a":1}' }
    ]);
    const args: string[] = templates.load.container.args;
    const i = args.indexOf('count');
    expect(args.slice(i - 1, i + 2)).toEqual(['--param', 'count', '{{workflow.parameters.count}}']);
  });

  it('keeps ReadWriteOnce run data on one node, or uses a ReadWriteMany class when given', async () => {
    const single = await workflow();
    expect(single.wf.spec.volumeClaimTemplates[0].spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(single.wf.metadata.annotations['cellpipe.dev/run-volume']).toContain('ReadWriteOnce');
    expect(
      single.templates.load.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]
    ).toEqual({
      labelSelector: {
        matchExpressions: [
          { key: 'workflows.argoproj.io/workflow', operator: 'In', values: ['{{workflow.name}}'] }
        ]
      },
      topologyKey: 'kubernetes.io/hostname'
    });
    const shared = await workflow({ runVolume: { storageClass: 'nfs', size: '50Gi' } });
    expect(shared.wf.spec.volumeClaimTemplates[0]).toEqual({
      metadata: { name: 'cellpipe-run' },
      spec: {
        accessModes: ['ReadWriteMany'],
        storageClassName: 'nfs',
        resources: { requests: { storage: '50Gi' } }
      }
    });
    expect(shared.templates.load.affinity).toBeUndefined();
    expect(shared.wf.metadata.annotations).toBeUndefined();
  });

  it('mounts existing claims and restores snapshot volumes through volumeClaimTemplates', async () => {
    const { wf, templates } = await workflow({
      snapshots: { 'home-pvc': { snapshot: 'snap-42', size: '20Gi', storageClass: 'csi-rbd' } }
    });
    expect(wf.spec.volumes).toEqual([
      { name: 'vol-data-pvc', persistentVolumeClaim: { claimName: 'data-pvc' } }
    ]);
    expect(wf.spec.volumeClaimTemplates[1]).toEqual({
      metadata: { name: 'vol-home-pvc' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'csi-rbd',
        resources: { requests: { storage: '20Gi' } },
        dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'snap-42' }
      }
    });
    expect(wf.spec.volumeClaimGC).toEqual({ strategy: 'OnWorkflowSuccess' });
    expect(templates.train.container.volumeMounts.slice(1)).toEqual([
      { name: 'vol-data-pvc', mountPath: '/data' },
      { name: 'vol-home-pvc', mountPath: '/home/jovyan' }
    ]);
  });

  it('sets retries, deadline, resources, scheduling, metadata, env and secret references', async () => {
    const { templates, result } = await workflow();
    const train = templates.train;
    expect(train.retryStrategy).toEqual({ limit: '2', retryPolicy: 'Always' });
    expect(train.activeDeadlineSeconds).toBe(600);
    expect(train.nodeSelector).toEqual({ pool: 'gpu' });
    expect(train.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(train.container.resources).toEqual({
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { cpu: '1', memory: '2Gi', 'nvidia.com/gpu': '1' }
    });
    expect(train.container.env).toEqual([
      { name: 'MODE', value: 'fast' },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-credentials', key: 'password' } } }
    ]);
    expect(train.outputs.parameters).toEqual([
      { name: 'outputs', valueFrom: { path: '/tmp/cellpipe/outputs.json', default: '{}' } },
      { name: 'metrics', valueFrom: { path: '/tmp/cellpipe/metrics.json', default: '{}' } },
      { name: 'error', valueFrom: { path: '/tmp/cellpipe/error.json', default: '{}' } }
    ]);
    expect(train.container.args.slice(-4)).toEqual([
      '--outputs',
      '/tmp/cellpipe/outputs.json',
      '--error',
      '/tmp/cellpipe/error.json'
    ]);
    expect(templates.load.metadata).toEqual({ labels: { tier: 'gold' }, annotations: { team: 'ml' } });
    expect(templates.load.container.resources).toEqual({ limits: { cpu: '2' } });
    expect(result.text).toBe((await workflow()).result.text);
  });

  it('keeps hostile names out of every template string', async () => {
    const nb = settingsNotebook();
    const analysis = renamed(await analyse(nb), {
      load: HOSTILE_STEP,
      train: HOSTILE_STEP_2,
      rate: HOSTILE_PARAM,
      data: HOSTILE_VAR
    });
    const result = compileArgo(analysis, nb, RUNTIME);
    const wf = parse11(result.text) as Json;
    const strings: string[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === 'string') {
        strings.push(v);
      } else if (Array.isArray(v)) {
        v.forEach(walk);
      } else if (v && typeof v === 'object') {
        Object.entries(v).forEach(([k, x]) => (strings.push(k), walk(x)));
      }
    };
    walk(wf);
    // The only {{...}} Argo sees are ours: parameters by key, and the workflow name.
    for (const s of strings) {
      for (const m of s.match(/\{\{[^}]*\}\}/g) ?? []) {
        expect(m).toMatch(/^\{\{(workflow\.parameters\.[A-Za-z0-9_]+|workflow\.name)\}\}$/);
      }
      expect(s).not.toMatch(/rm -rf|RM -RF|\$\(|\$\{|`/);
    }
    const names = (wf.spec.templates as Json[]).map(t => t.name);
    expect(new Set(names).size).toBe(4);
    names.forEach(n => expect(n).toMatch(DNS_LABEL));
    const step = (wf.spec.templates as Json[]).find(t => t.name.startsWith('st-ep'));
    expect(JSON.parse(decode(step.container.args[2])).params).toMatchObject({});
    // Besides the variable, the interpreter state (runtime.py's `@state`, never a Python name).
    expect(Object.values(JSON.parse(decode(step.container.args[2])).outs)).toEqual([HOSTILE_VAR, '@state']);
  });
});

describe('step programs in container arguments', () => {
  // A cell's own text on top of the runtime: compressible (as code is), or not (random digits).
  const stepWith = (source: string) =>
    notebookOf([
      [['step:load'], 'x = 1'],
      [['step:big', 'prev:load'], `${source}\ny = x + 1`]
    ]);

  it('compresses the program, so a step with 120 KiB of cells still fits one argument', async () => {
    const source = Array.from({ length: 4000 }, (_, i) => `value_${i} = x * ${i}  # step code`).join('\n');
    expect(source.length).toBeGreaterThan(120 * 1024);
    const nb = stepWith(source);
    const wf = parse11(compileArgo(await analyse(nb), nb, RUNTIME, {}).text) as Json;
    const big = (wf.spec.templates as Json[]).find(t => t.name === 'big');
    expect(big.container.args[0].length).toBeLessThan(128 * 1024);
    expect(decode(big.container.args[0])).toContain('value_3999 = x * 3999');
  });

  it('refuses, naming the step, a program still above 128 KiB once compressed', async () => {
    let seed = 7;
    const digits = Array.from({ length: 240 * 1024 }, () =>
      ((seed = (seed * 48271) % 2147483647) % 10).toString()
    );
    const nb = stepWith(`blob = "${digits.join('')}"`);
    const analysis = await analyse(nb);
    expect(() => compileArgo(analysis, nb, RUNTIME, {})).toThrow(
      /^Step big: its program is \d+ KiB compressed and encoded, above the 128 KiB a container argument may hold/
    );
  });
});
