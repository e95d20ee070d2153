/**
 * Notebooks that run other notebooks (Kale 2.x `notebook:` cells): where a
 * reference points, and the resolver through which the core reads the
 * referenced notebooks. The core does no I/O: each shell loads the notebooks
 * (the CLI and the server from disk, the frontend through the Jupyter
 * contents API) with `loadReferencedNotebooks` and hands the core the result.
 *
 * Paths are POSIX paths as the shell names files (relative to the Jupyter
 * root in the frontend and the server, as given on the command line in the
 * CLI). A `notebook_path` is relative to the folder of the notebook that
 * holds the cell, as Kale's examples write them (`./notebook_a.ipynb`).
 */
import type { NotebookData } from '../notebook/model';
import { parseCellTags } from '../tags/grammar';

export type ResolvedNotebook =
  | { notebook: NotebookData }
  /** The notebook cannot be read; `error` says why, for the user. */
  | { error: string }
  /** Still being read (the frontend re-analyses when it arrives). */
  | { pending: true };

/** What the shells give the core: the referenced notebooks, by the path `referencePath` gives. */
export interface NotebookResolver {
  get(path: string): ResolvedNotebook;
}

/** `a/./b/../c` → `a/c`; keeps a leading `/` and leading `..` that cannot be resolved. */
export function normalizePath(path: string): string {
  const absolute = path.startsWith('/');
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') {
      continue;
    }
    if (part === '..' && parts.length > 0 && parts[parts.length - 1] !== '..') {
      parts.pop();
    } else if (part !== '..' || !absolute) {
      parts.push(part);
    }
  }
  const joined = parts.join('/');
  return absolute ? `/${joined}` : joined || '.';
}

function folderOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash + 1) || '/';
}

/** The path of the notebook a `notebook_path` in the notebook at `from` refers to. */
export function referencePath(from: string, notebookPath: string): string {
  return normalizePath(notebookPath.startsWith('/') ? notebookPath : folderOf(from) + notebookPath);
}

/** `to` as a user reads it from the notebook at `from`: relative to its folder when inside it. */
export function pathFrom(from: string, to: string): string {
  const folder = folderOf(from);
  return folder && to.startsWith(folder) ? to.slice(folder.length) : to;
}

/**
 * `to` relative to the folder of the notebook at `from` (`..` where it is outside), both named as the
 * resolver names them; a path that cannot be made relative (one absolute, the other not) as it is.
 */
export function relativePath(from: string, to: string): string {
  if (to.startsWith('/') !== from.startsWith('/')) {
    return to;
  }
  const parts = (path: string) =>
    normalizePath(path)
      .split('/')
      .filter(p => p !== '' && p !== '.');
  const base = parts(folderOf(from) || '.');
  const target = parts(to);
  let common = 0;
  while (common < base.length && common < target.length - 1 && base[common] === target[common]) {
    common++;
  }
  return [...base.slice(common).map(() => '..'), ...target.slice(common)].join('/');
}

/** The `notebook:` cells of a notebook and the path each refers to (as written). */
export function notebookReferences(notebook: NotebookData): Array<{ cell: number; path: string }> {
  const refs: Array<{ cell: number; path: string }> = [];
  for (const cell of notebook.cells) {
    if (
      cell.type === 'code' &&
      cell.notebookPath !== undefined &&
      cell.tags.some(t => t.startsWith('notebook:'))
    ) {
      if (parseCellTags(cell.tags, cell.index).role.kind === 'notebook') {
        refs.push({ cell: cell.index, path: cell.notebookPath });
      }
    }
  }
  return refs;
}

/** A resolver over notebooks already read. */
export class NotebookMap implements NotebookResolver {
  constructor(private readonly notebooks: ReadonlyMap<string, ResolvedNotebook> = new Map()) {}

  get(path: string): ResolvedNotebook {
    return this.notebooks.get(path) ?? { error: 'it was not read' };
  }
}

/**
 * Reads every notebook `root` refers to, directly or through the notebooks it
 * refers to, each once (a cycle of references ends the walk; the analysis
 * reports it). `read` throws an Error whose message says why a notebook
 * cannot be read.
 */
export async function loadReferencedNotebooks(
  rootPath: string,
  root: NotebookData,
  read: (path: string) => Promise<NotebookData>
): Promise<NotebookMap> {
  const found = new Map<string, ResolvedNotebook>([[normalizePath(rootPath), { notebook: root }]]);
  let frontier: Array<{ path: string; notebook: NotebookData }> = [{ path: rootPath, notebook: root }];
  while (frontier.length > 0) {
    const next: Array<{ path: string; notebook: NotebookData }> = [];
    const wanted = new Set<string>();
    for (const { path, notebook } of frontier) {
      for (const ref of notebookReferences(notebook)) {
        const target = referencePath(path, ref.path);
        if (!found.has(target)) {
          wanted.add(target);
        }
      }
    }
    await Promise.all(
      [...wanted].map(async target => {
        try {
          const notebook = await read(target);
          found.set(target, { notebook });
          next.push({ path: target, notebook });
        } catch (err) {
          found.set(target, { error: err instanceof Error ? err.message : String(err) });
        }
      })
    );
    frontier = next;
  }
  return new NotebookMap(found);
}
