/**
 * What the frontend's DOM tests share: a real NotebookPanel (JupyterLab's widgets on its in-memory
 * contents service) holding a notebook of tagged cells, its NotebookPipeline with the real Python
 * analyser, and the real cellpipe server on loopback behind a `cellpipe/` prefix as jupyter-server-proxy
 * serves it, its run events delivered to the models as the plugin's EventSource delivers them.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'fs';
import { createServer, Server } from 'http';
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
import { createApp } from '../../server-proxy/src/server/app';
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

/** The real cellpipe server on loopback, as JupyterLab reaches it: `<base_url>cellpipe/`. */
export async function startTestServer(): Promise<TestServer> {
  const root = mkdtempSync(join(tmpdir(), 'cellpipe-frontend-'));
  const app = createApp({ version: 'test', root, python: PYTHON });
  const server: Server = createServer((req, res) => {
    req.url = (req.url ?? '/').replace(/^\/cellpipe(?=\/)/, '');
    app.listener(req, res);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  PageConfig.setOption('baseUrl', `http://127.0.0.1:${port}/`);
  return {
    root,
    notebook(name, cells) {
      writeFileSync(join(root, name), JSON.stringify(notebookJson(cells)));
      return name;
    },
    onEvent: listener => app.runs.events.on('event', listener),
    async close() {
      await app.runs.settle();
      server.closeAllConnections();
      await new Promise(resolve => server.close(resolve));
    }
  };
}
