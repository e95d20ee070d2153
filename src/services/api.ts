/**
 * Typed calls to the cellpipe server, through JupyterLab's server connection
 * (base URL, auth, XSRF), so they work under JupyterHub too.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type * as nbformat from '@jupyterlab/nbformat';
import type {
  ClusterReport,
  CompileRequest,
  CompileResult,
  UploadRequest,
  UploadResult
} from '../core/cluster-api';
import type {
  ClusterAccess,
  RunEvent,
  RunRecord,
  StartRunRequest,
  StepRecord
} from '../core/runs/run-record';
import type { ScheduleView } from '../core/schedules/schedule';
import type { StepInputs } from '../core/runs/step-inputs';
import type { SweepRecord } from '../core/sweeps/sweep-record';

/** jupyter-server-proxy serves the cellpipe server under this prefix. */
const PREFIX = 'cellpipe';

export interface Health {
  status: 'ok';
  version: string;
  node: string;
}

/** A refused request, with the server's error code (e.g. `no-snapshot-class`) for the UI to act on. */
export class ApiError extends ServerConnection.ResponseError {
  constructor(
    response: Response,
    message: string,
    readonly code?: string
  ) {
    super(response, message);
  }
}

export async function requestApi<T>(path: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, PREFIX, path);
  let response: Response;
  try {
    // The server takes state-changing requests only as JSON (its guard against cross-site posts).
    const headers = new Headers(init.headers);
    if ((init.method ?? 'GET') !== 'GET' && !headers.has('Content-Type')) {
      headers.set('Content-Type', 'application/json');
    }
    response = await ServerConnection.makeRequest(url, { ...init, headers }, settings);
  } catch (err) {
    throw new ServerConnection.NetworkError(err as TypeError);
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text for the error below
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(response, error?.message ?? (text || response.statusText), error?.code);
  }
  return body as T;
}

export function getHealth(): Promise<Health> {
  return requestApi<Health>('api/health');
}

// --- cluster and compile ---------------------------------------------------

/** What the server can reach with `access` (pod, kubeconfig contexts, snapshots, KFP token), for the settings. */
export function getClusterReport(access: ClusterAccess, namespace?: string): Promise<ClusterReport> {
  const query = new URLSearchParams();
  if (access.context) {
    query.set('context', access.context);
  }
  if (access.tokenFile) {
    query.set('tokenFile', access.tokenFile);
  }
  if (namespace) {
    query.set('namespace', namespace);
  }
  return requestApi(`api/cluster?${query}`);
}

export function compilePipeline(request: CompileRequest): Promise<CompileResult> {
  return requestApi('api/compile', { method: 'POST', body: JSON.stringify(request) });
}

export function uploadToKfp(request: UploadRequest): Promise<UploadResult> {
  return requestApi('api/kfp/pipelines', { method: 'POST', body: JSON.stringify(request) });
}

// --- runs ------------------------------------------------------------------

export function startRun(request: StartRunRequest): Promise<{ run: string }> {
  return requestApi<{ run: string }>('api/runs', { method: 'POST', body: JSON.stringify(request) });
}

export function listRuns(notebook: string): Promise<{ runs: RunRecord[] }> {
  return requestApi(`api/runs?notebook=${encodeURIComponent(notebook)}`);
}

/** Takes over the notebook's runs whose owner is gone (a POST: it may resume them). */
export function adoptRuns(notebook: string): Promise<{ adopted: string[] }> {
  return requestApi('api/runs/adopt', { method: 'POST', body: JSON.stringify({ notebook }) });
}

export function getRun(notebook: string, run: string): Promise<RunRecord> {
  return requestApi(`api/runs/${encodeURIComponent(run)}?notebook=${encodeURIComponent(notebook)}`);
}

export function cancelRun(run: string): Promise<unknown> {
  return requestApi(`api/runs/${encodeURIComponent(run)}/cancel`, { method: 'POST', body: '{}' });
}

// --- sweeps ----------------------------------------------------------------

export interface StartSweepRequest {
  notebook: string;
  /** The live notebook (nbformat JSON). */
  content?: unknown;
  /** `NAME=V1,V2` or `NAME=MIN..MAX[:log]`, one per swept parameter. */
  params: string[];
  random?: number;
  maxParallel?: number;
  /** `METRIC:max|min` */
  objective?: string;
}

export function startSweep(request: StartSweepRequest): Promise<{ sweep: string; record: SweepRecord }> {
  return requestApi('api/sweeps', { method: 'POST', body: JSON.stringify(request) });
}

