/**
 * Typed calls to the cellpipe server, through JupyterLab's server connection
 * (base URL, auth, XSRF), so they work under JupyterHub too.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** jupyter-server-proxy serves the cellpipe server under this prefix. */
const PREFIX = 'cellpipe';

export interface Health {
  status: 'ok';
  version: string;
  node: string;
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
    const message =
      (body as { error?: { message?: string } } | null)?.error?.message ?? (text || response.statusText);
    throw new ServerConnection.ResponseError(response, message);
  }
  return body as T;
}

export function getHealth(): Promise<Health> {
  return requestApi<Health>('api/health');
}
