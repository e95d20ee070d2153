/** Tagged notebooks for the cluster tests: a small one with parameters, three steps passing data, a metric. */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/** A notebook of code cells, each `[tags, source]`, with cellpipe's pipeline settings. */
export function taggedNotebook(
  cells: Array<[string[], string]>,
  settings: Record<string, unknown>
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

export function clusterNotebook(settings: Record<string, unknown>): Record<string, unknown> {
  return taggedNotebook(
    [
      [['pipeline-parameters'], 'rate = 0.5'],
      [['step:load_data'], 'data = [1, 2, 3]'],
      [['step:train', 'prev:load_data'], 'model = sum(data) * rate'],
      [['step:evaluate', 'prev:train'], 'accuracy = model / 10'],
      [['pipeline-metrics'], 'accuracy']
    ],
    { name: 'sales', ...settings }
  );
}

/** Writes the notebook into a fresh folder (default: the small one); returns its path. */
export function writeClusterNotebook(
  settings: Record<string, unknown>,
  notebook = clusterNotebook(settings),
  name = 'sales.ipynb'
): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cellpipe-cluster-')), name);
  writeFileSync(path, JSON.stringify(notebook));
  return path;
}
