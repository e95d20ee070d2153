/**
 * Reading a notebook from disk for the CLI and the server. Failures become a
 * `NotebookFileError` whose message names the file and says what is wrong.
 */
import { readFile } from 'fs/promises';
import { basename } from 'path';
import type { NotebookData } from '../../src/core/notebook/model';
import { NotebookFormatError, readNotebook } from '../../src/core/notebook/read';

export class NotebookFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotebookFileError';
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
    throw new NotebookFileError(`${path}: cannot read the notebook: ${reason}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NotebookFileError(
      `${path}: not a notebook: the file is not valid JSON (${(err as Error).message})`
    );
  }
  try {
    return readNotebook(json, basename(path));
  } catch (err) {
    if (err instanceof NotebookFormatError) {
      throw new NotebookFileError(`${path}: ${err.message}`);
    }
    throw err;
  }
}
