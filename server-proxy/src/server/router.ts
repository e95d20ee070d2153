/** A small router: `METHOD /path/:param` patterns, JSON replies, or handlers that stream. */
import type { IncomingMessage, ServerResponse } from 'http';
import { HttpError, sendError, sendJson } from './http-json';

export interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
}

/** A JSON reply, or nothing when the handler wrote the response itself (streams). */
export type Reply = { status: number; body: unknown } | void;
export type Handler = (ctx: Context) => Promise<Reply> | Reply;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, parts: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const matches = this.routes
      .map(route => ({ route, params: match(route.parts, parts) }))
      .filter((m): m is { route: Route; params: Record<string, string> } => m.params !== null);
    Promise.resolve()
      .then(() => {
        if (matches.length === 0) {
          throw new HttpError(404, 'not-found', `No route ${url.pathname}`);
        }
        const found = matches.find(m => m.route.method === req.method);
        if (!found) {
          throw new HttpError(405, 'method-not-allowed', `${req.method} is not allowed on ${url.pathname}`);
        }
        // jupyter-server-proxy does not check XSRF. A cross-site page can send a "simple" request (a form
        // post) with the user's cookies, but not an application/json one without a CORS preflight, which
        // Jupyter refuses: so every request that changes something must say it is JSON.
        if (req.method !== 'GET' && !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
          throw new HttpError(415, 'json-required', 'Send state-changing requests as application/json.');
        }
        return found.route.handler({ req, res, params: found.params, query: url.searchParams });
      })
      .then(
        reply => {
          if (reply) {
            sendJson(res, reply.status, reply.body);
          }
        },
        err => (res.headersSent ? res.end() : sendError(res, err))
      );
  }
}

function match(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) {
    return null;
  }
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i].startsWith(':')) {
      params[pattern[i].slice(1)] = parts[i];
    } else if (pattern[i] !== parts[i]) {
      return null;
    }
  }
  return params;
}

const MAX_BODY = 64 * 1024 * 1024;

/** The request's JSON body (an object), or a 400 that says what is wrong. */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) {
      throw new HttpError(413, 'too-large', 'The request body is over 64 MiB.');
    }
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new HttpError(400, 'invalid-json', 'The request body is not valid JSON.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid-request', 'The request body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}
