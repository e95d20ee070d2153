/**
 * The flow rules on hand-made cell analyses, so each case states exactly the
 * reads and writes it is about. End-to-end cases on real Python are in
 * pipeline.spec.ts.
 */
import type { CellAnalysis, Deferred, FlowEvent } from '../../analysis/types';
import { buildGraph } from '../../graph/dag';
import { groupSteps } from '../../graph/steps';
import type { CellData } from '../../notebook/model';
import type { CellRole } from '../../tags/grammar';
import { computeFlow, FlowResult, MetricRef } from '../flow';

type Role = CellRole | 'imports' | 'functions' | 'metrics' | 'params';

/** `'r:x w:y m:df d:z'` → events; `w:f(k)` binds f with deferred read k; `w:f(k;!c)` also writes c. */
function events(spec: string): FlowEvent[] {
  const out: FlowEvent[] = [];
  spec
    .split(/\s+/)
    .filter(t => t && t !== '*')
    .forEach((token, i) => {
      const [op, rest] = token.split(':');
      const m = /^(\w+)(?:\((.*)\))?(\[(\w+)\])?$/.exec(rest)!;
      const pos = { name: m[1], line: i + 1, column: 0 };
      if (op === 'r') {
        out.push({ kind: 'read', ...pos });
        return;
      }
      const how = op === 'w' ? 'bind' : op === 'm' ? 'mutate' : 'delete';
      const event: FlowEvent = { kind: 'write', how, ...pos };
      if (m[2] !== undefined) {
        const deferred: Deferred = { reads: [], writes: [] };
        for (const part of m[2].split(';').filter(Boolean)) {
          if (part.startsWith('!')) {
            deferred.writes.push({ name: part.slice(1), line: 1, column: 0, how: 'bind' });
          } else {
            deferred.reads.push({ name: part, line: 1, column: 0 });
          }
        }
        event.deferred = deferred;
      }
      if (m[4]) {
        event.unserialisable = m[4] as 'file';
      }
      out.push(event);
    });
  return out;
}

function step(name: string, ...prev: string[]): CellRole {
  return { kind: 'step', name, prev, limits: {}, annotations: {}, labels: {} };
}

interface Case {
  cells: Array<[Role, string]>;
  parameters?: string[];
  metrics?: Array<[number, string]>;
}

function run(c: Case): FlowResult {
  const cells: CellData[] = c.cells.map((_, index) => ({ index, type: 'code', source: '', tags: [] }));
  const roles = new Map<number, CellRole>();
  c.cells.forEach(([role], i) => {
    const kind = role === 'metrics' ? 'pipeline-metrics' : role === 'params' ? 'pipeline-parameters' : role;
    roles.set(i, typeof kind === 'string' ? ({ kind } as CellRole) : kind);
  });
  const grouping = groupSteps(cells, roles);
  const analyses = new Map<number, CellAnalysis>(
    c.cells.map(([, spec], i) => [
      i,
      {
        events: events(spec),
        issues: spec.split(/\s+/).includes('*')
          ? [{ code: 'star-import', message: 'from m import *', line: 1, column: 0, detail: 'm' }]
          : []
      }
    ])
  );
  const metrics: MetricRef[] = (c.metrics ?? []).map(([cell, name], i) => ({ cell, name, line: i + 1 }));
  return computeFlow({
    grouping,
    graph: buildGraph(grouping.steps),
    analyses,
    parameters: new Set(c.parameters ?? []),
    metrics,
    isBuiltin: n => ['len', 'print', 'range', 'input'].includes(n)
  });
}

const codes = (r: FlowResult) => r.diagnostics.map(d => `${d.severity}:${d.code}:${d.name ?? ''}`);
const io = (r: FlowResult, s: string) => {
  const f = r.steps.get(s)!;
  return { ins: f.ins, outs: f.outs };
};

