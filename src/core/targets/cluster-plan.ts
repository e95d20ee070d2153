/**
 * What the KFP and Argo targets share: the pipeline analysis turned into
 * cluster names, keys, programs, images and volumes, checked once. The two
 * targets only render this plan in their own format.
 */
import type { NotebookData } from '../notebook/model';
import type { PipelineAnalysis, PipelineStep, SubPipeline } from '../pipeline';
import { runRefusal } from '../runs/refusal';
import type { ParameterValue } from '../tags/parameters';
import { defaultPipelineName } from '../tags/settings';
import { CompileError, encodedProgram, StepBinding } from './cluster-step';
import { isDnsSubdomain, NameAllocator } from './k8s-names';
import { RunnableStep, runnableSteps } from './runnable-steps';

/** A VolumeSnapshot to restore a `snapshot` volume from (taken before submission, by the caller). */
export interface SnapshotSource {
  /** VolumeSnapshot name, in the run's namespace. */
  snapshot: string;
  /** At least the snapshot's restoreSize, e.g. "10Gi". */
  size: string;
  /** A StorageClass of the snapshot's CSI driver; empty: the cluster default. */
  storageClass?: string;
  accessMode?: 'ReadWriteOnce' | 'ReadWriteMany';
}

/** What a passed variable is, for KFP lineage and UI. */
export type ArtifactKind = 'dataset' | 'model' | 'artifact';

export interface ClusterCompileOptions {
  /** The source of cellpipe/runtime.py. */
  runtimeSource: string;
  /** Image when neither the step nor the pipeline names one. */
  defaultImage?: string;
  /**
   * An image that holds the very runtime of `runtimeSource` (the notebook pod's own image, whose cellpipe
   * compiles): steps on it read the runtime from it (checked by this sha256 of the source) instead of
   * embedding it.
   */
  runtimeImage?: { image: string; sha256: string };
  /** Written as `sdkVersion: cellpipe-VERSION` (KFP) and a label (Argo). */
  cellpipeVersion?: string;
  /** Per `snapshot` volume (by its PVC name): the VolumeSnapshot to restore. */
  snapshots?: Record<string, SnapshotSource>;
  /** Per variable name, when the caller knows its type (e.g. from a local run's saved.json). */
  artifactTypes?: Record<string, ArtifactKind>;
  /** Working directory of every step container (e.g. the notebook's folder on a mounted volume). */
  workingDir?: string;
  /** Argo: the run volume that carries passed data between steps. */
  runVolume?: { storageClass?: string; size?: string; accessMode?: 'ReadWriteOnce' | 'ReadWriteMany' };
  /**
   * Argo: the namespace's artifact repository (ConfigMap and key, `artifact-repositories` by Argo's
   * convention). With it a step's outputs and metrics are output artifacts and its log is archived, so
   * they come back whole; without it they are output parameters, capped to fit a pod annotation.
   */
  artifactRepository?: { configMap: string; key: string };
}

export const DEFAULT_IMAGE = 'python:3.12-slim';
const DEFAULT_SNAPSHOT_SIZE = '10Gi';

export interface PlannedVariable {
  /** The Python name. */
  name: string;
  /** Its key in flags, placeholders and artifact names. */
  key: string;
}

export interface PlannedInput extends PlannedVariable {
  /** The providing step's cluster name. */
  provider: string;
  /** The provider's output key, when it is not `key` (the interpreter state: one output, several inputs). */
  outputKey?: string;
}

/** runtime.py's names of the interpreter state in --in/--out (never a Python name). */
export const STATE_OUT = '@state';
export const STATE_IN = '@state:';

/**
 * Where a task of a DAG gets a passed variable: from the output of a task of the same DAG (a step, or a
 * sub-pipeline that hands it up), or from the inputs of the sub-pipeline the DAG is (`parent`).
 */
export type PlannedSource = { task: string } | 'parent';

/** The tasks of one DAG: the pipeline's own (`dag` ''), or a sub-pipeline's (`dag` = its name). */
interface PlannedTask {
  /** DNS-1123 label: task name (and component or template name). */
  name: string;
  /** The name of the sub-pipeline whose DAG holds it; '' for the pipeline's own DAG. */
  dag: string;
  /** Names of the tasks of the same DAG that must finish first (prev: edges and data providers). */
  after: string[];
  /** Passed variables it takes, by key: where from in its DAG. */
  sources: Record<string, PlannedSource>;
  /** Keys of the run's parameters it needs from its DAG (a sub-pipeline's are handed down by its parent task). */
  runParameters: string[];
}

