/**
 * nbformat 4 JSON → NotebookData. Tolerant where nbformat itself is (source as
 * a string or a list of lines, missing metadata), strict about what makes a
 * file not a notebook.
 */
import type { CellData, CellType, NotebookData } from './model';

/** The input is not an nbformat 4 notebook; the message names it. */
export class NotebookFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotebookFormatError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** nbformat multiline strings are a string or a list of strings that already carry their "\n". */
export function joinSource(source: unknown): string {
  if (typeof source === 'string') {
    return source;
  }
  if (Array.isArray(source)) {
    return source.map(part => (typeof part === 'string' ? part : '')).join('');
  }
  return '';
}

export function readNotebook(json: unknown, name: string): NotebookData {
  if (!isRecord(json)) {
    throw new NotebookFormatError(`${name} is not a notebook: expected a JSON object`);
  }
  if (typeof json.nbformat === 'number' && json.nbformat < 4) {
    throw new NotebookFormatError(
      `${name} is an nbformat ${json.nbformat} notebook; open and save it in JupyterLab to convert it to version 4`
    );
  }
  if (!Array.isArray(json.cells)) {
    throw new NotebookFormatError(`${name} is not a notebook: it has no "cells" list`);
  }
  const cells: CellData[] = json.cells.map((raw, index) => {
    if (!isRecord(raw)) {
      throw new NotebookFormatError(`${name}, cell ${index + 1}: expected an object`);
    }
    const type: CellType = raw.cell_type === 'code' || raw.cell_type === 'markdown' ? raw.cell_type : 'raw';
    const metadata = isRecord(raw.metadata) ? raw.metadata : {};
    const tags = Array.isArray(metadata.tags)
      ? metadata.tags.filter((t): t is string => typeof t === 'string')
      : [];
    const cell: CellData = {
      index,
      type,
      source: joinSource(raw.source).replace(/\r\n?/g, '\n'),
      tags
    };
    if (typeof raw.id === 'string') {
      cell.id = raw.id;
    }
    if (typeof metadata.notebook_path === 'string') {
      cell.notebookPath = metadata.notebook_path;
    }
    return cell;
  });
  return { name, cells, metadata: isRecord(json.metadata) ? json.metadata : {} };
}
