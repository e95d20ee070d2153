/**
 * Target `kfp`: a Kubeflow Pipelines v2 PipelineSpec (IR, schemaVersion
 * 2.1.0) and, when a step needs Kubernetes settings, a second YAML document
 * `platforms: kubernetes:` (the kfp-kubernetes PlatformSpec), laid out as the
 * KFP SDK writes them (keys sorted, `# PIPELINE DEFINITION` header).
 *
 * Data passing: each variable a step saves is one output artifact, a folder
 * holding what runtime.py writes (`NAME.json` plus `NAME.<format>`); KFP
 * uploads it and downloads it for the consumers, whose `--in` flags point the
 * runtime at the local copy. cellpipe's static analysis does not know a
 * variable's type, so artifacts are `system.Artifact` unless the caller says
 * otherwise (`artifactTypes`, e.g. from a local run's saved formats). Metrics
 * are one `system.Metrics` artifact per step that records any; the runtime
 * writes their values into the executor output so the KFP UI shows them.
 *
 * A `notebook:` step is a DAG component (as the KFP SDK compiles a pipeline
 * called from a pipeline): its tasks are the sub-pipeline's steps; variables
 * enter it as input artifacts (`componentInputArtifact` inside) and leave it as
 * output artifacts (`artifactSelectors`); the run's parameters passed down are
 * its input parameters, the sub-pipeline's own values are constants.
 */
import type { NotebookData } from '../notebook/model';
import type { PipelineAnalysis } from '../pipeline';
import type { ParameterType } from '../tags/parameters';
import { parseQuantity } from '../tags/quantity';
import type { StepSettings } from '../tags/settings';
import {
  ArtifactKind,
  ClusterCompileOptions,
  ClusterPlan,
  planCluster,
  PlannedSource,
  PlannedStep,
  STATE_OUT,
  stepPodMetadata,
  stepSummary
} from './cluster-plan';
import { AdapterFlag, containerCommand } from './cluster-step';
import type {
  KfpArtifactSource,
  KfpArtifactType,
  KfpComponent,
  KfpContainer,
  KfpDag,
  KfpExecutor,
  KfpParameterSpec,
  KfpParameterType,
  KfpPipelineSpec,
  KfpPlatformSpec,
  KfpPvcMount,
  KfpResources,
  KfpTask,
  KfpValueSource,
  KubernetesExecutorConfig
} from './kfp-spec';
import { toYaml, YamlValue } from './yaml-text';

export interface CompiledPipeline {
  /** The YAML file. */
  text: string;
  /** Settings that could not be expressed, defaults that were assumed. */
  warnings: string[];
}

const PARAMETER_TYPES: Record<ParameterType, KfpParameterType> = {
  int: 'NUMBER_INTEGER',
  float: 'NUMBER_DOUBLE',
  str: 'STRING',
  bool: 'BOOLEAN',
  list: 'LIST',
  dict: 'STRUCT'
};

const ARTIFACT_TYPES: Record<ArtifactKind, string> = {
  dataset: 'system.Dataset',
  model: 'system.Model',
  artifact: 'system.Artifact'
};

/** Inside the container: the runtime's scratch run folder (step files; data goes to artifacts). */
const RUN_DIR = '/tmp/cellpipe/run';

const artifactType = (schemaTitle: string): KfpArtifactType => ({
  artifactType: { schemaTitle, schemaVersion: '0.0.1' }
});
const constant = (value: YamlValue): KfpValueSource => ({ runtimeValue: { constant: value } });

export interface KfpDocuments {
  pipelineSpec: KfpPipelineSpec;
  /** Null when no step needs Kubernetes settings. */
  platformSpec: KfpPlatformSpec | null;
  plan: ClusterPlan;
  warnings: string[];
}

