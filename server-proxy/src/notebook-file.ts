/**
 * Reading a notebook from disk for the CLI and the server. Failures become a
 * `NotebookFileError` whose message names the file and says what is wrong.
 */
import { readFile } from 'fs/promises';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'path';
import { loadReferencedNotebooks } from '../../src/core/composition/references';
import type { NotebookData } from '../../src/core/notebook/model';
import { NotebookFormatError, readNotebook } from '../../src/core/notebook/read';
import type { AnalyzeOptions } from '../../src/core/pipeline';

export class NotebookFileError extends Error {
  /** What is wrong, without the path. */
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = 'NotebookFileError';
    this.reason = reason;
  }
}

export async function loadNotebookFile(path: string): Promise<NotebookData> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : String(err);
    throw new NotebookFileError(path, `cannot read the notebook: ${reason}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NotebookFileError(
      path,
      `not a notebook: the file is not valid JSON (${(err as Error).message})`
    );
  }
  try {
    return readNotebook(json, basename(path));
  } catch (err) {
    if (err instanceof NotebookFormatError) {
      throw new NotebookFileError(path, err.message);
    }
    throw err;
  }
}

/**
 * What the core needs to analyse the notebook at `file` with its `notebook:` steps: its path as messages
 * name it, relative to `base` (for the CLI the notebook's folder, as `notebook_path`s are written; for the
 * server the Jupyter root, as the frontend names files), and the notebooks it runs, read from disk. With
 * `confine`, a reference outside `base` cannot be read.
 */
export async function analysisOptions(
  file: string,
  notebook: NotebookData,
  base = dirname(resolve(file)),
  confine = false
): Promise<AnalyzeOptions> {
  const label = (path: string) => {
    const rel = relative(base, path);
    return (isAbsolute(rel) || rel.startsWith('..') ? path : rel).split(sep).join('/');
  };
  const path = label(resolve(file));
  const resolver = await loadReferencedNotebooks(path, notebook, async reference => {
    const full = resolve(base, reference);
    const rel = relative(base, full);
    if (confine && (rel.startsWith('..') || isAbsolute(rel))) {
      throw new Error('it is outside the Jupyter root directory');
    }
    try {
      return await loadNotebookFile(full);
    } catch (err) {
      // The core names the notebook itself: the reason alone (the lib target has no Error `cause` option).
      throw Object.assign(new Error(err instanceof NotebookFileError ? err.reason : String(err)), {
        cause: err
      });
    }
  });
  return { path, resolver };
}
