import { diffLineage, lineageLines, RunLineage, StepLineage } from '../lineage';
import type { RunRecord } from '../run-record';

function step(extra: Partial<StepLineage> = {}): StepLineage {
  return { program: 'sha256:aaaa', parameters: {}, inputs: {}, ...extra };
}

function run(id: string, lineage: RunLineage | undefined, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    notebook: '/nb.ipynb',
    pipeline: 'nb',
    status: 'succeeded',
    started: '2026-01-01T00:00:00Z',
    parameters: {},
    order: lineage ? Object.keys(lineage.steps) : ['a'],
    plan: { deps: {}, cacheKeys: {}, reuse: {} },
    steps: {},
    metrics: {},
    lineage,
    ...extra
  };
}

describe('the diff of two runs', () => {
  it('says what changed by kind: steps, code, parameters, data, environment', () => {
    const a = run('a', {
      steps: {
        load: step({ outputs: { df: 'sha256:1111' } }),
        fit: step({
          program: 'sha256:bbbb',
          parameters: { n: { type: 'int', value: 1 }, mode: { type: 'str', value: 'x' } },
          inputs: { df: { step: 'load', run: 'a', hash: 'sha256:1111' } },
          image: 'img@sha256:01'
        }),
        old: step()
      },
      workspace: { snapshots: [{ claim: 'home', snapshot: 'cellpipe-a-home' }] },
      environment: { python: '3.11.2', packages: { numpy: '1.26.0', pandas: '2.1.0' } }
    });
    const b = run('b', {
      steps: {
        load: step(),
        fit: step({
          program: 'sha256:cccc',
          parameters: { n: { type: 'int', value: 2 } },
          inputs: { df: { step: 'load', run: 'b', hash: 'sha256:2222' }, y: { step: 'load' } },
          image: 'img@sha256:02'
        }),
        new: step()
      },
      workspace: { snapshots: [{ claim: 'home', snapshot: 'cellpipe-b-home' }] },
      environment: { python: '3.11.7', packages: { numpy: '2.0.0', scipy: '1.13.0' } }
    });
    expect(diffLineage(a, b).map(c => [c.kind, c.text])).toEqual([
      ['steps', 'step new is new'],
      ['steps', 'step old is gone'],
      ['code', 'fit: the step program changed (its cells, or what it receives)'],
      ['parameters', 'fit: parameter n 1 → 2'],
      ['parameters', 'fit: parameter mode "x" → (not read)'],
      ['data', 'fit: input df (from load) changed: 1111 → 2222'],
      ['data', 'fit: now reads y (from load)'],
      ['data', 'workspace volumes home@cellpipe-a-home → home@cellpipe-b-home'],
      ['environment', 'fit: image img@sha256:01 → img@sha256:02'],
      ['environment', 'Python 3.11.2 → 3.11.7'],
      ['environment', 'package numpy 1.26.0 → 2.0.0'],
      ['environment', 'package pandas 2.1.0 removed'],
      ['environment', 'package scipy 1.13.0 added']
    ]);
  });

  it('names the workspace files that changed when both manifests are known', () => {
    const l = (hash: string): RunLineage => ({ steps: { a: step() }, workspace: { hash }, environment: {} });
    const changes = diffLineage(run('a', l('h1')), run('b', l('h2')), {
      filesA: { 'data.csv': '1', 'old.txt': '2', 'same.txt': '3' },
      filesB: { 'data.csv': '9', 'new.txt': '4', 'same.txt': '3' }
    });
    expect(changes.map(c => c.text)).toEqual([
      'workspace files changed: data.csv, new.txt (new), old.txt (gone)'
    ]);
    expect(diffLineage(run('a', l('h1')), run('b', l('h1')))).toEqual([]);
  });

  it('compares the parameters and workspace of a run recorded without lineage', () => {
    const a = run('a', undefined, { parameters: { n: { type: 'int', value: 1 } }, workspace: 'w1' });
    const b = run(
      'b',
      { steps: { a: step() }, workspace: { hash: 'w2' }, environment: {} },
      {
        parameters: { n: { type: 'int', value: 3 } },
        workspace: 'w2'
      }
    );
    expect(diffLineage(a, b).map(c => c.text)).toEqual(['parameter n 1 → 3', 'workspace changed: w1 → w2']);
  });
});

describe('the lineage lines of a run', () => {
  it('shows inputs from an earlier run (a cached provider) with the run', () => {
    const r = run('r2', {
      steps: {
        fit: step({ inputs: { df: { step: 'load', run: 'r1', hash: 'sha256:0123456789abcdef' } } })
      },
      workspace: { snapshots: [{ claim: 'home' }] },
      environment: {}
    });
    expect(lineageLines(r)).toEqual([
      'Workspace volume home: mounted as it was',
      'fit: program aaaa',
      '  input df from load of run r1 (0123456789ab)'
    ]);
  });
});
