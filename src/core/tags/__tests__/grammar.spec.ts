import { CellRole, parseCellTags, printCellTags } from '../grammar';

const parse = (...tags: string[]) => parseCellTags(tags, 3);
const codes = (...tags: string[]) => parse(...tags).diagnostics.map(d => `${d.severity}:${d.code}`);

describe('tag grammar', () => {
  it('reads a step with upstream steps, limits, annotations and labels', () => {
    expect(
      parse(
        'step:train',
        'prev:load',
        'prev:split',
        'limit:nvidia.com/gpu:2',
        'annotation:example.com/owner:ml-team',
        'label:tier:gpu'
      ).role
    ).toEqual({
      kind: 'step',
      name: 'train',
      prev: ['load', 'split'],
      limits: { 'nvidia.com/gpu': '2' },
      annotations: { 'example.com/owner': 'ml-team' },
      labels: { tier: 'gpu' }
    });
  });

  it('treats block: as step: (older Kale notebooks)', () => {
    expect(parse('block:loaddata').role).toMatchObject({ kind: 'step', name: 'loaddata' });
  });

  it('keeps colons in annotation values, unlike Kale', () => {
    expect(parse('step:a', 'annotation:docs:http://example.com:8080/x').role).toMatchObject({
      annotations: { docs: 'http://example.com:8080/x' }
    });
  });

  it.each(['skip', 'imports', 'functions', 'pipeline-parameters', 'pipeline-metrics'])(
    'reads the special tag %s',
    tag => {
      expect(parse(tag)).toEqual({ role: { kind: tag }, diagnostics: [] });
    }
  );

  it('lets a special tag win over step tags, with a warning naming the ignored ones', () => {
    const r = parse('step:a', 'prev:b', 'skip');
    expect(r.role).toEqual({ kind: 'skip' });
    expect(r.diagnostics[0]).toMatchObject({ severity: 'warning', code: 'ignored-tags', cell: 3 });
    expect(r.diagnostics[0].message).toContain('step:a, prev:b');
  });

  it('makes an untagged cell and an empty step: join the step above', () => {
    expect(parse().role).toEqual({ kind: 'continue' });
    expect(parse('step:').role).toEqual({ kind: 'continue' });
    expect(parse('my-own-tag', 'collapsed').role).toEqual({ kind: 'continue' });
  });

  it.each([
    [['step:Train'], 'error:invalid-step-name'],
    [['step:1st'], 'error:invalid-step-name'],
    [['step:a-b'], 'error:invalid-step-name'],
    [['prev:a'], 'error:prev-without-step'],
    [['step:a', 'step:b'], 'error:two-step-names'],
    [['step:a', 'prev:Bad'], 'error:invalid-tag'],
    [['step:a', 'limit:memory'], 'error:invalid-tag'],
    [['step:a', 'limit:memory:4 Gi'], 'error:invalid-tag'],
    [['step:a', 'annotation::x'], 'error:invalid-tag'],
    [['skip', 'imports'], 'error:conflicting-tags']
  ])('reports %j as %s', (tags, code) => {
    expect(codes(...tags)).toContain(code);
  });

  it('limits a step name to 63 characters, saying so with the length, and cuts the tag in the message', () => {
    expect(parse(`step:${'a'.repeat(63)}`).diagnostics).toEqual([]);
    const [long] = parse(`step:${'a'.repeat(250)}`).diagnostics;
    expect(long).toMatchObject({ severity: 'error', code: 'invalid-step-name', cell: 3 });
    expect(long.message).toContain('at most 63 characters (this one has 250)');
    expect(long.message.length).toBeLessThan(200);
    expect(codes('step:a', `prev:${'b'.repeat(64)}`)).toContain('error:invalid-tag');
  });

  it('reports problems at the cell they are on', () => {
    expect(parse('prev:a').diagnostics[0]).toMatchObject({ cell: 3, line: null });
  });
});

describe('printing tags', () => {
  const step = (name: string, ...prev: string[]): CellRole => ({
    kind: 'step',
    name,
    prev,
    limits: {},
    annotations: {},
    labels: {}
  });

  it('keeps the user own tags in place and replaces the pipeline ones', () => {
    expect(printCellTags(['todo', 'step:old', 'prev:x', 'review'], step('new', 'a'))).toEqual([
      'todo',
      'step:new',
      'prev:a',
      'review'
    ]);
  });

  it('puts new pipeline tags first when the cell had none', () => {
    expect(printCellTags(['todo'], { kind: 'imports' })).toEqual(['imports', 'todo']);
  });

  it('removes the pipeline tags when the cell goes back to joining the step above', () => {
    expect(printCellTags(['step:a', 'limit:cpu:1', 'mine'], { kind: 'continue' })).toEqual(['mine']);
  });

  it.each<CellRole>([
    step('train', 'load', 'split'),
    {
      kind: 'step',
      name: 'gpu',
      prev: [],
      limits: { 'nvidia.com/gpu': '1', memory: '4Gi' },
      annotations: { 'a.b/c': 'x:y' },
      labels: { team: 'ml' }
    },
    { kind: 'skip' },
    { kind: 'pipeline-metrics' },
    { kind: 'continue' }
  ])('round-trips %j', role => {
    expect(parseCellTags(printCellTags(['keep-me'], role), 0)).toEqual({ role, diagnostics: [] });
  });
});
