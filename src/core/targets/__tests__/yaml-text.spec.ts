import { parse } from 'yaml';
import { toYaml, YamlValue } from '../yaml-text';

/** As the KFP SDK (PyYAML) and Argo (Go) read it: YAML 1.1, where `yes` and `0755` are not strings. */
const read11 = (text: string) => parse(text, { version: '1.1' });
const read12 = (text: string) => parse(text, { version: '1.2' });

const HOSTILE_STRINGS = [
  '',
  'plain',
  'true',
  'No',
  'null',
  '~',
  '0.0.1',
  '1e3',
  '0x1F',
  '12:30',
  '.inf',
  '- dash',
  '--cluster',
  'key: value',
  'a #comment',
  '{{workflow.name}}',
  "{{$.inputs.parameters['x']}}",
  '$(rm -rf /)',
  'quote " and \\ backslash',
  "single ' quote",
  'multi\nline\n',
  'multi\nline no end',
  'ends with two\n\n',
  '\n leading newline',
  '  indented first\nsecond',
  'tab\there',
  'trailing space ',
  'ünïcødé ✓ 🚀',
  'line\u2028separator',
  'nul\u0000del\u007fc1\u0085bom\ufeff',
  '@at',
  '*alias',
  '&anchor',
  '!tag',
  '%directive',
  '|literal',
  '>folded',
  '[flow]',
  '{flow}',
  ', comma',
  '?question'
];

describe('cluster target YAML', () => {
  it('round-trips hostile strings as keys and values', () => {
    for (const text of HOSTILE_STRINGS) {
      const doc: YamlValue = { [text || 'empty']: text, list: [text, { nested: text }] };
      expect(read11(toYaml(doc))).toEqual(doc);
      expect(read12(toYaml(doc))).toEqual(doc);
    }
  });

  it('round-trips numbers, booleans, null and empty collections', () => {
    const doc: YamlValue = {
      ints: [0, -1, 3, 1e21, 123456789],
      floats: [0.5, -2.25, 1e-7, 1.5e300],
      special: [true, false, null],
      empty: { map: {}, list: [] }
    };
    expect(read11(toYaml(doc))).toEqual(doc);
  });

  it('sorts keys only when asked', () => {
    expect(toYaml({ b: 1, a: 2 })).toBe('b: 1\na: 2\n');
    expect(toYaml({ b: 1, a: 2 }, { sortKeys: true })).toBe('a: 2\nb: 1\n');
  });

  it('writes multi-line text as a literal block and keeps sequences at the key column', () => {
    expect(toYaml({ text: 'a\nb\n', list: ['x'] })).toBe('text: |\n  a\n  b\nlist:\n- x\n');
  });

  it('keeps every line of a comment a comment', () => {
    const text = toYaml({ key: 1 }, { comment: 'one\ntwo\r\nthree\u2028four\nkey: 2' });
    expect(read11(text)).toEqual({ key: 1 });
    expect(text.split('\n').filter(l => l && !l.startsWith('#'))).toEqual(['key: 1']);
  });
});
