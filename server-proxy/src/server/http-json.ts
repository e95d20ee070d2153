/**
 * JSON over Node's http: replies and errors in one shape, `{error: {code, message}}`. An error that is not
 * an `HttpError` is a bug or an unexpected failure: the server log gets it whole (with a reference), the
 * answer gets a sentence and the reference, never a stack or a server path.
 */
import { randomBytes } from 'crypto';
import type { ServerResponse } from 'http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store'
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown, log: (line: string) => void = serverLog): void {
  if (err instanceof HttpError) {
    sendJson(res, err.status, { error: { code: err.code, message: err.message } });
    return;
  }
  const reference = randomBytes(4).toString('hex');
  log(
    `cellpipe server: internal error ${reference}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`
  );
  sendJson(res, 500, {
    error: {
      code: 'internal',
      message:
        `cellpipe's server failed to answer this request (reference ${reference} in the server log, ` +
        'which JupyterLab writes to its terminal). Try again; if it persists, report it with that log.'
    }
  });
}

export function serverLog(line: string): void {
  process.stderr.write(`${line}\n`);
}
