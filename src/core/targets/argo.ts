/**
 * Target `argo`: an Argo Workflows `Workflow` (argoproj.io/v1alpha1) with one
 * `dag` template and one container template per step, running the same step
 * programs as the other targets.
 *
 * Data passing: a run volume (a volumeClaimTemplate, so one PVC per workflow,
 * deleted when it succeeds, kept with a failed one) mounted at /cellpipe/run in every step; the
 * runtime keeps its local layout there (`data/STEP/NAME.*`). With a
 * ReadWriteMany storage class (`runVolume.storageClass`) steps may run on any
 * node. Without one the claim is ReadWriteOnce, and a required pod affinity on
 * the workflow's pod label keeps every step on the node of the steps still
 * running, so parallel branches can mount it (the first pod matches its own
 * term, which Kubernetes allows when no other pod does).
 *
 * A `notebook:` step is a `dag` template of its own holding its sub-pipeline's
 * steps, called as one task of its parent's DAG; the data its steps exchange
 * with the rest is on the run volume like any other.
 *
 * Argo expands `{{...}}` in every string of a template: notebook text only
 * reaches a template base64-encoded (cluster-step.ts), and names only as keys
 * and DNS labels.
 */
import type { NotebookData } from '../notebook/model';
import type { PipelineAnalysis } from '../pipeline';
import type { StepSettings } from '../tags/settings';
import { parameterText } from '../tags/parameters';
import {
  ClusterCompileOptions,
  ClusterPlan,
  planCluster,
  PlannedGroup,
  PlannedStep,
  stepPodMetadata,
  stepSummary
} from './cluster-plan';
import type {
  ArgoClaimTemplate,
  ArgoContainer,
  ArgoContainerTemplate,
  ArgoDagTemplate,
  ArgoEnvVar,
  ArgoVolume,
  ArgoWorkflow
} from './argo-workflow';
import { AdapterFlag, containerCommand, ERROR_FILE, METRICS_FILE, OUTPUTS_FILE } from './cluster-step';
import type { CompiledPipeline } from './kfp';
import { toYaml } from './yaml-text';

export const RUN_DIR = '/cellpipe/run';
/** The run volume's claim template: Argo names the claim of a workflow `WORKFLOW-cellpipe-run`. */
export const RUN_VOLUME = 'cellpipe-run';
const ENTRYPOINT = 'main';
const DEFAULT_RUN_SIZE = '10Gi';
/** The label Argo puts on every pod of a workflow. */
const WORKFLOW_POD_LABEL = 'workflows.argoproj.io/workflow';

export interface ArgoDocuments {
  workflow: ArgoWorkflow;
  plan: ClusterPlan;
  warnings: string[];
  /** Whether the run volume is ReadWriteOnce (steps kept on one node). */
  singleNode: boolean;
}

