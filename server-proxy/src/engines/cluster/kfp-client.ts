/**
 * A small client of the Kubeflow Pipelines REST API v2beta1 (snake_case JSON, as in the swagger): create a
 * run with the pipeline spec inline, read it back with its task details, terminate it. Bearer token: the
 * one given (`--token-file`), else the projected KFP token or the pod's service-account token.
 */
import { readFileSync } from 'fs';
import { bodyMessage, ClusterError, clusterError, errorForStatus, networkCode } from './cluster-errors';
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
  /** The task's executions: their pods (the last is the latest attempt). */
  child_tasks?: { task_id?: string; pod_name?: string }[];
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
  /** The spec it was created with inline (the IR, or `{pipeline_spec, platform_spec}`). */
  pipeline_spec?: unknown;
  /** The uploaded version it runs instead (a recurring run's runs): no inline spec then. */
  pipeline_version_reference?: { pipeline_id?: string; pipeline_version_id?: string };
  runtime_config?: { parameters?: Record<string, unknown>; pipeline_root?: string };
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

/** A v2beta1 RecurringRun (KFP's schedule), as the API answers it. */
export interface KfpRecurringRun {
  recurring_run_id: string;
  display_name?: string;
  description?: string;
  pipeline_version_reference?: { pipeline_id: string; pipeline_version_id: string };
  runtime_config?: { parameters?: Record<string, unknown> };
  /** int64, written by protojson as a string. */
  max_concurrency?: string;
  trigger?: { cron_schedule?: { cron: string; start_time?: string; end_time?: string } };
  mode?: 'MODE_UNSPECIFIED' | 'ENABLE' | 'DISABLE';
  status?: 'STATUS_UNSPECIFIED' | 'ENABLED' | 'DISABLED';
  no_catchup?: boolean;
  experiment_id?: string;
  namespace?: string;
  created_at?: string;
  updated_at?: string;
  error?: { message?: string };
}

export type KfpCreateRecurringRun = Omit<
  KfpRecurringRun,
  'recurring_run_id' | 'status' | 'created_at' | 'updated_at' | 'error'
>;

/** A v2beta1 Pipeline, as the API and the upload endpoint answer it (snake_case, as protojson writes it). */
export interface KfpPipeline {
  pipeline_id: string;
  name?: string;
  display_name?: string;
  namespace?: string;
  created_at?: string;
}

export interface KfpPipelineVersion {
  pipeline_id: string;
  pipeline_version_id: string;
  name?: string;
  display_name?: string;
  created_at?: string;
  /** As uploaded: the IR, or `{pipeline_spec, platform_spec}` (only when one version is read). */
  pipeline_spec?: unknown;
}

/** A compiled pipeline to upload: its file name (KFP reads the extension) and YAML text. */
export interface PipelineFile {
  filename: string;
  text: string;
}

