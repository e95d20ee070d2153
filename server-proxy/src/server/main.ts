/**
 * Starts the cellpipe server: on a unix socket when run by jupyter-server-proxy
 * (`--socket PATH`), or on a loopback port (`--port N`) for tests and debugging.
 */
import { createServer, Server } from 'http';
import { existsSync, unlinkSync } from 'fs';
import { resolve } from 'path';
import { App, AppOptions, createApp } from './app';
import { serverLog } from './http-json';

declare const CELLPIPE_VERSION: string | undefined;

export type Listen = { socket: string } | { port: number; host: string };

export interface ServerOptions {
  listen: Listen;
  root: string;
  python: string;
  version: string;
  cluster?: AppOptions['cluster'];
  clusterPollMs?: number;
  /** `--no-warm` (or CELLPIPE_WARM=0): steps start as fresh Pythons instead of forks of warm ones. */
  warm?: boolean;
}

export function parseArgs(argv: readonly string[]): ServerOptions {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const common = {
    root: resolve(value('--root') ?? process.cwd()),
    python: value('--python') ?? process.env.CELLPIPE_PYTHON ?? 'python3',
    version: typeof CELLPIPE_VERSION === 'string' ? CELLPIPE_VERSION : 'dev',
    ...(argv.includes('--no-warm') ? { warm: false } : {})
  };
  const socket = value('--socket');
  if (socket) {
    return { listen: { socket }, ...common };
  }
  const port = Number(value('--port') ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port: expected a port number, got ${value('--port')}`);
  }
  return { listen: { port, host: value('--host') ?? '127.0.0.1' }, ...common };
}

export function startServer(options: ServerOptions): Promise<{ server: Server; app: App }> {
  const { listen } = options;
  const app = createApp(options);
  const server = createServer(app.listener);
  // Clients that keep connections open (Node's default agent, browsers) drop an idle one after about 5 s,
  // Node's own server default: at the same 5 s a client's next request can meet the server's close
  // (ECONNRESET). Closing later than the clients do leaves the close to them.
  server.keepAliveTimeout = 65_000;
  // A malformed request line or header: Node answers 400 and closes that connection; nothing else.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    } else {
      socket.destroy();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const ready = () => {
      server.off('error', reject);
      resolve({ server, app });
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
  // The server holds the runs of every notebook open in JupyterLab: a fault in one request or run is
  // logged whole and the server goes on, rather than taking every other run down with it.
  process.on('uncaughtException', err =>
    serverLog(`cellpipe server: uncaught error: ${err.stack ?? String(err)}`)
  );
  process.on('unhandledRejection', err =>
    serverLog(
      `cellpipe server: unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`
    )
  );
  const { server } = await startServer(parseArgs(process.argv.slice(2)));
  const address = server.address();
  process.stderr.write(
    `cellpipe server listening on ${typeof address === 'string' ? address : `${address?.address}:${address?.port}`}\n`
  );
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  // Deprecation warnings of bundled libraries (the Kubernetes client's fetch calls url.parse, DEP0169 on
  // Node >= 24) are for their authors; the Jupyter server log would only fill with noise.
  process.noDeprecation = true;
  run().catch(err => {
    process.stderr.write(`cellpipe server: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
