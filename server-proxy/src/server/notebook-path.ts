/** Notebook paths from requests, confined to the Jupyter root directory. */
import { existsSync } from 'fs';
import { isAbsolute, relative, resolve } from 'path';
import { HttpError } from './http-json';

export function confinedNotebookPath(root: string, requested: unknown): string {
  if (typeof requested !== 'string' || requested === '') {
    throw new HttpError(
      400,
      'invalid-request',
      'Give the notebook as a path relative to the Jupyter root ("notebook").'
    );
  }
  const full = resolve(root, requested.replace(/^\/+/, ''));
  const rel = relative(root, full);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new HttpError(403, 'outside-root', `${requested} is outside the Jupyter root directory.`);
  }
  if (!full.endsWith('.ipynb')) {
    throw new HttpError(400, 'not-a-notebook', `${requested} is not a notebook (.ipynb).`);
  }
  if (!existsSync(full)) {
    throw new HttpError(404, 'no-such-notebook', `There is no notebook ${requested}.`);
  }
  return full;
}
