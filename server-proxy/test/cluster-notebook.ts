/** A small tagged notebook for the cluster tests: parameters, three steps passing data, a metric. */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

export function clusterNotebook(settings: Record<string, unknown>): Record<string, unknown> {
  const cell = (tags: string[], source: string) => ({
    cell_type: 'code',
    execution_count: null,
    metadata: { tags },
    outputs: [],
    source
  });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      cellpipe: { name: 'sales', ...settings }
    },
    cells: [
      cell(['pipeline-parameters'], 'rate = 0.5'),
      cell(['step:load_data'], 'data = [1, 2, 3]'),
      cell(['step:train', 'prev:load_data'], 'model = sum(data) * rate'),
      cell(['step:evaluate', 'prev:train'], 'accuracy = model / 10'),
      cell(['pipeline-metrics'], 'accuracy')
    ]
  };
}

/** Writes the notebook into a fresh folder; returns its path. */
export function writeClusterNotebook(settings: Record<string, unknown>): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cellpipe-cluster-')), 'sales.ipynb');
  writeFileSync(path, JSON.stringify(clusterNotebook(settings)));
  return path;
}