export function argoDocuments(
  analysis: PipelineAnalysis,
  notebook: NotebookData,
  runtimeSource: string,
  options: Omit<ClusterCompileOptions, 'runtimeSource'> = {}
): ArgoDocuments {
  const plan = planCluster(analysis, notebook, { ...options, runtimeSource }, [ENTRYPOINT, RUN_VOLUME]);
  const warnings = [...plan.warnings];
  const run = options.runVolume ?? {};
  const accessMode = run.accessMode ?? (run.storageClass ? 'ReadWriteMany' : 'ReadWriteOnce');
  const singleNode = accessMode === 'ReadWriteOnce';

  const claimTemplates: ArgoClaimTemplate[] = [
    {
      metadata: { name: RUN_VOLUME },
      spec: {
        accessModes: [accessMode],
        ...(run.storageClass ? { storageClassName: run.storageClass } : {}),
        resources: { requests: { storage: run.size ?? DEFAULT_RUN_SIZE } }
      }
    }
  ];
  const volumes: ArgoVolume[] = [];
  for (const v of plan.volumes) {
    if (v.type === 'pvc') {
      volumes.push({ name: v.name, persistentVolumeClaim: { claimName: v.claim } });
    } else if (v.snapshot) {
      claimTemplates.push({
        metadata: { name: v.name },
        spec: {
          accessModes: [v.snapshot.accessMode ?? 'ReadWriteOnce'],
          ...(v.snapshot.storageClass ? { storageClassName: v.snapshot.storageClass } : {}),
          resources: { requests: { storage: v.snapshot.size } },
          dataSource: {
            apiGroup: 'snapshot.storage.k8s.io',
            kind: 'VolumeSnapshot',
            name: v.snapshot.snapshot
          }
        }
      });
    }
  }
  const mounts: ArgoContainer['volumeMounts'] = [
    { name: RUN_VOLUME, mountPath: RUN_DIR },
    ...plan.volumes.map(v => ({ name: v.name, mountPath: v.mountPath }))
  ];

  // The tasks of a DAG ('' the pipeline's own, else a sub-pipeline's), in run order.
  const dagTasks = (dag: string): ArgoDagTemplate['dag']['tasks'] => {
    const tasks: Array<PlannedStep | PlannedGroup> = [];
    for (const s of plan.steps) {
      const task =
        s.dag === dag ? s : plan.groups.find(g => g.dag === dag && s.runnable.scope.includes(g.qualified));
      if (task && !tasks.includes(task)) {
        tasks.push(task);
      }
    }
    return tasks.map(t => ({
      name: t.name,
      template: t.name,
      ...(t.after.length > 0 ? { dependencies: t.after } : {})
    }));
  };
  const templates: ArgoWorkflow['spec']['templates'] = [
    { name: ENTRYPOINT, dag: { tasks: dagTasks('') } },
    ...plan.groups.map(g => ({ name: g.name, dag: { tasks: dagTasks(g.name) } })),
    ...plan.steps.map(s =>
      stepTemplate(s, mounts, singleNode, options.workingDir, !!options.artifactRepository)
    )
  ];

  const annotations: Record<string, string> = {};
  if (singleNode) {
    annotations['cellpipe.dev/run-volume'] =
      'ReadWriteOnce (no ReadWriteMany storage class configured): steps are kept on one node by pod affinity';
  }
  // Keys in this order: the written YAML follows it.
  const spec: ArgoWorkflow['spec'] = {
    entrypoint: ENTRYPOINT,
    ...(plan.parameters.length > 0
      ? {
          arguments: {
            parameters: plan.parameters.map(p => ({ name: p.key, value: parameterText(p.value) }))
          }
        }
      : {}),
    ...(options.artifactRepository ? { artifactRepositoryRef: { ...options.artifactRepository } } : {}),
    volumeClaimTemplates: claimTemplates,
    // A failed run keeps its volumes (until its Workflow is deleted, which owns them), so that the inputs
    // of its failed step can still be loaded into a notebook's kernel; a run that succeeded frees them.
    volumeClaimGC: { strategy: 'OnWorkflowSuccess' },
    ...(volumes.length > 0 ? { volumes } : {}),
    templates
  };
  const metadata: ArgoWorkflow['metadata'] = {
    generateName: `${plan.name.slice(0, 62)}-`,
    labels: { 'cellpipe.dev/pipeline': plan.name }
  };
  if (Object.keys(annotations).length > 0) {
    metadata.annotations = annotations;
  }
  const workflow: ArgoWorkflow = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata, spec };
  return { workflow, plan, warnings, singleNode };
}

export function compileArgo(
  analysis: PipelineAnalysis,
  notebook: NotebookData,
  runtimeSource: string,
  options: Omit<ClusterCompileOptions, 'runtimeSource'> = {}
): CompiledPipeline {
  const { workflow, plan, warnings, singleNode } = argoDocuments(analysis, notebook, runtimeSource, options);
  const lines = [`Argo Workflow compiled by cellpipe from ${plan.notebook}: pipeline ${plan.name}.`];
  if (plan.description) {
    lines.push(`Description: ${plan.description}`);
  }
  lines.push('Steps (template: notebook step):');
  for (const s of plan.steps) {
    lines.push(`   ${stepSummary(s)}`);
  }
  for (const g of plan.groups) {
    lines.push(`   ${g.name}: runs ${g.path} (dag template)`);
  }
  const renamed = plan.parameters.filter(p => p.key !== p.name);
  if (renamed.length > 0) {
    lines.push('Renamed parameters:', ...renamed.map(p => `   ${p.key}: ${p.name}`));
  }
  lines.push(
    singleNode
      ? 'Run volume: ReadWriteOnce (no ReadWriteMany storage class given); pod affinity keeps the steps on one node.'
      : 'Run volume: ReadWriteMany; steps may run on any node.'
  );
  return { text: toYaml(workflow, { comment: lines.join('\n') }), warnings };
}

/**
 * Where a step template keeps its data and reads its parameters: the run volume and the workflow's
 * parameters, or (a sweep's trial step) a trial's folder of it and the template's inputs.
 */
export interface StepScope {
  runDir: string;
  /** The placeholder of a run parameter, by key. */
  parameter(key: string): string;
  /** More `--in` flags (a trial step's inputs from the shared steps' folders). */
  inputs: AdapterFlag[];
}

const RUN_SCOPE: StepScope = {
  runDir: RUN_DIR,
  parameter: key => `{{workflow.parameters.${key}}}`,
  inputs: []
};

