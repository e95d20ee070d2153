/**
 * Target `argo`: an Argo Workflows `Workflow` (argoproj.io/v1alpha1) with one
 * `dag` template and one container template per step, running the same step
 * programs as the other targets.
 *
 * Data passing: a run volume (a volumeClaimTemplate, so one PVC per workflow,
 * deleted when it completes) mounted at /cellpipe/run in every step; the
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
import {
  ClusterCompileOptions,
  ClusterPlan,
  parameterText,
  planCluster,
  PlannedGroup,
  PlannedStep,
  stepPodMetadata,
  stepSummary
} from './cluster-plan';
import { AdapterFlag, containerCommand, ERROR_FILE, METRICS_FILE, OUTPUTS_FILE } from './cluster-step';
import type { CompiledPipeline } from './kfp';
import { toYaml, YamlValue } from './yaml-text';

type Doc = { [key: string]: YamlValue };

const RUN_DIR = '/cellpipe/run';
const RUN_VOLUME = 'cellpipe-run';
const ENTRYPOINT = 'main';
const DEFAULT_RUN_SIZE = '10Gi';
/** The label Argo puts on every pod of a workflow. */
const WORKFLOW_POD_LABEL = 'workflows.argoproj.io/workflow';

export interface ArgoDocuments {
  workflow: Doc;
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

  const claimTemplates: YamlValue[] = [
    {
      metadata: { name: RUN_VOLUME },
      spec: {
        accessModes: [accessMode],
        ...(run.storageClass ? { storageClassName: run.storageClass } : {}),
        resources: { requests: { storage: run.size ?? DEFAULT_RUN_SIZE } }
      }
    }
  ];
  const volumes: YamlValue[] = [];
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
  const mounts: YamlValue[] = [
    { name: RUN_VOLUME, mountPath: RUN_DIR },
    ...plan.volumes.map(v => ({ name: v.name, mountPath: v.mountPath }))
  ];

  // The tasks of a DAG ('' the pipeline's own, else a sub-pipeline's), in run order.
  const dagTasks = (dag: string) => {
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
  const templates: YamlValue[] = [
    { name: ENTRYPOINT, dag: { tasks: dagTasks('') } },
    ...plan.groups.map(g => ({ name: g.name, dag: { tasks: dagTasks(g.name) } })),
    ...plan.steps.map(s =>
      stepTemplate(s, mounts, singleNode, options.workingDir, !!options.artifactRepository)
    )
  ];

  const annotations: Doc = {};
  if (singleNode) {
    annotations['cellpipe.dev/run-volume'] =
      'ReadWriteOnce (no ReadWriteMany storage class configured): steps are kept on one node by pod affinity';
  }
  const spec: Doc = { entrypoint: ENTRYPOINT };
  if (plan.parameters.length > 0) {
    spec.arguments = {
      parameters: plan.parameters.map(p => ({ name: p.key, value: parameterText(p.value) }))
    };
  }
  if (options.artifactRepository) {
    spec.artifactRepositoryRef = { ...options.artifactRepository };
  }
  spec.volumeClaimTemplates = claimTemplates;
  spec.volumeClaimGC = { strategy: 'OnWorkflowCompletion' };
  if (volumes.length > 0) {
    spec.volumes = volumes;
  }
  spec.templates = templates;

  const metadata: Doc = {
    generateName: `${plan.name.slice(0, 62)}-`,
    labels: { 'cellpipe.dev/pipeline': plan.name }
  };
  if (Object.keys(annotations).length > 0) {
    metadata.annotations = annotations;
  }
  const workflow: Doc = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata, spec };
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

function stepTemplate(
  s: PlannedStep,
  volumeMounts: YamlValue[],
  singleNode: boolean,
  workingDir: string | undefined,
  artifacts: boolean
): Doc {
  const settings = s.step.settings;
  const flags: AdapterFlag[] = [['--run-dir', RUN_DIR]];
  for (const p of s.parameters.filter(p => p.fromRun)) {
    flags.push(['--param', p.key, `{{workflow.parameters.${p.key}}}`]);
  }
  if (s.metrics.length > 0) {
    flags.push(['--metrics', METRICS_FILE]);
  }
  // The step's outputs come back (an artifact, else an output parameter), so JupyterLab can show them
  // beside the notebook; so does a failed step's error, which is small.
  flags.push([artifacts ? '--full-outputs' : '--outputs', OUTPUTS_FILE], ['--error', ERROR_FILE]);
  const command = containerCommand(s.program, s.binding, flags);
  const container: Doc = { image: s.image, command: command.slice(0, 3), args: command.slice(3) };
  const env: YamlValue[] = Object.entries(settings.env ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => ({ name, value }));
  for (const ref of settings.secrets ?? []) {
    // A reference: the value stays in the Secret.
    env.push({ name: ref.env, valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key } } });
  }
  if (env.length > 0) {
    container.env = env;
  }
  const resources = argoResources(settings);
  if (resources) {
    container.resources = resources;
  }
  container.volumeMounts = volumeMounts;
  if (workingDir) {
    container.workingDir = workingDir;
  }

  const template: Doc = { name: s.name };
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
      const out: Doc = {};
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
  template.container = container;
  const files: [string, string][] = [['outputs', OUTPUTS_FILE]];
  if (s.metrics.length > 0) {
    files.push(['metrics', METRICS_FILE]);
  }
  const error = { name: 'error', valueFrom: { path: ERROR_FILE, default: '{}' } };
  if (artifacts) {
    // Whole files in the artifact store, not tarred (archive none), and the step's log archived beside
    // them so it outlives the pod.
    template.outputs = {
      parameters: [error],
      artifacts: files.map(([name, path]) => ({ name, path, optional: true, archive: { none: {} } }))
    };
    template.archiveLocation = { archiveLogs: true };
  } else {
    template.outputs = {
      parameters: [...files.map(([name, path]) => ({ name, valueFrom: { path, default: '{}' } })), error]
    };
  }
  return template;
}

function argoResources(settings: StepSettings): Doc | null {
  const requests: Doc = {};
  const limits: Doc = {};
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
  const out: Doc = {};
  if (Object.keys(requests).length > 0) {
    out.requests = requests;
  }
  if (Object.keys(limits).length > 0) {
    out.limits = limits;
  }
  return Object.keys(out).length > 0 ? out : null;
}
