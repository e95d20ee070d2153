import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import { PythonAnalyser } from '../../analysis';
import type { NotebookData } from '../../notebook/model';
import { analyzeNotebook } from '../../pipeline';
import { stepProgram } from '../step-program';
import { locateWasmNode } from '../../../../server-proxy/src/wasm-node';

const RUNTIME = readFileSync(join(__dirname, '../../../../cellpipe/runtime.py'), 'utf8');
const HOSTILE =
  'msg = "quote \\" backslash \\\\ \'single\' \\n newline ünïcødé \u2028 }"\n# """ triple\nout = msg';

let analyser: PythonAnalyser;
beforeAll(async () => {
  analyser = await PythonAnalyser.create(locateWasmNode);
});

function notebook(): NotebookData {
  const cells: Array<[string[], string]> = [
    [['imports'], 'import math'],
    [['pipeline-parameters'], 'rate = 0.5\nnames = ["a", "b"]'],
    [['step:make'], HOSTILE],
    [['step:use', 'prev:make'], 'result = len(out) * rate'],
    [['pipeline-metrics'], 'print(result)']
  ];
  return {
    name: 'demo.ipynb',
    metadata: {},
    cells: cells.map(([tags, source], index) => ({ index, type: 'code', tags, source }))
  };
}

const program = (step: string) => {
  const nb = notebook();
  return stepProgram({ analysis: analyzeNotebook(nb, analyser), notebook: nb, step, runtimeSource: RUNTIME });
};

/** What Python itself reads from the program's STEP. */
function pythonView(program: string): Record<string, unknown> {
  const code =
    'import ast, json, sys\nsrc = sys.stdin.read()\nns = {}\nexec(compile(src.replace("if __name__ == \\"__main__\\":", "if False:"), "p", "exec"), ns)\nprint(json.dumps(ns["STEP"]))';
  return JSON.parse(execFileSync('python3', ['-c', code], { input: program }).toString());
}

describe('step programs', () => {
  it('are the same bytes for the same notebook', () => {
    expect(program('use')).toBe(program('use'));
  });

  it('embed the runtime verbatim and describe the step as Python reads it', () => {
    const text = program('use');
    expect(text).toContain(RUNTIME.trimEnd());
    expect(
      text.startsWith('#!/usr/bin/env python3\n# cellpipe step program: pipeline "demo", step "use".')
    ).toBe(true);
    expect(pythonView(text)).toEqual({
      step: 'use',
      prelude: [[0, 'import math']],
      // Only the parameter it reads: `names` is not the step's, so changing it leaves this program alone.
      parameters: { rate: 0.5 },
      ins: { out: 'make' },
      cells: [[3, 'result = len(out) * rate']],
      outs: [],
      fingerprint: [],
      guards: [],
      // The interpreter state (random generators, options...) continues from the upstream step.
      state: { from: ['make'], at: 3 },
      metrics: ['result']
    });
  });

  it('carry any cell source through unchanged', () => {
    const view = pythonView(program('make'));
    expect((view.cells as unknown[])[0]).toEqual([2, HOSTILE]);
    expect(view.outs).toEqual(['out']);
  });

  it('refuse a step the pipeline does not have', () => {
    expect(() => program('nope')).toThrow('The pipeline has no step "nope".');
  });
});

describe('step program parameters', () => {
  it('keep a whole float a float, as the notebook has it', () => {
    const nb: NotebookData = {
      name: 'floats.ipynb',
      metadata: {},
      cells: [
        { index: 0, type: 'code', tags: ['pipeline-parameters'], source: 'C = 1.0\nn = 3' },
        { index: 1, type: 'code', tags: ['step:fit'], source: 'label = f"C={C}, n={n}"' }
      ]
    };
    const text = stepProgram({
      analysis: analyzeNotebook(nb, analyser),
      notebook: nb,
      step: 'fit',
      runtimeSource: RUNTIME
    });
    const code =
      'import sys\nsrc = sys.stdin.read()\nns = {}\nexec(compile(src.replace("if __name__ == \\"__main__\\":", "if False:"), "p", "exec"), ns)\np = ns["STEP"]["parameters"]\nprint(type(p["C"]).__name__, type(p["n"]).__name__)';
    expect(execFileSync('python3', ['-c', code], { input: text }).toString().trim()).toBe('float int');
  });
});
