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
  PlannedStep,
  stepPodMetadata
} from './cluster-plan';
import { AdapterFlag, containerCommand, METRICS_FILE, OUTPUTS_FILE } from './cluster-step';
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

  const templates: YamlValue[] = [
    {
      name: ENTRYPOINT,
      dag: {
        tasks: plan.steps.map(s => ({
          name: s.name,
          template: s.name,
          ...(s.after.length > 0 ? { dependencies: s.after } : {})
        }))
      }
    },
    ...plan.steps.map(s => stepTemplate(s, mounts, singleNode, options.workingDir))
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
    lines.push(`   ${s.name}: ${s.step.name}, cells ${s.step.cells.map(c => c + 1).join(', ')}`);
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
  workingDir: string | undefined
): Doc {
  const settings = s.step.settings;
  const flags: AdapterFlag[] = [['--run-dir', RUN_DIR]];
  for (const p of s.parameters) {
    flags.push(['--param', p.key, `{{workflow.parameters.${p.key}}}`]);
  }
  if (s.metrics.length > 0) {
    flags.push(['--metrics', METRICS_FILE]);
  }
  // The step's outputs come back as an output parameter, so JupyterLab can show them beside the notebook.
  flags.push(['--outputs', OUTPUTS_FILE]);
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
  const outputs: YamlValue[] = [{ name: 'outputs', valueFrom: { path: OUTPUTS_FILE, default: '{}' } }];
  if (s.metrics.length > 0) {
    outputs.push({ name: 'metrics', valueFrom: { path: METRICS_FILE, default: '{}' } });
  }
  template.outputs = { parameters: outputs };
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
