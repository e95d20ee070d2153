/**
 * Nesting Python refuses is a diagnostic at the cell and line, never a crash of the analysis, and agrees
 * with Python 3.11 itself: each cell below is also compiled the way IPython compiles a notebook cell
 * (`ast.parse`, then `compile` of the AST object), well away from the limits' edges.
 */
import { execFileSync } from 'child_process';
import { existsSync } from 'fs';
import { join } from 'path';
import type { PythonAnalyser } from '..';
import { analyzeNotebook } from '../../pipeline';
import { codeNotebook, createAnalyser } from '../../__tests__/support';

const PYTHON = join(__dirname, '..', '..', '..', '..', '.venv', 'bin', 'python');

let analyser: PythonAnalyser;
beforeAll(async () => {
  analyser = await createAnalyser();
}, 60000);

const indented = (levels: number) =>
  Array.from({ length: levels }, (_, i) => `${' '.repeat(i)}if a:\n`).join('') +
  `${' '.repeat(levels)}x = 1\n`;

const CELLS: Record<string, string> = {
  'parentheses 200': `x = ${'('.repeat(200)}a${')'.repeat(200)}`,
  'parentheses 201': `x = ${'('.repeat(201)}a${')'.repeat(201)}`,
  'parentheses 5000': `x = ${'('.repeat(5000)}1${')'.repeat(5000)}`,
  'a list 3000 deep': `x = ${'['.repeat(3000)}${']'.repeat(3000)}`,
  'brackets inside an f-string do not count': `x = f"{a}" + ${'('.repeat(150)}a${')'.repeat(150)}`,
  'indentation 99': indented(99),
  'indentation 100': indented(100),
  'a + a + ... 900 terms': `x = ${Array(900).fill('a').join(' + ')}`,
  'a + a + ... 1100 terms': `x = ${Array(1100).fill('a').join(' + ')}`,
  'a + a + ... 5000 terms': `x = ${Array(5000).fill('a').join(' + ')}`,
  '- - ... 1100 deep': `x = ${'-'.repeat(1100)}a`,
  'lambda: lambda: ... 900 deep': `x = ${'lambda: '.repeat(900)}a`,
  'lambda: lambda: ... 3000 deep': `x = ${'lambda: '.repeat(3000)}a`,
  'a and a and ... 3000 terms (one node)': `x = ${Array(3000).fill('a').join(' and ')}`,
  'elif 900 times':
    'if a:\n    x = 0\n' + Array.from({ length: 900 }, (_, i) => `elif a == ${i}:\n    x = ${i}\n`).join(''),
  'elif 1100 times':
    'if a:\n    x = 0\n' + Array.from({ length: 1100 }, (_, i) => `elif a == ${i}:\n    x = ${i}\n`).join('')
};

/** What Python says of each cell: null when it compiles, else "ErrorType: message". */
function pythonVerdicts(): Record<string, string | null> {
  const program = [
    'import ast, json, sys',
    'cells = json.load(sys.stdin)',
    'out = {}',
    'for name, src in cells.items():',
    '    try:',
    "        compile(ast.parse(src), '<cell>', 'exec')",
    '        out[name] = None',
    '    except (SyntaxError, RecursionError, MemoryError) as e:',
    "        out[name] = type(e).__name__ + ': ' + str(e.msg if isinstance(e, SyntaxError) else e)",
    'print(json.dumps(out))'
  ].join('\n');
  expect(existsSync(PYTHON)).toBe(true); // the project's venv (make develop)
  return JSON.parse(execFileSync(PYTHON, ['-c', program], { input: JSON.stringify(CELLS) }).toString());
}

describe('nesting Python refuses', () => {
  const verdicts = pythonVerdicts();

  it.each(Object.keys(CELLS))('%s: as Python says', name => {
    const analysis = analyzeNotebook(
      codeNotebook([['step:one'], 'a = 1'], [['step:two', 'prev:one'], CELLS[name]]),
      analyser
    );
    const errors = analysis.diagnostics.filter(d => d.code === 'syntax-error');
    const python = verdicts[name];
    if (python === null) {
      expect(errors).toEqual([]);
      return;
    }
    expect(errors).toHaveLength(1);
    expect(errors[0].cell).toBe(1);
    expect(errors[0].line).toBeGreaterThanOrEqual(1);
    // The same words as Python: the kind of error and its message.
    const [kind, message] = python.split(': ');
    expect(errors[0].message).toContain(kind);
    expect(errors[0].message).toContain(
      kind === 'RecursionError' ? message.replace(/ during.*| while.*/, '') : message.replace(/ \(.*$/, '')
    );
  });

  it('reports the line: the first bracket past 200, the first line 100 levels in', () => {
    const at = (source: string) =>
      analyzeNotebook(codeNotebook([['step:one'], source]), analyser).diagnostics.find(
        d => d.code === 'syntax-error'
      );
    expect(at(`a = 1\nb = 2\nx = ${'('.repeat(250)}1${')'.repeat(250)}`)).toMatchObject({ cell: 0, line: 3 });
    expect(at(`a = 1\n${indented(120)}`)).toMatchObject({ line: 102 });
  });

  it('reads no parameters from a parameters cell Python refuses, and says why once', () => {
    const analysis = analyzeNotebook(
      codeNotebook(
        [['pipeline-parameters'], `p = ${'['.repeat(3000)}${']'.repeat(3000)}`],
        [['step:one'], 'x = 1']
      ),
      analyser
    );
    expect(analysis.parameters).toEqual({});
    expect(analysis.diagnostics.filter(d => d.code === 'syntax-error').map(d => [d.cell, d.line])).toEqual([
      [0, 1]
    ]);
  });
});