/** The multipart form KFP's upload endpoints read: the file in the field `uploadfile`. */
function uploadForm(file: PipelineFile): FormData {
  const form = new FormData();
  form.append('uploadfile', new Blob([file.text], { type: 'application/x-yaml' }), file.filename);
  return form;
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
      throw new ClusterError(
        'bad-token-file',
        `The KFP token file ${tokenFile} cannot be read or is empty. Give the path of a file holding the ` +
          'bearer token (in a Kubeflow notebook pod: /var/run/secrets/kubeflow/pipelines/token).'
      );
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

  createRecurringRun(run: KfpCreateRecurringRun): Promise<KfpRecurringRun> {
    return this.call<KfpRecurringRun>(
      'POST',
      '/apis/v2beta1/recurringruns',
      run,
      'create the KFP recurring run'
    );
  }

  getRecurringRun(id: string): Promise<KfpRecurringRun> {
    return this.call<KfpRecurringRun>(
      'GET',
      `/apis/v2beta1/recurringruns/${encodeURIComponent(id)}`,
      undefined,
      `read KFP recurring run ${id}`
    );
  }

  /** Enables (`enable`) or disables (`disable`) a recurring run: KFP starts no run while it is disabled. */
  async setRecurringRun(id: string, action: 'enable' | 'disable'): Promise<void> {
    await this.call(
      'POST',
      `/apis/v2beta1/recurringruns/${encodeURIComponent(id)}:${action}`,
      {},
      `${action} KFP recurring run ${id}`
    );
  }

  async deleteRecurringRun(id: string): Promise<void> {
    await this.call(
      'DELETE',
      `/apis/v2beta1/recurringruns/${encodeURIComponent(id)}`,
      undefined,
      `delete KFP recurring run ${id}`
    );
  }

  /** The runs of an experiment, newest first (a recurring run's carry its `recurring_run_id`). */
  async listRuns(experimentId: string): Promise<Array<KfpRun & { recurring_run_id?: string }>> {
    const query = new URLSearchParams({
      experiment_id: experimentId,
      page_size: '100',
      sort_by: 'created_at desc'
    });
    if (this.namespace) {
      query.set('namespace', this.namespace);
    }
    const list = await this.call<{ runs?: Array<KfpRun & { recurring_run_id?: string }> }>(
      'GET',
      `/apis/v2beta1/runs?${query}`,
      undefined,
      'list the KFP runs'
    );
    return list.runs ?? [];
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

  /** The KFP UI page of a pipeline version. */
  versionUrl(pipelineId: string, versionId: string): string {
    return `${process.env.CELLPIPE_KFP_UI_URL?.replace(/\/+$/, '') ?? this.base}/#/pipelines/details/${pipelineId}/version/${versionId}`;
  }

  /** The pipeline of that name (KFP's unique `name`) in the namespace, or null when there is none. */
  async pipelineByName(name: string): Promise<KfpPipeline | null> {
    const query = this.namespace ? `?${new URLSearchParams({ namespace: this.namespace })}` : '';
    try {
      return await this.call<KfpPipeline>(
        'GET',
        `/apis/v2beta1/pipelines/names/${encodeURIComponent(name)}${query}`,
        undefined,
        `look up the KFP pipeline ${name}`
      );
    } catch (err) {
      if (err instanceof ClusterError && err.code === 'not-found') {
        return null;
      }
      throw err;
    }
  }

  /** Uploads a pipeline file as a new pipeline (with its first version) in the namespace. */
  uploadPipeline(file: PipelineFile, name: string, description: string): Promise<KfpPipeline> {
    const query = new URLSearchParams({ name, display_name: name, description });
    if (this.namespace) {
      query.set('namespace', this.namespace);
    }
    return this.call<KfpPipeline>(
      'POST',
      `/apis/v2beta1/pipelines/upload?${query}`,
      uploadForm(file),
      `upload the pipeline ${name} to KFP`
    );
  }

  /** Uploads a pipeline file as a new version of the pipeline `pipelineId`. */
  uploadPipelineVersion(file: PipelineFile, pipelineId: string, name: string): Promise<KfpPipelineVersion> {
    const query = new URLSearchParams({ name, display_name: name, pipelineid: pipelineId });
    return this.call<KfpPipelineVersion>(
      'POST',
      `/apis/v2beta1/pipelines/upload_version?${query}`,
      uploadForm(file),
      `upload version ${name} of the KFP pipeline`
    );
  }

  /** The versions of a pipeline, newest first (the first is the one an upload of a new pipeline made). */
  async latestVersion(pipelineId: string): Promise<KfpPipelineVersion | undefined> {
    const query = new URLSearchParams({ page_size: '1', sort_by: 'created_at desc' });
    const list = await this.call<{ pipeline_versions?: KfpPipelineVersion[] }>(
      'GET',
      `/apis/v2beta1/pipelines/${encodeURIComponent(pipelineId)}/versions?${query}`,
      undefined,
      'list the versions of the KFP pipeline'
    );
    return list.pipeline_versions?.[0];
  }

  getPipelineVersion(pipelineId: string, versionId: string): Promise<KfpPipelineVersion> {
    return this.call<KfpPipelineVersion>(
      'GET',
      `/apis/v2beta1/pipelines/${encodeURIComponent(pipelineId)}/versions/${encodeURIComponent(versionId)}`,
      undefined,
      `read version ${versionId} of the KFP pipeline`
    );
  }

  private async call<T>(method: string, path: string, body: unknown, action: string): Promise<T> {
    const attempt = { action, namespace: this.namespace, server: this.base, service: 'Kubeflow Pipelines' };
    let response: Response;
    const form = body instanceof FormData;
    const send = () =>
      fetch(this.base + path, {
        method,
        headers: {
          Accept: 'application/json',
          // fetch sets the multipart boundary itself for a FormData body.
          ...(body === undefined || form ? {} : { 'Content-Type': 'application/json' }),
          ...(this.token ? { Authorization: `Bearer ${this.token}` } : {})
        },
        body: body === undefined ? undefined : form ? body : JSON.stringify(body)
      });
    try {
      response = await send().catch(err => {
        // A kept-alive connection the server (or a proxy in front of it) closed as this read went out:
        // a read is asked again once, on a new connection, as browsers and Go's client do. A write is
        // not, since the server may have carried it out.
        if (method === 'GET' && /^(ECONNRESET|EPIPE|UND_ERR_SOCKET)$/.test(networkCode(err) ?? '')) {
          return send();
        }
        throw err;
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
