/**
 * A small client of the Kubeflow Pipelines REST API v2beta1 (snake_case JSON, as in the swagger): create a
 * run with the pipeline spec inline, read it back with its task details, terminate it. Bearer token: the
 * one given (`--token-file`), else the projected KFP token or the pod's service-account token.
 */
import { readFileSync } from 'fs';
import { bodyMessage, clusterError, errorForStatus } from './cluster-errors';
import { serviceAccountToken } from './kube-client';

export const DEFAULT_KFP_ENDPOINT = 'http://ml-pipeline.kubeflow.svc.cluster.local:8888';
const KFP_TOKEN_PATH = '/var/run/secrets/kubeflow/pipelines/token';

export type KfpState =
  | 'RUNTIME_STATE_UNSPECIFIED'
  | 'PENDING'
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'SKIPPED'
  | 'FAILED'
  | 'CANCELING'
  | 'CANCELED'
  | 'PAUSED';

export interface KfpTaskDetail {
  task_id?: string;
  display_name?: string;
  state?: KfpState;
  start_time?: string;
  end_time?: string;
  create_time?: string;
  pod_name?: string;
  error?: { message?: string };
}

export interface KfpRun {
  run_id: string;
  display_name?: string;
  experiment_id?: string;
  state?: KfpState;
  error?: { message?: string };
  created_at?: string;
  finished_at?: string;
  run_details?: { task_details?: KfpTaskDetail[] };
}

export interface KfpCreateRun {
  display_name: string;
  description?: string;
  experiment_id?: string;
  /** The IR, or `{pipeline_spec, platform_spec}` when there is a platform spec (as the SDK sends it). */
  pipeline_spec: unknown;
  runtime_config?: { parameters?: Record<string, unknown>; pipeline_root?: string };
  service_account?: string;
}

/** The token: a file's contents, else KF_PIPELINES_SA_TOKEN_PATH / the projected KFP token, else the SA token. */
export function kfpToken(tokenFile?: string): string | undefined {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  };
  if (tokenFile) {
    const token = read(tokenFile);
    if (!token) {
      throw new Error(`--token-file ${tokenFile}: cannot read a token from it`);
    }
    return token;
  }
  return read(process.env.KF_PIPELINES_SA_TOKEN_PATH ?? KFP_TOKEN_PATH) ?? serviceAccountToken();
}

export class KfpClient {
  private readonly base: string;

  constructor(
    endpoint: string,
    private readonly token: string | undefined,
    private readonly namespace?: string
  ) {
    this.base = endpoint.replace(/\/+$/, '');
  }

  /** The KFP UI page of a run (the UI is served beside the API behind the Kubeflow gateway). */
  runUrl(runId: string): string {
    return `${process.env.CELLPIPE_KFP_UI_URL?.replace(/\/+$/, '') ?? this.base}/#/runs/details/${runId}`;
  }

  createRun(run: KfpCreateRun): Promise<KfpRun> {
    return this.call<KfpRun>('POST', '/apis/v2beta1/runs', run, 'create the KFP run');
  }

  getRun(runId: string): Promise<KfpRun> {
    return this.call<KfpRun>(
      'GET',
      `/apis/v2beta1/runs/${encodeURIComponent(runId)}`,
      undefined,
      `read KFP run ${runId}`
    );
  }

  async terminateRun(runId: string): Promise<void> {
    await this.call(
      'POST',
      `/apis/v2beta1/runs/${encodeURIComponent(runId)}:terminate`,
      {},
      `terminate KFP run ${runId}`
    );
  }

  /**
   * The experiment runs go into: in multi-user Kubeflow a run belongs to the namespace of its experiment,
   * so one named `name` is looked up in the namespace and created when missing.
   */
  async experimentId(name: string): Promise<string | undefined> {
    if (!this.namespace) {
      return undefined;
    }
    const query = new URLSearchParams({ namespace: this.namespace, page_size: '200' });
    const list = await this.call<{ experiments?: { experiment_id: string; display_name: string }[] }>(
      'GET',
      `/apis/v2beta1/experiments?${query}`,
      undefined,
      'list the KFP experiments'
    );
    const found = list.experiments?.find(e => e.display_name === name);
    if (found) {
      return found.experiment_id;
    }
    const created = await this.call<{ experiment_id: string }>(
      'POST',
      '/apis/v2beta1/experiments',
      { display_name: name, namespace: this.namespace },
      `create the KFP experiment ${name}`
    );
    return created.experiment_id;
  }

  private async call<T>(method: string, path: string, body: unknown, action: string): Promise<T> {
    const attempt = { action, namespace: this.namespace, server: this.base, service: 'Kubeflow Pipelines' };
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers: {
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(this.token ? { Authorization: `Bearer ${this.token}` } : {})
        },
        body: body === undefined ? undefined : JSON.stringify(body)
      });
    } catch (err) {
      throw clusterError(err, attempt);
    }
    const text = await response.text();
    if (!response.ok) {
      throw errorForStatus(response.status, bodyMessage(text), attempt);
    }
    try {
      return (text ? JSON.parse(text) : {}) as T;
    } catch {
      throw errorForStatus(502, `not JSON: ${text.slice(0, 200)}`, attempt);
    }
  }
}
