/**
 * The notebooks of the cluster tests (jest and the UI tests): tagged code cells with `cellpipe` settings,
 * and the small sales pipeline most of them run.
 */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/** A notebook of code cells, each with its tags, and `cellpipe` settings in its metadata. */
export function taggedNotebook(
  settings: Record<string, unknown>,
  cells: Array<[tags: string[], source: string]>
): Record<string, unknown> {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      cellpipe: settings
    },
    cells: cells.map(([tags, source]) => ({
      cell_type: 'code',
      execution_count: null,
      metadata: { tags },
      outputs: [],
      source
    }))
  };
}

/** Writes `notebook` as `name` into a fresh folder; returns its path. */
export function writeNotebookFile(name: string, notebook: Record<string, unknown>): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cellpipe-cluster-')), name);
  writeFileSync(path, JSON.stringify(notebook));
  return path;
}

/** A small tagged notebook for the cluster tests: parameters, three steps passing data, a metric. */
export function clusterNotebook(settings: Record<string, unknown>): Record<string, unknown> {
  return taggedNotebook({ name: 'sales', ...settings }, [
    [['pipeline-parameters'], 'rate = 0.5'],
    [['step:load_data'], 'data = [1, 2, 3]'],
    [['step:train', 'prev:load_data'], 'model = sum(data) * rate'],
    [['step:evaluate', 'prev:train'], 'accuracy = model / 10'],
    [['pipeline-metrics'], 'accuracy']
  ]);
}

/** Writes the notebook into a fresh folder; returns its path. */
export function writeClusterNotebook(settings: Record<string, unknown>): string {
  return writeNotebookFile('sales.ipynb', clusterNotebook(settings));
}
