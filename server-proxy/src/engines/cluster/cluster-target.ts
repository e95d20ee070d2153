/**
 * What a cluster engine is, for the rest of cellpipe: one interface that Argo (`argo-engine.ts`) and KFP
 * (`kfp-engine.ts`) implement. It learns what it needs from the cluster (`prepare`), compiles the pipeline
 * into the engine's typed documents (pure, from the core's targets), submits them, and follows a submitted run (poll, watch, cancel, logs) through a
 * `ClusterBackend`, for a run just submitted and for one followed again after its follower was gone.
 */
import type { NotebookData } from '../../../../src/core/notebook/model';
import type { PipelineAnalysis } from '../../../../src/core/pipeline';
import type { ClusterInfo } from '../../../../src/core/runs/run-record';
import type { ClusterCompileOptions, ClusterPlan } from '../../../../src/core/targets/cluster-plan';
import type { ClusterBackend } from './cluster-backend';
import type { KubeClients } from './kube-client';

export type ClusterKind = 'kfp' | 'argo';

/** A pipeline compiled for one engine: its documents, and the plan they were rendered from. */
export interface CompiledRun<Documents> {
  documents: Documents;
  plan: ClusterPlan;
  warnings: string[];
}

export interface SubmitContext {
  /** The cellpipe run id (a label on the Workflow, part of the KFP run's name). */
  id: string;
  namespace: string;
  /** Pipeline parameter values by their key in the compiled documents. */
  parameters: Record<string, unknown>;
  /** Kubernetes access; throws a ClusterError saying what needed it. */
  kube: (action: string) => KubeClients;
  /** KFP: the endpoint (a ClusterError when there is none to use), token and experiment. */
  kfpEndpoint: () => string;
  kfpToken?: string;
  experiment: string;
}

export interface FollowConnection {
  kube: (action: string) => KubeClients;
  kfpToken?: string;
}

export interface ClusterTarget<Documents> {
  kind: ClusterKind;
  /** What the engine must learn from the cluster before it compiles (Argo: the artifact repository). */
  prepare?(context: Pick<SubmitContext, 'namespace' | 'kube'>): Promise<{
    options: Partial<Omit<ClusterCompileOptions, 'runtimeSource'>>;
    warnings: string[];
  }>;
  compile(
    analysis: PipelineAnalysis,
    notebook: NotebookData,
    runtimeSource: string,
    options: Omit<ClusterCompileOptions, 'runtimeSource'>
  ): CompiledRun<Documents>;
  /** Hands the documents to the cluster; where the run is (ClusterErrors say why not). */
  submit(run: CompiledRun<Documents>, context: SubmitContext): Promise<ClusterInfo>;
  /**
   * Follows the run `cluster` says; `tasks` maps the cluster names of its steps to the steps' own names
   * (which messages use). Null when it cannot.
   */
  follow(
    cluster: ClusterInfo,
    tasks: ReadonlyMap<string, string>,
    connection: FollowConnection
  ): ClusterBackend | null;
}
