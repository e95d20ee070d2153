/**
 * The documents of a KFP v2 pipeline as cellpipe writes them: the PipelineSpec (IR, schemaVersion 2.1.0,
 * the fields of pipeline_spec.proto that cellpipe uses) and the kfp-kubernetes PlatformSpec
 * (`platforms.kubernetes`, KubernetesExecutorConfig). Field names are the protobuf JSON names.
 */
import type { YamlValue } from './yaml-text';

export type KfpParameterType = 'NUMBER_INTEGER' | 'NUMBER_DOUBLE' | 'STRING' | 'BOOLEAN' | 'LIST' | 'STRUCT';

export interface KfpArtifactType {
  artifactType: { schemaTitle: string; schemaVersion: string };
}

export interface KfpParameterSpec {
  parameterType: KfpParameterType;
  defaultValue?: YamlValue;
  isOptional?: boolean;
}

/** The tasks of a DAG (the pipeline's root, or a sub-pipeline's DAG component) and what it hands out. */
export interface KfpDag {
  tasks: Record<string, KfpTask>;
  outputs?: {
    artifacts: Record<
      string,
      { artifactSelectors: Array<{ outputArtifactKey: string; producerSubtask: string }> }
    >;
  };
}

/** A container component (`executorLabel`) or a DAG component (`dag`: a sub-pipeline). */
export interface KfpComponent {
  executorLabel?: string;
  dag?: KfpDag;
  inputDefinitions?: {
    parameters?: Record<string, KfpParameterSpec>;
    artifacts?: Record<string, KfpArtifactType>;
  };
  outputDefinitions?: {
    artifacts?: Record<string, KfpArtifactType>;
    parameters?: Record<string, KfpParameterSpec>;
  };
}

export interface KfpResources {
  cpuRequest?: number;
  cpuLimit?: number;
  memoryRequest?: number;
  memoryLimit?: number;
  resourceCpuRequest?: string;
  resourceCpuLimit?: string;
  resourceMemoryRequest?: string;
  resourceMemoryLimit?: string;
  accelerator?: { count: string; resourceCount: string; resourceType: string; type: string };
}

export interface KfpContainer {
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  resources?: KfpResources;
}

export interface KfpExecutor {
  container: KfpContainer;
}

/** Where a task input or a platform field gets its value. */
export type KfpValueSource =
  | { componentInputParameter: string }
  | { runtimeValue: { constant: YamlValue } }
  | { taskOutputParameter: KfpTaskOutput };

export interface KfpTaskOutput {
  outputParameterKey: string;
  producerTask: string;
}

/** Where a task's input artifact comes from: a task beside it, or the enclosing DAG component's input. */
export type KfpArtifactSource =
  | { taskOutputArtifact: { outputArtifactKey: string; producerTask: string } }
  | { componentInputArtifact: string };

export interface KfpTask {
  cachingOptions: { enableCache: boolean };
  componentRef: { name: string };
  taskInfo: { name: string };
  dependentTasks?: string[];
  inputs?: {
    parameters?: Record<string, KfpValueSource>;
    artifacts?: Record<string, KfpArtifactSource>;
  };
  retryPolicy?: {
    backoffDuration: string;
    backoffFactor: number;
    backoffMaxDuration: string;
    maxRetryCount: number;
  };
}

export interface KfpPipelineSpec {
  components: Record<string, KfpComponent>;
  deploymentSpec: { executors: Record<string, KfpExecutor> };
  pipelineInfo: { name: string; description?: string };
  root: {
    dag: KfpDag;
    inputDefinitions?: { parameters: Record<string, KfpParameterSpec> };
  };
  schemaVersion: '2.1.0';
  sdkVersion: string;
}

export type KfpPvcMount =
  | { constant: string; mountPath: string; pvcNameParameter: KfpValueSource }
  | { componentInputParameter: string; mountPath: string; pvcNameParameter: KfpValueSource }
  | { mountPath: string; pvcNameParameter: KfpValueSource; taskOutputParameter: KfpTaskOutput };

export interface KfpToleration {
  effect?: string;
  key?: string;
  operator?: string;
  value?: string;
}

export interface KubernetesExecutorConfig {
  activeDeadlineSeconds?: string;
  nodeSelector?: { labels: Record<string, string> };
  podMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  pvcMount?: KfpPvcMount[];
  secretAsEnv?: Array<{
    keyToEnv: Array<{ envVar: string; secretKey: string }>;
    optional: boolean;
    secretName: string;
    secretNameParameter: KfpValueSource;
  }>;
  tolerations?: KfpToleration[];
}

export interface KfpPlatformSpec {
  platforms: { kubernetes: { deploymentSpec: { executors: Record<string, KubernetesExecutorConfig> } } };
}