export interface PlannedStep extends PlannedTask {
  step: PipelineStep;
  /** The runnable step: its qualified name (`NOTEBOOK_STEP.STEP` in a sub-pipeline), scope and wiring. */
  runnable: RunnableStep;
  /** base64 of the step program. */
  program: string;
  binding: StepBinding;
  ins: PlannedInput[];
  outs: PlannedVariable[];
  /**
   * Its parameters: the run's (`fromRun`, passed by key), or a sub-pipeline's own values, which its program
   * holds already (never passed: Argo would expand `{{...}}` in them).
   */
  parameters: Array<PlannedParameter & { fromRun: boolean }>;
  /** Python names of the metrics this step records. */
  metrics: string[];
  image: string;
}

/** A notebook step: a DAG of its own (KFP: a DAG component; Argo: a dag template), a task of its parent's. */
export interface PlannedGroup extends PlannedTask {
  /** The notebook step's qualified name (`a` or `a.b`). */
  qualified: string;
  /** The notebook it runs. */
  path: string;
  /** Variables its DAG hands up to its parent's: by key, the Python name and the task of its DAG that provides it. */
  outputs: Record<string, { name: string; task: string }>;
}

export interface PlannedParameter {
  name: string;
  key: string;
  value: ParameterValue;
}

export interface PlannedVolume {
  /** The existing PVC (type pvc) or the PVC whose snapshot is restored (type snapshot). */
  claim: string;
  /** Pod volume name / KFP createpvc task name (DNS-1123 label). */
  name: string;
  mountPath: string;
  type: 'pvc' | 'snapshot';
  snapshot?: SnapshotSource;
  /** A `snapshot` volume: the key under which sub-pipelines hand down the restored claim's name (KFP). */
  key?: string;
}

export interface ClusterPlan {
  /** DNS-1123 pipeline name. */
  name: string;
  description: string;
  notebook: string;
  /** In run order; a sub-pipeline's steps where its notebook step is. */
  steps: PlannedStep[];
  /** The sub-pipelines (notebook steps), outermost first. */
  groups: PlannedGroup[];
  parameters: PlannedParameter[];
  volumes: PlannedVolume[];
  /** Key of the metrics output artifact (never a variable's key). */
  metricsKey: string;
  /** Key of the HTML artifact of each step's outputs (its name is what the KFP UI shows). */
  outputsKey: string;
  /** Key of the JSON artifact of each step's cell outputs, whole (what cellpipe reads back from KFP). */
  cellOutputsKey: string;
  labels: NameAllocator;
  warnings: string[];
}

/** The artifact keys of a step's metrics and cell outputs (JSON), which cellpipe reads back from KFP. */
export const METRICS_KEY = 'cellpipe_metrics';
export const CELL_OUTPUTS_KEY = 'cellpipe_outputs';

// An absolute path without control characters or colons (Kubernetes mount paths).
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const MOUNT_PATH = /^\/[^\0-\x1f\x7f:]*$/;

