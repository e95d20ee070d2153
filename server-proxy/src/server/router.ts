/**
 * A small router: `METHOD /path/:param` patterns, JSON replies, or handlers that stream.
 *
 * Every request is read to its end before it is answered (a proxy that is still sending gets no broken
 * pipe), within a bound (413 beyond it). Anything but GET must be `application/json` (415): a cross-site
 * page can send a "simple" request (a form post) with the user's cookies, but not a JSON one without a CORS
 * preflight, which Jupyter refuses, and jupyter-server-proxy checks no XSRF. A path that is not valid
 * percent-encoding is a 400, and no handler's failure can take the server down.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import { HttpError, sendError, sendJson } from './http-json';

export interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The JSON body of a request that is not a GET (an object; `{}` when empty). */
  body: Record<string, unknown>;
}

/** A JSON reply, or nothing when the handler wrote the response itself (streams). */
export type Reply = { status: number; body: unknown } | void;
export type Handler = (ctx: Context) => Promise<Reply> | Reply;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

/** Request bodies over this are refused: the largest is a notebook's content sent with a run. */
export const MAX_BODY = 64 * 1024 * 1024;
/** Beyond the bound, this much more is still read (and dropped) so the client sees the 413. */
const MAX_DRAIN = 4 * MAX_BODY;

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, parts: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    // A client that goes away mid-request is no error of the server.
    req.on('error', () => res.destroy());
    res.on('error', () => req.destroy());
    this.dispatch(req, res).catch(err => sendError(res, err));
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let url: URL;
    let parts: string[];
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
      parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new HttpError(400, 'invalid-url', 'The request path is not a valid URL (bad percent-encoding).');
    }
    const matches = this.routes
      .map(route => ({ route, params: match(route.parts, parts) }))
      .filter((m): m is { route: Route; params: Record<string, string> } => m.params !== null);
    if (matches.length === 0) {
      throw new HttpError(404, 'not-found', `No route ${url.pathname}`);
    }
    const found = matches.find(m => m.route.method === req.method);
    if (!found) {
      throw new HttpError(405, 'method-not-allowed', `${req.method} is not allowed on ${url.pathname}`);
    }
    if (raw === 'too-large') {
      throw new HttpError(413, 'too-large', `The request body is over ${MAX_BODY / 1024 / 1024} MiB.`);
    }
    let body: Record<string, unknown> = {};
    if (req.method !== 'GET') {
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        throw new HttpError(415, 'json-required', 'Send state-changing requests as application/json.');
      }
      body = parseJson(raw);
    }
    const reply = await found.route.handler({
      req,
      res,
      params: found.params,
      query: url.searchParams,
      body
    });
    if (reply) {
      sendJson(res, reply.status, reply.body);
    }
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

/** The whole body (bounded), or 'too-large' once the rest has been read and dropped. */
async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_DRAIN) {
      req.destroy(); // a client that keeps sending is cut off
      break;
    }
    if (size <= MAX_BODY) {
      chunks.push(chunk as Buffer);
    }
  }
  return size > MAX_BODY ? 'too-large' : Buffer.concat(chunks);
}

/** The request's JSON body (an object), or a 400 that says what is wrong. */
function parseJson(raw: Buffer | 'too-large'): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8') || '{}');
  } catch {
    throw new HttpError(400, 'invalid-json', 'The request body is not valid JSON.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid-request', 'The request body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}
