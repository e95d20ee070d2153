/**
 * Notebook paths from requests, confined to the Jupyter root directory. Symbolic links are resolved: a
 * notebook, or a folder a run would write into (`.cellpipe/` and its runs, objects and cache), that is a
 * link to somewhere outside the root is refused like a path outside it.
 */
import { realpathSync } from 'fs';
import { dirname, isAbsolute, join, relative, resolve } from 'path';
import { HttpError } from './http-json';

/** What a run of a notebook writes beside it: none of these may lead out of the root. */
const RUN_FOLDERS = [
  '.cellpipe',
  '.cellpipe/runs',
  '.cellpipe/objects',
  '.cellpipe/cache',
  '.cellpipe/index.json'
];

export function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The real path, or null when nothing is there. */
function real(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

export function confinedNotebookPath(root: string, requested: unknown): string {
  if (typeof requested !== 'string' || requested === '') {
    throw new HttpError(
      400,
      'invalid-request',
      'Give the notebook as a path relative to the Jupyter root ("notebook").'
    );
  }
  if (requested.includes('\0')) {
    throw new HttpError(400, 'invalid-request', 'A notebook path cannot contain a NUL character.');
  }
  const outside = () =>
    new HttpError(403, 'outside-root', `${requested} is outside the Jupyter root directory.`);
  const realRoot = real(root) ?? resolve(root);
  const full = resolve(realRoot, requested.replace(/^\/+/, ''));
  if (!inside(realRoot, full)) {
    throw outside();
  }
  if (!full.endsWith('.ipynb')) {
    throw new HttpError(400, 'not-a-notebook', `${requested} is not a notebook (.ipynb).`);
  }
  const notebook = real(full);
  if (!notebook) {
    throw new HttpError(404, 'no-such-notebook', `There is no notebook ${requested}.`);
  }
  if (!inside(realRoot, notebook)) {
    throw outside(); // a link (to the notebook or a folder above it) that leads out of the root
  }
  for (const folder of RUN_FOLDERS) {
    const target = real(join(dirname(notebook), folder));
    if (target && !inside(realRoot, target)) {
      throw new HttpError(
        403,
        'outside-root',
        `${folder} beside ${requested} links outside the Jupyter root directory; cellpipe does not write there.`
      );
    }
  }
  // The notebook as reached inside the root: its runs go beside it, in the root.
  return notebook;
}