export function planCluster(
  analysis: PipelineAnalysis,
  notebook: NotebookData,
  options: ClusterCompileOptions,
  reservedLabels: string[]
): ClusterPlan {
  const refusal = runRefusal(analysis, { file: notebook.name });
  if (refusal) {
    throw new CompileError(
      refusal.code === 'no-steps'
        ? 'No cell is tagged as a step: there is nothing to compile.'
        : refusal.message
    );
  }
  const warnings: string[] = [];
  const labels = new NameAllocator('label', reservedLabels);
  const paramKeys = new NameAllocator('key');
  const metricsKey = METRICS_KEY;
  const outputsKey = 'step_outputs';
  const cellOutputsKey = CELL_OUTPUTS_KEY;
  const stateKey = 'cellpipe_state';
  const varKeys = new NameAllocator('key', [metricsKey, outputsKey, cellOutputsKey, stateKey]);
  // One name, nothing to collide with: a readable label without a hash.
  const pipelineName = defaultPipelineName(analysis.pipeline.name).replace(/-+$/, '') || 'pipeline';

  // Steps in run order, so that providers are named before their consumers (and output reads top-down).
  const runnable = runnableSteps(analysis, notebook);
  // A step of a sub-pipeline `a.fit` is the task `a-fit`; the pipeline's own steps keep their names.
  const nested = new Set<string>();
  for (const r of runnable) {
    if (r.scope.length > 0) {
      nested.add(r.name);
    }
    r.scope.slice(1).forEach(q => nested.add(q));
  }
  const label = (qualified: string) =>
    labels.name(nested.has(qualified) ? qualified.replace(/\./g, '-') : qualified);
  for (const r of runnable) {
    r.scope.forEach(label);
    label(r.name);
  }
  const parameters: PlannedParameter[] = Object.entries(analysis.parameters).map(([name, value]) => ({
    name,
    key: paramKeys.name(name),
    value
  }));

  const groups = new Map<string, PlannedGroup>();
  const steps: PlannedStep[] = runnable.map(r => {
    const step = r.step;
    r.scope.forEach((qualified, depth) => {
      if (!groups.has(qualified)) {
        const sub = subPipelineOf(analysis, qualified);
        groups.set(qualified, {
          qualified,
          name: label(qualified),
          dag: depth > 0 ? label(r.scope[depth - 1]) : '',
          path: sub?.path ?? '',
          after: [],
          sources: {},
          runParameters: [],
          outputs: {}
        });
      }
    });
    const ins: PlannedInput[] = Object.entries(r.sources).map(([name, provider]) => ({
      name,
      key: varKeys.name(name),
      provider: label(provider)
    }));
    const outs: PlannedVariable[] = r.outs.map(name => ({ name, key: varKeys.name(name) }));
    const stepParameters = Object.entries(r.parameters).map(([name, value]) => ({
      name,
      key: paramKeys.name(name),
      value,
      fromRun: r.runParameters.includes(name)
    }));
    const binding: StepBinding = {
      params: Object.fromEntries(
        stepParameters.filter(p => p.fromRun).map(p => [p.key, [p.name, p.value.type]])
      ),
      ins: Object.fromEntries(ins.map(v => [v.key, v.name])),
      outs: Object.fromEntries(outs.map(v => [v.key, v.name]))
    };
    const image =
      step.settings.image ||
      r.analysis.pipeline.image ||
      analysis.pipeline.image ||
      options.defaultImage ||
      DEFAULT_IMAGE;
    return {
      step,
      runnable: r,
      name: label(r.name),
      dag: r.scope.length > 0 ? label(r.scope[r.scope.length - 1]) : '',
      after: [],
      sources: {},
      runParameters: [],
      program: encodedProgram(
        r,
        image === options.runtimeImage?.image
          ? { fromImage: { sha256: options.runtimeImage.sha256 } }
          : { embed: options.runtimeSource }
      ),
      binding,
      ins,
      outs,
      parameters: stepParameters,
      metrics: r.metrics,
      image
    };
  });
  wireDags(runnable, steps, groups, label, varKeys, paramKeys);
  // The interpreter state travels like a variable: one output per step, an input per step it continues.
  for (const s of steps) {
    for (const dep of s.runnable.stateFrom) {
      const provider = label(dep);
      const key = varKeys.name(`${stateKey}_${provider}`);
      s.ins.push({ name: STATE_IN + dep, key, provider, outputKey: stateKey });
      s.binding.ins[key] = STATE_IN + dep;
      s.sources[key] = { task: provider };
    }
    s.outs.push({ name: STATE_OUT, key: stateKey });
    s.binding.outs[stateKey] = STATE_OUT;
  }
  if (
    !analysis.pipeline.image &&
    !options.defaultImage &&
    steps.some(s => !s.step.settings.image && !s.runnable.analysis.pipeline.image)
  ) {
    warnings.push(
      `No image is set for the pipeline; steps run on ${DEFAULT_IMAGE}, which has no IPython or data libraries. ` +
        'Set the pipeline image (the notebook server image is usually right).'
    );
  }

  const volumes: PlannedVolume[] = analysis.pipeline.volumes.map(v => {
    if (!isDnsSubdomain(v.name)) {
      throw new CompileError(`Volume "${v.name}": not a valid PersistentVolumeClaim name.`);
    }
    if (!MOUNT_PATH.test(v.mountPath)) {
      throw new CompileError(
        `Volume ${v.name}: the mount path must be an absolute path, got ${JSON.stringify(v.mountPath)}.`
      );
    }
    const planned: PlannedVolume = {
      claim: v.name,
      name: labels.name(`vol-${v.name}`),
      mountPath: v.mountPath,
      type: v.type
    };
    if (v.type === 'snapshot') {
      const given = options.snapshots?.[v.name];
      if (!given) {
        warnings.push(
          `Volume ${v.name} is restored from the VolumeSnapshot "${v.name}-snapshot" (${DEFAULT_SNAPSHOT_SIZE}); ` +
            'pass the real snapshot (cellpipe compile --snapshot) or take one before submitting.'
        );
      }
      const snapshot = given ?? { snapshot: `${v.name}-snapshot`, size: DEFAULT_SNAPSHOT_SIZE };
      if (!isDnsSubdomain(snapshot.snapshot)) {
        throw new CompileError(
          `Volume ${v.name}: "${snapshot.snapshot}" is not a valid VolumeSnapshot name.`
        );
      }
      planned.snapshot = snapshot;
      planned.key = paramKeys.name(`pvc_${planned.name.replace(/-/g, '_')}`);
    }
    return planned;
  });
  return {
    name: pipelineName,
    description: analysis.pipeline.description,
    notebook: notebook.name ?? 'notebook',
    steps,
    groups: [...groups.values()],
    parameters,
    volumes,
    metricsKey,
    outputsKey,
    cellOutputsKey,
    labels,
    warnings
  };
}

