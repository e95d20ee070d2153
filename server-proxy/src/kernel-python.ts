/**
 * Which Python runs a notebook's steps by default: the one of the notebook's
 * kernel spec, as Jupyter would start it. A kernel spec whose command is plain
 * `python` means "the Python Jupyter runs on" (jupyter_client does the same).
 */
import { execFile } from 'child_process';
import { basename } from 'path';
import type { NotebookData } from '../../src/core/notebook/model';

// The spec's kernel.json, found as jupyter_client finds it (the first of Jupyter's kernel folders holding a
// folder of that name, case aside) with jupyter_core alone: importing jupyter_client costs about ten times
// as much, and the run waits for this answer. A name no folder has (the native python3 kernel of
// ipykernel) is asked of jupyter_client itself.
const LOOKUP = `
import json, os, sys
from jupyter_core.paths import jupyter_path
name = sys.argv[1].lower()
for folder in jupyter_path("kernels"):
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        continue
    for entry in entries:
        spec = os.path.join(folder, entry, "kernel.json")
        if entry.lower() == name and os.path.isfile(spec):
            with open(spec, encoding="utf-8") as f:
                print(json.dumps(json.load(f)["argv"]))
            sys.exit(0)
from jupyter_client.kernelspec import KernelSpecManager
print(json.dumps(KernelSpecManager().get_kernel_spec(sys.argv[1]).argv))
`;

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
    execFile(jupyterPython, ['-c', LOOKUP, name], { timeout: 30000, env: process.env }, (err, stdout) => {
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