export function listSweeps(notebook: string): Promise<{ sweeps: SweepRecord[] }> {
  return requestApi(`api/sweeps?notebook=${encodeURIComponent(notebook)}`);
}

export function getSweep(notebook: string, sweep: string): Promise<SweepRecord> {
  return requestApi(`api/sweeps/${encodeURIComponent(sweep)}?notebook=${encodeURIComponent(notebook)}`);
}

export function cancelSweep(sweep: string): Promise<unknown> {
  return requestApi(`api/sweeps/${encodeURIComponent(sweep)}/cancel`, { method: 'POST', body: '{}' });
}

// --- schedules -------------------------------------------------------------

export interface CreateScheduleRequest {
  notebook: string;
  /** The live notebook (nbformat JSON). */
  content?: unknown;
  cron: string;
  timezone?: string;
  target?: 'argo' | 'kfp';
  name?: string;
  parameters?: Record<string, string>;
}

export function createSchedule(request: CreateScheduleRequest): Promise<{ schedule: ScheduleView }> {
  return requestApi('api/schedules', { method: 'POST', body: JSON.stringify(request) });
}

export function listSchedules(notebook: string): Promise<{ schedules: ScheduleView[] }> {
  return requestApi(`api/schedules?notebook=${encodeURIComponent(notebook)}`);
}

/** Records (and the server follows) the runs the notebook's schedules started since last asked. */
export function recordScheduledRuns(notebook: string): Promise<{ recorded: string[] }> {
  return requestApi('api/schedules/runs', { method: 'POST', body: JSON.stringify({ notebook }) });
}

export function pauseSchedule(notebook: string, name: string, paused: boolean): Promise<unknown> {
  return requestApi(`api/schedules/${encodeURIComponent(name)}/${paused ? 'pause' : 'resume'}`, {
    method: 'POST',
    body: JSON.stringify({ notebook })
  });
}

export function deleteSchedule(notebook: string, name: string): Promise<unknown> {
  return requestApi(`api/schedules/${encodeURIComponent(name)}?notebook=${encodeURIComponent(notebook)}`, {
    method: 'DELETE'
  });
}

export interface StepDetail extends StepRecord {
  /** nbformat outputs of each of the step's cells, by notebook cell index. */
  outputs: Record<string, nbformat.IOutput[]> | null;
  metrics: Record<string, unknown> | null;
}

export function getStep(notebook: string, run: string, step: string): Promise<StepDetail> {
  return requestApi(
    `api/runs/${encodeURIComponent(run)}/steps/${encodeURIComponent(step)}?notebook=${encodeURIComponent(notebook)}`
  );
}

export function getStepInputs(notebook: string, run: string, step: string): Promise<StepInputs> {
  return requestApi(
    `api/runs/${encodeURIComponent(run)}/steps/${encodeURIComponent(step)}/inputs?notebook=${encodeURIComponent(notebook)}`,
    { method: 'POST', body: '{}' }
  );
}

/**
 * Streams a step's log: calls `onText` with each new piece until the step has finished or `signal`
 * aborts. Goes through JupyterLab's server connection like every other request.
 */
export async function followLog(
  notebook: string,
  run: string,
  step: string,
  onText: (text: string) => void,
  signal: AbortSignal
): Promise<void> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(
    settings.baseUrl,
    PREFIX,
    `api/runs/${encodeURIComponent(run)}/logs/${encodeURIComponent(step)}?follow=1&notebook=${encodeURIComponent(notebook)}`
  );
  const response = await ServerConnection.makeRequest(url, { signal }, settings);
  if (!response.ok || !response.body) {
    throw new ServerConnection.ResponseError(response, `Could not read the log of step ${step}.`);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    onText(decoder.decode(value, { stream: true }));
  }
}

/**
 * The server's live run events (server-sent events; the browser reconnects by itself). `onOpen` runs at
 * each (re)connection: what changed while disconnected must be read again.
 */
export function runEvents(onEvent: (event: RunEvent) => void, onOpen: () => void): EventSource {
  const settings = ServerConnection.makeSettings();
  const source = new EventSource(URLExt.join(settings.baseUrl, PREFIX, 'api/events'), {
    withCredentials: true
  });
  source.onopen = onOpen;
  source.onmessage = message => {
    try {
      onEvent(JSON.parse(message.data) as RunEvent);
    } catch {
      // a malformed event is ignored; the next run record read corrects the view
    }
  };
  return source;
}
