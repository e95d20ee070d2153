/** The run the run-state tests of the core and the frontend start from: load → train, both queued. */
import type { RunRecord } from '../run-record';

export function runRecord(over: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 'r1',
    notebook: 'a.ipynb',
    pipeline: 'a',
    status: 'running',
    started: '2026-11-30T10:00:00.000Z',
    parameters: { n: { type: 'int', value: 3 } },
    order: ['load', 'train'],
    plan: { deps: { load: [], train: ['load'] }, cacheKeys: {}, reuse: {} },
    steps: { load: { status: 'queued', cached: false }, train: { status: 'queued', cached: false } },
    metrics: {},
    ...over
  };
}
