/**
 * The cellpipe server's routes. Behind jupyter-server-proxy the prefix
 * (`<base_url>cellpipe/`) is already stripped, so paths here start at `/`.
 */
import type { RequestListener } from 'http';
import { Router } from './router';
import { RunService, RunServiceOptions } from './run-service';
import { addClusterRoutes } from './cluster-api';
import { addRunRoutes } from './runs-api';
import { addScheduleRoutes } from './schedules-api';
import { addSweepRoutes } from './sweeps-api';

export interface AppOptions {
  version: string;
  /** The Jupyter root directory: every notebook path is confined to it. */
  root: string;
  /** The Python that runs steps. */
  python: string;
  /** Cluster access (tests point it at a loopback server); default: from the environment. */
  cluster?: RunServiceOptions['cluster'];
  clusterPollMs?: number;
  /** False: fresh step processes (`--no-warm`); default: warm Pythons unless CELLPIPE_WARM=0. */
  warm?: boolean;
}

export interface App {
  listener: RequestListener;
  runs: RunService;
}

export function createApp(options: AppOptions): App {
  const runs = new RunService(options.python, {
    root: options.root,
    cluster: options.cluster,
    clusterPollMs: options.clusterPollMs,
    warm: options.warm
  });
  const router = new Router()
    // jupyter-server-proxy's readiness probe: any quick answer will do.
    .add('GET', '/', () => ({ status: 200, body: { name: 'cellpipe' } }))
    .add('GET', '/api/health', () => ({
      status: 200,
      body: { status: 'ok', version: options.version, node: process.version }
    }));
  addRunRoutes(router, options.root, runs);
  addClusterRoutes(router, options.root, runs);
  addSweepRoutes(router, options.root, runs, options.python);
  addScheduleRoutes(router, options.root, runs);
  return { listener: (req, res) => router.handle(req, res), runs };
}
