/**
 * Starts the cellpipe server: on a unix socket when run by jupyter-server-proxy
 * (`--socket PATH`), or on a loopback port (`--port N`) for tests and debugging.
 */
import { createServer, Server } from 'http';
import { existsSync, unlinkSync } from 'fs';
import { createApp } from './app';

declare const CELLPIPE_VERSION: string | undefined;

export type Listen = { socket: string } | { port: number; host: string };

export function parseArgs(argv: readonly string[]): Listen {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const socket = value('--socket');
  if (socket) {
    return { socket };
  }
  const port = Number(value('--port') ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port: expected a port number, got ${value('--port')}`);
  }
  return { port, host: value('--host') ?? '127.0.0.1' };
}

export function startServer(listen: Listen, version: string): Promise<Server> {
  const server = createServer(createApp({ version }));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const ready = () => {
      server.off('error', reject);
      resolve(server);
    };
    if ('socket' in listen) {
      if (existsSync(listen.socket)) {
        unlinkSync(listen.socket); // left behind by a server that was killed
      }
      server.listen(listen.socket, ready);
    } else {
      server.listen(listen.port, listen.host, ready);
    }
  });
}

async function run(): Promise<void> {
  const listen = parseArgs(process.argv.slice(2));
  const server = await startServer(listen, typeof CELLPIPE_VERSION === 'string' ? CELLPIPE_VERSION : 'dev');
  const address = server.address();
  process.stderr.write(
    `cellpipe server listening on ${typeof address === 'string' ? address : `${address?.address}:${address?.port}`}\n`
  );
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  run().catch(err => {
    process.stderr.write(`cellpipe server: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
