import type { Parser } from 'web-tree-sitter';
import { createPythonParser } from '../../analysis/parser';
import { locateWasmNode } from '../../../../server-proxy/src/wasm-node';
import {
  formatParameter,
  formatParameterValue,
  parseParameterOverride,
  parseParameters
} from '../parameters';

let parser: Parser;
beforeAll(async () => {
  parser = await createPythonParser(locateWasmNode);
});

describe('pipeline parameters', () => {
  it('reads typed literals, including lists and dicts', () => {
    const { parameters, diagnostics } = parseParameters(
      parser,
      [
        '# learning settings',
        'lr = 0.01',
        'epochs = 10',
        'offset = -3',
        'name = "run \\"a\\""',
        "path = r'C:\\data'",
        'verbose = True',
        'layers = [64, 32, 16]',
        'opts = {"dropout": 0.5, "tags": ["x", \'y\'], "nested": {"on": False}}',
        'big = 1_000_000',
        'ratio = 1e-3'
      ].join('\n'),
      2
    );
    expect(diagnostics).toEqual([]);
    expect(parameters).toEqual({
      lr: { type: 'float', value: 0.01 },
      epochs: { type: 'int', value: 10 },
      offset: { type: 'int', value: -3 },
      name: { type: 'str', value: 'run "a"' },
      path: { type: 'str', value: 'C:\\data' },
      verbose: { type: 'bool', value: true },
      layers: { type: 'list', value: [64, 32, 16] },
      opts: { type: 'dict', value: { dropout: 0.5, tags: ['x', 'y'], nested: { on: false } } },
      big: { type: 'int', value: 1000000 },
      ratio: { type: 'float', value: 0.001 }
    });
  });

  it.each([
    ['a = b', 'not a literal'],
    ['a, b = 1, 2', 'one name at a time'],
    ['a = b = 1', 'one name at a time'],
    ['a = f(1)', 'not a literal'],
    ['a = 1 + 2', 'not a literal'],
    ['a = f"{x}"', 'f-strings'],
    ['a = None', 'None'],
    ['print(1)', 'not an assignment'],
    ['a = {1: 2}', 'keys must be strings']
  ])('rejects `%s` with an error at its line', (source, why) => {
    const { parameters, diagnostics } = parseParameters(parser, `ok = 1\n${source}`, 4);
    expect(parameters.ok).toEqual({ type: 'int', value: 1 });
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ severity: 'error', code: 'invalid-parameter', cell: 4, line: 2 });
    expect(diagnostics[0].message).toContain(why);
  });

  it.each([0.01, 10, -3, 2.0, 'a "quoted" \\ string\n', true, [1, 'two', [3.5]], { k: { x: false } }])(
    'formats %j as a Python literal that parses back to the same value',
    value => {
      const { parameters } = parseParameters(parser, `p = ${formatParameterValue(value)}`, 0);
      expect(parameters.p.value).toEqual(value);
    }
  );

  it('keeps a float a float when formatting', () => {
    expect(formatParameterValue(2.0)).toBe('2');
    const { parameters } = parseParameters(parser, 'p = 2.0', 0);
    expect(parameters.p.type).toBe('float');
    // Typed, a whole float is written as Python reads a float back.
    expect(formatParameter(parameters.p)).toBe('2.0');
    expect(parseParameters(parser, `p = ${formatParameter(parameters.p)}`, 0).parameters.p).toEqual({
      type: 'float',
      value: 2
    });
    expect(formatParameter({ type: 'int', value: 2 })).toBe('2');
  });

  it('types --param overrides by the declared parameter', () => {
    const declared = parseParameters(
      parser,
      'lr = 0.1\nn = 3\nname = "a"\nflag = False\nxs = [1]',
      0
    ).parameters;
    expect(parseParameterOverride('lr=0.5', declared)).toEqual({
      name: 'lr',
      value: { type: 'float', value: 0.5 }
    });
    expect(parseParameterOverride('n=7', declared).value).toEqual({ type: 'int', value: 7 });
    expect(parseParameterOverride('name=x=y', declared).value).toEqual({ type: 'str', value: 'x=y' });
    expect(parseParameterOverride('flag=true', declared).value).toEqual({ type: 'bool', value: true });
    expect(parseParameterOverride('xs=[1, 2]', declared).value).toEqual({ type: 'list', value: [1, 2] });
    expect(() => parseParameterOverride('n=1.5', declared)).toThrow('expected an int');
    expect(() => parseParameterOverride('nope=1', declared)).toThrow(
      'has no pipeline parameter "nope" (it has lr, n, name, flag, xs)'
    );
    expect(() => parseParameterOverride('lr', declared)).toThrow('NAME=VALUE');
  });
});
