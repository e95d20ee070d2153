/**
 * Which Python runs a notebook's steps by default: the one of the notebook's
 * kernel spec, as Jupyter would start it. A kernel spec whose command is plain
 * `python` means "the Python Jupyter runs on" (jupyter_client does the same).
 */
import { execFile } from 'child_process';
import { basename } from 'path';
import type { NotebookData } from '../../src/core/notebook/model';

const LOOKUP = [
  'import json, sys',
  'from jupyter_client.kernelspec import KernelSpecManager',
  'print(json.dumps(KernelSpecManager().get_kernel_spec(sys.argv[1]).argv))'
].join('\n');

export interface KernelPython {
  python: string;
  /** Why this Python: the kernel spec, or why it could not be used. */
  reason: string;
}

export function kernelSpecName(notebook: NotebookData): string | undefined {
  const spec = notebook.metadata.kernelspec as { name?: unknown } | undefined;
  return typeof spec?.name === 'string' ? spec.name : undefined;
}

export function kernelPython(notebook: NotebookData, jupyterPython: string): Promise<KernelPython> {
  const name = kernelSpecName(notebook);
  if (!name) {
    return Promise.resolve({ python: jupyterPython, reason: 'the notebook names no kernel' });
  }
  return new Promise(resolve => {
    execFile(jupyterPython, ['-c', LOOKUP, name], { timeout: 30000 }, (err, stdout) => {
      let argv: unknown;
      try {
        argv = err ? null : JSON.parse(stdout);
      } catch {
        argv = null;
      }
      if (!Array.isArray(argv) || typeof argv[0] !== 'string') {
        resolve({
          python: jupyterPython,
          reason: `kernel spec "${name}" was not found; using Jupyter's Python`
        });
      } else if (/^python[\d.]*$/.test(basename(argv[0])) && !argv[0].includes('/')) {
        resolve({ python: jupyterPython, reason: `kernel spec "${name}" runs Jupyter's own Python` });
      } else {
        resolve({ python: argv[0], reason: `kernel spec "${name}"` });
      }
    });
  });
}
