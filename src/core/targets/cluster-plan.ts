/**
 * What the KFP and Argo targets share: the pipeline analysis turned into
 * cluster names, keys, programs, images and volumes, checked once. The two
 * targets only render this plan in their own format.
 */
import type { NotebookData } from '../notebook/model';
import type { PipelineAnalysis, PipelineStep } from '../pipeline';
import { runRefusal } from '../runs/refusal';
import { stepMetrics, stepParameters } from '../step-queries';
import type { ParameterValue } from '../tags/parameters';
import { defaultPipelineName } from '../tags/settings';
import { CompileError, encodedProgram, StepBinding } from './cluster-step';
import { isDnsSubdomain, NameAllocator } from './k8s-names';

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
}

export interface PlannedStep {
  step: PipelineStep;
  /** DNS-1123 label: task, template and component name. */
  name: string;
  /** base64 of the step program. */
  program: string;
  binding: StepBinding;
  ins: PlannedInput[];
  outs: PlannedVariable[];
  /** The pipeline parameters the step reads (`stepParameters`): the only ones passed to it. */
  parameters: PlannedParameter[];
  /** Python names of the metrics this step records. */
  metrics: string[];
  /** Cluster names of the steps that must finish first (prev: edges and data providers). */
  after: string[];
  image: string;
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
}

export interface ClusterPlan {
  /** DNS-1123 pipeline name. */
  name: string;
  description: string;
  notebook: string;
  steps: PlannedStep[];
  parameters: PlannedParameter[];
  volumes: PlannedVolume[];
  /** Key of the metrics output artifact (never a variable's key). */
  metricsKey: string;
  /** Key of the HTML artifact of each step's outputs (its name is what the KFP UI shows). */
  outputsKey: string;
  labels: NameAllocator;
  warnings: string[];
}

// An absolute path without control characters or colons (Kubernetes mount paths).
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const MOUNT_PATH = /^\/[^\0-\x1f\x7f:]*$/;

export function planCluster(
  analysis: PipelineAnalysis,
  notebook: NotebookData,
  options: ClusterCompileOptions,
  reservedLabels: string[]
): ClusterPlan {
  const refusal = runRefusal(analysis);
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
  const metricsKey = 'cellpipe_metrics';
  const outputsKey = 'step_outputs';
  const varKeys = new NameAllocator('key', [metricsKey, outputsKey]);
  // One name, nothing to collide with: a readable label without a hash.
  const pipelineName = defaultPipelineName(analysis.pipeline.name).replace(/-+$/, '') || 'pipeline';

  // Steps in run order, so that providers are named before their consumers (and output reads top-down).
  const byName = new Map(analysis.steps.map(s => [s.name, s]));
  const ordered = analysis.order.map(n => byName.get(n)!).filter(Boolean);
  for (const step of ordered) {
    labels.name(step.name);
  }
  const parameters: PlannedParameter[] = Object.entries(analysis.parameters).map(([name, value]) => ({
    name,
    key: paramKeys.name(name),
    value
  }));

  const steps: PlannedStep[] = ordered.map(step => {
    const ins = step.ins.map(name => ({
      name,
      key: varKeys.name(name),
      provider: labels.name(step.sources[name])
    }));
    const outs = step.outs.map(name => ({ name, key: varKeys.name(name) }));
    const reads = stepParameters(analysis, step.name);
    const stepParams = parameters.filter(p => p.name in reads);
    const binding: StepBinding = {
      params: Object.fromEntries(stepParams.map(p => [p.key, [p.name, p.value.type]])),
      ins: Object.fromEntries(ins.map(v => [v.key, v.name])),
      outs: Object.fromEntries(outs.map(v => [v.key, v.name]))
    };
    const after = new Set([...step.deps, ...Object.values(step.sources)].map(n => labels.name(n)));
    const image = step.settings.image || analysis.pipeline.image || options.defaultImage || DEFAULT_IMAGE;
    return {
      step,
      name: labels.name(step.name),
      program: encodedProgram(analysis, notebook, step, options.runtimeSource),
      binding,
      ins,
      outs,
      parameters: stepParams,
      metrics: stepMetrics(analysis, step.name),
      after: [...after].sort(),
      image
    };
  });
  if (!analysis.pipeline.image && !options.defaultImage && steps.some(s => !s.step.settings.image)) {
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
    }
    return planned;
  });
  return {
    name: pipelineName,
    description: analysis.pipeline.description,
    notebook: notebook.name ?? 'notebook',
    steps,
    parameters,
    volumes,
    metricsKey,
    outputsKey,
    labels,
    warnings
  };
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