export function stepTemplate(
  s: PlannedStep,
  volumeMounts: ArgoContainer['volumeMounts'],
  singleNode: boolean,
  workingDir: string | undefined,
  artifacts: boolean,
  scope: StepScope = RUN_SCOPE
): ArgoContainerTemplate {
  const settings = s.step.settings;
  const flags: AdapterFlag[] = [['--run-dir', scope.runDir], ...scope.inputs];
  for (const p of s.parameters.filter(p => p.fromRun)) {
    flags.push(['--param', p.key, scope.parameter(p.key)]);
  }
  if (s.metrics.length > 0) {
    flags.push(['--metrics', METRICS_FILE]);
  }
  // The step's outputs come back (an artifact, else an output parameter), so JupyterLab can show them
  // beside the notebook; so does a failed step's error, which is small.
  flags.push([artifacts ? '--full-outputs' : '--outputs', OUTPUTS_FILE], ['--error', ERROR_FILE]);
  const command = containerCommand(s.program, s.binding, flags);
  const env: ArgoEnvVar[] = Object.entries(settings.env ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => ({ name, value }));
  for (const ref of settings.secrets ?? []) {
    // A reference: the value stays in the Secret.
    env.push({ name: ref.env, valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key } } });
  }
  const resources = argoResources(settings);
  // Keys in this order: the written YAML follows it.
  const container: ArgoContainer = {
    image: s.image,
    command: command.slice(0, 3),
    args: command.slice(3),
    ...(env.length > 0 ? { env } : {}),
    ...(resources ? { resources } : {}),
    volumeMounts,
    ...(workingDir ? { workingDir } : {})
  };

  const template: Omit<ArgoContainerTemplate, 'container' | 'outputs'> = { name: s.name };
  const metadata = stepPodMetadata(settings);
  if (metadata) {
    template.metadata = metadata;
  }
  if (settings.retries) {
    template.retryStrategy = { limit: String(settings.retries), retryPolicy: 'Always' };
  }
  if (settings.timeout) {
    template.activeDeadlineSeconds = Math.ceil(settings.timeout);
  }
  if (settings.nodeSelector && Object.keys(settings.nodeSelector).length > 0) {
    template.nodeSelector = { ...settings.nodeSelector };
  }
  if (settings.tolerations && settings.tolerations.length > 0) {
    template.tolerations = settings.tolerations.map(t => {
      const out: Record<string, string> = {};
      for (const key of ['key', 'operator', 'value', 'effect'] as const) {
        if (t[key] !== undefined) {
          out[key] = t[key]!;
        }
      }
      return out;
    });
  }
  if (singleNode) {
    template.affinity = {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          {
            labelSelector: {
              matchExpressions: [{ key: WORKFLOW_POD_LABEL, operator: 'In', values: ['{{workflow.name}}'] }]
            },
            topologyKey: 'kubernetes.io/hostname'
          }
        ]
      }
    };
  }
  const files: [string, string][] = [['outputs', OUTPUTS_FILE]];
  if (s.metrics.length > 0) {
    files.push(['metrics', METRICS_FILE]);
  }
  const error = { name: 'error', valueFrom: { path: ERROR_FILE, default: '{}' } };
  if (artifacts) {
    // Whole files in the artifact store, not tarred (archive none), and the step's log archived beside
    // them so it outlives the pod.
    return {
      ...template,
      container,
      outputs: {
        parameters: [error],
        artifacts: files.map(([name, path]) => ({ name, path, optional: true, archive: { none: {} } }))
      },
      archiveLocation: { archiveLogs: true }
    };
  }
  return {
    ...template,
    container,
    outputs: {
      parameters: [...files.map(([name, path]) => ({ name, valueFrom: { path, default: '{}' } })), error]
    }
  };
}

function argoResources(settings: StepSettings): ArgoContainer['resources'] | null {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  for (const what of ['cpu', 'memory'] as const) {
    if (settings[what]?.request) {
      requests[what] = settings[what]!.request!;
    }
    if (settings[what]?.limit) {
      limits[what] = settings[what]!.limit!;
    }
  }
  if (settings.gpu && settings.gpu.count > 0) {
    limits[`${settings.gpu.vendor}.com/gpu`] = String(settings.gpu.count);
  }
  for (const [key, value] of Object.entries(settings.limits ?? {})) {
    limits[key] = value;
  }
  const out: NonNullable<ArgoContainer['resources']> = {};
  if (Object.keys(requests).length > 0) {
    out.requests = requests;
  }
  if (Object.keys(limits).length > 0) {
    out.limits = limits;
  }
  return Object.keys(out).length > 0 ? out : null;
}
