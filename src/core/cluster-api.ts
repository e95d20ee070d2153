/**
 * The contract of the server's cluster and compile routes, shared by the server and the frontend: what
 * the server found about the cluster (to show as defaults and to check the connection settings), the
 * compiled YAML, and a pipeline uploaded to Kubeflow Pipelines. Types only.
 */
import type { ClusterAccess } from './runs/run-record';

/** A context of the kubeconfig the server reads. */
export interface KubeContext {
  name: string;
  /** The API server of its cluster. */
  server: string;
  /** Its default namespace, when it has one. */
  namespace?: string;
}

/** `GET /api/cluster?context=&tokenFile=&namespace=`: what the server can reach, and how. */
export interface ClusterReport {
  /** The server runs in a pod with a service account. */
  inCluster: boolean;
  /** The kubeconfig the server reads (KUBECONFIG, else ~/.kube/config), when there is one. */
  kubeconfig: { path: string; contexts: KubeContext[]; current: string | null } | null;
  /** How the server would reach Kubernetes with the asked connection, in a phrase ("kubeconfig context x"). */
  access: string | null;
  /** The notebook's pod (in a pod): its image by digest and its PVCs, the defaults of a cluster run. */
  pod: {
    name: string;
    namespace: string;
    image?: string;
    volumes: Array<{ claim: string; mountPath: string }>;
  } | null;
  /** The namespace a run goes to when the pipeline names none (the context's, else the pod's). */
  namespace: string | null;
  /** Whether the pod's volumes can be snapshotted (a VolumeSnapshotClass for their CSI driver). */
  snapshots: { available: boolean; reason?: string } | null;
  /** Kubeflow Pipelines: the endpoint used when none is set (in a pod), and whether a token was found. */
  kfp: { defaultEndpoint: string | null; token: boolean };
  /** What is wrong with the asked connection, by field (`context`, `tokenFile`, `cluster`). */
  problems: Array<{ field: 'context' | 'tokenFile' | 'cluster'; message: string }>;
}

/** `POST /api/compile`: the cluster YAML of the notebook as the user sees it. */
export interface CompileRequest {
  notebook: string;
  content?: unknown;
  target: 'kfp' | 'argo';
}

export interface CompileResult {
  /** A file name for the download: the pipeline's name and the target. */
  filename: string;
  text: string;
  warnings: string[];
}

/** `POST /api/kfp/pipelines`: compile for KFP and upload as a new version of the pipeline (created when missing). */
export interface UploadRequest {
  notebook: string;
  content?: unknown;
  connection?: ClusterAccess;
  /** The version's name; default: the pipeline's name and the time. */
  version?: string;
}

export interface UploadResult {
  pipelineId: string;
  pipelineName: string;
  versionId: string;
  versionName: string;
  /** Whether the pipeline was created by this upload (else a version was added to it). */
  created: boolean;
  /** The version in the KFP UI. */
  url: string;
  warnings: string[];
}
