/** The server over real HTTP, on a unix socket (as behind jupyter-server-proxy) and on loopback. */
import { request, Server } from 'http';
import { mkdtempSync, existsSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startServer } from '../src/server/main';

function get(options: {
  socketPath?: string;
  port?: number;
  path: string;
  method?: string;
}): Promise<{ status: number; body: { error?: { code: string } } & Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', ...options }, res => {
      let text = '';
      res.on('data', chunk => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function close(server: Server): Promise<void> {
  return new Promise(resolve => server.close(() => resolve()));
}

describe('cellpipe server', () => {
  it('answers the health route on a unix socket and removes a stale socket file first', async () => {
    const socketPath = join(mkdtempSync(join(tmpdir(), 'cellpipe-')), 'server.sock');
    const first = await startServer({ socket: socketPath }, '1.2.3');
    // A server killed without cleanup leaves its socket file; the next start must still work.
    first.close();
    const server = await startServer({ socket: socketPath }, '1.2.3');
    try {
      const res = await get({ socketPath, path: '/api/health' });
      expect(res).toEqual({ status: 200, body: { status: 'ok', version: '1.2.3', node: process.version } });
      expect((await get({ socketPath, path: '/' })).status).toBe(200);
    } finally {
      await close(server);
    }
    expect(existsSync(socketPath)).toBe(false);
  });

  it('answers JSON errors for unknown routes and methods on a loopback port', async () => {
    const server = await startServer({ port: 0, host: '127.0.0.1' }, 'dev');
    const port = (server.address() as { port: number }).port;
    try {
      const missing = await get({ port, path: '/api/nope' });
      expect(missing).toEqual({
        status: 404,
        body: { error: { code: 'not-found', message: 'No route /api/nope' } }
      });
      const wrong = await get({ port, path: '/api/health', method: 'DELETE' });
      expect(wrong.status).toBe(405);
      expect(wrong.body.error?.code).toBe('method-not-allowed');
    } finally {
      await close(server);
    }
  });
});