describe('variable flow', () => {
  it('passes a variable from a step to its downstream step, and only that', () => {
    const r = run({
      cells: [
        [step('a'), 'w:x w:tmp'],
        [step('b', 'a'), 'r:x w:y r:y']
      ]
    });
    expect(io(r, 'a')).toEqual({ ins: [], outs: ['x'] });
    expect(io(r, 'b')).toEqual({ ins: ['x'], outs: [] });
    expect(r.steps.get('b')!.sources).toEqual({ x: 'a' });
    expect(r.diagnostics).toEqual([]);
  });

  it('reports a missing prev: as an error with a suggested edge when no upstream step writes the name', () => {
    const r = run({
      cells: [
        [step('a'), 'w:x'],
        [step('b'), 'r:x']
      ]
    });
    expect(codes(r)).toEqual(['error:missing-upstream:x']);
    expect(r.diagnostics[0]).toMatchObject({ cell: 1, line: 1, step: 'b' });
    expect(r.diagnostics[0].message).toContain('Add prev:a to step b');
    expect(r.suggestions).toEqual([{ from: 'a', to: 'b', names: ['x'], cell: 1 }]);
    expect(io(r, 'b').ins).toEqual([]);
  });

  it('falls back to the latest upstream writer, with a warning, when the last writer is not upstream', () => {
    const r = run({
      cells: [
        [step('a'), 'w:x'],
        [step('c', 'a'), 'w:x'],
        [step('b', 'a'), 'r:x']
      ]
    });
    expect(codes(r)).toEqual(['warning:missing-upstream:x']);
    expect(r.steps.get('b')!.sources).toEqual({ x: 'a' });
    expect(r.suggestions).toEqual([{ from: 'c', to: 'b', names: ['x'], cell: 2 }]);
  });

  it('takes the last writer in notebook order in a diamond, not the first name alphabetically', () => {
    // a → {b, c} → d, where both b and c read and mutate df (as Kale gets wrong).
    const r = run({
      cells: [
        [step('a'), 'w:df'],
        [step('c', 'a'), 'r:df m:df'],
        [step('b', 'a'), 'r:df m:df'],
        [step('d', 'b', 'c'), 'r:df']
      ]
    });
    expect(r.steps.get('d')!.sources).toEqual({ df: 'b' });
    // b reads df after c changed it in the notebook: that is a missing edge c → b.
    expect(codes(r)).toEqual(['warning:missing-upstream:df']);
    expect(r.suggestions).toEqual([{ from: 'c', to: 'b', names: ['df'], cell: 2 }]);
  });

  it('makes a mutating step the provider of the mutated value', () => {
    const r = run({
      cells: [
        [step('a'), 'w:df'],
        [step('b', 'a'), 'r:df m:df'],
        [step('c', 'b'), 'r:df']
      ]
    });
    expect(io(r, 'a')).toEqual({ ins: [], outs: ['df'] });
    expect(io(r, 'b')).toEqual({ ins: ['df'], outs: ['df'] });
    expect(r.steps.get('c')!.sources).toEqual({ df: 'b' });
  });

  it('does not make a step that only reads a name its provider', () => {
    const r = run({
      cells: [
        [step('a'), 'w:df'],
        [step('b', 'a'), 'r:df w:n'],
        [step('c', 'b'), 'r:df r:n']
      ]
    });
    expect(r.steps.get('c')!.sources).toEqual({ df: 'a', n: 'b' });
    expect(io(r, 'b').outs).toEqual(['n']);
  });

  it('flags a step whose cells are interleaved with another writer of the same name', () => {
    const r = run({
      cells: [
        [step('s'), 'w:x'],
        [step('t', 's'), 'r:x w:x'],
        [step('s'), 'r:x']
      ]
    });
    expect(codes(r)).toContain('error:ambiguous-writer:x');
  });

  it('flags a provider that writes the name again below the reader', () => {
    const r = run({
      cells: [
        [step('t'), 'w:x'],
        [step('s', 't'), 'r:x'],
        [step('t'), 'w:x']
      ]
    });
    expect(codes(r)).toEqual(['error:ambiguous-writer:x']);
    expect(r.diagnostics[0]).toMatchObject({ cell: 1 });
  });

  it('adds the global reads of a called function from the functions cell (rule 4)', () => {
    const r = run({
      cells: [
        ['functions', 'w:f(data)'],
        [step('a'), 'w:data'],
        [step('b', 'a'), 'r:f w:out']
      ]
    });
    expect(io(r, 'b').ins).toEqual(['data']);
    expect(r.diagnostics).toEqual([]);
  });

  it('passes a function defined in a step together with the globals it reads, transitively', () => {
    const r = run({
      cells: [
        [step('a'), 'w:k w:g(k) w:f(g;z) w:z'],
        [step('b', 'a'), 'r:f']
      ]
    });
    expect(io(r, 'b').ins).toEqual(['f', 'g', 'k', 'z']);
    expect(io(r, 'a').outs).toEqual(['f', 'g', 'k', 'z']);
  });

  it('counts a global written by a called function as a write of the calling step', () => {
    const r = run({
      cells: [
        ['functions', 'w:bump(!counter)'],
        [step('a'), 'w:counter'],
        [step('b', 'a'), 'r:bump'],
        [step('c', 'b'), 'r:counter']
      ]
    });
    expect(r.steps.get('c')!.sources).toEqual({ counter: 'b' });
  });

  it('does not treat a function call that recurses as endless', () => {
    const r = run({ cells: [[step('a'), 'w:f(f;k) w:k r:f']] });
    expect(r.diagnostics).toEqual([]);
  });

  it('never loads builtins, imports or parameters, unless a step rebinds them', () => {
    const r = run({
      cells: [
        ['imports', 'w:np'],
        ['params', 'w:lr'],
        [step('a'), 'r:np r:len r:lr w:input'],
        [step('b', 'a'), 'r:input r:np r:lr']
      ],
      parameters: ['lr']
    });
    expect(io(r, 'a').ins).toEqual([]);
    expect(io(r, 'b').ins).toEqual(['input']);
  });

  it('warns when a step reassigns a pipeline parameter, and passes the new value on', () => {
    const r = run({
      cells: [
        ['params', 'w:lr'],
        [step('a'), 'r:lr w:lr'],
        [step('b', 'a'), 'r:lr']
      ],
      parameters: ['lr']
    });
    expect(codes(r)).toEqual(['warning:parameter-reassigned:lr']);
    expect(r.steps.get('b')!.sources).toEqual({ lr: 'a' });
  });

  it('reports an undefined name, and says where it is defined when that is below', () => {
    const r = run({
      cells: [
        [step('a'), 'r:nope r:late'],
        [step('b', 'a'), 'w:late']
      ]
    });
    expect(codes(r)).toEqual(['error:undefined-name:nope', 'error:undefined-name:late']);
    expect(r.diagnostics[1].message).toContain('cell 2');
  });

  it('softens undefined names to warnings when a star import could define them', () => {
    const without = run({
      cells: [
        ['imports', 'w:np'],
        [step('a'), 'r:mystery']
      ]
    });
    expect(codes(without)).toEqual(['error:undefined-name:mystery']);
    const withStar = run({
      cells: [
        ['imports', '* w:np'],
        [step('a'), 'r:mystery']
      ]
    });
    expect(codes(withStar)).toEqual(['warning:star-import-name:mystery']);
  });

  it('reports reading a name deleted by an upstream step', () => {
    const r = run({
      cells: [
        [step('a'), 'w:x d:x'],
        [step('b', 'a'), 'r:x']
      ]
    });
    expect(codes(r)).toEqual(['error:deleted-name:x']);
    expect(io(r, 'a').outs).toEqual([]);
  });

  it('warns when the passed value is an open file or similar', () => {
    const r = run({
      cells: [
        [step('a'), 'w:fh[file]'],
        [step('b', 'a'), 'r:fh']
      ]
    });
    expect(codes(r)).toEqual(['warning:unserialisable:fh']);
    expect(r.diagnostics[0]).toMatchObject({ cell: 0, step: 'a' });
  });

  it('records each metric with the step that last wrote it, without making it an output', () => {
    const r = run({
      cells: [
        ['params', 'w:d1'],
        [step('a'), 'w:acc w:loss'],
        [step('b', 'a'), 'r:acc w:acc'],
        ['metrics', '']
      ],
      parameters: ['d1'],
      metrics: [
        [3, 'acc'],
        [3, 'loss'],
        [3, 'd1'],
        [3, 'missing']
      ]
    });
    expect(r.metrics.map(m => [m.name, m.step])).toEqual([
      ['acc', 'b'],
      ['loss', 'a'],
      ['d1', 'b']
    ]);
    expect(io(r, 'a').outs).toEqual(['acc']);
    expect(io(r, 'b').outs).toEqual([]);
    expect(codes(r)).toEqual(['error:undefined-metric:missing']);
  });
});
