import { DNS_LABEL, hash53, KEY, NameAllocator, shortHash } from '../k8s-names';

const HOSTILE = [
  'load_data',
  'Load Data',
  '"; rm -rf / #',
  '$(rm -rf /)',
  'a\nb',
  '{{inputs.parameters.x}}',
  "{{$.inputs.parameters['x']}}",
  '9lives',
  '_private',
  'trailing_',
  '',
  'x'.repeat(100),
  'ünïcødé',
  '---'
];

describe('kubernetes names', () => {
  it('are valid DNS-1123 labels of at most 63 characters, for any input', () => {
    const labels = new NameAllocator('label');
    for (const raw of HOSTILE) {
      const name = labels.name(raw);
      expect(name).toMatch(DNS_LABEL);
      expect(name.length).toBeLessThanOrEqual(63);
    }
  });

  it('keep step names readable: only _ becomes -', () => {
    const labels = new NameAllocator('label');
    expect(labels.name('load_data')).toBe('load-data');
    expect(labels.name('train')).toBe('train');
    expect(labels.name('_private')).toMatch(/^private-[0-9a-z]{6}$/);
  });

  it('never give two originals the same name, and give the same original the same name', () => {
    const labels = new NameAllocator('label', ['main']);
    const names = ['a_b', 'a-b', 'A B', 'a__b', 'main', 'x'.repeat(70), 'x'.repeat(71)].map(n =>
      labels.name(n)
    );
    expect(new Set(names).size).toBe(names.length);
    expect(names).not.toContain('main');
    expect(labels.name('a_b')).toBe(names[0]);
    const again = new NameAllocator('label', ['main']);
    expect(
      ['a_b', 'a-b', 'A B', 'a__b', 'main', 'x'.repeat(70), 'x'.repeat(71)].map(n => again.name(n))
    ).toEqual(names);
  });

  it('keys keep Python identifiers and mangle anything else into [A-Za-z0-9_]', () => {
    const keys = new NameAllocator('key', ['cellpipe_metrics']);
    expect(keys.name('learning_rate')).toBe('learning_rate');
    expect(keys.name('cellpipe_metrics')).not.toBe('cellpipe_metrics');
    for (const raw of HOSTILE) {
      expect(keys.name(raw)).toMatch(KEY);
    }
    // KFP and Argo keys differ by case, but a file system may not: lr and LR do not share a key.
    expect(keys.name('LR').toLowerCase()).not.toBe(keys.name('lr').toLowerCase());
  });

  it('hash deterministically', () => {
    expect(hash53('abc')).toBe(hash53('abc'));
    expect(shortHash('abc')).toMatch(/^[0-9a-z]{6}$/);
    expect(shortHash('abc')).not.toBe(shortHash('abd'));
  });
});
