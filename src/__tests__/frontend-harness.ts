/**
 * What the frontend's DOM tests share: a real NotebookPanel (JupyterLab's widgets on its in-memory
 * contents service) holding a notebook of tagged cells, its NotebookPipeline with the real Python
 * analyser, and the real cellpipe server (the built bundle, as its own process) on loopback behind a
 * `cellpipe/` prefix as jupyter-server-proxy serves it, its run events read from its event stream and
 * delivered to the models as the plugin's EventSource delivers them.
 */
import { ChildProcess, spawn } from 'child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'fs';
import { createServer, get, IncomingMessage, request, Server } from 'http';
import { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { PageConfig } from '@jupyterlab/coreutils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { NBTestUtils } from '@jupyterlab/notebook/lib/testutils';
import { Widget } from '@lumino/widgets';
import { PythonAnalyser } from '../core/analysis';
import type { RunEvent } from '../core/runs/run-record';
import { NotebookPipeline } from '../pipeline/notebook-pipeline';
import { locateWasmNode } from '../../server-proxy/src/wasm-node';

export type TestCell = ['markdown', string] | [string[], string];

const REPO = join(__dirname, '..', '..');
const VENV_PYTHON = join(REPO, '.venv', 'bin', 'python');
export const PYTHON = existsSync(VENV_PYTHON) ? VENV_PYTHON : 'python3';

let analyser: Promise<PythonAnalyser> | null = null;
export function nodeAnalyser(): Promise<PythonAnalyser> {
  analyser ??= PythonAnalyser.create(locateWasmNode);
  return analyser;
}

/** nbformat JSON of markdown and tagged code cells. */
export function notebookJson(
  cells: TestCell[],
  metadata: Record<string, unknown> = {}
): Record<string, unknown> {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }, ...metadata },
    cells: cells.map(([kind, source], i) =>
      kind === 'markdown'
        ? { cell_type: 'markdown', id: `c${i}`, metadata: {}, source }
        : {
            cell_type: 'code',
            id: `c${i}`,
            metadata: { tags: kind },
            execution_count: null,
            outputs: [],
            source
          }
    )
  };
}

/** A NotebookPanel attached to the document, holding `cells`, with its pipeline analysed. */
export async function openPipeline(
  cells: TestCell[],
  options: { path?: string; metadata?: Record<string, unknown> } = {}
): Promise<NotebookPipeline> {
  const context = await NBTestUtils.createMockContext(false);
  context.model.fromJSON(notebookJson(cells, options.metadata) as never);
  if (options.path) {
    // The runs are found beside the notebook on the server, by its path under the server's root.
    Object.defineProperty(context, 'path', { value: options.path });
  }
  const panel: NotebookPanel = NBTestUtils.createNotebookPanel(context);
  Widget.attach(panel, document.body);
  const pipeline = new NotebookPipeline(panel, nodeAnalyser());
  await until(() => pipeline.pipeline.analysis !== null);
  return pipeline;
}

/** Resolves once `check` holds (the models change in later tasks), or fails after `ms`. */
export async function until(check: () => boolean, ms = 20000, what = 'the condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}

export interface TestServer {
  root: string;
  /** Writes a notebook file under the root; returns its path relative to it. */
  notebook(name: string, cells: TestCell[]): string;
  /** Where the run events go (the plugin feeds each notebook's RunsModel). */
  onEvent(listener: (event: RunEvent) => void): void;
  close(): Promise<void>;
}

const SERVER_BUNDLE = join(REPO, 'cellpipe', 'js', 'server.js');

/** Starts the built server on a free loopback port; resolves with its port once it listens. */
function startServerProcess(root: string): Promise<{ child: ChildProcess; port: number }> {
  if (!existsSync(SERVER_BUNDLE)) {
    throw new Error(`${SERVER_BUNDLE} is missing: run npm run build first`);
  }
  const child = spawn(process.execPath, [SERVER_BUNDLE, '--port', '0', '--root', root, '--python', PYTHON], {
    stdio: ['ignore', 'inherit', 'pipe']
  });
  return new Promise((resolve, reject) => {
    let said = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      const port = /listening on [\d.]+:(\d+)/.exec(said)?.[1];
      if (port) {
        resolve({ child, port: Number(port) });
      }
    });
    child.on('exit', code => reject(new Error(`the cellpipe server exited (${code}): ${said}`)));
  });
}

/** The real cellpipe server on loopback, as JupyterLab reaches it: `<base_url>cellpipe/`. */
export async function startTestServer(): Promise<TestServer> {
  const root = mkdtempSync(join(tmpdir(), 'cellpipe-frontend-'));
  const { child, port: serverPort } = await startServerProcess(root);
  // What jupyter-server-proxy does: `<base_url>cellpipe/PATH` reaches the server as `/PATH`.
  const proxy: Server = createServer((req, res) => {
    const upstream = request(
      {
        host: '127.0.0.1',
        port: serverPort,
        method: req.method,
        path: (req.url ?? '/').replace(/^\/cellpipe(?=\/)/, ''),
        headers: req.headers
      },
      answer => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      }
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  PageConfig.setOption('baseUrl', `http://127.0.0.1:${port}/`);

  // The event stream, read as server-sent events: one `data:` line per event.
  const listeners: Array<(event: RunEvent) => void> = [];
  const events = await new Promise<IncomingMessage>(resolve =>
    get({ host: '127.0.0.1', port: serverPort, path: '/api/events' }, resolve)
  );
  let buffered = '';
  events.setEncoding('utf8');
  events.on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const message = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = /^data: (.*)$/m.exec(message)?.[1];
      if (data) {
        const event = JSON.parse(data) as RunEvent;
        listeners.forEach(listener => listener(event));
      }
    }
  });
  return {
    root,
    notebook(name, cells) {
      writeFileSync(join(root, name), JSON.stringify(notebookJson(cells)));
      return name;
    },
    onEvent: listener => listeners.push(listener),
    async close() {
      events.destroy();
      proxy.closeAllConnections();
      await new Promise(resolve => proxy.close(resolve));
      const exited = new Promise(resolve => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  };
}
