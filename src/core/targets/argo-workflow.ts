/**
 * The Argo Workflow (argoproj.io/v1alpha1) as cellpipe writes it: the fields of Argo's Workflow spec that
 * cellpipe uses, with Kubernetes' own names for the container, volume and scheduling parts.
 */

export interface ArgoClaimTemplate {
  metadata: { name: string };
  spec: {
    accessModes: string[];
    storageClassName?: string;
    resources: { requests: { storage: string } };
    dataSource?: { apiGroup: string; kind: string; name: string };
  };
}

export interface ArgoVolume {
  name: string;
  persistentVolumeClaim: { claimName: string };
}

export type ArgoEnvVar =
  | { name: string; value: string }
  | { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } };

export interface ArgoContainer {
  image: string;
  command: string[];
  args: string[];
  env?: ArgoEnvVar[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts: Array<{ name: string; mountPath: string }>;
  workingDir?: string;
}

export interface ArgoToleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

export interface ArgoDagTemplate {
  name: string;
  dag: {
    tasks: Array<{
      name: string;
      template: string;
      dependencies?: string[];
      /** A sweep's trial task: its trial and swept values, as the template's inputs. */
      arguments?: { parameters: Array<{ name: string; value: string }> };
    }>;
    /** false in a sweep: a trial that fails does not stop the others from starting. */
    failFast?: boolean;
  };
}

export interface ArgoContainerTemplate {
  name: string;
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  /** A sweep's trial step: the trial and the swept parameters it reads. */
  inputs?: { parameters: Array<{ name: string }> };
  retryStrategy?: { limit: string; retryPolicy: string };
  activeDeadlineSeconds?: number;
  nodeSelector?: Record<string, string>;
  tolerations?: ArgoToleration[];
  affinity?: {
    podAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: Array<{
        labelSelector: { matchExpressions: Array<{ key: string; operator: string; values: string[] }> };
        topologyKey: string;
      }>;
    };
  };
  container: ArgoContainer;
  outputs: {
    parameters: Array<{ name: string; valueFrom: { path: string; default: string } }>;
    /** With an artifact repository: whole files, not tarred. */
    artifacts?: Array<{
      name: string;
      path: string;
      optional: boolean;
      archive: { none: Record<string, never> };
    }>;
  };
  /** With an artifact repository: the step's log is archived there too. */
  archiveLocation?: { archiveLogs: boolean };
}

export interface ArgoWorkflow {
  apiVersion: 'argoproj.io/v1alpha1';
  kind: 'Workflow';
  metadata: { generateName: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    entrypoint: string;
    /** A sweep's `--max-parallel`: at most this many step pods at once. */
    parallelism?: number;
    arguments?: { parameters: Array<{ name: string; value: string }> };
    /** The namespace's artifact repository (ConfigMap and key). */
    artifactRepositoryRef?: { configMap: string; key: string };
    volumeClaimTemplates: ArgoClaimTemplate[];
    volumeClaimGC: { strategy: string };
    volumes?: ArgoVolume[];
    templates: Array<ArgoDagTemplate | ArgoContainerTemplate>;
  };
}

/**
 * An Argo CronWorkflow (argoproj.io/v1alpha1): the Workflow's spec under `workflowSpec`, started on the
 * schedule (`schedules`, Argo ≥ 3.6; `timezone` an IANA name), `suspend` while paused.
 */
export interface ArgoCronWorkflow {
  apiVersion: 'argoproj.io/v1alpha1';
  kind: 'CronWorkflow';
  metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    schedules: string[];
    timezone: string;
    suspend: boolean;
    /** Allow | Forbid | Replace: what a run that is due does while the previous one still runs. */
    concurrencyPolicy: 'Allow' | 'Forbid' | 'Replace';
    /** A run missed by more than this (the controller was down) is skipped, not started late. */
    startingDeadlineSeconds: number;
    successfulJobsHistoryLimit: number;
    failedJobsHistoryLimit: number;
    /** Labels and annotations of each Workflow it starts. */
    workflowMetadata: { labels: Record<string, string>; annotations?: Record<string, string> };
    workflowSpec: ArgoWorkflow['spec'];
  };
}