function subPipelineOf(analysis: PipelineAnalysis, qualified: string): SubPipeline | undefined {
  const [first, ...rest] = qualified.split('.');
  const sub = analysis.subPipelines[first];
  return rest.length === 0 || !sub ? sub : subPipelineOf(sub.analysis, rest.join('.'));
}

/**
 * Lifts each runnable step's upstream steps and inputs into the DAGs: an edge between two steps is an
 * edge between the tasks of their innermost common DAG that contain them; a variable crossing out of a
 * sub-pipeline is an output of each DAG it leaves, one crossing in an input of each DAG it enters. The
 * run's parameters are handed down through every sub-pipeline that holds a step using them.
 */
function wireDags(
  runnable: readonly RunnableStep[],
  steps: PlannedStep[],
  groups: Map<string, PlannedGroup>,
  label: (qualified: string) => string,
  varKeys: NameAllocator,
  paramKeys: NameAllocator
): void {
  const byName = new Map(runnable.map(r => [r.name, r]));
  const taskOf = new Map<string, PlannedTask>(steps.map(s => [s.runnable.name, s]));
  for (const g of groups.values()) {
    taskOf.set(g.qualified, g);
  }
  const pathOf = (r: RunnableStep) => [...r.scope, r.name];
  /** The first position where two paths differ: the tasks there share a DAG. */
  const split = (a: string[], b: string[]) => {
    let k = 0;
    while (k < a.length - 1 && k < b.length - 1 && a[k] === b[k]) {
      k++;
    }
    return k;
  };
  const addAfter = (task: PlannedTask, upstream: string) => {
    if (!task.after.includes(upstream)) {
      task.after.push(upstream);
      task.after.sort();
    }
  };
  const setSource = (task: PlannedTask, key: string, source: PlannedSource) => {
    const known = task.sources[key];
    if (known !== undefined && JSON.stringify(known) !== JSON.stringify(source)) {
      throw new CompileError(`Task ${task.name} would receive "${key}" from two places.`);
    }
    task.sources[key] = source;
  };

  for (const consumer of runnable) {
    const pc = pathOf(consumer);
    for (const dep of consumer.deps) {
      const pd = pathOf(byName.get(dep)!);
      const k = split(pc, pd);
      addAfter(taskOf.get(pc[k])!, label(pd[k]));
    }
    for (const [name, provider] of Object.entries(consumer.sources)) {
      const pd = pathOf(byName.get(provider)!);
      const k = split(pc, pd);
      const key = varKeys.name(name);
      addAfter(taskOf.get(pc[k])!, label(pd[k]));
      for (let j = k; j < pd.length - 1; j++) {
        const group = groups.get(pd[j])!;
        const known = group.outputs[key];
        if (known && known.task !== label(pd[j + 1])) {
          throw new CompileError(`Sub-pipeline ${group.name} would hand up "${name}" from two steps.`);
        }
        group.outputs[key] = { name, task: label(pd[j + 1]) };
      }
      setSource(taskOf.get(pc[k])!, key, { task: label(pd[k]) });
      for (let j = k + 1; j < pc.length; j++) {
        setSource(taskOf.get(pc[j])!, key, 'parent');
      }
    }
    for (const name of consumer.runParameters) {
      const key = paramKeys.name(name);
      for (const qualified of pc) {
        const task = taskOf.get(qualified)!;
        if (!task.runParameters.includes(key)) {
          task.runParameters.push(key);
        }
      }
    }
  }
}

/** A step in a compiled file's header: its cluster name, the step, its notebook and cells. */
export function stepSummary(s: PlannedStep): string {
  const where = s.runnable.path !== undefined ? ` (${s.runnable.path})` : '';
  return `${s.name}: ${s.runnable.name}${where}, cells ${s.step.cells.map(c => c + 1).join(', ')}`;
}

/** A step's Kubernetes labels and annotations (Kale's label:/annotation: tags), or null when it has none. */
export function stepPodMetadata(
  settings: PipelineStep['settings']
): { labels?: Record<string, string>; annotations?: Record<string, string> } | null {
  const metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } = {};
  if (settings.labels && Object.keys(settings.labels).length > 0) {
    metadata.labels = { ...settings.labels };
  }
  if (settings.annotations && Object.keys(settings.annotations).length > 0) {
    metadata.annotations = { ...settings.annotations };
  }
  return Object.keys(metadata).length > 0 ? metadata : null;
}