export function kfpDocuments(
  analysis: PipelineAnalysis,
  notebook: NotebookData,
  runtimeSource: string,
  options: Omit<ClusterCompileOptions, 'runtimeSource'> = {}
): KfpDocuments {
  const plan = planCluster(analysis, notebook, { ...options, runtimeSource }, []);
  const warnings = [...plan.warnings];
  const typeOf = (name: string) => ARTIFACT_TYPES[options.artifactTypes?.[name] ?? 'artifact'];

  const components: Record<string, KfpComponent> = {};
  const executors: Record<string, KfpExecutor> = {};
  /** The tasks of each DAG: the pipeline's ('') and each sub-pipeline's. */
  const dags = new Map<string, Record<string, KfpTask>>([['', {}]]);
  const dagOf = (name: string) => {
    let tasks = dags.get(name);
    if (!tasks) {
      tasks = {};
      dags.set(name, tasks);
    }
    return tasks;
  };
  const tasks = dagOf('');
  const platformExecutors: Record<string, KubernetesExecutorConfig> = {};

  // Snapshot volumes: a createpvc task restores each, a deletepvc task removes it after the last steps.
  const snapshots = plan.volumes.filter(v => v.type === 'snapshot');
  const createTasks = new Map(snapshots.map(v => [v.claim, plan.labels.name(`createpvc-${v.claim}`)]));
  /** Tasks of the pipeline's own DAG wait for the restored volumes. */
  const afterVolumes = (dag: string) => (dag === '' ? [...createTasks.values()] : []);

  for (const s of plan.steps) {
    const settings = s.step.settings;
    const comp = `comp-${s.name}`;
    const exec = `exec-${s.name}`;
    const inputParameters: Record<string, KfpParameterSpec> = {};
    const inputArtifacts: Record<string, KfpArtifactType> = {};
    const outputArtifacts: Record<string, KfpArtifactType> = {};
    const flags: AdapterFlag[] = [['--run-dir', RUN_DIR]];
    // The run's parameters; a sub-pipeline's own values are in the program already.
    const runParameters = s.parameters.filter(p => p.fromRun);
    for (const p of runParameters) {
      inputParameters[p.key] = { parameterType: PARAMETER_TYPES[p.value.type] };
      flags.push(['--param', p.key, `{{$.inputs.parameters['${p.key}']}}`]);
    }
    for (const v of s.ins) {
      inputArtifacts[v.key] = artifactType(typeOf(v.name));
      flags.push(['--in', v.key, `{{$.inputs.artifacts['${v.key}'].path}}`]);
    }
    for (const v of s.outs) {
      outputArtifacts[v.key] = artifactType(typeOf(v.name));
      flags.push(['--out', v.key, `{{$.outputs.artifacts['${v.key}'].path}}`]);
    }
    // The cell outputs as JSON, whole, for cellpipe to show beside the notebook (with or without the report);
    // KFP keeps only the log of a failed step, so its error and outputs end the log.
    outputArtifacts[plan.cellOutputsKey] = artifactType('system.Artifact');
    flags.push(
      ['--full-outputs', `{{$.outputs.artifacts['${plan.cellOutputsKey}'].path}}`],
      ['--results-in-log']
    );
    if (settings.report !== false) {
      // The step's outputs (text, tables, plots, errors) as one HTML page the KFP UI shows under its name.
      outputArtifacts[plan.outputsKey] = artifactType('system.HTML');
      flags.push(['--html', `{{$.outputs.artifacts['${plan.outputsKey}'].path}}`]);
    }
    if (s.metrics.length > 0) {
      outputArtifacts[plan.metricsKey] = artifactType('system.Metrics');
      flags.push(
        ['--metrics', `{{$.outputs.artifacts['${plan.metricsKey}'].path}}`],
        ['--executor-input', '{{$}}']
      );
    }
    if (options.workingDir) {
      flags.push(['--workdir', options.workingDir]);
    }
    const component: KfpComponent = { executorLabel: exec };
    if (Object.keys(inputParameters).length + Object.keys(inputArtifacts).length > 0) {
      component.inputDefinitions = {
        ...(Object.keys(inputParameters).length > 0 ? { parameters: inputParameters } : {}),
        ...(Object.keys(inputArtifacts).length > 0 ? { artifacts: inputArtifacts } : {})
      };
    }
    if (Object.keys(outputArtifacts).length > 0) {
      component.outputDefinitions = { artifacts: outputArtifacts };
    }
    components[comp] = component;

    const command = containerCommand(s.program, s.binding, flags);
    const container: KfpContainer = { image: s.image, command: command.slice(0, 3), args: command.slice(3) };
    const env = Object.entries(settings.env ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
    if (env.length > 0) {
      container.env = env.map(([name, value]) => ({ name, value }));
    }
    const resources = kfpResources(settings);
    if (resources) {
      container.resources = resources;
    }
    executors[exec] = { container };
    if (Object.keys(settings.limits ?? {}).length > 0) {
      warnings.push(
        `Step ${s.runnable.name}: KFP has no field for the limits ${Object.keys(settings.limits!).join(', ')}; they are left out.`
      );
    }

    const task: KfpTask = {
      cachingOptions: { enableCache: settings.caching ?? analysis.pipeline.caching },
      componentRef: { name: comp },
      taskInfo: { name: s.name }
    };
    const after = [...s.after, ...afterVolumes(s.dag)].sort();
    if (after.length > 0) {
      task.dependentTasks = after;
    }
    const taskInputs: NonNullable<KfpTask['inputs']> = {};
    if (runParameters.length > 0) {
      taskInputs.parameters = Object.fromEntries(
        runParameters.map(p => [p.key, { componentInputParameter: p.key }])
      );
    }
    if (s.ins.length > 0) {
      taskInputs.artifacts = Object.fromEntries(
        s.ins.map(v => [v.key, artifactInput(v.key, s.sources[v.key], v.outputKey)])
      );
    }
    if (Object.keys(taskInputs).length > 0) {
      task.inputs = taskInputs;
    }
    if (settings.retries) {
      task.retryPolicy = {
        backoffDuration: '0s',
        backoffFactor: 2,
        backoffMaxDuration: '3600s',
        maxRetryCount: settings.retries
      };
    }
    dagOf(s.dag)[s.name] = task;

    const platform = kubernetesConfig(s, plan, createTasks);
    if (Object.keys(platform).length > 0) {
      platformExecutors[exec] = platform;
    }
  }

  // Each sub-pipeline: a task of its parent's DAG, and a DAG component of its own.
  const typeOfKey = new Map(plan.steps.flatMap(s => [...s.ins, ...s.outs]).map(v => [v.key, v.name]));
  const parameterType = new Map(plan.steps.flatMap(s => s.parameters).map(p => [p.key, p.value.type]));
  for (const g of plan.groups) {
    const inputs: NonNullable<KfpTask['inputs']> = {};
    const parameters: Record<string, KfpValueSource> = Object.fromEntries(
      g.runParameters.map((key): [string, KfpValueSource] => [key, { componentInputParameter: key }])
    );
    for (const v of snapshots) {
      parameters[v.key!] =
        g.dag === ''
          ? { taskOutputParameter: { outputParameterKey: 'name', producerTask: createTasks.get(v.claim)! } }
          : { componentInputParameter: v.key! };
    }
    if (Object.keys(parameters).length > 0) {
      inputs.parameters = parameters;
    }
    if (Object.keys(g.sources).length > 0) {
      inputs.artifacts = Object.fromEntries(
        Object.entries(g.sources).map(([key, source]) => [key, artifactInput(key, source)])
      );
    }
    const task: KfpTask = {
      cachingOptions: { enableCache: analysis.pipeline.caching },
      componentRef: { name: `comp-${g.name}` },
      taskInfo: { name: g.name }
    };
    const after = [...g.after, ...afterVolumes(g.dag)].sort();
    if (after.length > 0) {
      task.dependentTasks = after;
    }
    if (Object.keys(inputs).length > 0) {
      task.inputs = inputs;
    }
    dagOf(g.dag)[g.name] = task;
  }
  for (const g of plan.groups) {
    const artifactsIn = Object.keys(g.sources).map((key): [string, KfpArtifactType] => [
      key,
      artifactType(typeOf(typeOfKey.get(key) ?? key))
    ]);
    const parametersIn: Array<[string, KfpParameterSpec]> = [
      ...g.runParameters.map((key): [string, KfpParameterSpec] => [
        key,
        { parameterType: PARAMETER_TYPES[parameterType.get(key) ?? 'str'] }
      ]),
      ...snapshots.map((v): [string, KfpParameterSpec] => [v.key!, { parameterType: 'STRING' }])
    ];
    const dag: KfpDag = { tasks: dagOf(g.name) };
    const outputs = Object.entries(g.outputs);
    if (outputs.length > 0) {
      dag.outputs = {
        artifacts: Object.fromEntries(
          outputs.map(([key, o]) => [
            key,
            { artifactSelectors: [{ outputArtifactKey: key, producerSubtask: o.task }] }
          ])
        )
      };
    }
    const component: KfpComponent = { dag };
    if (artifactsIn.length + parametersIn.length > 0) {
      component.inputDefinitions = {
        ...(artifactsIn.length > 0 ? { artifacts: Object.fromEntries(artifactsIn) } : {}),
        ...(parametersIn.length > 0 ? { parameters: Object.fromEntries(parametersIn) } : {})
      };
    }
    if (outputs.length > 0) {
      component.outputDefinitions = {
        artifacts: Object.fromEntries(outputs.map(([key, o]) => [key, artifactType(typeOf(o.name))]))
      };
    }
    components[`comp-${g.name}`] = component;
  }
  if (snapshots.length > 0) {
    addPvcComponents(plan, components, executors, tasks, createTasks);
  }

  const pipelineInfo: KfpPipelineSpec['pipelineInfo'] = { name: plan.name };
  if (plan.description) {
    pipelineInfo.description = plan.description;
  }
  const root: KfpPipelineSpec['root'] = { dag: { tasks } };
  if (plan.parameters.length > 0) {
    root.inputDefinitions = {
      parameters: Object.fromEntries(
        plan.parameters.map(p => [
          p.key,
          { defaultValue: p.value.value, isOptional: true, parameterType: PARAMETER_TYPES[p.value.type] }
        ])
      )
    };
  }
  const pipelineSpec: KfpPipelineSpec = {
    components,
    deploymentSpec: { executors },
    pipelineInfo,
    root,
    schemaVersion: '2.1.0',
    sdkVersion: `cellpipe-${options.cellpipeVersion ?? '0'}`
  };
  const platformSpec =
    Object.keys(platformExecutors).length > 0
      ? { platforms: { kubernetes: { deploymentSpec: { executors: platformExecutors } } } }
      : null;
  return { pipelineSpec, platformSpec, plan, warnings };
}

export function compileKfp(
  analysis: PipelineAnalysis,
  notebook: NotebookData,
  runtimeSource: string,
  options: Omit<ClusterCompileOptions, 'runtimeSource'> = {}
): CompiledPipeline {
  const { pipelineSpec, platformSpec, plan, warnings } = kfpDocuments(
    analysis,
    notebook,
    runtimeSource,
    options
  );
  return { text: kfpYaml({ pipelineSpec, platformSpec, plan }), warnings };
}

/** The KFP file of compiled documents: the IR with the SDK's header, then the platform spec. */
export function kfpYaml(documents: Pick<KfpDocuments, 'pipelineSpec' | 'platformSpec' | 'plan'>): string {
  const { pipelineSpec, platformSpec, plan } = documents;
  return (
    toYaml(pipelineSpec, { sortKeys: true, comment: header(plan) }) +
    (platformSpec ? '---\n' + toYaml(platformSpec, { sortKeys: true }) : '')
  );
}

/** The SDK's header, plus which notebook names the keys stand for (comments reach no program). */
function header(plan: ClusterPlan): string {
  const lines = ['PIPELINE DEFINITION', `Name: ${plan.name}`];
  if (plan.description) {
    lines.push(`Description: ${plan.description}`);
  }
  if (plan.parameters.length > 0) {
    lines.push('Inputs:');
    for (const p of plan.parameters) {
      lines.push(`   ${p.key}: ${p.value.type} [Default: ${JSON.stringify(p.value.value)}]`);
    }
  }
  lines.push(`Compiled by cellpipe from ${plan.notebook}. Steps (task: notebook step):`);
  for (const s of plan.steps) {
    lines.push(`   ${stepSummary(s)}`);
  }
  for (const g of plan.groups) {
    lines.push(`   ${g.name}: runs ${g.path} (sub-DAG comp-${g.name})`);
  }
  const renamed = [
    ...plan.parameters.filter(p => p.key !== p.name),
    ...plan.steps.flatMap(s => s.outs).filter(v => v.key !== v.name && v.name !== STATE_OUT)
  ];
  if (renamed.length > 0) {
    lines.push('Renamed keys:', ...renamed.map(r => `   ${r.key}: ${r.name}`));
  }
  return lines.join('\n');
}

/** Where a task takes a passed variable from, in IR. */
/** `outputKey`: the producer's output key when it is not the input's (the interpreter state). */
function artifactInput(key: string, source: PlannedSource, outputKey = key): KfpArtifactSource {
  return source === 'parent'
    ? { componentInputArtifact: key }
    : { taskOutputArtifact: { outputArtifactKey: outputKey, producerTask: source.task } };
}

/** Container resources in both the current string form and the numeric form older backends read. */
function kfpResources(settings: StepSettings): KfpResources | null {
  const r: KfpResources = {};
  const set = (what: 'cpu' | 'memory', kind: 'request' | 'limit') => {
    const text = settings[what]?.[kind];
    if (!text) {
      return;
    }
    const Kind = kind === 'request' ? 'Request' : 'Limit';
    const What = what === 'cpu' ? 'Cpu' : 'Memory';
    const amount = parseQuantity(text);
    if (amount !== null) {
      // The SDK writes memory in (decimal) gigabytes and CPU in cores.
      r[`${what}${Kind}`] = what === 'memory' ? amount / 1e9 : amount;
    }
    r[`resource${What}${Kind}`] = text;
  };
  set('cpu', 'request');
  set('cpu', 'limit');
  set('memory', 'request');
  set('memory', 'limit');
  if (settings.gpu && settings.gpu.count > 0) {
    const type = `${settings.gpu.vendor}.com/gpu`;
    const count = String(settings.gpu.count);
    r.accelerator = { count, resourceCount: count, resourceType: type, type };
  }
  return Object.keys(r).length > 0 ? r : null;
}

/** KubernetesExecutorConfig (kfp-kubernetes) of one step: references to secrets, never values. */
function kubernetesConfig(
  s: PlannedStep,
  plan: ClusterPlan,
  createTasks: Map<string, string>
): KubernetesExecutorConfig {
  const settings = s.step.settings;
  const config: KubernetesExecutorConfig = {};
  if (settings.timeout) {
    config.activeDeadlineSeconds = String(Math.ceil(settings.timeout));
  }
  if (settings.nodeSelector && Object.keys(settings.nodeSelector).length > 0) {
    config.nodeSelector = { labels: { ...settings.nodeSelector } };
  }
  const podMetadata = stepPodMetadata(settings);
  if (podMetadata) {
    config.podMetadata = podMetadata;
  }
  const mounts: KfpPvcMount[] = plan.volumes.map((v): KfpPvcMount => {
    if (v.type === 'pvc') {
      return { constant: v.claim, mountPath: v.mountPath, pvcNameParameter: constant(v.claim) };
    }
    if (s.dag !== '') {
      // Inside a sub-pipeline: the restored claim's name is handed down as a parameter.
      return {
        componentInputParameter: v.key!,
        mountPath: v.mountPath,
        pvcNameParameter: { componentInputParameter: v.key! }
      };
    }
    const output = { outputParameterKey: 'name', producerTask: createTasks.get(v.claim)! };
    return {
      mountPath: v.mountPath,
      pvcNameParameter: { taskOutputParameter: output },
      taskOutputParameter: output
    };
  });
  if (mounts.length > 0) {
    config.pvcMount = mounts;
  }
  const bySecret = new Map<string, Array<{ envVar: string; secretKey: string }>>();
  for (const ref of settings.secrets ?? []) {
    bySecret.set(ref.secret, [...(bySecret.get(ref.secret) ?? []), { envVar: ref.env, secretKey: ref.key }]);
  }
  if (bySecret.size > 0) {
    config.secretAsEnv = [...bySecret].map(([secret, keyToEnv]) => ({
      keyToEnv,
      optional: false,
      secretName: secret,
      secretNameParameter: constant(secret)
    }));
  }
  if (settings.tolerations && settings.tolerations.length > 0) {
    config.tolerations = settings.tolerations.map(t => {
      const out: Record<string, string> = {};
      for (const key of ['effect', 'key', 'operator', 'value'] as const) {
        if (t[key] !== undefined) {
          out[key] = t[key]!;
        }
      }
      return out;
    });
  }
  return config;
}

/** The kfp-kubernetes CreatePVC / DeletePVC stub components (the KFP backend runs them itself). */
function addPvcComponents(
  plan: ClusterPlan,
  components: Record<string, KfpComponent>,
  executors: Record<string, KfpExecutor>,
  tasks: Record<string, KfpTask>,
  createTasks: Map<string, string>
): void {
  const create = plan.labels.name('createpvc');
  const remove = plan.labels.name('deletepvc');
  const optional = (parameterType: KfpParameterType): KfpParameterSpec => ({
    isOptional: true,
    parameterType
  });
  components[`comp-${create}`] = {
    executorLabel: `exec-${create}`,
    inputDefinitions: {
      parameters: {
        access_modes: { parameterType: 'LIST' },
        annotations: optional('STRUCT'),
        data_source: optional('STRUCT'),
        pvc_name: optional('STRING'),
        pvc_name_suffix: optional('STRING'),
        size: { parameterType: 'STRING' },
        storage_class_name: { defaultValue: '', isOptional: true, parameterType: 'STRING' },
        volume_name: optional('STRING')
      }
    },
    outputDefinitions: { parameters: { name: { parameterType: 'STRING' } } }
  };
  components[`comp-${remove}`] = {
    executorLabel: `exec-${remove}`,
    inputDefinitions: { parameters: { pvc_name: { parameterType: 'STRING' } } }
  };
  executors[`exec-${create}`] = { container: { image: 'argostub/createpvc' } };
  executors[`exec-${remove}`] = { container: { image: 'argostub/deletepvc' } };

  // The tasks of the pipeline's own DAG that no other waits for: the restored volumes are deleted after them.
  const own = [...plan.steps, ...plan.groups].filter(t => t.dag === '');
  const upstream = new Set(own.flatMap(s => s.after));
  const leaves = own.filter(s => !upstream.has(s.name)).map(s => s.name);
  for (const v of plan.volumes) {
    if (v.type !== 'snapshot' || !v.snapshot) {
      continue;
    }
    const createTask = createTasks.get(v.claim)!;
    const parameters: Record<string, KfpValueSource> = {
      access_modes: constant([v.snapshot.accessMode ?? 'ReadWriteOnce']),
      data_source: constant({
        apiGroup: 'snapshot.storage.k8s.io',
        kind: 'VolumeSnapshot',
        name: v.snapshot.snapshot
      }),
      pvc_name_suffix: constant(`-${v.name}`),
      size: constant(v.snapshot.size)
    };
    if (v.snapshot.storageClass) {
      parameters.storage_class_name = constant(v.snapshot.storageClass);
    }
    tasks[createTask] = {
      cachingOptions: { enableCache: false },
      componentRef: { name: `comp-${create}` },
      inputs: { parameters },
      taskInfo: { name: createTask }
    };
    const deleteTask = plan.labels.name(`deletepvc-${v.claim}`);
    tasks[deleteTask] = {
      cachingOptions: { enableCache: false },
      componentRef: { name: `comp-${remove}` },
      dependentTasks: [...leaves, createTask].sort(),
      inputs: {
        parameters: {
          pvc_name: { taskOutputParameter: { outputParameterKey: 'name', producerTask: createTask } }
        }
      },
      taskInfo: { name: deleteTask }
    };
  }
}
