import { readdirSync, readFileSync, statSync } from 'fs';
import { join, resolve } from 'path';
import type { Node, Parser } from 'web-tree-sitter';
import { readNotebook } from '../../notebook/read';
import { createPythonParser, wasmBinding } from '../parser';
import { readSyntaxTree, SyntaxNode } from '../syntax-tree';
import { locateWasmNode } from '../../../../server-proxy/src/wasm-node';

const REPO_ROOT = resolve(__dirname, '../../../..');

function notebooks(dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? notebooks(path) : name.endsWith('.ipynb') ? [path] : [];
  });
}

/** Cells that take the unusual paths: other scripts than Latin, tabs, CRLF, f-strings, errors, every construct. */
const TRICKY = [
  'é = 1\nnaïve = é + 2  # ünïcödé\nprint(f"{naïve!r:>{é}}")',
  'emoji = "😀😀"; after = emoji\n𝔘 = after',
  'x = 1\r\ny = x\r\n\tz = y',
  'def f(a, /, b=1, *args, c: int = 2, **kw) -> "T":\n    global g\n    g = a\n    return lambda q=b: q + c',
  'class C[T](Base, metaclass=M):\n    x: T = 1\n    def m(self): return self.x',
  'match p:\n    case Point(x=0, y=yy) as pt if yy > 0: pass\n    case [a, *rest]: pass\n    case {"k": v, **kw}: pass',
  'with open(p) as f, lock: data = f.read()\ntry:\n    pass\nexcept* (ValueError, TypeError) as e:\n    raise\nfinally:\n    del data',
  'async def g():\n    async for i in aiter(): yield i\n    await h()',
  'x = (yield)\nif (n := len(a)) > 10: print(n)\nelif b: pass\nelse: pass',
  'def broken(:\n    return [1, 2\nprint("after")',
  'x = ((((1))))[::2]; y = x if x else not x; del x[0], y',
  'import a.b as c, d.e\nfrom . import f\nfrom ..g.h import (i as j, k)\nfrom m import *',
  'type Alias[K] = dict[K, list[int]]\n@decorator(arg)\n@other\ndef h(): ...'
];

function compare(mirror: SyntaxNode, real: Node, fields: readonly (string | null)[]): void {
  expect({ type: mirror.type, start: mirror.startIndex, end: mirror.endIndex, text: mirror.text }).toEqual({
    type: real.type,
    start: real.startIndex,
    end: real.endIndex,
    text: real.text
  });
  expect(mirror.startPosition).toEqual(real.startPosition);
  const realChildren = real.namedChildren.filter((c): c is Node => c !== null);
  expect(mirror.namedChildren.map(c => c.type)).toEqual(realChildren.map(c => c.type));
  for (const name of fields) {
    if (!name) {
      continue;
    }
    const found = real.childForFieldName(name);
    // Fields the walks ask for hold named children. A token in a field (an operator) is not kept, and
    // tree-sitter finds match_statement's `alternative` in its aliased block, a grandchild.
    const child = found?.isNamed && realChildren.some(c => c.equals(found));
    const expected = child ? found.startIndex : undefined;
    expect([name, mirror.childForFieldName(name)?.startIndex]).toEqual([name, expected]);
    expect([name, mirror.childrenForFieldName(name).length]).toEqual([
      name,
      real.childrenForFieldName(name).filter(c => c?.isNamed).length
    ]);
  }
  mirror.namedChildren.forEach((child, i) => {
    expect(child.parent).toBe(mirror);
    compare(child, realChildren[i], fields);
  });
}

describe('the syntax tree read in one pass', () => {
  let parser: Parser;
  beforeAll(async () => {
    parser = await createPythonParser(locateWasmNode);
  });

  it('reaches web-tree-sitter’s binding in Node, so the one-call-per-question path is the one measured', () => {
    expect(wasmBinding()).toBeDefined();
  });

  const cells = [
    ...TRICKY,
    ...[join(REPO_ROOT, 'examples'), resolve(REPO_ROOT, '..', 'shared', 'kale-examples')]
      .flatMap(notebooks)
      .flatMap(path => readNotebook(JSON.parse(readFileSync(path, 'utf8')), path).cells)
      .filter(c => c.type === 'code')
      .map(c => c.source)
  ];

  it.each([
    ['through the binding', true],
    ['through the public cursor', false]
  ])('has the nodes, fields, positions and texts of web-tree-sitter’s own tree, %s', (_how, direct) => {
    expect(cells.length).toBeGreaterThan(100);
    const fields = parser.language!.fields;
    for (const source of cells) {
      const tree = parser.parse(source)!;
      try {
        compare(readSyntaxTree(tree, source, direct ? wasmBinding() : undefined), tree.rootNode, fields);
      } finally {
        tree.delete();
      }
    }
  });

  it('lists descendants of a type in preorder, itself included', () => {
    const source = 'def f():\n    def g(): pass\n    return g\n';
    const tree = parser.parse(source)!;
    const root = readSyntaxTree(tree, source, wasmBinding());
    const defs = root.descendantsOfType('function_definition');
    expect(defs.map(d => d.childForFieldName('name')?.text)).toEqual(['f', 'g']);
    expect(defs[0].descendantsOfType(['function_definition'])).toHaveLength(2);
    tree.delete();
  });
});
