import { NotebookFormatError, readCellTags, readNotebook } from '../read';

describe('reading nbformat 4', () => {
  it('accepts sources as strings or lists of lines and keeps tags', () => {
    const nb = readNotebook(
      {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: { kernelspec: { name: 'python3' } },
        cells: [
          { cell_type: 'code', id: 'a1', source: ['x = 1\n', 'y = 2'], metadata: { tags: ['step:a', 7] } },
          { cell_type: 'markdown', source: '# title', metadata: {} },
          { cell_type: 'code', source: 'z = 3\r\n' }
        ]
      },
      'n.ipynb'
    );
    expect(nb.cells).toEqual([
      {
        index: 0,
        type: 'code',
        source: 'x = 1\ny = 2',
        tags: ['step:a'],
        tagsProblem: 'metadata.tags has entries that are not strings; every tag must be a string',
        id: 'a1'
      },
      { index: 1, type: 'markdown', source: '# title', tags: [] },
      { index: 2, type: 'code', source: 'z = 3\n', tags: [] }
    ]);
    expect(nb.metadata).toEqual({ kernelspec: { name: 'python3' } });
    expect(nb.name).toBe('n.ipynb');
  });

  it.each([
    [[], 'n.ipynb is not a notebook: expected a JSON object'],
    [{ nbformat: 3, worksheets: [] }, 'n.ipynb is an nbformat 3 notebook'],
    [{ nbformat: 4 }, 'n.ipynb is not a notebook: it has no "cells" list'],
    [{ nbformat: 4, cells: [1] }, 'n.ipynb, cell 1: expected an object']
  ])('rejects %j, naming the notebook', (json, message) => {
    expect(() => readNotebook(json, 'n.ipynb')).toThrow(NotebookFormatError);
    expect(() => readNotebook(json, 'n.ipynb')).toThrow(message);
  });
});

describe('cell tags', () => {
  it('reads a list of strings, and says what is wrong with anything else instead of reading no tags', () => {
    expect(readCellTags(['step:a', 'prev:b'])).toEqual({ tags: ['step:a', 'prev:b'] });
    expect(readCellTags(undefined)).toEqual({ tags: [] });
    expect(readCellTags('step:load')).toEqual({
      tags: [],
      problem: 'metadata.tags is the string "step:load", not a list: write it as ["step:load"]'
    });
    expect(readCellTags({ step: 'a' }).problem).toBe('metadata.tags must be a list of strings, not object');
  });
});
