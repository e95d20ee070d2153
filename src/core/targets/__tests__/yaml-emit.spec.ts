import { quoted, toYaml, yamlComment, YamlValue } from '../yaml-emit';

// js-yaml 3 is in node_modules (through jest's istanbul); a reader independent of the emitter.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const jsYaml = require('js-yaml') as {
  safeLoad(text: string): unknown;
  safeLoadAll(text: string): unknown[];
};

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

describe('yaml emitter', () => {
  it('round-trips hostile strings as keys and values', () => {
    for (const text of HOSTILE_STRINGS) {
      const doc: YamlValue = { [text || 'empty']: text, list: [text, { nested: text }] };
      expect(jsYaml.safeLoad(toYaml(doc))).toEqual(doc);
    }
  });

  it('round-trips numbers, booleans, null and empty collections', () => {
    const doc: YamlValue = {
      ints: [0, -1, 3, 1e21, 123456789],
      floats: [0.5, -2.25, 1e-7, 1.5e300],
      special: [true, false, null],
      empty: { map: {}, list: [] }
    };
    expect(jsYaml.safeLoad(toYaml(doc))).toEqual(doc);
  });

  it('sorts keys only when asked', () => {
    expect(toYaml({ b: 1, a: 2 })).toBe('b: 1\na: 2\n');
    expect(toYaml({ b: 1, a: 2 }, { sortKeys: true })).toBe('a: 2\nb: 1\n');
  });

  it('writes multi-line text as a literal block and keeps sequences at the key column', () => {
    expect(toYaml({ text: 'a\nb\n', list: ['x'] })).toBe('text: |\n  a\n  b\nlist:\n- x\n');
  });

  it('quotes with escapes a reader accepts', () => {
    expect(quoted('a"b\\c\n\u2028')).toBe('"a\\"b\\\\c\\n\\u2028"');
  });

  it('keeps every line of a comment a comment', () => {
    const text = yamlComment('one\ntwo\r\nthree\u2028four') + 'key: 1\n';
    expect(jsYaml.safeLoad(text)).toEqual({ key: 1 });
    expect(text.split('\n').filter(l => l && !l.startsWith('#'))).toEqual(['key: 1']);
  });
});
