/**
 * The cellpipe server's routes. Behind jupyter-server-proxy the prefix
 * (`<base_url>cellpipe/`) is already stripped, so paths here start at `/`.
 */
import type { IncomingMessage, RequestListener } from 'http';
import { HttpError, sendError, sendJson } from './http-json';

export interface AppInfo {
  version: string;
}

type Handler = (
  req: IncomingMessage
) => Promise<{ status: number; body: unknown }> | { status: number; body: unknown };

export function createApp(info: AppInfo): RequestListener {
  const routes: Record<string, Partial<Record<string, Handler>>> = {
    // jupyter-server-proxy's readiness probe: any quick answer will do.
    '/': { GET: () => ({ status: 200, body: { name: 'cellpipe' } }) },
    '/api/health': {
      GET: () => ({ status: 200, body: { status: 'ok', version: info.version, node: process.version } })
    }
  };
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = routes[path];
    const handler = route?.[req.method ?? 'GET'];
    Promise.resolve()
      .then(() => {
        if (!route) {
          throw new HttpError(404, 'not-found', `No route ${path}`);
        }
        if (!handler) {
          throw new HttpError(405, 'method-not-allowed', `${req.method} is not allowed on ${path}`);
        }
        return handler(req);
      })
      .then(
        ({ status, body }) => sendJson(res, status, body),
        err => sendError(res, err)
      );
  };
}
