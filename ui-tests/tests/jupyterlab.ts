/** What the UI tests (and the browser benchmark) do again and again in JupyterLab. */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { Locator, TestInfo } from '@playwright/test';

/** Saves `content` as a notebook at `path` (through JupyterLab's contents API) and opens it. */
export async function openNotebook(
  page: IJupyterLabPageFixture,
  path: string,
  content: unknown
): Promise<void> {
  await saveNotebook(page, path, content);
  await page.notebook.openByPath(path);
  await page.notebook.activate(path.split('/').pop()!);
}

/** Writes a notebook through the contents API (without opening it). */
export async function saveNotebook(
  page: IJupyterLabPageFixture,
  path: string,
  content: unknown
): Promise<void> {
  await page.evaluate(
    async ({ path, content }) => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- galata exposes the app on window, untyped
      await (window as any).jupyterapp.serviceManager.contents.save(path, {
        type: 'notebook',
        format: 'json',
        content
      });
    },
    { path, content }
  );
}

/** Runs a JupyterLab command; what it returns (a widget…) stays in the page. */
export async function runCommand(
  page: IJupyterLabPageFixture,
  command: string,
  args: Record<string, unknown> = {}
): Promise<void> {
  await page.evaluate(
    async ({ id, args }) => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- galata exposes the app on window, untyped
      await (window as any).jupyterapp.commands.execute(id, args);
    },
    { id: command, args }
  );
}

/** Opens the cellpipe sidebar and waits for its analysis of the notebook to show `steps` steps. */
export async function openSidebar(
  page: IJupyterLabPageFixture,
  steps: number,
  timeout = 30_000
): Promise<Locator> {
  await runCommand(page, 'cellpipe:open-sidebar');
  const sidebar = page.locator('#cellpipe-sidebar');
  await expect(sidebar.locator('.jp-cellpipe-Summary')).toContainText(`${steps} steps`, { timeout });
  return sidebar;
}

/** A screenshot of the page, attached to the test's report. */
export async function shot(page: IJupyterLabPageFixture, testInfo: TestInfo, name: string): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

/** An nbformat notebook of code cells with the given tags and sources. */
export function codeNotebook(
  cells: Array<[string[], string]>,
  metadata: Record<string, unknown> = {}
): unknown {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }, ...metadata },
    cells: cells.map(([tags, source], i) => ({
      cell_type: 'code',
      id: `cell-${i}`,
      metadata: { tags },
      execution_count: null,
      outputs: [],
      source
    }))
  };
}
